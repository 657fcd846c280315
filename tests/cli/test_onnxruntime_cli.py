"""`calib run` with the ONNX Runtime backend: one table across backends, per-node tables,
.onnx model files, `--backend auto`, and a one-line error where onnxruntime is missing."""

import json
import subprocess
import sys

import pytest

from calib.cli import main
from calib.results.store import load_result


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CALIB_CACHE_DIR", str(tmp_path / "cache"))


def _run(runner, args):
    return runner.invoke(main, args, catch_exceptions=False)


def test_torch_and_onnxruntime_in_one_table_with_node_tables(runner, fast_options, tmp_path):
    pytest.importorskip("onnxruntime")
    out = tmp_path / "r.json"
    result = _run(runner, ["run", "--model", "tiny-cnn", "--backend", "torch", "--backend", "onnxruntime",
                           "-p", "fp32,int8-static", "--calib-samples", "4", "--layers", "--out", str(out),
                           *fast_options])
    assert result.exit_code == 0, result.output
    records = load_result(out)["records"]
    assert [(r["identity"]["backend"], r["identity"]["precision"]) for r in records] == [
        ("torch", "fp32"), ("torch", "int8-static"), ("onnxruntime", "fp32"), ("onnxruntime", "int8-static")]
    assert all(r["status"] == "ok" for r in records), [r["reason"] for r in records]
    for record in records[2:]:
        assert record["backend_info"]["provider"] == "CPUExecutionProvider"
        assert record["layers"]["method"] == "ort-profiler" and record["layers"]["coverage"] > 0
        assert "profile_layers" not in record["backend_info"]
    assert records[3]["backend_info"]["quant_format"] == "QDQ"
    assert "onnxruntime" in result.output


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript exporter warns
def test_onnx_file_runs_on_onnxruntime_by_default(runner, fast_options, tmp_path):
    pytest.importorskip("onnxruntime")
    import torch

    from calib.models.tiny import tiny_mlp

    path = tmp_path / "mlp.onnx"
    torch.onnx.export(tiny_mlp().eval(), (torch.randn(2, 64),), str(path), dynamo=False, input_names=["x"],
                      dynamic_axes={"x": {0: "batch"}})
    out = tmp_path / "r.json"
    result = _run(runner, ["run", "--model", str(path), "-p", "fp32,int8-dynamic", "--out", str(out), *fast_options])
    assert result.exit_code == 0, result.output
    records = load_result(out)["records"]
    assert [r["identity"]["backend"] for r in records] == ["onnxruntime", "onnxruntime"]
    assert all(r["status"] == "ok" for r in records)
    assert records[0]["identity"]["input_shape"] == [1, 64]

    out_torch = tmp_path / "t.json"
    result = _run(runner, ["run", "--model", str(path), "--backend", "torch", "--out", str(out_torch), *fast_options])
    record = load_result(out_torch)["records"][0]
    assert record["status"] == "skipped" and "--backend onnxruntime" in record["reason"]


def test_auto_says_what_it_picked_and_why(runner, fast_options, tmp_path):
    pytest.importorskip("onnxruntime")
    out = tmp_path / "r.json"
    result = _run(runner, ["run", "-v", "--model", "tiny-mlp", "--backend", "auto", "-p", "fp32,bf16", "--device", "cpu",
                           "--out", str(out), *fast_options])
    assert result.exit_code == 0, result.output
    records = load_result(out)["records"]
    assert [r["identity"]["backend"] for r in records] == ["onnxruntime", "torch"]
    assert records[0]["backend_choice"]["requested"] == "auto" and records[0]["backend_choice"]["why"]
    assert "auto: fp32 -> onnxruntime" in result.output


# onnxruntime made unimportable in a fresh interpreter, as on a machine without it
_WITHOUT_ORT = "import sys; sys.modules['onnxruntime'] = None; from calib.cli import main; sys.argv = {argv!r}; main()"


def _without_onnxruntime(*args):
    code = _WITHOUT_ORT.format(argv=["calib", *args])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_without_onnxruntime_help_and_device_work_and_the_backend_fails_in_one_line(tmp_path):
    assert _without_onnxruntime("--help").returncode == 0
    device = _without_onnxruntime("device", "--json")
    assert device.returncode == 0, device.stderr
    json.loads(device.stdout)
    run = _without_onnxruntime("run", "--model", "tiny-mlp", "--backend", "onnxruntime", "--max-time", "0.2",
                               "--results-dir", str(tmp_path))
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "onnxruntime" in lines[0] and "not installed" in lines[0], run.stderr
    assert not list(tmp_path.iterdir())  # failed before any work
