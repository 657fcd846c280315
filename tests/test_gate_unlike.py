"""The gate compares like with like (issue 29, class 6; calib.compare.defining, calib.check.comparable).

Two training runs with another optimizer, learning rate or step count, and two int8-static runs with
another calibration method, scheme, granularity or data, measured different configurations under one
identity: `calib check` refuses them in one line (exit 2) unless --force, which judges them with the
difference named in the verdict; `check --history` leaves such runs out of a configuration's window.
A calibration table or a prediction is not a measured run: refused as --baseline or --current, naming
what it is. Built from real runs of tiny models (digits-cnn, tiny-mlp) and edited copies of their files."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from calib.cli import main
from door_checks import one_line_error
from history_runs import derive, push_history

FIXTURES = Path(__file__).parent / "fixtures" / "results"
FAST = ["--max-time", "0.3", "--min-time", "0.05", "--min-samples", "5", "--warmup-min-time", "0.01",
        "--warmup-min-count", "1", "-q", "--no-tune", "--threads", "1", "--timeout", "0"]
TRAIN = ["train", "-m", "digits-cnn", "-p", "fp32", "--steps", "4", "--batch-size", "8", "--threads", "1", "-q"]
INT8 = ["run", "-m", "tiny-mlp", "-b", "torch", "-p", "int8-static", *FAST]
GENEROUS = ["--tolerance", "1000%"]  # these tests are about what is compared, not about the timings


@pytest.fixture(autouse=True)
def _no_store(monkeypatch):
    monkeypatch.setenv("CALIB_STORE", "none")
    monkeypatch.delenv("CALIB_DEVICE_CLASS", raising=False)


def _run(argv, out: Path) -> Path:
    result = CliRunner().invoke(main, [*argv, "--out", str(out)], env={"CALIB_STORE": "none"})
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Real files: digits-cnn trained twice (SGD; AdamW with another learning rate and step count), tiny-mlp
    at int8-static twice (the defaults; percentile, symmetric, per-tensor on the digits images), a
    calibration table and a prediction."""
    folder = tmp_path_factory.mktemp("unlike")
    shapes = folder / "shapes.json"
    shapes.write_text(json.dumps([{"op": "linear", "shape": [8, 8, 8]}]))
    return {
        "train": _run(TRAIN, folder / "train.json"),
        "train other": _run([*TRAIN, "--optimizer", "adamw", "--lr", "0.002", "--steps", "5"],
                            folder / "train-other.json"),
        "int8": _run(INT8, folder / "int8.json"),
        "int8 other": _run([*INT8, "--calib-method", "percentile", "--qscheme", "symmetric", "--weight-granularity",
                            "per-tensor", "--calib-data", "digits"], folder / "int8-other.json"),
        "table": _run(["calibrate", "-p", "fp32", "--sweep", "none", "--no-models", "--shapes", str(shapes), "-q"],
                      folder / "table.json"),
        "prediction": _run(["predict", "-m", "tiny-cnn", "-p", "fp32", "-t", str(FIXTURES / "table.json"), "-q"],
                           folder / "prediction.json"),
    }


def _check(*argv):
    return CliRunner(env={"COLUMNS": "200"}).invoke(main, ["check", *[str(a) for a in argv]])


def _edited(source: Path, folder: Path, name: str, edit) -> Path:
    """A copy of `source` with `edit(record)` applied to every record."""
    payload = json.loads(source.read_text())
    for record in payload["records"]:
        edit(record)
    path = folder / name
    path.write_text(json.dumps(payload))
    return path


def test_the_settings_are_recorded(runs):
    train = json.loads(runs["train other"].read_text())["records"][0]["training"]["settings"]
    assert (train["optimizer"], train["lr"], train["steps"]) == ("adamw", 0.002, 5)
    int8 = json.loads(runs["int8 other"].read_text())["records"][0]["calibration_data"]
    assert {key: int8[key] for key in ("source", "method", "qscheme", "weight_granularity")} == {
        "source": "digits", "method": "percentile", "qscheme": "symmetric", "weight_granularity": "per-tensor"}


@pytest.mark.parametrize("first, second", [("train", "train"), ("int8", "int8")])
def test_runs_of_the_same_settings_are_judged(runs, first, second):
    result = _check("--baseline", runs[first], "--current", runs[second], *GENEROUS)
    assert result.exit_code == 0, result.output
    assert "define the configuration" not in result.output


@pytest.mark.parametrize("first, second, said", [
    ("train", "train other", ["optimizer sgd vs adamw", "learning rate 0.05 vs 0.002", "steps 4 vs 5",
                              "digits-cnn torch-train fp32"]),
    ("int8", "int8 other", ["calibration method minmax vs percentile", "qscheme affine vs symmetric",
                            "weight granularity per-channel vs per-tensor", "calibration data source random vs digits",
                            "tiny-mlp torch int8-static"]),
], ids=["training", "int8-static"])
def test_real_runs_of_other_settings_are_refused_unless_forced(runs, tmp_path, first, second, said):
    refused = _check("--baseline", runs[first], "--current", runs[second], *GENEROUS)
    one_line_error(refused, "settings that define the configuration differ", "pass --force", *said)
    summary = tmp_path / "summary.md"
    forced = _check("--baseline", runs[first], "--current", runs[second], *GENEROUS, "--force", "--markdown", summary)
    assert forced.exit_code == 0, forced.output
    warning = " ".join(forced.output.split("warning:", 1)[-1].split())  # the console wraps it
    assert "define the configuration" in warning and said[0] in warning and "judged anyway (--force)" in warning, \
        forced.output
    assert said[0] in summary.read_text()


def _training(key, value):
    def edit(record):
        record["training"]["settings"][key] = value
    return edit


def _calibration(key, value):
    def edit(record):
        record["calibration_data"][key] = value
    return edit


@pytest.mark.parametrize("source, edit, said", [
    ("train", _training("optimizer", "adamw"), "optimizer sgd vs adamw"),
    ("train", _training("lr", 0.5), "learning rate 0.05 vs 0.5"),
    ("train", _training("steps", 40), "steps 4 vs 40"),
    ("int8", _calibration("method", "entropy"), "calibration method minmax vs entropy"),
    ("int8", _calibration("qscheme", "symmetric"), "qscheme affine vs symmetric"),
    ("int8", _calibration("weight_granularity", "per-tensor"), "weight granularity per-channel vs per-tensor"),
    ("int8", _calibration("source", "folder"), "calibration data source random vs folder"),
], ids=["optimizer", "lr", "steps", "method", "qscheme", "granularity", "data source"])
def test_each_defining_setting_alone_is_refused(runs, tmp_path, source, edit, said):
    edited = _edited(runs[source], tmp_path, "edited.json", edit)
    line = one_line_error(_check("--baseline", runs[source], "--current", edited, *GENEROUS), said)
    assert line.count(" vs ") == 2, line  # the files' names, and this one setting only


def test_a_file_from_before_the_settings_were_recorded_is_no_difference(runs, tmp_path):
    def forget(record):
        for key in ("method", "qscheme", "weight_granularity"):
            record["calibration_data"].pop(key)
    older = _edited(runs["int8 other"], tmp_path, "older.json", forget)
    result = _check("--baseline", runs["int8 other"], "--current", older, *GENEROUS)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("kind, said", [("table", "is a calibration table (calib calibrate"),
                                        ("prediction", "is a prediction (calib predict")])
@pytest.mark.parametrize("side", ["--baseline", "--current"])
def test_a_table_or_a_prediction_is_not_a_run_to_gate(runs, kind, said, side):
    other = "--current" if side == "--baseline" else "--baseline"
    result = _check(side, runs[kind], other, runs["int8"])
    one_line_error(result, f"{side} {runs[kind]}", said)


@pytest.mark.parametrize("kind", ["table", "prediction"])
def test_history_refuses_a_table_or_a_prediction_as_current(runs, tmp_path, kind):
    result = _check("--history", "--store", f"sqlite:///{tmp_path}/calib.db", "--current", runs[kind])
    one_line_error(result, f"--current {runs[kind]}", "not measured" if kind == "prediction" else "not a measured run")


@pytest.mark.parametrize("first, second, said", [
    ("train", "train other", "optimizer sgd vs adamw"),
    ("int8", "int8 other", "calibration method minmax vs percentile"),
], ids=["training", "int8-static"])
def test_history_leaves_runs_of_other_settings_out_unless_forced(runs, tmp_path, first, second, said):
    url = f"sqlite:///{tmp_path}/calib.db"
    base = json.loads(runs[first].read_text())
    precisions = tuple(record["identity"]["precision"] for record in base["records"])
    push_history(url, base, precisions=precisions)
    same = tmp_path / "same.json"
    same.write_text(json.dumps(derive(base, 30, 1.0, precisions=precisions)))
    passed = _check("--history", "--store", url, "--current", same, *GENEROUS)
    assert passed.exit_code == 0 and "left out" not in passed.output, passed.output

    other = tmp_path / "other.json"
    other.write_text(json.dumps(derive(json.loads(runs[second].read_text()), 31, 1.0, precisions=precisions)))
    short = _check("--history", "--store", url, "--current", other, *GENEROUS)
    assert short.exit_code == 3, short.output  # every run of the history left out: too short to judge
    text = " ".join(short.output.split())  # the console wraps the warning
    assert "10 run(s) of the history left out: settings that define the configuration differ" in text
    assert said in text and "--force keeps them" in text
    forced = _check("--history", "--store", url, "--current", other, *GENEROUS, "--force")
    assert forced.exit_code == 0, forced.output


def test_training_records_without_defining_settings_compare_as_before():
    from calib.compare.defining import defining_settings, settings_difference

    record = json.loads((FIXTURES / "train.json").read_text())["records"][0]
    assert defining_settings(record)["optimizer"] == "sgd"
    bare = copy.deepcopy(record)
    bare["training"].pop("settings")
    assert settings_difference(record, bare) == ()


def test_check_help_says_what_force_judges_anyway():
    text = " ".join(CliRunner(env={"COLUMNS": "200"}).invoke(main, ["check", "--help"]).output.split())
    for said in ("optimizer, learning rate", "steps", "calibration data source", "method", "qscheme",
                 "weight granularity", "a calibration table (calib calibrate) or a prediction (calib predict)"):
        assert said in text, said


def test_compare_names_the_difference_side_by_side(runs):
    result = CliRunner(env={"COLUMNS": "200"}).invoke(main, ["compare", str(runs["train"]), str(runs["train other"])])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "warning: train.json vs train-other.json: settings that define the configuration differ: optimizer sgd vs " \
           "adamw" in text
