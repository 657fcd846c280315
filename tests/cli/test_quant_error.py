"""`calib quant-error`, and int8 precisions inside a `calib run` sweep."""

import json
import textwrap

import pytest

from calib.cli import main
from calib.results.store import load_result

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


def test_quant_error_ranks_layers_and_sizes(runner, tmp_path):
    out = tmp_path / "qe.json"
    result = runner.invoke(main, ["quant-error", "--model", "tiny-cnn", "--calib-samples", "8", "--top", "2",
                                  "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "worst first" in result.output and "2 of 3 layers" in result.output
    assert "int8-static" in result.output and "model size per precision" in result.output
    payload = json.loads(out.read_text())
    layers = payload["layers"]
    assert [row["rank"] for row in layers] == [1, 2, 3]
    worst = [row["worst_sqnr_db"] for row in layers]
    assert worst == sorted(worst)
    for row in layers:
        assert set(row["weight"]) == {"symmetric/per-tensor", "symmetric/per-channel", "affine/per-tensor",
                                      "affine/per-channel"}
        assert row["weight"]["symmetric/per-channel"]["sqnr_db"] > 20
        assert row["activation"]["sqnr_db"] > 10 and row["activation"]["range"][0] <= 0
    sizes = {row["precision"]: row for row in payload["sizes"]}
    assert sizes["int8-static"]["serialized_bytes"] < sizes["fp32"]["serialized_bytes"]
    assert sizes["fp32"]["estimate_bytes"] == 4 * sizes["int8-static"]["estimate_bytes"]


def test_quant_error_usage_error_is_one_line(runner):
    result = runner.invoke(main, ["quant-error", "--model", "tiny-cnn", "--top", "-1"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "--top" in result.output


def test_run_records_engine_and_calibration(runner, fast_options, tmp_path):
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "-b", "torch", "--model", "tiny-cnn", "-p", "fp32,int8-static", "--calib-samples", "8",
                                  "--calib-method", "percentile", "--calib-percentile", "99.9", "--out", str(out),
                                  *fast_options], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    static = load_result(out)["records"][1]
    assert static["status"] == "ok" and static["storage_dtype"] == "int8"
    info = static["backend_info"]
    assert info["engine"] and info["path"].startswith("fx-") and info["reference_qdq"] is False
    assert info["calibration"]["method"] == "percentile" and info["calibration"]["percentile"] == 99.9
    assert info["calibration_s"] > 0


def test_unquantizable_model_fails_one_line_and_sweep_goes_on(runner, fast_options, tmp_path):
    model_file = tmp_path / "convs.py"
    model_file.write_text(textwrap.dedent("""
        import torch

        def build():
            return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()), torch.randn(1, 3, 16, 16)
    """))
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "-b", "torch", "--model", f"{model_file}:build", "-p", "fp32,int8-dynamic,int8-static",
                                  "--calib-samples", "4", "--out", str(out), *fast_options])
    assert result.exit_code == 1
    records = {r["identity"]["precision"]: r for r in load_result(out)["records"]}
    assert records["fp32"]["status"] == "ok" and records["int8-static"]["status"] == "ok"
    assert records["int8-dynamic"]["status"] == "failed"
    assert "no layer of this model could be quantized" in records["int8-dynamic"]["reason"]
    assert "\n" not in records["int8-dynamic"]["reason"]


def test_quant_error_format_json_is_the_tables_as_data(runner):
    result = runner.invoke(main, ["quant-error", "--model", "tiny-cnn", "--calib-samples", "8", "--top", "2", "-q",
                                  "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    layer_table, size_table = printed[0]["tables"]
    assert len(layer_table["rows"]) == 2 and layer_table["columns"][:3] == ["#", "layer", "kind"]
    assert {row["precision"] for row in size_table["rows"]} >= {"fp32", "int8-static"}
