"""The console's width: COLUMNS when set; in a pipe or CI log, wide enough for the run table.
And the commands at 80 and 120 columns (COLUMNS, as in a terminal): numbers and names never cut."""

import json

import pytest
from click.testing import CliRunner

from calib.cli import main
from calib.cli._common import PIPE_WIDTH, console


def test_a_pipe_gets_the_table_width_not_80(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert console().width == PIPE_WIDTH == 120  # pytest captures stdout: not a terminal


def test_columns_wins(monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")
    assert console().width == 90 and console(stderr=True).width == 90


def _invoke(args, width):
    result = CliRunner().invoke(main, args, env={"COLUMNS": str(width)}, catch_exceptions=False)
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= width and "…" not in result.output, result.output
    return result


@pytest.mark.parametrize("width", [80, 120])
def test_show_keeps_every_number_of_a_two_backend_run(tmp_path, width):
    from render.records import two_backend_records

    from calib import format as fmt
    from calib.results.schema import summary_of

    records = two_backend_records()
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"schema_version": 1, "calib_version": "0.1", "created": "2025-01-01T00:00:00",
                                "environment": {"host": "box", "cpu_model": "AMD EPYC 9654", "threads": 16},
                                "records": records}))
    result = _invoke(["show", str(path), "--fidelity"], width)
    assert result.exit_code == 0, result.output
    for record in records:
        summary = summary_of(record)
        if summary:
            assert f" {fmt.ms(summary.median_ms)} " in result.output, result.output
    for whole in ("onnxruntime", "int8-static", "native", "emulated", "1637.2", "0.012", "skipped", "FAIL"):
        assert whole in result.output, result.output
    assert "1.…" not in result.output
