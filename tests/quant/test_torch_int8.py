"""Tiny catalog models convert to real int8 kernels in each mode, through the torch backend."""

import copy

import pytest
import torch

from calib.backends import torch_eager
from calib.errors import CalibError
from calib.models.loader import load_model
from calib.quant import torch_int8
from run_configs import run_config

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

OPTIONS = {"calib_data": "random", "calib_samples": 8, "calib_method": "minmax", "calib_percentile": 99.99,
           "qscheme": "affine", "weight_granularity": "per-channel"}


def _prepare(name, precision, **options):
    model = load_model(name)
    config = run_config(precision, "cpu", 2, 1, {**OPTIONS, **options})
    return model, torch_eager.prepare(model, config)


def _assert_close_to_fp32(model, prepared, tolerance):
    with torch.inference_mode():
        expected = model.module(*prepared.inputs)
        actual = prepared.run()
    assert actual.dtype == torch.float32 and actual.shape == expected.shape
    assert (actual - expected).abs().max() <= tolerance * expected.abs().max() + 1e-3


@pytest.mark.parametrize("name", ["tiny-cnn", "tiny-mlp", "tiny-bert"])
def test_static_fx_converts_to_lowered_int8(name):
    model, prepared = _prepare(name, "int8-static")
    info = prepared.info
    assert info["path"].startswith("fx-") and info["lowered"] and not info["reference_qdq"]
    assert info["engine"] == torch.backends.quantized.engine and info["engine_reason"]
    assert info["quantized_layers"] > 0
    assert info["calibration"]["method"] == "minmax" and info["calibration"]["activation_observer"] == "MinMaxObserver"
    assert info["calibration_s"] > 0
    assert (prepared.storage_dtype, prepared.compute_dtype) == ("int8", "int8")
    assert 0 < prepared.model_size_bytes
    _assert_close_to_fp32(model, prepared, tolerance=0.1)


@pytest.mark.parametrize("name", ["tiny-cnn", "tiny-mlp", "tiny-bert"])
def test_dynamic_converts_linear_layers(name):
    model, prepared = _prepare(name, "int8-dynamic")
    assert prepared.info["path"] == "ao-dynamic" and prepared.info["quantized_layers"] > 0
    _assert_close_to_fp32(model, prepared, tolerance=0.1)


def test_dynamic_encoder_runs_under_inference_mode_and_restores_fastpath():
    _, prepared = _prepare("tiny-bert", "int8-dynamic")
    assert isinstance(prepared.module, torch_int8.FastpathOff)
    before = torch.backends.mha.get_fastpath_enabled()
    with torch.inference_mode():
        prepared.run()
    assert torch.backends.mha.get_fastpath_enabled() == before


def test_static_pt2e_path_is_lowered():
    model, prepared = _prepare("tiny-cnn", "int8-static", int8_path="pt2e")
    assert prepared.info["path"] == "pt2e+x86-lowering" and not prepared.info["reference_qdq"]
    assert prepared.info["quantized_layers"] > 0
    _assert_close_to_fp32(model, prepared, tolerance=0.1)


@pytest.mark.parametrize("method", ["percentile", "entropy"])
def test_static_records_histogram_calibration(method):
    _, prepared = _prepare("tiny-mlp", "int8-static", calib_method=method, calib_percentile=99.9,
                           qscheme="symmetric", weight_granularity="per-tensor")
    calibration = prepared.info["calibration"]
    assert calibration["method"] == method and calibration["qscheme"] == "symmetric"
    assert calibration["activation_observer"] == {"percentile": "PercentileObserver",
                                                  "entropy": "EntropyObserver"}[method]
    assert calibration["weight_observer"] == "MinMaxObserver"
    assert calibration.get("percentile") == (99.9 if method == "percentile" else None)


def test_digits_calibration_data_on_image_model():
    _, prepared = _prepare("tiny-cnn", "int8-static", calib_data="digits", calib_samples=16)
    assert prepared.info["calibration"]["data"] == "digits" and prepared.info["calibration"]["batches"] == 2


def test_model_without_quantizable_layers_is_one_line_error():
    convs = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()).eval()
    with pytest.raises(CalibError) as error:
        torch_int8.quantize(copy.deepcopy(convs), "int8-dynamic", (torch.randn(1, 3, 8, 8),))
    assert "no layer of this model could be quantized" in str(error.value) and "\n" not in str(error.value)
