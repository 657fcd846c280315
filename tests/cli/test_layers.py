"""`calib run --layers` / `--layers-csv` and `calib layers` on a stored result."""

import csv

from calib.cli import main
from calib.results.store import load_result


def _run(runner, args):
    return runner.invoke(main, args, catch_exceptions=False)


def test_run_with_layers_then_layers_command(runner, fast_options, tmp_path):
    out, layers_csv = tmp_path / "r.json", tmp_path / "layers.csv"
    result = _run(runner, ["run", "-b", "torch", "--model", "tiny-cnn", "-p", "fp32,bf16", "--layers", "--layers-csv",
                           str(layers_csv), "--out", str(out), *fast_options])
    assert result.exit_code == 0, result.output
    assert "slowest layers" in result.output and "by op kind" in result.output and "end-to-end" in result.output
    records = load_result(out)["records"]
    for record in records:
        table = record["layers"]
        assert table["method"] == "fx-graph" and table["coverage"] > 0 and len(table["layers"]) == 8
        assert table["end_to_end_ms"] == record["summary"]["median_ms"]
    assert records[1]["layers"]["layers"][0]["compute_dtype"] == "bfloat16"
    with open(layers_csv) as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 16 and {"precision", "name", "op_kind", "median_ms", "flops"} <= set(rows[0])

    shown = _run(runner, ["layers", str(out), "--top", "3", "-p", "bf16"])
    assert shown.exit_code == 0, shown.output
    assert "top 3 of 8" in shown.output and "fp32 b1" not in shown.output

    compared = _run(runner, ["layers", str(out), "--compare-precision", "fp32"])
    assert compared.exit_code == 0, compared.output
    assert "vs fp32" in compared.output and "speed-up" in compared.output and "fp32 -> bf16" in compared.output


def test_layers_command_errors_are_one_line(runner, fast_options, tmp_path):
    out = tmp_path / "r.json"
    assert _run(runner, ["run", "--model", "tiny-mlp", "--out", str(out), *fast_options]).exit_code == 0
    no_layers = runner.invoke(main, ["layers", str(out)])
    assert no_layers.exit_code == 2 and "--layers" in no_layers.output
    missing = runner.invoke(main, ["layers", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "no such file" in missing.output

    with_layers = tmp_path / "l.json"
    assert _run(runner, ["run", "--model", "tiny-mlp", "--layers", "--out", str(with_layers), *fast_options]).exit_code == 0
    no_baseline = runner.invoke(main, ["layers", str(with_layers), "--compare-precision", "bf16"])
    assert no_baseline.exit_code == 2 and "bf16" in no_baseline.output
    nothing_to_compare = runner.invoke(main, ["layers", str(with_layers), "--compare-precision", "fp32"])
    assert nothing_to_compare.exit_code == 2 and "nothing to compare" in nothing_to_compare.output
