"""Tables refuse to predict for another device or precision than they describe, with the reason."""

import pytest

from calib.errors import UsageError
from calib.predict.table import TableMismatch, load_view
from calib.results.store import ResultWriter


def _table(tmp_path, precisions=("fp32",), device="cpu"):
    path = tmp_path / "table.json"
    writer = ResultWriter(path, {"cpu_model": "Test CPU", "threads": 1}, None, command=["test"])
    writer.payload["calibration"] = {
        "table_version": 1, "device": device, "device_name": "Test CPU", "backend": "torch", "threads": 1,
        "tables": {p: {"precision": p, "emulated": p == "bf16", "ops": [
            {"name": "op", "op_kind": "conv", "target": "Conv2d", "output_shape": "1x8x8x8", "flops": 1000,
             "bytes": 100, "median_ms": 0.01}]} for p in precisions}}
    writer.finish()
    return path


def test_view_of_a_precision_the_table_holds(tmp_path):
    view = load_view(_table(tmp_path, ("fp32", "bf16")), "bf16", "cpu")
    assert view.emulated and view.threads == 1 and len(view.ops) == 1
    assert view.description.startswith("emulated bf16 on cpu (Test CPU)")


def test_refuses_another_precision_with_the_reason(tmp_path):
    with pytest.raises(TableMismatch, match="describes fp32 on cpu, not int8-static") as caught:
        load_view(_table(tmp_path), "int8-static", "cpu")
    assert caught.value.exit_code == 2


def test_refuses_another_device_with_the_reason(tmp_path):
    with pytest.raises(TableMismatch, match=r"describes cpu \(Test CPU\), not cuda:0"):
        load_view(_table(tmp_path), "fp32", "cuda:0")


def test_a_results_file_that_is_not_a_table(tmp_path):
    path = tmp_path / "run.json"
    ResultWriter(path, {}, None, command=["test"]).finish()
    with pytest.raises(UsageError, match="not a calibration table"):
        load_view(path, "fp32")
