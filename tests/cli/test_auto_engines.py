"""`calib run` without --backend races every installed engine (calib.backends.auto): an ONNX file at
bf16 goes to OpenVINO (ONNX Runtime has no bf16 path), --fallback works under auto and says what it did."""

import importlib.util
from pathlib import Path
import platform

import pytest

from calib.cli import main
from calib.results.store import load_result
from test_fallback import FRAGILE

X86 = platform.machine().lower() in ("x86_64", "amd64")


@pytest.mark.skipif(not (X86 and importlib.util.find_spec("openvino") and importlib.util.find_spec("onnxruntime")),
                    reason="OpenVINO on an x86 CPU and ONNX Runtime are needed")
def test_an_onnx_file_is_measured_at_bf16_by_openvino(runner, fast_options, tmp_path):
    import torch

    from calib.models.tiny import tiny_cnn

    path = tmp_path / "net.onnx"
    torch.onnx.export(tiny_cnn().eval(), (torch.randn(1, 3, 32, 32),), str(path), dynamo=False,
                      input_names=["input"], dynamic_axes={"input": {0: "batch"}})
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "-m", str(path), "--input-shape", "3,32,32", "-p", "fp32,bf16",
                                  "--out", str(out), *fast_options], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    fp32, bf16 = load_result(out)["records"]
    assert fp32["status"] == "ok" and fp32["identity"]["backend"] == "onnxruntime"
    assert bf16["status"] == "ok" and bf16["identity"]["backend"] == "openvino", bf16.get("reason")
    assert "ONNX Runtime cannot run bf16" in bf16["backend_choice"]["why"]


def test_fallback_under_auto_searches_the_winning_engine_and_says_so(runner, fast_options, tmp_path):
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "-m", FRAGILE, "--input-shape", "16", "-p", "fp32,int8-static",
                                  "--threads", "1", "--timeout", "0", "--max-drop", "5", "--fallback",
                                  "--out", str(out), *fast_options], catch_exceptions=False)
    assert result.exit_code == 0, result.output  # all-int8 misses the budget; a mixed configuration keeps it
    records = load_result(out)["records"]
    all_int8 = next(r for r in records if r["identity"]["precision"] == "int8-static" and not r["identity"].get("variant"))
    mixed = next(r for r in records if r["identity"].get("variant") == "mixed")
    assert all_int8["backend_choice"]["requested"] == "auto" and all_int8["fidelity"]["passed"] is False
    assert mixed["status"] == "ok" and mixed["fidelity"]["passed"] is True
    assert mixed["identity"]["backend"] == all_int8["identity"]["backend"]
    assert "fallback: " in result.output and "found:" in result.output and "evaluations" in result.output


def test_fallback_is_never_silent_when_nothing_needs_it(runner, fast_options, tmp_path):
    result = runner.invoke(main, ["run", "-m", "tiny-mlp", "-p", "fp32,int8-dynamic", "-b", "torch", "--max-drop",
                                  "100", "--fallback", "--timeout", "0", "--out", str(tmp_path / "r.json"),
                                  *fast_options], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "fallback: tiny-mlp torch int8-dynamic b1 not searched: within the budget" in result.output


def _fragile_eval(tmp_path) -> Path:
    evaluation = tmp_path / "evaluate.py"
    evaluation.write_text(
        "import sys\nimport numpy as np\nimport torch\n"
        f"sys.path.insert(0, {str(Path(FRAGILE.rpartition(':')[0]).parent)!r})\n"
        "from fragile_model import Fragile\n"
        "X = torch.randn(300, 16, generator=torch.Generator().manual_seed(3))\n"
        "with torch.no_grad():\n    Y = Fragile().eval()(X).argmax(1).numpy()\n"
        "def evaluate(predict):\n    return float((np.asarray(predict(X.numpy())).argmax(1) == Y).mean())\n")
    return evaluation


NNCF = pytest.mark.skipif(not (X86 and importlib.util.find_spec("nncf")), reason="OpenVINO + NNCF on an x86 CPU")


@NNCF
def test_fallback_on_openvino_with_eval_runs_nncf_accuracy_control(runner, fast_options, tmp_path):
    """The user's score drives NNCF's quantize_with_accuracy_control; what it returns is measured as the
    mixed configuration, within the budget."""
    evaluation = _fragile_eval(tmp_path)
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "-m", FRAGILE, "--input-shape", "16", "-p", "fp32,int8-static", "-b",
                                  "openvino", "--eval", f"{evaluation}:evaluate", "--max-drop", "2", "--fallback",
                                  "--timeout", "0", "--out", str(out), *fast_options], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    records = load_result(out)["records"]
    all_int8, mixed = records[1], records[2]
    assert all_int8["fidelity"]["passed"] is False and all_int8["fidelity"]["score_drop"] > 2
    assert mixed["identity"]["variant"] == "mixed" and mixed["status"] == "ok"
    assert mixed["fallback"]["method"] == "nncf.quantize_with_accuracy_control"
    assert mixed["fidelity"]["passed"] is True and mixed["fidelity"]["score_drop"] <= 2
    assert "NNCF accuracy control, within the budget" in result.output
    if mixed["fallback"]["accuracy_control"]["fake_quantize_ops"] == 0:  # every layer back to float: said
        assert any("computes in float, not int8" in warning for warning in mixed["warnings"])


@NNCF
def test_under_auto_a_search_that_finds_nothing_tries_openvino_accuracy_control_and_says_what_it_gave(
        runner, fast_options, tmp_path):
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "-m", FRAGILE, "--input-shape", "16", "-p", "fp32,int8-static", "--eval",
                                  f"{_fragile_eval(tmp_path)}:evaluate", "--max-drop", "0", "--fallback",
                                  "--threads", "1", "--timeout", "0", "--out", str(out), *fast_options],
                           catch_exceptions=False)
    mixed = load_result(out)["records"][-1]
    assert mixed["identity"]["variant"] == "mixed"
    if mixed["identity"]["backend"] == "openvino":  # NNCF kept some int8 within the budget: its record won
        assert mixed["fallback"]["method"] == "nncf.quantize_with_accuracy_control"
        assert mixed["fallback"]["instead_of"]["backend"] != "openvino"
    else:  # the first search's record says what OpenVINO's gave
        assert "NNCF accuracy control on OpenVINO" in mixed["reason"]
    assert "NNCF accuracy control" in result.output
