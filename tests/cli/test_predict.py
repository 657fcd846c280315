"""`calib calibrate` and `calib predict` through the CLI: a table of a few ops and tiny-cnn, a prediction,
--check measuring it, refusals in one line with exit 2."""

import json
import math
import re

import pytest

from calib.cli import main
from calib.results.schema import SCHEMA_VERSION
from calib.results.store import load_result


def _run(runner, args):
    return runner.invoke(main, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    from click.testing import CliRunner

    folder = tmp_path_factory.mktemp("table")
    shapes = folder / "ops.json"
    shapes.write_text(json.dumps([{"op": "conv", "shape": [8, 16, 3, 1, 16, 1]}, {"op": "batchnorm", "shape": [8, 16]},
                                  {"op": "relu", "shape": [8, 16]}, {"op": "linear", "shape": [1, 16, 10]}]))
    out = folder / "table.json"
    result = CliRunner(env={"COLUMNS": "200"}).invoke(main, [
        "calibrate", "-p", "fp32", "--quick", "--sweep", "none", "--shapes", str(shapes), "-m", "tiny-cnn",
        "--threads", "1", "--out", str(out), "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "calibration took" in result.output
    assert "fp32: speed during calibration: the pulse ranged" in " ".join(result.output.split())
    return out


def test_calibrate_writes_one_versioned_table(table):
    payload = load_result(table)
    assert payload["schema_version"] == SCHEMA_VERSION and payload["complete"] is True
    assert payload["environment"]["torch"] and payload["device_report"]
    section = payload["calibration"]
    assert section["table_version"] == 1 and section["device"] == "cpu" and section["threads"] == 1
    fp32 = section["tables"]["fp32"]
    assert fp32["op_count"] == 4 and {row["op_kind"] for row in fp32["ops"]} >= {"conv", "norm", "linear"}
    assert all(row["median_ms"] > 0 and row["source"] == "isolated" for row in fp32["ops"])
    [record] = payload["records"]
    assert record["identity"]["model"] == "tiny-cnn" and record["layers"]["layers"]


def test_predict_check_writes_predicted_and_measured(runner, table, tmp_path):
    out = tmp_path / "p.json"
    result = _run(runner, ["predict", "-m", "tiny-cnn", "-p", "fp32", "-t", str(table), "--batch-size", "1",
                           "--batch-size", "2", "--check", "--max-time", "0.2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "predicted ms" in result.output and "measured ms" in result.output
    records = load_result(out)["records"]
    assert [r["identity"]["batch_size"] for r in records] == [1, 2]
    for record in records:
        prediction = record["prediction"]
        assert prediction["low_ms"] <= prediction["predicted_ms"] <= prediction["high_ms"]
        assert record["status"] == "ok" and record["summary"]["median_ms"] > 0 and record["timing"]["samples_ms"]
        assert len(prediction["layers"]) == prediction["nodes"] == 8


def test_predict_check_layers_prices_each_measured_layer(runner, table, tmp_path):
    """--layers: the checked model's layers profiled as calibration profiles the table's, each joined by name with
    its price in the table (its law, before the whole-model factor), summed per op kind, the furthest off shown."""
    refused = runner.invoke(main, ["predict", "-m", "tiny-cnn", "-p", "fp32", "-t", str(table), "--layers"])
    assert refused.exit_code == 2 and "add --check" in refused.output and "Traceback" not in refused.output
    out = tmp_path / "p.json"
    result = _run(runner, ["predict", "-m", "tiny-cnn", "-p", "fp32", "-t", str(table), "--check", "--layers",
                           "--speed", "off", "--max-time", "0.2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    [record] = load_result(out)["records"]
    prediction, layers = record["prediction"], record["layers"]
    assert layers["method"].startswith("fx") and all(row["median_ms"] > 0 for row in layers["layers"])
    compared = prediction["layers_compared"]
    assert compared["matched"] == prediction["nodes"] == 8 and compared["predicted_only"] == 0
    measured = {row["name"]: row["median_ms"] for row in layers["layers"]}
    priced = {layer["name"]: layer["predicted_ms"] / prediction["factor"] for layer in prediction["layers"]}
    assert compared["measured_ms"] == pytest.approx(sum(measured[name] for name in priced))
    assert compared["price_ms"] == pytest.approx(sum(priced.values()))
    assert sum(group["count"] for group in compared["by_kind"]) == 8
    offs = [abs(layer["price_ms"] - layer["measured_ms"]) for layer in compared["worst"]]
    assert offs == sorted(offs, reverse=True) and compared["worst"][0]["price_ms"] == pytest.approx(
        priced[compared["worst"][0]["name"]])
    assert "profiled ms" in result.output and "8 matched by name" in " ".join(result.output.split())


def test_predict_without_check_runs_nothing(runner, table, tmp_path):
    out = tmp_path / "p.json"
    result = _run(runner, ["predict", "-m", "tiny-cnn", "-p", "fp32", "-t", str(table), "--out", str(out)])
    assert result.exit_code == 0, result.output
    [record] = load_result(out)["records"]
    assert record["prediction"]["predicted_ms"] > 0 and "timing" not in record
    assert record["status"] == "skipped" and "not measured" in record["reason"]
    shown = _run(runner, ["show", str(out)])  # other readers take a prediction-only file
    assert shown.exit_code == 0, shown.output


def test_predict_speed_anchors_times_the_tables_model_again_for_real(runner, table, tmp_path):
    out = tmp_path / "p.json"
    result = _run(runner, ["predict", "-m", "tiny-cnn", "-p", "fp32", "-t", str(table), "--speed", "anchors",
                           "--out", str(out)])
    assert result.exit_code == 0, result.output
    [record] = load_result(out)["records"]
    prediction = record["prediction"]
    speed = prediction["speed"]  # tiny-cnn, the table's only calibration model, timed in a fresh process now
    assert speed["applied"] and speed["method"] == "anchors"
    assert [(a["model"], a["batch_size"]) for a in speed["anchors"]] == [("tiny-cnn", 1)]
    [anchor] = speed["anchors"]
    assert anchor["now_ms"] > 0 and speed["scale"] == pytest.approx(anchor["now_ms"] / anchor["table_ms"])
    assert prediction["predicted_ms"] == pytest.approx(prediction["unscaled_ms"] * speed["scale"])
    assert re.search(r"the table.s models timed again \(\d+ s\) run at tiny-cnn b1", " ".join(result.output.split()))


@pytest.mark.parametrize("args, reason", [
    (["-p", "int8-static"], "the table describes fp32 on cpu, not int8-static"),
    (["-p", "fp32", "--device", "cuda:0"], "the table describes cpu"),
])
def test_predict_refuses_another_precision_or_device(runner, table, tmp_path, args, reason):
    result = runner.invoke(main, ["predict", "-m", "tiny-cnn", "-t", str(table), "--out", str(tmp_path / "p.json"),
                                  *args])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and reason in lines[0] and "Traceback" not in result.output


def test_calibrate_refuses_bad_shapes_file_in_one_line(runner, tmp_path):
    shapes = tmp_path / "bad.json"
    shapes.write_text(json.dumps([{"op": "nope", "shape": [1]}]))
    result = runner.invoke(main, ["calibrate", "-p", "fp32", "--shapes", str(shapes), "--out",
                                  str(tmp_path / "t.json")])
    assert result.exit_code == 2 and "'op' must be one of" in result.output


def test_calibrate_takes_calib_run_layer_tables(runner, fast_options, tmp_path):
    run_file = tmp_path / "run.json"
    result = _run(runner, ["run", "-b", "torch", "-m", "tiny-mlp", "-p", "fp32", "--threads", "1", "--layers", "--timeout", "0",
                           "--out", str(run_file), *fast_options])
    assert result.exit_code == 0, result.output
    table = tmp_path / "table.json"
    result = _run(runner, ["calibrate", "-p", "fp32", "--sweep", "none", "--no-models", "--from-results",
                           str(run_file), "--threads", "1", "--out", str(table), "-q"])
    assert result.exit_code == 0, result.output
    [record] = load_result(table)["records"]
    assert record["from_results"] == str(run_file) and record["layers"]["layers"]
    result = _run(runner, ["predict", "-m", "tiny-mlp", "-p", "fp32", "-t", str(table), "--out",
                           str(tmp_path / "p.json")])
    assert result.exit_code == 0, result.output
    other = _run(runner, ["calibrate", "-p", "fp32", "--sweep", "none", "--no-models", "--from-results",
                          str(run_file), "--threads", "2", "--out", str(tmp_path / "t2.json"), "-q"])
    assert other.exit_code == 2 and "threads" in other.output


MODE_MODEL = '''
import torch


class Recorder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3)

    def forward(self, x):
        if isinstance(x, torch.Tensor):  # a real call, not torch.fx tracing the graph
            with open(__file__ + ".modes", "a") as log:
                log.write("1" if torch.is_inference_mode_enabled() else "0")
        return self.conv(x).relu()


def build():
    return Recorder().eval(), torch.zeros(1, 3, 16, 16)
'''


def test_predict_check_times_in_inference_mode_as_calib_run_does(runner, tmp_path):
    """With autograd on, torch eager records a graph every call (mobilenet_v2 fp32 b1 ran 35% slower on the
    Intel AMX machine kind): --check's ground truth is timed in inference mode, as `calib run` times."""
    model = tmp_path / "mode_model.py"
    model.write_text(MODE_MODEL)
    shapes = tmp_path / "ops.json"
    shapes.write_text(json.dumps([{"op": "conv", "shape": [1, 3, 8, 3, 16, 1]}, {"op": "relu", "shape": [8, 14]}]))
    table = tmp_path / "table.json"
    result = _run(runner, ["calibrate", "-p", "fp32", "--quick", "--sweep", "none", "--shapes", str(shapes),
                           "-m", f"{model}:build", "--threads", "1", "--out", str(table), "-q"])
    assert result.exit_code == 0, result.output
    log = tmp_path / "mode_model.py.modes"
    calibrated = log.read_text()
    log.unlink()
    result = _run(runner, ["predict", "-m", f"{model}:build", "-p", "fp32", "-t", str(table), "--check",
                           "--max-time", "0.2", "--out", str(tmp_path / "p.json")])
    assert result.exit_code == 0, result.output
    checked = log.read_text()
    # calibration's end-to-end and per-layer passes, and every timed call of --check: inference mode
    assert calibrated.count("1") >= 10 and checked.count("1") >= 10
    assert "0" not in calibrated and "0" not in checked


PID_MODEL = '''
import os
from pathlib import Path

import torch


class Pid(torch.nn.Module):
    def __init__(self, log):
        super().__init__()
        self.conv, self.log = torch.nn.Conv2d(3, 8, 3), log

    def forward(self, x):
        if self.log == "die":
            os._exit(3)  # a segfault, the OOM killer: the process is gone, no exception
        with open(Path(__file__).with_suffix("." + self.log), "a") as f:
            f.write(f"{os.getpid()}\\n")
        return self.conv(x).relu()


def first():
    return Pid("first").eval(), torch.zeros(1, 3, 16, 16)


def second():
    return Pid("second").eval(), torch.zeros(1, 3, 16, 16)


def dies():
    return Pid("die").eval(), torch.zeros(1, 3, 16, 16)
'''


def _calibrate_pid_models(runner, tmp_path, *args):
    """`calib calibrate` of PID_MODEL's factories (each `-m NAME` becomes pid_model.py:NAME): (result, table)."""
    model = tmp_path / "pid_model.py"
    model.write_text(PID_MODEL)
    shapes = tmp_path / "ops.json"
    shapes.write_text(json.dumps([{"op": "relu", "shape": [8, 14]}]))
    table = tmp_path / "table.json"
    given = [f"{model}:{arg}" if previous == "-m" else arg for previous, arg in zip(("",) + args, args)]
    result = _run(runner, ["calibrate", "-p", "fp32", "--quick", "--sweep", "none", "--shapes", str(shapes),
                           *given, "--threads", "1", "--out", str(table), "-q"])
    return result, table


def test_each_calibration_model_is_measured_in_a_fresh_process_and_one_that_dies_fails_alone(runner, tmp_path):
    """A process that has run other models runs the next one slower (mobilenet_v2 fp32 b1 12.3 -> 13.7 ms after 16
    others on the Intel AMX machine kind): each calibration model is measured in a process of its own, as `calib
    run` and `calib predict --check` measure one. A model whose process dies is recorded failed with the reason,
    and the models after it are still measured."""
    import os

    result, table = _calibrate_pid_models(runner, tmp_path, "-m", "first", "-m", "dies", "-m", "second",
                                          "--batch-size", "1", "--batch-size", "2")
    first = set((tmp_path / "pid_model.first").read_text().split())
    second = set((tmp_path / "pid_model.second").read_text().split())
    assert len(first) == 1 and len(second) == 1 and first != second  # one process per model, both batch sizes in it
    assert str(os.getpid()) not in first | second
    records = load_result(table)["records"]
    status = {(r["identity"]["model"], r["identity"]["batch_size"]): r["status"] for r in records}
    assert [s for (m, _), s in status.items() if m.endswith("first") or m.endswith("second")] == ["ok"] * 4, status
    died = [r for r in records if r["identity"]["model"].endswith("dies")]
    assert len(died) == 2 and all(r["status"] != "ok" and "died" in r["reason"] for r in died), died
    assert result.exit_code in (0, 1), result.output


def test_each_calibration_model_is_timed_again_in_fresh_processes_and_priced_at_the_median(runner, tmp_path):
    """A fresh process is a draw of its own (efficientnet_b0 int8 b1: 13.4 ms in one, 11.4-12.1 ms in six others):
    --revisits N times every model again in N more processes, and the table prices it at the median of all."""
    import statistics

    from calib.predict.table import load_view

    result, table = _calibrate_pid_models(runner, tmp_path, "-m", "first", "--revisits", "2")
    assert result.exit_code == 0, result.output
    assert len(set((tmp_path / "pid_model.first").read_text().split())) == 3  # the first process and two more
    [record] = load_result(table)["records"]
    assert len(record["revisits_ms"]) == 2 and all(ms > 0 for ms in record["revisits_ms"])
    first = record["layers"].get("interleaved_end_to_end_ms") or record["summary"]["median_ms"]
    view = load_view(table, "fp32", "cpu", "torch")
    [sample] = view.models
    median = statistics.median([first, *record["revisits_ms"]])
    assert sample.end_to_end_ms == pytest.approx(median)
    # the processes' spread around that median is the machine's drift, carried into the interval
    drift = sorted(abs(math.log(ms / median)) for ms in [first, *record["revisits_ms"]])
    assert sorted(view.drift) == pytest.approx(drift)
    scale = median / first
    for row, priced in zip(record["layers"]["layers"], sample.rows):
        assert priced["median_ms"] == pytest.approx(row["median_ms"] * scale)
