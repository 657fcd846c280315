"""Every door holds (issue 29): a user mistake is one line and a non-zero exit (2 for usage), never a
traceback; what measured nothing never exits 0; what finished stays on disk.

Classes, as the issue numbers them: 1 user code that exits or hangs, 3 bad input files, 4 bad options that
reached deep code, 5 training factories and the console's encoding. Everything is built here from tiny
catalog models and files the tests write."""

from __future__ import annotations

import json
import os
import shutil
import signal
import textwrap
from pathlib import Path

import pytest

from calib import user_files
from calib.cli import main
from calib.results.store import load_result
from door_checks import deadline

FIXTURES = Path(__file__).parent / "fixtures" / "results"
LONG_NAME = "x" * 300


@pytest.fixture(autouse=True)
def _no_store(monkeypatch):
    monkeypatch.setenv("CALIB_STORE", "none")  # the results store is not what these tests are about


def one_line_error(result, code: int = 2, *fragments: str) -> str:
    """The result is `code` with exactly one `calib: error:` line saying `fragments`, and no traceback."""
    output = result.output
    assert result.exit_code == code, output
    assert "Traceback" not in output and not isinstance(result.exception, (AssertionError, TypeError)), output
    errors = [line for line in output.splitlines() if line.startswith("calib: error:")]
    assert len(errors) == 1, output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


# ---- class 1: user code that exits, raises KeyboardInterrupt or hangs ----

def test_call_user_makes_an_exit_or_a_raised_interrupt_a_failure_and_passes_a_real_ctrl_c():
    import sys
    import threading
    import time

    with pytest.raises(user_files.UserCodeExit, match=r"sys.exit\(0\)"):
        user_files.call_user(sys.exit, 0)
    with pytest.raises(user_files.UserCodeExit, match="KeyboardInterrupt"):
        user_files.call_user(lambda: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(user_files.UserCodeTimeout, match="within 0.2 s"):
        user_files.call_user(time.sleep, 30, limit_s=0.2)
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):  # a real Ctrl-C still stops calib
        user_files.call_user(time.sleep, 30)
    timer.join()


EXITING = """
    import sys
    import torch

    def exits():
        sys.exit(0)

    def builds():
        return torch.nn.Sequential(torch.nn.Linear(8, 4))

    class ExitsInForward(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(8, 4)
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            if self.calls > 2:  # after calib's input check: in the middle of the measurement
                sys.exit(0)
            return self.linear(x)

    def exits_in_forward():
        return ExitsInForward()

    class InterruptsItself(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(8, 4)

        def forward(self, x):
            if x.dtype == torch.bfloat16:
                raise KeyboardInterrupt  # raised by the code, no Ctrl-C was pressed
            return self.linear(x)

    def interrupts_itself():
        return InterruptsItself(), (torch.randn(1, 8),)
"""


@pytest.mark.parametrize("command", [
    ["train", "--steps", "2"],
    ["quant-error", "--no-size"],
    ["sensitivity", "--no-latency"],
    ["calibrate", "-p", "fp32", "--sweep", "none"],
])
def test_a_factory_that_exits_is_a_one_line_error_not_exit_0(runner, tmp_path, command):
    factory = write(tmp_path / "exiting.py", EXITING)
    name, *options = command
    model = ["-m", f"{factory}:exits"] + ([] if name == "calibrate" else ["--input-shape", "8"])
    result = runner.invoke(main, [name, *model, *options, "--out", str(tmp_path / "out.json")])
    one_line_error(result, 2, "exits() failed", "sys.exit(0) called in the user's code")


def test_ab_with_a_gate_never_passes_what_exited(runner, tmp_path):
    factory = write(tmp_path / "exiting.py", EXITING)
    quick = ["--input-shape", "8", "--rounds", "2", "--max-rounds", "2", "--round-time", "0.02",
             "--warmup-min-time", "0.01", "--tolerance", "5%", "--results-dir", str(tmp_path / "ab")]
    loading = runner.invoke(main, ["ab", "--baseline-model", f"{factory}:exits", "--current-model",
                                   f"{factory}:builds", *quick])
    one_line_error(loading, 2, "sys.exit(0)")
    measuring = runner.invoke(main, ["ab", "--baseline-model", f"{factory}:exits_in_forward", "--current-model",
                                     f"{factory}:builds", *quick])
    assert measuring.exit_code == 3, measuring.output  # inconclusive: nothing was measured, so no pass
    assert "sys.exit(0) called in the user's code" in measuring.output


def test_an_eval_that_exits_is_a_one_line_error(runner, tmp_path):
    evaluation = write(tmp_path / "ev.py", """
        import sys

        def evaluate(predict):
            sys.exit(0)
    """)
    result = runner.invoke(main, ["sensitivity", "-m", "tiny-mlp", "--eval", str(evaluation), "--no-latency"])
    one_line_error(result, 2, f"--eval {evaluation}", "sys.exit(0) called in the user's code")


def test_a_raised_keyboard_interrupt_fails_its_configuration_only(runner, fast_options, tmp_path):
    factory = write(tmp_path / "exiting.py", EXITING)
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "-b", "torch", "-m", f"{factory}:interrupts_itself", "-p", "fp32,bf16",
                                  "--timeout", "0", "--out", str(out), *fast_options])
    assert result.exit_code == 1, result.output
    records = load_result(out)["records"]
    assert [r["status"] for r in records] == ["ok", "failed"]
    assert "KeyboardInterrupt raised in the user's code" in records[1]["reason"]


# Scores 1.0 for outputs equal to the first it saw (fp32), else 0.5: int8 misses any budget; inside the
# --fallback search (this process, after the sweep) it hangs or exits, as the evaluations did.
FALLBACK_EVAL = """
    import inspect
    import sys
    import time

    import numpy as np

    first = []

    def evaluate(predict):
        if any("sensitivity" in frame.filename and "fallback" in frame.filename for frame in inspect.stack()):
            {action}
        outputs = predict(np.ones((4, 64), dtype=np.float32))
        if not first:
            first.append(outputs)
        return 1.0 if np.array_equal(outputs, first[0]) else 0.5
"""


@pytest.mark.parametrize("action, said", [("time.sleep(600)", "did not return within 1 s"),
                                          ("sys.exit(0)", "sys.exit(0) called in the user's code")])
def test_the_fallback_evaluation_is_supervised_and_the_run_fails(runner, fast_options, tmp_path, monkeypatch,
                                                                  action, said):
    import calib.worker

    monkeypatch.setattr(calib.worker, "DEFAULT_EVAL_SLACK_S", 1.0)  # the limit without --timeout (in-process)
    evaluation = write(tmp_path / "ev.py", FALLBACK_EVAL.replace("{action}", action))
    out = tmp_path / "r.json"
    with deadline(120):
        result = runner.invoke(main, ["run", "-b", "torch", "-m", "tiny-mlp", "-p", "fp32,int8-dynamic", "--eval",
                                      str(evaluation), "--max-drop", "1", "--fallback", "--timeout", "0",
                                      "--out", str(out), *fast_options])
    assert result.exit_code == 1, result.output  # int8 missed its budget and nothing rescued it
    records = load_result(out)["records"]
    assert [(r["identity"]["precision"], r["identity"].get("variant"), r["status"]) for r in records] == [
        ("fp32", None, "ok"), ("int8-dynamic", None, "ok"), ("int8-dynamic", "mixed", "failed")]
    assert said in records[2]["reason"] and records[1]["fidelity"]["passed"] is False
    assert "fails its fidelity budget" in result.output


def test_a_run_that_measured_nothing_does_not_exit_0(runner, fast_options, tmp_path):
    result = runner.invoke(main, ["run", "-b", "torch", "-m", "tiny-mlp", "-p", "fp8", "--out",
                                  str(tmp_path / "r.json"), *fast_options])
    one_line_error(result, 1, "nothing was measured", "fp8")


# ---- class 3: bad files ----

def _bad_files(folder: Path) -> dict[str, Path]:
    good = json.loads((FIXTURES / "run-layers.json").read_text())

    def variant(name: str, change) -> Path:
        payload = json.loads(json.dumps(good))
        change(payload)
        path = folder / f"{name}.json"
        path.write_text(json.dumps(payload))
        return path

    def empty_samples(payload):
        payload["records"][0]["timing"]["samples_ms"] = []

    def text_samples(payload):
        payload["records"][0]["timing"]["samples_ms"] = ["fast", None]

    files = {"null record": variant("null", lambda p: p.update(records=[None])),
             "records of strings": variant("strings", lambda p: p.update(records=["a", "b"])),
             "records null": variant("records-null", lambda p: p.update(records=None)),
             "empty samples": variant("empty", empty_samples),
             "samples of text": variant("text", text_samples)}
    fifo = folder / "fifo.json"
    os.mkfifo(fifo)
    device = folder / "device.json"
    os.mknod(device, 0o600 | __import__("stat").S_IFCHR, os.makedev(1, 3))  # a copy of /dev/null's node
    zero = folder / "zero.json"
    zero.symlink_to("/dev/zero")
    files.update({"FIFO": fifo, "device node": device, "symlink to /dev/zero": zero})
    return files


READERS = {
    "show": lambda bad, good, tmp: ["show", str(bad)],
    "compare": lambda bad, good, tmp: ["compare", str(good), str(bad)],
    "report": lambda bad, good, tmp: ["report", str(bad), "--html", str(tmp / "r.html")],
    "layers": lambda bad, good, tmp: ["layers", str(bad)],
    "check current": lambda bad, good, tmp: ["check", "--baseline", str(good), "--current", str(bad)],
    "check baseline": lambda bad, good, tmp: ["check", "--baseline", str(bad), "--current", str(good)],
}


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a character device needs root")
def test_every_reader_refuses_a_bad_file_in_one_line_with_exit_2(runner, tmp_path):
    good = tmp_path / "good.json"
    shutil.copy(FIXTURES / "run-layers.json", good)
    for kind, bad in _bad_files(tmp_path).items():
        for reader, arguments in READERS.items():
            with deadline(60):
                result = runner.invoke(main, arguments(bad, good, tmp_path))
            line = one_line_error(result, 2, bad.name)  # check's exit 2 (usage), never 1 (a regression)
            assert kind and reader and line


def test_a_results_file_over_the_cap_is_refused_before_it_is_read(runner, tmp_path, monkeypatch):
    import calib.results.store

    monkeypatch.setattr(calib.results.store, "MAX_RESULT_BYTES", 1000)
    result = runner.invoke(main, ["show", str(FIXTURES / "run-layers.json")])
    one_line_error(result, 2, "more than the 1,000 bytes")


def test_device_cpuinfo_refuses_a_fifo(runner, tmp_path):
    fifo = tmp_path / "cpuinfo"
    os.mkfifo(fifo)
    with deadline(60):
        result = runner.invoke(main, ["device", "--cpuinfo", str(fifo)])
    one_line_error(result, 2, "--cpuinfo", "FIFO")


# ---- class 4: bad options that reached deep code ----

@pytest.mark.parametrize("command", [
    lambda tmp, name: ["run", "-b", "torch", "-m", "tiny-mlp", "--out", str(tmp / name)],
    lambda tmp, name: ["train", "-m", "tiny-mlp", "--out", str(tmp / name)],
    lambda tmp, name: ["check", "--baseline", str(FIXTURES / "run-layers.json"), "--current",
                       str(FIXTURES / "run-layers.json"), "--junit", str(tmp / name)],
    lambda tmp, name: ["report", str(FIXTURES / "run-layers.json"), "--html", str(tmp / name)],
], ids=["run --out", "train --out", "check --junit", "report --html"])
def test_a_name_too_long_is_one_line(runner, tmp_path, command):
    result = runner.invoke(main, command(tmp_path, LONG_NAME + ".json"))
    one_line_error(result, 2, "cannot write there (File name too long)")


@pytest.mark.parametrize("options, said", [
    (["--batch-size", "1000000000"], "more than the 2,147,483,648 calib predicts for"),
    (["--input-shape", "3,100000,100000"], "more than the 2,147,483,648 calib takes"),
    (["--input-shape", "5,32,32"], "tiny-cnn cannot take inputs of shape 1x5x32x32"),
])
def test_predict_refuses_absurd_or_wrong_inputs_in_one_line(runner, tmp_path, options, said):
    result = runner.invoke(main, ["predict", "-m", "tiny-cnn", "-p", "fp32", "-t", str(FIXTURES / "table.json"),
                                  *options, "--out", str(tmp_path / "p.json")])
    one_line_error(result, 2, said)


def test_predict_walks_a_big_batch_on_fake_tensors():
    import resource

    from calib.predict.graph_walk import walk
    from calib.predict.models import load_named

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    graph = walk(load_named("tiny-cnn"), "fp32", 100_000)  # 1.2 GB of input, 3 GB of activations if real
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert graph.method == "fx-fake" and graph.rows[0]["output_shape"].startswith("100000x")
    assert grown_mib < 500


@pytest.mark.parametrize("ops, said", [
    ([{"op": "conv", "shape": [3, 8, 3, 1, 16]}], "takes 6 shape numbers"),
    ([{"op": "conv", "shape": [3, 8, -3, 1, 16, 1]}], "kernel -3 must be a positive integer"),
    ([{"op": "conv", "shape": [3, 8, 0, 1, 16, 1]}], "kernel 0 must be a positive integer"),
    ([{"op": "linear", "shape": [100000, 100000, 100000]}], "elements in its tensors"),
    ([None], "not an object"),
    ({"op": "relu"}, "expected a JSON list"),
])
def test_calibrate_shapes_are_checked_before_any_work(runner, tmp_path, ops, said):
    shapes = tmp_path / "shapes.json"
    shapes.write_text(json.dumps(ops))
    out = tmp_path / "t.json"
    result = runner.invoke(main, ["calibrate", "-p", "fp32", "--sweep", "none", "--no-models", "--shapes",
                                  str(shapes), "--out", str(out)])
    one_line_error(result, 2, "--shapes", said)
    assert not out.exists()


def test_calibrate_that_measured_nothing_fails_and_is_not_complete(runner, tmp_path):
    out = tmp_path / "t.json"
    result = runner.invoke(main, ["calibrate", "-p", "fp32", "--sweep", "none", "--no-models", "--out", str(out)])
    one_line_error(result, 1, "nothing was measured at fp32")
    assert json.loads(out.read_text())["complete"] is False


def test_calibrate_checks_its_results_dir_first(runner, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = runner.invoke(main, ["calibrate", "-p", "fp32", "--quick", "--results-dir", str(blocker / "sub")])
    one_line_error(result, 2, "--results-dir", "is a file, not a folder")


def test_a_corrupt_calibration_image_is_named_in_one_line(runner, tmp_path):
    import numpy as np
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray((np.random.default_rng(0).random((32, 32, 3)) * 255).astype("uint8")).save(folder / "a.png")
    (folder / "b.png").write_text("not an image")
    result = runner.invoke(main, ["quant-error", "-m", "tiny-cnn", "--calib-data", str(folder), "--no-size"])
    one_line_error(result, 2, "--calib-data", "b.png cannot be read")


# ---- class 5: training factories, the console's encoding ----

TRAINING = """
    import sys
    import torch

    def _parts(loss_fn, size=None):
        def make_batch(step, batch_size):
            generator = torch.Generator().manual_seed(step)
            count = size or batch_size
            return torch.randn(count, 8, generator=generator), torch.randint(0, 4, (count,), generator=generator)
        return torch.nn.Linear(8, 4), torch.randn(1, 8), loss_fn, make_batch

    def string_loss():
        return _parts(lambda output, target: "loss")

    def vector_loss():
        return _parts(lambda output, target: torch.nn.functional.cross_entropy(output, target, reduction="none"))

    def raising_loss():
        def loss_fn(output, target):
            raise ValueError("no loss today")
        return _parts(loss_fn)

    def exiting_loss():
        return _parts(lambda output, target: sys.exit(3))

    def short_batches():
        return _parts(None, size=5)
"""


@pytest.mark.parametrize("factory, said", [
    ("string_loss", "loss_fn(output, target) returned a str, not a scalar tensor"),
    ("vector_loss", "not a scalar floating-point tensor"),
    ("raising_loss", "loss_fn(output, target) failed (ValueError: no loss today)"),
    ("exiting_loss", "sys.exit(3) called in the user's code"),
    ("short_batches", "returned 5 items, not 16"),
])
def test_training_factories_are_held_to_their_contract(runner, tmp_path, factory, said):
    path = write(tmp_path / "training.py", TRAINING)
    result = runner.invoke(main, ["train", "-m", f"{path}:{factory}", "--steps", "2", "--batch-size", "16",
                                  "--out", str(tmp_path / "t.json")])
    one_line_error(result, 2, said)


def test_a_batch_larger_than_the_labelled_set_is_refused(runner, tmp_path):
    result = runner.invoke(main, ["train", "-m", "digits-cnn", "--batch-size", "5000", "--steps", "2",
                                  "--out", str(tmp_path / "t.json")])
    one_line_error(result, 2, "--batch-size 5000", "1437 training items")


def test_a_latin_1_console_gets_ascii_for_what_it_cannot_encode(tmp_path):
    from click.testing import CliRunner

    runner = CliRunner(env={"COLUMNS": "200"}, charset="latin-1")
    out = tmp_path / "t.json"
    result = runner.invoke(main, ["train", "-m", "tiny-mlp", "-p", "fp32,bf16", "--steps", "3", "-q",
                                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "d samples/s" in result.output and "Δ" not in result.output
    help_text = runner.invoke(main, ["train", "--help"])
    assert help_text.exit_code == 0 and "the d columns" in help_text.output
