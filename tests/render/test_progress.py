"""Issue 30 item 2: one progress display for long commands (calib.render.progress). A fake clock drives the
ETA (the finished items' mean duration, none until one finished); the live display is rendered to a pseudo-
terminal; piped output gets milestone lines; -q gets none, through `calib run`, `calibrate`, `sensitivity`, `train`,
`ab`, `quant-error` and `predict --check`."""

import json
import os
import pty
import re
from io import StringIO

from rich.console import Console

from calib.cli import main
from calib.render.progress import (LiveProgress, PlainProgress, SilentProgress, Tracker, clock_text,
                                   progress_display)


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_no_eta_until_an_item_finished_then_the_mean_of_the_finished_ones():
    clock = FakeClock()
    tracker = Tracker(4, "layer", clock)
    tracker.start("conv1")
    clock.advance(2)
    assert tracker.eta_s is None and tracker.times_text() == "elapsed 0:02"  # nothing finished: no guess
    tracker.start("conv2")  # conv1 took 2 s
    clock.advance(4)
    tracker.finish()  # conv2 took 4 s: the mean is 3 s, 2 items left
    assert tracker.mean_s == 3 and tracker.eta_s == 6
    tracker.start("fc")
    clock.advance(1)  # the running item's second counts against the estimate
    assert tracker.eta_s == 5 and tracker.count_text() == "layer 3 of 4"
    clock.advance(10)  # over the mean: never below the items after it
    assert tracker.eta_s == 3
    assert tracker.times_text() == "elapsed 0:17, ETA ~0:03"
    tracker.finish()
    tracker.start("last")
    tracker.finish()
    assert tracker.eta_s is None and tracker.count_text() == "layer 4 of 4 done"


def test_skipped_items_move_the_count_not_the_mean():
    clock = FakeClock()
    tracker = Tracker(10, "op", clock)
    tracker.start("a", index=0)
    clock.advance(1)
    tracker.start("d", index=3)  # b and c were skipped (over the budget)
    assert tracker.count_text() == "op 4 of 10" and tracker.mean_s == 1
    assert tracker.eta_s == 7  # 7 items left (d included) at 1 s each
    tracker.start("model", index=9, total=10, noun="model")
    assert tracker.count_text() == "model 10 of 10"


def test_clock_text():
    assert [clock_text(s) for s in (0, 7.4, 65, 3723)] == ["0:00", "0:07", "1:05", "1:02:03"]


def _drive(display, clock, durations=(10, 10, 10)):
    with display:
        for number, seconds in enumerate(durations):
            display.start(f"torch cfg{number} b1", "convert")
            clock.advance(seconds / 2)
            display.phase("time, fidelity")
            clock.advance(seconds / 2)
            display.finish()


def test_the_live_display_shows_n_of_m_the_phase_and_the_eta():
    clock = FakeClock()
    screen = Console(file=StringIO(), force_terminal=True, width=140, color_system=None)
    display = progress_display("calib run", 3, quiet=False, console=screen, noun="configuration", clock=clock)
    assert isinstance(display, LiveProgress)
    with display:
        display.start("torch fp32 b1", "convert, tune")
        clock.advance(4)
        display.phase("time, fidelity")
        drawn = screen.file.getvalue()
        assert "configuration 1 of 3" in drawn and "torch fp32 b1 · time, fidelity" in drawn
        assert "elapsed 0:04" in drawn and "ETA" not in drawn  # nothing finished yet
        clock.advance(6)
        display.start("torch bf16 b1", "convert, tune")  # the first took 10 s: 2 left
        drawn = screen.file.getvalue()
        assert "configuration 2 of 3" in drawn and "ETA ~0:20" in drawn
    drawn = screen.file.getvalue()
    assert "starting" in drawn.split("\r")[0]  # before the first item
    assert drawn.endswith("\x1b[?25h\r\x1b[1A\x1b[2K")  # transient: the cursor back, the bar's line cleared


def test_a_pseudo_terminal_gets_the_live_display():
    master, slave = pty.openpty()
    try:
        with open(slave, "w", closefd=False) as terminal:
            clock = FakeClock()
            screen = Console(file=terminal, width=120)
            display = progress_display("calib sensitivity", 5, quiet=False, console=screen, noun="layer",
                                       clock=clock)
            assert isinstance(display, LiveProgress)  # a TTY: redrawn in place
            _drive(display, clock, (2, 2, 2))
            terminal.flush()
        drawn = os.read(master, 65536).decode()
    finally:
        os.close(master)
        os.close(slave)
    assert "layer 3 of 5" in drawn and "ETA ~0:06" in drawn and "\r" in drawn


def test_piped_output_gets_one_line_per_milestone():
    clock = FakeClock()
    piped = Console(file=StringIO(), width=120)
    display = progress_display("calib run", 3, quiet=False, console=piped, noun="configuration", clock=clock)
    assert isinstance(display, PlainProgress)
    _drive(display, clock)
    assert piped.file.getvalue().splitlines() == [
        "calib run: configuration 1 of 3: torch cfg0 b1 · convert (elapsed 0:00)",
        "calib run: configuration 2 of 3: torch cfg1 b1 · convert (elapsed 0:10, ETA ~0:20)",
        "calib run: configuration 3 of 3: torch cfg2 b1 · convert (elapsed 0:20, ETA ~0:10)",
        "calib run: 3 of 3 done in 0:30"]


def test_many_items_are_said_every_tenth_not_every_item():
    clock = FakeClock()
    piped = Console(file=StringIO(), width=120)
    display = progress_display("calib calibrate", 300, quiet=False, console=piped, noun="op", clock=clock)
    _drive(display, clock, [1] * 300)
    lines = piped.file.getvalue().splitlines()
    assert len(lines) == 11  # 0%, 10%, ... 90%, and the total
    assert lines[1] == "calib calibrate: op 31 of 300: torch cfg30 b1 · convert (elapsed 0:30, ETA ~4:30)"
    assert lines[-1] == "calib calibrate: 300 of 300 done in 5:00"


def test_quiet_draws_nothing_on_a_terminal_either():
    clock = FakeClock()
    screen = Console(file=StringIO(), force_terminal=True, width=120)
    display = progress_display("calib run", 3, quiet=True, console=screen, clock=clock)
    assert isinstance(display, SilentProgress)
    _drive(display, clock)
    assert screen.file.getvalue() == ""


_RUN = ["run", "-m", "tiny-mlp", "-p", "fp32,bf16", "--max-time", "0.2", "--no-tune", "-b", "torch"]


def test_calib_run_piped_says_configuration_n_of_m_and_q_says_nothing(runner, tmp_path):
    said = runner.invoke(main, [*_RUN, "--out", str(tmp_path / "a.json")], catch_exceptions=False)
    assert said.exit_code == 0, said.output
    lines = [line for line in said.stderr.splitlines() if line.startswith("calib run:")]
    assert re.fullmatch(r"calib run: configuration 1 of 2: torch fp32 b1 · convert \(elapsed 0:\d\d\)", lines[0])
    assert re.fullmatch(r"calib run: configuration 2 of 2: torch bf16 b1 · convert "
                        r"\(elapsed 0:\d\d, ETA ~0:\d\d\)", lines[1])
    assert re.fullmatch(r"calib run: 2 of 2 done in 0:\d\d", lines[2])
    quiet = runner.invoke(main, [*_RUN, "-q", "--out", str(tmp_path / "b.json")], catch_exceptions=False)
    assert quiet.exit_code == 0, quiet.output
    assert "of 2" not in quiet.stderr and "done in" not in quiet.stderr


def test_calib_calibrate_counts_ops_and_models_and_q_says_nothing(runner, tmp_path):
    shapes = tmp_path / "ops.json"
    shapes.write_text(json.dumps([{"op": "relu", "shape": [8, 16]}, {"op": "linear", "shape": [1, 16, 10]}]))
    args = ["calibrate", "-p", "fp32", "--quick", "--sweep", "none", "--shapes", str(shapes), "-m", "tiny-cnn",
            "--threads", "1"]
    said = runner.invoke(main, [*args, "--out", str(tmp_path / "a.json")], catch_exceptions=False)
    assert said.exit_code == 0, said.output
    lines = [line for line in said.stderr.splitlines() if line.startswith("calib calibrate:")]
    assert [line.split(" (")[0] for line in lines[:3]] == [
        "calib calibrate: op 1 of 3: fp32 relu(8,16)b1", "calib calibrate: op 2 of 3: fp32 linear(1,16,10)b1",
        "calib calibrate: model 3 of 3: fp32 tiny-cnn b1"]
    assert "ETA ~" in lines[1] and lines[3].startswith("calib calibrate: 3 of 3 done in ")
    assert "calibrating:" not in said.stderr  # no more line per op without a count
    quiet = runner.invoke(main, [*args, "-q", "--out", str(tmp_path / "b.json")], catch_exceptions=False)
    assert quiet.exit_code == 0 and "calib calibrate: op" not in quiet.stderr


def test_calib_sensitivity_counts_layers_then_says_the_latency_pass_and_q_says_nothing(runner, tmp_path):
    said = runner.invoke(main, ["sensitivity", "-m", "tiny-cnn"], catch_exceptions=False)
    assert said.exit_code == 0, said.output
    full = [line for line in said.stderr.splitlines() if line.startswith("calib sensitivity:")]
    lines = [line.split(" (")[0] for line in full]
    assert lines[0].startswith("calib sensitivity: layer 1 of 3: ") and lines[0].endswith(" · fidelity")
    assert lines[3] == "calib sensitivity: layer 3 of 3 done: per-layer latency, fp32 and int8-static"
    assert lines[4].startswith("calib sensitivity: 3 of 3 done in ")
    assert "ETA ~" not in full[0] and "ETA ~" in full[1]  # none until a layer finished
    quiet = runner.invoke(main, ["sensitivity", "-m", "tiny-cnn", "--no-latency", "-q"], catch_exceptions=False)
    assert quiet.exit_code == 0 and "calib sensitivity: layer" not in quiet.stderr


def _said(result, title):
    """The progress lines of `title` on stderr, without their times."""
    return [line.split(" (elapsed")[0] for line in result.stderr.splitlines() if line.startswith(f"{title}:")]


_TRAIN = ["train", "-m", "tiny-mlp", "-p", "fp32,bf16", "--steps", "4", "--threads", "1", "--no-eval"]


def test_calib_train_counts_precisions_and_q_says_nothing(runner, tmp_path):
    said = runner.invoke(main, [*_TRAIN, "--out", str(tmp_path / "a.json")], catch_exceptions=False)
    assert said.exit_code == 0, said.output
    assert _said(said, "calib train")[:3] == [
        "calib train: starting: first fp32 steps (untimed)",
        "calib train: precision 1 of 2: tiny-mlp fp32 · 4 steps of batch 32",
        "calib train: precision 2 of 2: tiny-mlp bf16 · 4 steps of batch 32"]
    assert "ETA ~" in [line for line in said.stderr.splitlines() if "precision 2 of 2" in line][0]
    assert re.search(r"^calib train: 2 of 2 done in 0:\d\d$", said.stderr, re.M)
    assert "training tiny-mlp" not in said.stderr  # no more ad-hoc line per precision
    quiet = runner.invoke(main, [*_TRAIN, "-q", "--out", str(tmp_path / "b.json")], catch_exceptions=False)
    assert quiet.exit_code == 0, quiet.output
    assert "calib train:" not in quiet.stderr


_AB = ["ab", "--baseline-model", "tiny-mlp", "--current-model", "tiny-mlp", "-p", "fp32,bf16", "-b", "torch",
       "--rounds", "2", "--max-rounds", "4", "--round-time", "0.02", "--warmup-min-time", "0.01", "--instances", "1",
       "--threads", "1"]


def test_calib_ab_counts_configurations_and_q_says_nothing(runner, tmp_path):
    outs = ["--baseline-out", str(tmp_path / "a-base.json"), "--current-out", str(tmp_path / "a-cur.json")]
    said = runner.invoke(main, [*_AB, *outs], catch_exceptions=False)
    assert said.exit_code == 0, said.output
    phase = "convert, then 2-4 rounds x 0.02 s per side"
    assert _said(said, "calib ab")[:2] == [
        f"calib ab: configuration 1 of 2: tiny-mlp / tiny-mlp torch fp32 b1 · {phase}",
        f"calib ab: configuration 2 of 2: tiny-mlp / tiny-mlp torch bf16 b1 · {phase}"]
    assert re.search(r"^calib ab: 2 of 2 done in 0:\d\d$", said.stderr, re.M)
    assert "interleaving" not in said.stderr
    outs = ["--baseline-out", str(tmp_path / "b-base.json"), "--current-out", str(tmp_path / "b-cur.json")]
    quiet = runner.invoke(main, [*_AB, "-q", *outs], catch_exceptions=False)
    assert quiet.exit_code == 0, quiet.output
    assert "calib ab:" not in quiet.stderr


def test_calib_ab_live_display_says_the_round(runner, tmp_path, monkeypatch):
    """On a terminal the phase follows the rounds (calib.interleave's on_round)."""
    from calib.render import progress

    screen = Console(file=StringIO(), force_terminal=True, width=200, color_system=None)
    monkeypatch.setattr(progress, "progress_display", lambda title, total, **kwargs: progress.LiveProgress(
        title, progress.Tracker(total, kwargs.get("noun", "")), screen))
    outs = ["--baseline-out", str(tmp_path / "base.json"), "--current-out", str(tmp_path / "cur.json")]
    result = runner.invoke(main, [*_AB[:5], "-p", "fp32", *_AB[7:], *outs], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    drawn = screen.file.getvalue()
    assert "configuration 1 of 1" in drawn
    assert "round 1 of up to 4 (0.02 s per side)" in drawn and "round 2 of up to 4" in drawn


_QUANT_ERROR = ["quant-error", "-m", "tiny-cnn"]


def test_calib_quant_error_counts_layers_then_conversions_and_q_says_nothing(runner):
    said = runner.invoke(main, _QUANT_ERROR, catch_exceptions=False)
    assert said.exit_code == 0, said.output
    lines = _said(said, "calib quant-error")
    assert lines[0] == "calib quant-error: starting: tiny-cnn: 32 calibration samples, activation error"
    assert [line.split(": ")[1] for line in lines[1:6]] == [
        "layer 1 of 5", "layer 2 of 5", "layer 3 of 5", "configuration 4 of 5", "configuration 5 of 5"]
    assert lines[5] == "calib quant-error: configuration 5 of 5: tiny-cnn int8-static · convert, size"
    assert lines[6].startswith("calib quant-error: 5 of 5 done in ")
    assert "quant-error: tiny-cnn" not in said.stderr  # the ad-hoc lines are gone
    no_size = runner.invoke(main, [*_QUANT_ERROR, "--no-size"], catch_exceptions=False)
    assert "calib quant-error: layer 3 of 3" in no_size.stderr and "configuration" not in no_size.stderr
    quiet = runner.invoke(main, [*_QUANT_ERROR, "-q"], catch_exceptions=False)
    assert quiet.exit_code == 0, quiet.output
    assert "calib quant-error:" not in quiet.stderr


def test_calib_predict_check_counts_models_and_q_says_nothing(runner, tmp_path):
    shapes = tmp_path / "ops.json"
    shapes.write_text(json.dumps([{"op": "relu", "shape": [8, 16]}, {"op": "linear", "shape": [1, 16, 10]}]))
    table = tmp_path / "table.json"
    made = runner.invoke(main, ["calibrate", "-p", "fp32", "--quick", "--sweep", "none", "--shapes", str(shapes),
                                "-m", "tiny-cnn", "--threads", "1", "--out", str(table), "-q"], catch_exceptions=False)
    assert made.exit_code == 0, made.output
    args = ["predict", "-m", "tiny-cnn", "-p", "fp32", "-t", str(table), "--batch-size", "1", "--batch-size", "2"]
    said = runner.invoke(main, [*args, "--check", "--max-time", "0.2", "--out", str(tmp_path / "a.json")],
                         catch_exceptions=False)
    assert said.exit_code == 0, said.output
    assert _said(said, "calib predict")[:2] == ["calib predict: model 1 of 2: tiny-cnn fp32 b1 · predict, measure",
                                                "calib predict: model 2 of 2: tiny-cnn fp32 b2 · predict, measure"]
    assert re.search(r"^calib predict: 2 of 2 done in 0:\d\d$", said.stderr, re.M)
    assert "measuring tiny-cnn" not in said.stderr
    quiet = runner.invoke(main, [*args, "--check", "--max-time", "0.2", "-q", "--out", str(tmp_path / "b.json")],
                          catch_exceptions=False)
    assert quiet.exit_code == 0 and "calib predict:" not in quiet.stderr
    unchecked = runner.invoke(main, [*args, "--out", str(tmp_path / "c.json")], catch_exceptions=False)
    assert unchecked.exit_code == 0 and "calib predict:" not in unchecked.stderr  # nothing measured: no display
