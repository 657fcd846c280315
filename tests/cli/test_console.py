"""The console's width: COLUMNS when set; in a pipe or CI log, every table at its natural width (issue 30
item 4: `calib show train.json > f` lost fwd/bwd/opt, Δ mem, scaler and NaN at 120 columns).
And the commands at 80 and 120 columns (COLUMNS, as in a terminal): numbers and names never cut."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from calib.cli import main
from calib.cli._common import PIPE_WIDTH, console

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "results"
TRAIN_COLUMNS = ("precision", "hw", "dtypes w/g/opt/mm", "ms/step", "fwd", "bwd", "opt", "samples/s", "Δ samples/s",
                 "peak mem", "Δ mem", "final loss", "max |Δloss|", "accuracy", "scaler", "NaN")


def test_a_pipe_gets_the_natural_width_not_80_nor_120(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert console().width == PIPE_WIDTH >= 100_000  # pytest captures stdout: not a terminal


def test_piped_show_of_a_real_train_file_keeps_every_column(tmp_path):
    """`calib train` then `calib show` with stdout to a file, COLUMNS unset, as in a CI log."""
    import os

    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES")}
    results = tmp_path / "train.json"
    subprocess.run([sys.executable, "-m", "calib", "train", "-m", "tiny-mlp", "-p", "fp32", "--steps", "4", "-q",
                    "--out", str(results)], env=env, check=True, stdout=subprocess.DEVNULL, timeout=300)
    shown = tmp_path / "shown.txt"
    with open(shown, "w") as handle:
        subprocess.run([sys.executable, "-m", "calib", "show", str(results)], env=env, check=True, stdout=handle,
                       timeout=300)
    text = shown.read_text()
    header = next(line for line in text.splitlines() if line.startswith("precision"))
    assert header.split() == " ".join(TRAIN_COLUMNS).split(), text  # every column, in one header line
    assert "left out" not in text and "…" not in text and "..." not in text, text
    notes = [line for line in text.splitlines() if line.startswith("4 steps")]
    assert notes and notes[0].endswith("(cross-entropy)"), text  # a note is one line, never wrapped


def test_narrow_terminal_wraps_whole_columns_and_keeps_accuracy_readable():
    result = CliRunner().invoke(main, ["show", str(FIXTURES / "train.json")], env={"COLUMNS": "80"},
                                catch_exceptions=False)
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in result.output, result.output
    at = next(index for index, line in enumerate(lines) if "accuracy" in line.split())
    header, column = lines[at], lines[at].index("accuracy")
    cells = [line[column:].split()[0] for line in lines[at:at + 4] if line.startswith(("fp32 (base)", "amp-bf16"))]
    assert cells == ["9.7%", "9.7%"], result.output  # whole: not squeezed to one character
    assert header.startswith("precision")  # the continuation starts with the row's name


@pytest.mark.parametrize("name", ["train.json", "run-layers.json"])
def test_show_formats_for_machines_parse_and_hold_every_column(name):
    path = str(FIXTURES / name)
    runner = CliRunner()
    documents = json.loads(runner.invoke(main, ["show", path, "--format", "json"], catch_exceptions=False).output)
    columns = documents[0]["tables"][0]["columns"]
    rows = list(csv.DictReader(io.StringIO(runner.invoke(main, ["show", path, "--format", "csv"],
                                                         catch_exceptions=False).output)))
    assert rows and list(rows[0]) == columns
    markdown = runner.invoke(main, ["show", path, "--format", "markdown"], catch_exceptions=False).output
    assert "| " + " | ".join(column.replace("|", "\\|") for column in columns) + " |" in markdown
    if name == "train.json":
        assert tuple(columns) == TRAIN_COLUMNS
    else:
        assert {"median ms", "p99", "peak mem", "vs fp32"} <= set(columns)
        assert all(row["median ms"].endswith(" busy") for row in rows)  # this fixture was timed beside a neighbour


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


def test_run_and_train_print_their_final_tables_as_json_or_csv(fast_options, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["run", "-b", "torch", "-m", "tiny-mlp", "-p", "fp32,bf16", "--out",
                                  str(tmp_path / "r.json"), "--format", "json", *fast_options], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    document, = json.loads(result.stdout)  # stdout is the JSON and nothing else
    assert document["info"] == [f"results: {tmp_path / 'r.json'}"]
    bf16 = document["tables"][0]["rows"][1]
    assert bf16["precision"] == "bf16" and bf16["vs fp32"].split()[1].startswith("[")  # its interval
    result = runner.invoke(main, ["train", "-m", "tiny-mlp", "-p", "fp32", "--steps", "4", "-q", "--format", "csv",
                                  "--out", str(tmp_path / "t.json")], catch_exceptions=False)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == TRAIN_COLUMNS and rows[0]["precision"] == "fp32 (base)"
