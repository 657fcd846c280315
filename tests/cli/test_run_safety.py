"""`calib run` cannot hang, checks everything before work, fails budgets with exit 1, labels honestly."""

import json
import textwrap
import time

import pytest

from calib.cli import main
from calib.results.store import load_result

# A user model that really hangs (a sleep far past any --timeout) at bf16, and overflows fp16.
HANGING = textwrap.dedent("""
    import time
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(8, 8)

        def forward(self, x):
            if x.dtype == torch.bfloat16:
                time.sleep(1000)
            return self.lin(x) * 1e5  # beyond fp16's range (65504): Inf at fp16

    def build():
        return Net(), (torch.randn(4, 8),)
""")


def _model(tmp_path) -> str:
    path = tmp_path / "hanging.py"
    path.write_text(HANGING)
    return f"{path}:build"


def test_a_hanging_configuration_times_out_and_the_sweep_goes_on(runner, fast_options, tmp_path):
    out = tmp_path / "r.json"
    started = time.monotonic()
    result = runner.invoke(main, ["run", "-m", _model(tmp_path), "-p", "fp32,bf16,fp16", "--timeout", "4",
                                  "--out", str(out), *fast_options])
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    records = load_result(out)["records"]
    assert [(r["identity"]["precision"], r["status"]) for r in records] == [
        ("fp32", "ok"), ("bf16", "failed"), ("fp16", "ok")]
    assert "timed out after 4 s" in records[1]["reason"] and "--timeout 4" in records[1]["reason"]
    assert elapsed < 4 + 30, elapsed  # the hung call (1000 s) was stopped at its limit
    assert load_result(out)["complete"] is True
    # fp16 overflowed: NaN/Inf fails the run with one line naming the configuration
    assert "fp16 b1 fails its fidelity budget" in result.output and "Inf" in result.output


def test_a_failed_max_drop_exits_1_with_one_line_per_configuration(runner, fast_options, tmp_path):
    out, csv_path = tmp_path / "r.json", tmp_path / "r.csv"
    result = runner.invoke(main, ["run", "-m", "digits-cnn", "-p", "fp32,int8-static", "--calib-method", "percentile",
                                  "--calib-percentile", "51", "--qscheme", "symmetric", "--weight-granularity",
                                  "per-tensor", "--max-drop", "0.5", "--csv", str(csv_path), "--out", str(out),
                                  *fast_options])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("calib: error:")]
    assert len(lines) == 1 and "int8-static" in lines[0] and "accuracy drop" in lines[0], result.output
    csv_text = csv_path.read_text()
    assert "fidelity_passed" in csv_text.splitlines()[0] and "False" in csv_text


@pytest.mark.parametrize("extra, message", [
    (["--calib-samples", "0"], "--calib-samples 0"),
    (["--calib-data", "/no/such/dir"], "--calib-data"),
    (["--calib-percentile", "0"], "--calib-percentile"),
    (["--seq-len", "0"], "--seq-len 0"),
    (["--input-shape", "3,x"], "--input-shape"),
    (["--min-time", "5", "--max-time", "1"], "--min-time 5 is above --max-time 1"),
    (["-p", "fp32,fp32"], "more than once"),
    (["--eval-data", "/no/such/dir"], "--eval-data"),
    (["--csv", "/proc/x.csv"], "--csv /proc/x.csv"),
    (["--layers-csv", "/proc/x.csv"], "--layers-csv"),
    (["--timeout", "-1"], "--timeout"),
])
def test_bad_input_exits_2_in_one_line_before_any_work(runner, tmp_path, extra, message):
    result = runner.invoke(main, ["run", "-m", "tiny-cnn", "--results-dir", str(tmp_path / "results"), *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").iterdir())


def test_labels_say_what_was_measured(runner, fast_options, tmp_path):
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "-m", _model(tmp_path), "-p", "fp32,int8-dynamic,fp8", "--out", str(out),
                                  "--timeout", "0", *fast_options])
    assert result.exit_code == 0, result.output
    records = load_result(out)["records"]
    assert records[0]["model_weights"] == "user"
    assert "example inputs have batch 4; measured at batch 1" in result.output  # said, not silently ignored
    assert "see note 1" in result.output and "note 1: fp8" in result.output  # notes numbered 1, 2, ...
    catalog = runner.invoke(main, ["run", "-m", "tiny-cnn", "-p", "fp32,int8-dynamic", "--out", str(out),
                                   *fast_options])
    assert "random weights" in catalog.output and "not task accuracy" in catalog.output
    assert "int8 1/3 layers" in catalog.output  # int8-dynamic quantizes the Linear only, not the 2 convs


def test_ctrl_c_says_where_the_finished_results_are(runner, fast_options, tmp_path):
    model = tmp_path / "interrupt.py"
    # a real Ctrl-C (SIGINT) at bf16; a KeyboardInterrupt the model raises itself is its failure (test_doors.py)
    model.write_text(HANGING.replace("time.sleep(1000)",
                                     "import os, signal; os.kill(os.getpid(), signal.SIGINT); time.sleep(30)"))
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "-m", f"{model}:build", "-p", "fp32,bf16", "--out", str(out),
                                  *fast_options])
    assert result.exit_code == 130
    assert f"1 finished configuration(s) kept in {out}" in result.output
    payload = json.loads(out.read_text())
    assert payload["complete"] is False and len(payload["records"]) == 1


def test_fixed_batch_graphs_say_what_to_do_and_pt2_int8_static_runs(runner, fast_options, tmp_path):
    import torch

    from calib.models.tiny import tiny_cnn

    module = tiny_cnn().eval()
    pt2 = tmp_path / "net.pt2"
    torch.export.save(torch.export.export(module, (torch.randn(1, 3, 32, 32),)), str(pt2))
    wrong = runner.invoke(main, ["run", "-m", str(pt2), "--input-shape", "3,32,32", "--batch-size", "4",
                                 "--results-dir", str(tmp_path / "results")])
    assert wrong.exit_code == 2 and "takes batch 1 only" in wrong.output and "dynamic_shapes" in wrong.output
    assert not (tmp_path / "results").exists()
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "-b", "torch", "-m", str(pt2), "--input-shape", "3,32,32", "-p", "fp32,int8-static",
                                  "--out", str(out), *fast_options])
    assert result.exit_code == 0, result.output  # calibrated at the graph's own batch, no "Guard failed"
    int8 = load_result(out)["records"][1]
    assert int8["status"] == "ok" and int8["backend_info"]["quantized_layers"] > 0
    onnx_path = tmp_path / "net.onnx"
    torch.onnx.export(module, (torch.randn(1, 3, 32, 32),), str(onnx_path), dynamo=False)
    fixed = runner.invoke(main, ["run", "-m", str(onnx_path), "--batch-size", "4"])
    assert fixed.exit_code == 2 and "takes batch 1 only" in fixed.output and "dynamic" in fixed.output


@pytest.mark.parametrize("command, flag", [("check", "--markdown"), ("check", "--junit"), ("report", "--html"),
                                           ("report", "--markdown")])
def test_unwritable_report_paths_exit_2_in_one_line(runner, tmp_path, command, flag):
    from check.records import lognormal_samples, make_record, make_result

    path = tmp_path / "run.json"
    path.write_text(json.dumps(make_result([make_record(lognormal_samples(1))])))
    files = ["--baseline", str(path), "--current", str(path)] if command == "check" else [str(path)]
    result = runner.invoke(main, [command, *files, flag, "/proc/calib-cannot-write-here"])
    assert result.exit_code == 2, result.output  # never 1, which CI reads as a regression
    assert result.output.strip().splitlines() == [
        f"calib: error: {flag} /proc/calib-cannot-write-here: cannot write there (No such file or directory)"]
