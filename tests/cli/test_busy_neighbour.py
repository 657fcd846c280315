"""Issue 30 item 1: every long command warns when other processes took the CPU while it measured
(`calib train` printed no such warning; `calib calibrate` stored 90% and printed an empty note). A real
neighbour: a child process spinning one core while a tiny command measures beside it."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from calib.cli import main

WARNING = "other processes used"


@pytest.fixture
def neighbour():
    """A process that keeps one core busy for as long as the test runs."""
    spinner = subprocess.Popen([sys.executable, "-c", "import sys\nprint('spinning', flush=True)\nwhile True: pass"],
                               stdout=subprocess.PIPE, text=True)
    spinner.stdout.readline()  # it runs before the measurement starts, not while Python is still starting
    try:
        yield spinner
    finally:
        spinner.kill()
        spinner.wait()


def _invoke(args):
    result = CliRunner(env={"COLUMNS": "300"}).invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_train_warns_and_marks_its_step_time(neighbour, tmp_path):
    out = tmp_path / "train.json"
    output = _invoke(["train", "-m", "tiny-mlp", "-p", "fp32", "--steps", "400", "--threads", "1", "-q",
                      "--out", str(out)])
    record = json.loads(out.read_text())["records"][0]
    assert record["other_cpu_percent"] >= 25, record["other_cpu_percent"]
    assert f"warning: fp32: {WARNING} " in output, output
    row = next(line for line in output.splitlines() if line.startswith("fp32 (base)"))
    assert " busy " in row, output  # in the ms/step cell, not only in a line under the table


def test_calibrate_says_busy_in_its_row_and_predict_check_warns(neighbour, tmp_path):
    table = tmp_path / "table.json"
    output = _invoke(["calibrate", "-p", "fp32", "--quick", "--sweep", "none", "-m", "tiny-cnn", "--threads", "1",
                      "-q", "--out", str(table)])
    row = next(line for line in output.splitlines() if line.startswith("fp32"))
    assert "BUSY: other processes used" in row, output  # the note column was empty
    assert f"warning: fp32: {WARNING} " in output, output
    checked = _invoke(["predict", "-m", "tiny-cnn", "-p", "fp32", "-t", str(table), "--check", "--max-time", "0.3",
                       "-q", "--out", str(tmp_path / "predict.json")])
    assert f"{WARNING} " in checked and "busy" in checked, checked


def test_sensitivity_warns(neighbour):
    output = _invoke(["sensitivity", "-m", "tiny-cnn", "--threads", "1", "-q", "--top", "2"])
    assert f"warning: {WARNING} " in output, output
