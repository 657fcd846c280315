"""The one output policy (issue 29, class 2; calib.cli._outputs): every file every command writes is checked
before any work. Never a device node, a FIFO, a directory or a link to one; never one of the command's own
inputs; never over a calib results file: a results output (--out of a measuring command) moves the earlier
file aside to FILE.previous.json and says so, any other output is refused there.

One table, OUTPUTS, lists every command's output options; each is tried against every case. The device
node is a copy of /dev/null's made with mknod in the test's folder (root only): the real /dev is never
touched."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from calib.cli import main
from door_checks import deadline, one_line_error

FIXTURES = Path(__file__).parent / "fixtures" / "results"
FAST = ["--max-time", "0.3", "--min-time", "0.05", "--min-samples", "5", "--warmup-min-time", "0.01",
        "--warmup-min-count", "1", "-q", "--no-tune", "--threads", "1"]
FAST_AB = ["--rounds", "2", "--max-rounds", "2", "--round-time", "0.02", "--warmup-min-time", "0.01", "--threads",
           "1", "-q", "-b", "torch", "-p", "fp32"]
FACTORY = """
import torch


def build():
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)), (torch.randn(1, 4),)
"""


@pytest.fixture(autouse=True)
def _no_store(monkeypatch):
    monkeypatch.setenv("CALIB_STORE", "none")  # the results store is not what these tests are about


class Inputs:
    """The files the commands read, written into the test's folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.model_file = folder / "model.py"
        self.model_file.write_text(FACTORY)
        self.results = folder / "baseline.json"
        shutil.copy(FIXTURES / "run-layers.json", self.results)
        self.current = folder / "current.json"
        shutil.copy(FIXTURES / "run-layers.json", self.current)
        self.table = folder / "table.json"
        shutil.copy(FIXTURES / "table.json", self.table)
        self.shapes = folder / "shapes.json"
        self.shapes.write_text(json.dumps([{"op": "linear", "shape": [8, 8, 8]}]))

    @property
    def factory(self) -> str:
        return f"{self.model_file}:build"


# (command, the output option, whether it is a results file, argv without that option (model: a catalog name
# or the factory file, for the commands that load one), the input file the "same as input" case writes over)
OUTPUTS = [
    ("run", "--out", True, lambda f, model: ["run", "-m", model, "-b", "torch", "-p", "fp32", "--timeout", "0", *FAST],
     "model_file"),
    ("run", "--csv", False, lambda f, model: ["run", "-m", model, "-b", "torch", "-p", "fp32", *FAST], "model_file"),
    ("run", "--layers-csv", False, lambda f, model: ["run", "-m", model, "-b", "torch", "-p", "fp32", *FAST],
     "model_file"),
    ("train", "--out", True, lambda f, model: ["train", "-m", model, "-p", "fp32", "--steps", "3", "--threads", "1",
                                               "-q"], "model_file"),
    ("ab", "--baseline-out", True, lambda f, model: ["ab", "--baseline-model", model, "--current-model", model,
                                                     *FAST_AB], "model_file"),
    ("ab", "--current-out", True, lambda f, model: ["ab", "--baseline-model", model, "--current-model", model,
                                                    *FAST_AB], "model_file"),
    ("ab", "--markdown", False, lambda f, model: ["ab", "--baseline-model", model, "--current-model", model,
                                                  "--tolerance", "5%", *FAST_AB], "model_file"),
    ("calibrate", "--out", True, lambda f, model: ["calibrate", "-p", "fp32", "--sweep", "none", "--no-models",
                                                   "--shapes", str(f.shapes), "-q"], "shapes"),
    ("predict", "--out", True, lambda f, model: ["predict", "-m", "tiny-cnn", "-p", "fp32", "-t", str(f.table),
                                                 "--top", "0", "-q"], "table"),
    ("quant-error", "--out", False, lambda f, model: ["quant-error", "-m", model, "--no-size", "-q"], "model_file"),
    ("sensitivity", "--out", False, lambda f, model: ["sensitivity", "-m", model, "--no-latency", "-q"],
     "model_file"),
    ("check", "--markdown", False, lambda f, model: ["check", "--baseline", str(f.results), "--current",
                                                     str(f.current)], "results"),
    ("check", "--junit", False, lambda f, model: ["check", "--baseline", str(f.results), "--current",
                                                  str(f.current)], "current"),
    ("report", "--html", False, lambda f, model: ["report", str(f.results)], "results"),
    ("report", "--markdown", False, lambda f, model: ["report", str(f.results)], "results"),
]
IDS = [f"{command} {flag}" for command, flag, *_ in OUTPUTS]


refused = one_line_error  # exit 2 with one `calib: error:` line saying the fragments, no traceback


def invoke(runner, argv):
    with deadline(120):
        return runner.invoke(main, [str(part) for part in argv])


def _device_node(path: Path) -> Path:
    os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # a copy of /dev/null's node, in the test's folder
    return path


root_only = pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a character device needs root")


@root_only
@pytest.mark.parametrize("command, flag, results, argv, own_input", OUTPUTS, ids=IDS)
def test_a_device_node_is_refused_and_left_alone(runner, tmp_path, command, flag, results, argv, own_input):
    files = Inputs(tmp_path)
    node = _device_node(tmp_path / "node")
    refused(invoke(runner, [*argv(files, files.factory), flag, node]), flag, "is a character device")
    assert stat.S_ISCHR(os.lstat(node).st_mode)


@root_only
@pytest.mark.parametrize("command, flag, results, argv, own_input", OUTPUTS, ids=IDS)
def test_a_link_to_a_device_node_is_refused(runner, tmp_path, command, flag, results, argv, own_input):
    files = Inputs(tmp_path)
    node = _device_node(tmp_path / "node")
    link = tmp_path / "link.json"
    link.symlink_to(node)
    refused(invoke(runner, [*argv(files, files.factory), flag, link]), "is a character device", f"a link to {node}")
    assert stat.S_ISCHR(os.lstat(node).st_mode) and os.path.islink(link)


@pytest.mark.parametrize("command, flag, results, argv, own_input", OUTPUTS, ids=IDS)
def test_a_fifo_is_refused_without_blocking(runner, tmp_path, command, flag, results, argv, own_input):
    files = Inputs(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    refused(invoke(runner, [*argv(files, files.factory), flag, fifo]), flag, "is a FIFO")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("command, flag, results, argv, own_input", OUTPUTS, ids=IDS)
def test_a_directory_is_refused(runner, tmp_path, command, flag, results, argv, own_input):
    files = Inputs(tmp_path)
    folder = tmp_path / "folder"
    folder.mkdir()
    refused(invoke(runner, [*argv(files, files.factory), flag, folder]), "is a directory")
    assert folder.is_dir() and not any(folder.iterdir())


@pytest.mark.parametrize("command, flag, results, argv, own_input", OUTPUTS, ids=IDS)
def test_the_commands_own_input_is_refused_and_kept(runner, tmp_path, command, flag, results, argv, own_input):
    files = Inputs(tmp_path)
    target = getattr(files, own_input)
    before = target.read_bytes()
    line = refused(invoke(runner, [*argv(files, files.factory), flag, target]), flag, "is the command's own input")
    assert str(target) in line
    assert target.read_bytes() == before and not target.with_name(f"{target.stem}.previous.json").exists()


@pytest.mark.parametrize("command, flag, results, argv, own_input", OUTPUTS, ids=IDS)
def test_the_same_input_by_another_name_is_refused(runner, tmp_path, command, flag, results, argv, own_input):
    """A link to the input, or the input spelled through another folder, is the same file."""
    files = Inputs(tmp_path)
    target = getattr(files, own_input)
    link = tmp_path / "sub" / "alias"
    link.parent.mkdir()
    link.symlink_to(target)
    before = target.read_bytes()
    refused(invoke(runner, [*argv(files, files.factory), flag, tmp_path / "sub" / ".." / "sub" / "alias"]),
            "is the command's own input")
    assert target.read_bytes() == before


@pytest.mark.parametrize("command, flag, results, argv, own_input", OUTPUTS, ids=IDS)
def test_over_a_results_file(runner, tmp_path, command, flag, results, argv, own_input):
    """A results output moves the earlier results file aside (said on stderr) and writes its own; any other
    output is refused there before any work."""
    files = Inputs(tmp_path)
    earlier = tmp_path / "earlier.json"
    shutil.copy(FIXTURES / "train.json", earlier)
    before = earlier.read_bytes()
    result = invoke(runner, [*argv(files, "tiny-mlp"), flag, earlier])
    kept = tmp_path / "earlier.previous.json"
    if not results:
        refused(result, flag, "is a calib results file (", "records)")
        assert earlier.read_bytes() == before and not kept.exists()
        return
    assert result.exit_code == 0, result.output
    assert kept.read_bytes() == before
    assert f"{earlier} held an earlier run's records; kept as {kept}" in result.output
    assert json.loads(earlier.read_text())["complete"] is True


@pytest.mark.parametrize("command, flag, results, argv, own_input", [o for o in OUTPUTS if o[2]],
                         ids=[i for i, o in zip(IDS, OUTPUTS) if o[2]])
def test_a_results_output_over_another_kind_of_file_is_refused_before_work(runner, tmp_path, command, flag, results,
                                                                          argv, own_input):
    files = Inputs(tmp_path)
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": "not calib\'s"}')
    refused(invoke(runner, [*argv(files, files.factory), flag, notes]), flag, "not a calib results file")
    assert notes.read_text() == '{"mine": "not calib\'s"}'


def test_a_second_calibrate_moves_the_first_table_aside(runner, tmp_path):
    """Issue 29: `calib calibrate --no-models --out t.json` twice replaced the first table (it has no records)."""
    files = Inputs(tmp_path)
    out = tmp_path / "t.json"
    argv = ["calibrate", "-p", "fp32", "--sweep", "none", "--no-models", "--shapes", str(files.shapes), "-q",
            "--out", str(out)]
    first = invoke(runner, argv)
    assert first.exit_code == 0, first.output
    table = out.read_bytes()
    second = invoke(runner, argv)
    assert second.exit_code == 0, second.output
    kept = tmp_path / "t.previous.json"
    assert kept.read_bytes() == table
    assert f"{out} held an earlier calibration table; kept as {kept}" in second.output
    assert json.loads(out.read_text())["calibration"]["tables"]["fp32"]["op_count"] == 1


@pytest.mark.parametrize("argv, second", [
    (lambda f, t: ["report", f.results, "--html", t / "r", "--markdown", t / "r"], "--markdown"),
    (lambda f, t: ["check", "--baseline", f.results, "--current", f.current, "--markdown", t / "r",
                   "--junit", t / "r"], "--junit"),
    (lambda f, t: ["run", "-m", "tiny-mlp", "--csv", t / "r", "--layers-csv", t / "r", *FAST], "--layers-csv"),
    (lambda f, t: ["run", "-m", "tiny-mlp", "--out", t / "r", "--csv", t / "r", *FAST], "--csv"),
], ids=["report", "check", "run csv", "run out"])
def test_two_outputs_of_one_command_cannot_be_one_file(runner, tmp_path, argv, second):
    refused(invoke(runner, argv(Inputs(tmp_path), tmp_path)), second, "is also")
    assert not (tmp_path / "r").exists()


def test_an_earlier_report_is_replaced(runner, tmp_path):
    """What is not a results file (last run's report, CSV, summary) is an output calib may write again."""
    files = Inputs(tmp_path)
    page = tmp_path / "report.html"
    page.write_text("<html>last run's page, never in a new report</html>")
    result = invoke(runner, ["report", files.results, "--html", page])
    assert result.exit_code == 0, result.output
    assert "last run's page" not in page.read_text()
