import json
import textwrap

import pytest

from calib.cli import main
from calib.results.schema import SCHEMA_VERSION
from calib.results.store import load_result


def _run(runner, args):
    return runner.invoke(main, args, catch_exceptions=False)


def test_run_writes_schema_versioned_results_and_table(runner, fast_options, tmp_path):
    out = tmp_path / "r.json"
    result = _run(runner, ["run", "-b", "torch", "--model", "tiny-mlp", "-p", "fp32,bf16", "--batch-size", "1",
                           "--batch-size", "4", "--out", str(out), *fast_options])
    assert result.exit_code == 0, result.output
    assert "vs fp32" in result.output and "bf16" in result.output
    payload = load_result(out)
    assert payload["schema_version"] == SCHEMA_VERSION
    assert payload["environment"]["torch"]
    assert payload["environment"]["threads"] >= 1
    records = payload["records"]
    assert [(r["identity"]["precision"], r["identity"]["batch_size"]) for r in records] == [
        ("fp32", 1), ("bf16", 1), ("fp32", 4), ("bf16", 4)]
    for record in records:
        assert record["status"] == "ok"
        assert record["timing"]["samples_ms"] and record["timing"]["cold_ms"] > 0
        assert record["timing"]["settings"]["max_time_s"] == 0.3
        assert record["memory"]["model_size_bytes"] > 0
    bf16 = records[1]
    assert (bf16["storage_dtype"], bf16["compute_dtype"]) == ("bfloat16", "bfloat16")
    assert records[0]["memory"]["model_size_bytes"] == 2 * bf16["memory"]["model_size_bytes"]


def test_autocast_keeps_fp32_storage(runner, fast_options, tmp_path):
    out = tmp_path / "r.json"
    assert _run(runner, ["run", "--model", "tiny-cnn", "-p", "amp-bf16", "--out", str(out), *fast_options]).exit_code == 0
    record = load_result(out)["records"][0]
    assert (record["storage_dtype"], record["compute_dtype"]) == ("float32", "bfloat16")


def test_cuda_only_precision_is_skipped_with_reason(runner, fast_options, tmp_path):
    out = tmp_path / "r.json"
    result = _run(runner, ["run", "--model", "tiny-mlp", "-p", "fp32,tf32", "--device", "cpu", "--out", str(out),
                           *fast_options])
    assert result.exit_code == 0
    record = load_result(out)["records"][1]
    assert record["status"] == "skipped" and "CUDA" in record["reason"]


def test_show_rerenders_stored_result(runner, fast_options, tmp_path):
    out = tmp_path / "r.json"
    _run(runner, ["run", "-b", "torch", "--model", "tiny-mlp", "--out", str(out), *fast_options])
    shown = runner.invoke(main, ["show", str(out)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    median = load_result(out)["records"][0]["summary"]["median_ms"]
    assert "fp32" in shown.output and "tiny-mlp" in shown.output
    from calib import format as fmt

    assert f" {fmt.ms(median)} " in shown.output  # as the table writes it (7.615 ms is "7.62", not "7.61")


def test_csv_export(runner, fast_options, tmp_path):
    csv_path = tmp_path / "t.csv"
    _run(runner, ["run", "--model", "tiny-mlp", "-p", "fp32", "--out", str(tmp_path / "r.json"),
                  "--csv", str(csv_path), *fast_options])
    header, row = csv_path.read_text().splitlines()[:2]
    assert "median_ms" in header and "tiny-mlp" in row


@pytest.mark.parametrize("args, message", [
    (["--model", "no-such-model"], "unknown model"),
    (["--model", "tiny-mlp", "-p", "fp7"], "unknown precision"),
    (["--model", "tiny-mlp", "--backend", "nope"], "unknown backend"),
    (["--model", "missing.py:build"], "no such file"),
    (["--model", "tiny-mlp", "--device", "tpu"], "--device"),
    (["--model", "tiny-mlp", "--batch-size", "x"], "--batch-size"),
])
def test_bad_input_is_one_line_and_exit_2(runner, args, message, tmp_path):
    result = runner.invoke(main, ["run", *args, "--results-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("calib: error")]) == 1


def test_unreadable_model_file_is_one_line(runner, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def build(:\n")
    result = runner.invoke(main, ["run", "--model", f"{broken}:build", "--results-dir", str(tmp_path)])
    assert result.exit_code == 2 and "cannot import" in result.output and "Traceback" not in result.output


USER_MODEL = textwrap.dedent('''
    import torch

    class Picky(torch.nn.Module):
        """Runs in fp32; in bf16 it {action}."""
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(8, 4)
        def forward(self, x):
            if x.dtype == torch.bfloat16:
                raise {error}("bf16 path broken")
            return self.linear(x)

    def build():
        return Picky(), (torch.randn(1, 8),)

    def ctrl_c(message):  # what a real Ctrl-C does: SIGINT to this process
        import os, signal, time
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)
''')


def _run_picky(runner, tmp_path, fast_options, action: str, error: str, precisions: str):
    """Run a user model whose bf16 path raises `error`; returns (CLI result, results path)."""
    model = tmp_path / "picky.py"
    model.write_text(USER_MODEL.format(action=action, error=error))
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "--model", f"{model}:build", "-p", precisions, "--out", str(out),
                                  *fast_options])
    return result, out


def test_failing_configuration_is_recorded_and_sweep_goes_on(runner, fast_options, tmp_path):
    result, out = _run_picky(runner, tmp_path, fast_options, "fails", "RuntimeError", "bf16,fp32")
    assert result.exit_code == 1
    assert "bf16 path broken" in result.output
    records = load_result(out)["records"]
    assert [r["status"] for r in records] == ["failed", "ok"]


def test_interrupted_sweep_keeps_finished_measurements(runner, fast_options, tmp_path):
    # a real SIGINT; a KeyboardInterrupt the model raises itself is that configuration's failure (test_doors.py)
    result, out = _run_picky(runner, tmp_path, fast_options, "is interrupted", "ctrl_c", "fp32,bf16,fp16")
    assert result.exit_code == 130
    records = json.loads(out.read_text())["records"]
    assert [r["identity"]["precision"] for r in records] == ["fp32"]
    assert records[0]["status"] == "ok"


def test_version_and_module_entry_point(runner):
    import subprocess
    import sys

    from calib import __version__

    assert __version__ in runner.invoke(main, ["--version"]).output
    completed = subprocess.run([sys.executable, "-m", "calib", "--help"], capture_output=True, text=True, check=True)
    assert "run" in completed.stdout and "device" in completed.stdout


def test_run_takes_a_torchvision_name(runner, tmp_path):
    """Issue 30 item 7: `calib run -m torchvision:resnet34` failed ("torchvision: no such file")."""
    out = tmp_path / "r.json"
    result = _run(runner, ["run", "-m", "torchvision:resnet18", "-p", "fp32", "--max-time", "0.2", "--no-tune",
                           "-b", "torch", "--threads", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = load_result(out)["records"][0]
    assert (record["identity"]["model"], record["status"], record["model_weights"]) == ("resnet18", "ok", "random")
