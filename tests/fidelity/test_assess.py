"""evaluate() on real prepared models: references, order independence, accuracy on labelled data."""

import importlib.util

import pytest
import torch

from calib import fidelity
from calib.backends import torch_eager
from calib.configuration import Configuration
from calib.models.loader import load_model
from calib.settings import FidelitySettings
from calib.spec import SweepSpec
from run_configs import run_config


def _spec(model_name, **options):
    return SweepSpec(model=model_name, backends=["torch"], precisions=[], batch_sizes=[1], device="cpu", threads=2,
                     fidelity=FidelitySettings(max_drop=1.0), calibration=run_config("fp32", **options).calibration)


def _evaluate(spec, model, precision, references, batch_size=1, drop_run_on=False):
    prepared = torch_eager.prepare(model, spec.run_config(precision, batch_size))
    if drop_run_on:  # what a backend that cannot take new inputs hands over
        prepared.run_on = None
    with torch.inference_mode():
        outputs = prepared.run()
    configuration = Configuration(model.name, "torch", precision, batch_size, (batch_size, *model.item_shape), "cpu")
    return fidelity.evaluate(spec.fidelity, model, configuration, outputs, references, prepared=prepared)


def test_reference_comes_from_cpu_until_fp32_ran_on_the_backend():
    model = load_model("tiny-mlp")
    spec, references = _spec("tiny-mlp"), fidelity.references()
    before = _evaluate(spec, model, "bf16", references)
    assert before["reference"] == "torch fp32 on cpu" and before["is_reference"] is False
    reference = _evaluate(spec, model, "fp32", references)
    assert reference["is_reference"] and reference["max_abs"] == 0 and reference["compact"] == "reference"
    after = _evaluate(spec, model, "fp16", references)
    assert after["reference"] == "torch fp32"
    # the classifier probe: more than the one timed item, same items for every precision
    assert before["top1_items"] == reference["top1_items"] == after["top1_items"] == 64  # assess.PROBE_ITEMS
    assert after["sample"] == "seeded inputs (64 items)" and after["sample_items"] == 64
    assert 0 < after["max_abs"] < 0.05 and after["sqnr_db"] > 40 and after["passed"] is True
    assert before["sqnr_db"] < after["sqnr_db"]  # bf16 keeps 8 mantissa bits, fp16 11


def test_digits_accuracy_and_drop_per_precision():
    model = load_model("digits-cnn")
    spec, references = _spec("digits-cnn"), fidelity.references()
    fp32 = _evaluate(spec, model, "fp32", references, batch_size=16)  # 360 = 22*16 + 8: padded last batch
    assert fp32["accuracy"] > 0.90 and fp32["accuracy_drop"] == 0 and fp32["compact"].endswith("(ref)")
    assert fp32["sample"].startswith("digits test split (360") and fp32["top1_items"] == 360
    bf16 = _evaluate(spec, model, "bf16", references, batch_size=16)
    assert bf16["reference"] == "torch fp32" and bf16["top1_items"] == 360
    assert abs(bf16["accuracy_drop"]) < 3 and bf16["passed"] is (bf16["accuracy_drop"] <= 1.0)
    assert bf16["compact"].startswith(f"acc {100 * bf16['accuracy']:.1f}%")


def test_backend_without_run_on_still_gets_output_metrics():
    model = load_model("digits-cnn")
    result = _evaluate(_spec("digits-cnn"), model, "bf16", fidelity.references(), drop_run_on=True)
    assert result["accuracy"] is None and result["notes"] and "other inputs" in result["notes"][0]
    assert result["cosine"] > 0.99 and result["sample"] == "seeded inputs (1 item)"


@pytest.mark.skipif(importlib.util.find_spec("calib.quant.torch_int8") is None,
                    reason="calib.quant.torch_int8 (int8 precisions) is not in this build")
def test_int8_keeps_digits_accuracy_within_a_few_points():
    model = load_model("digits-cnn")
    spec, references = _spec("digits-cnn", calib_data="digits", calib_samples=64), fidelity.references()
    _evaluate(spec, model, "fp32", references, batch_size=16)
    for precision in ("int8-dynamic", "int8-static"):
        result = _evaluate(spec, model, precision, references, batch_size=16)
        assert result["accuracy_drop"] < 3.0 and result["accuracy"] > 0.88, (precision, result)
