"""A trained model whose int8-static collapses when calibrated on random inputs and holds when calibrated
on the inputs the user's --eval feeds the fp32 pass (captured by default: calib.quant.calibration_data)."""

import importlib.util
from pathlib import Path

import pytest

from calib.cli import main
from calib.results.store import load_result

MODELS = Path(__file__).parents[2] / "models"
MODEL, EVAL = f"{MODELS / 'collapse.py'}:build", f"{MODELS / 'eval_collapse.py'}:evaluate"


def _int8(runner, fast_options, tmp_path, backend: str, *calibration) -> dict:
    out = tmp_path / f"{backend}-{'-'.join(calibration) or 'default'}.json".replace("/", "_")
    result = runner.invoke(main, ["run", "-m", MODEL, "--eval", EVAL, "-p", "fp32,int8-static", "-b", backend,
                                  "--max-drop", "2", "--timeout", "0", "--threads", "1", *calibration,
                                  "--out", str(out), *fast_options], catch_exceptions=False)
    records = load_result(out)["records"]
    return result, records[0], records[1]


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_int8_collapses_on_random_calibration_and_holds_on_captured_eval_inputs(runner, fast_options, tmp_path,
                                                                                backend):
    if backend == "onnxruntime" and importlib.util.find_spec("onnxruntime") is None:
        pytest.skip("onnxruntime is not installed")
    result, fp32, int8 = _int8(runner, fast_options, tmp_path, backend, "--calib-data", "random")
    assert fp32["fidelity"]["score"] > 0.9
    assert int8["fidelity"]["score"] < 0.3 and int8["fidelity"]["passed"] is False  # collapsed
    assert int8["calibration_data"]["source"] == "random" and result.exit_code == 1
    result, fp32, int8 = _int8(runner, fast_options, tmp_path, backend)  # the default: captured from --eval
    assert result.exit_code == 0, result.output
    assert int8["fidelity"]["score_drop"] <= 2 and int8["fidelity"]["passed"] is True
    assert int8["calibration_data"]["source"] == "eval" and int8["calibration_data"]["items"] == 128
    assert "models/eval_collapse.py" in int8["calibration_data"]["origin"]


def test_a_trained_model_calibrated_on_random_inputs_is_warned(runner, fast_options, tmp_path):
    result, _, int8 = _int8(runner, fast_options, tmp_path, "torch", "--calib-data", "random")
    assert any("calibrated on random inputs" in warning and "--eval" in warning for warning in int8["warnings"])


def test_calib_data_eval_without_eval_is_a_usage_error_before_any_work(runner, tmp_path):
    result = runner.invoke(main, ["run", "-m", "tiny-mlp", "-p", "int8-static", "--calib-data", "eval",
                                  "--results-dir", str(tmp_path / "results")])
    assert result.exit_code == 2 and "--calib-data eval" in result.output and "--eval" in result.output
    assert not (tmp_path / "results").exists()
