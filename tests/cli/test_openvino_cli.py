"""`calib run --backend openvino`: what ran is recorded and warned about, per-layer tables, skipped
precisions with their reason, and a one-line exit 2 where openvino is missing."""

import subprocess
import sys

import pytest

from calib.cli import main
from calib.results.store import load_result


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CALIB_CACHE_DIR", str(tmp_path / "cache"))


def test_openvino_records_what_really_ran(runner, fast_options, tmp_path):
    pytest.importorskip("openvino")
    from calib.backends.openvino import capabilities

    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "--model", "tiny-cnn", "--backend", "openvino", "-p", "fp32,bf16,int8-dynamic",
                                  "--layers", "--out", str(out), *fast_options], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    fp32, bf16, dynamic = load_result(out)["records"]
    assert fp32["status"] == bf16["status"] == "ok" and dynamic["status"] == "skipped"
    assert "int8-static" in dynamic["reason"]
    assert fp32["backend_info"]["compiled_properties"]["INFERENCE_PRECISION_HINT"] == "f32"
    assert fp32["layers"]["method"] == "openvino-perf-count" and fp32["layers"]["coverage"] > 0
    assert all(row["provider"] for row in fp32["layers"]["layers"])  # each row names its kernel
    executed = bf16["backend_info"]["executed"]
    if "BF16" not in capabilities():
        assert executed["heavy_in_requested_precision"] == 0 and bf16["compute_dtype"] == "float32"
        assert any("fell back" in warning for warning in bf16["warnings"])
        assert "fell back" in result.output


# openvino made unimportable in a fresh interpreter, as on a machine without it
_WITHOUT = "import sys; sys.modules['openvino'] = None; from calib.cli import main; sys.argv = {argv!r}; main()"


def test_without_openvino_the_backend_fails_in_one_line_with_the_hint(tmp_path):
    code = _WITHOUT.format(argv=["calib", "run", "--model", "tiny-mlp", "--backend", "openvino", "--max-time", "0.2",
                                 "--results-dir", str(tmp_path)])
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "calib-bench[openvino]" in lines[0], run.stderr
    assert not list(tmp_path.iterdir())  # failed before any work


def test_an_openvino_ir_runs_on_openvino_by_default(runner, fast_options, tmp_path):
    openvino = pytest.importorskip("openvino")
    from calib.backends.onnx_export import export_model
    from calib.models.loader import load_model

    xml = tmp_path / "tiny.xml"
    openvino.save_model(openvino.Core().read_model(str(export_model(load_model("tiny-cnn")).path)), str(xml))
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "--model", str(xml), "-p", "fp32", "--out", str(out), *fast_options],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (record,) = load_result(out)["records"]
    assert record["identity"]["backend"] == "openvino" and record["status"] == "ok"
    assert record["identity"]["input_shape"] == [1, 3, 32, 32] and record["backend_info"]["frontend"] == "xml"
