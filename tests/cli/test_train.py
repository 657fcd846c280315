"""`calib train` end to end on tiny models, and its one-line usage errors."""

import json

import pytest

from calib.cli import main
from calib.results.store import load_result

FAST = ["--steps", "4", "--batch-size", "8", "--threads", "1", "--no-tune", "-q"]


def _run(runner, args):
    return runner.invoke(main, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from click.testing import CliRunner

    folder = tmp_path_factory.mktemp("train")
    runner = CliRunner(env={"COLUMNS": "200"})
    outputs = []
    for name in ("a.json", "b.json"):
        result = runner.invoke(main, ["train", "-m", "digits-cnn", "-p", "fp32,amp-bf16", "-p", "tf32",
                                      "--out", str(folder / name), *FAST], catch_exceptions=False)
        outputs.append(result)
    return folder, outputs


def test_train_prints_the_table_and_stores_run_shaped_records(trained):
    folder, (result, _) = trained
    assert result.exit_code == 0, result.output
    for text in ("fp32 (base)", "amp-bf16", "samples/s", "peak mem", "max |Δloss|", "emulated" if "emulated"
                 in result.output else "native", "tf32 skipped: tf32 training needs CUDA"):
        assert text in result.output
    payload = load_result(folder / "a.json")
    assert payload["complete"] is True
    fp32, amp, tf32 = payload["records"]
    assert fp32["identity"]["backend"] == "torch-train" and fp32["identity"]["batch_size"] == 8
    assert len(fp32["timing"]["samples_ms"]) == 3 and fp32["summary"]["median_ms"] > 0
    assert amp["training"]["dtypes"]["weights"] == ["float32"] and amp["compute_dtype"] == "bfloat16"
    assert len(amp["training"]["loss"]) == 4 and amp["training"]["baseline"] == "fp32"
    assert amp["verdict"]["status"] in ("native", "emulated") and amp["verdict"]["evidence"]
    assert tf32["status"] == "skipped"


def test_show_compare_check_and_report_read_train_files(trained, runner, tmp_path):
    folder, _ = trained
    a, b = str(folder / "a.json"), str(folder / "b.json")
    shown = _run(runner, ["show", a])
    assert shown.exit_code == 0 and "fp32 (base)" in shown.output and "max |Δloss|" in shown.output
    assert _run(runner, ["compare", a, b]).exit_code == 0
    gate = _run(runner, ["check", "--baseline", a, "--current", b, "--tolerance", "1000%"])
    assert gate.exit_code == 0, gate.output  # tf32 skipped in both: not measured, not lost
    html, markdown = tmp_path / "r.html", tmp_path / "r.md"
    assert _run(runner, ["report", a, "--html", str(html), "--markdown", str(markdown)]).exit_code == 0
    assert 'data-chart="loss"' in html.read_text() and "## Training loss" in markdown.read_text()


def test_layers_prints_forward_and_backward_per_precision(runner, tmp_path):
    out = tmp_path / "l.json"
    result = _run(runner, ["train", "-m", "tiny-cnn", "-p", "fp32,bf16", "--layers", "--layer-steps", "1",
                           "--out", str(out), *FAST])
    assert result.exit_code == 0, result.output
    assert "fp32 fwd" in result.output and "bf16 bwd" in result.output and "bf16 vs fp32" in result.output
    layers = load_result(out)["records"][1]["layers"]
    assert layers["method"] == "train-hooks" and all("backward_ms" in row for row in layers["layers"])


@pytest.mark.parametrize("args, message", [
    (["-m", "digits-cnn", "-p", "fp4"], "unknown training precision 'fp4'"),
    (["-m", "digits-cnn", "--steps", "1"], "--steps 1: at least 2"),
    (["-m", "digits-cnn", "--batch-size", "0"], "--batch-size 0"),
    (["-m", "digits-cnn", "--lr", "-1"], "--lr -1"),
    (["-m", "no-such-model"], "unknown model 'no-such-model'"),
    (["-m", "digits-cnn", "--baseline", "int4"], "unknown training precision 'int4'"),
    (["-m", "digits-cnn", "--threads", "0"], "--threads 0"),
    (["-m", "tiny-bert", "--activation-checkpointing", "some"], "--activation-checkpointing 'some'"),
    (["-m", "tiny-bert", "--hf-head", "masked-lm"], "--hf-head and --text-data are for hf:DIR models"),
    (["-m", "hf:/no/such/dir"], "no config.json"),
])
def test_bad_input_is_one_line_and_exit_2(runner, tmp_path, args, message):
    result = runner.invoke(main, ["train", *args, "--out", str(tmp_path / "x.json"), "-q"])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_the_baseline_is_trained_when_not_asked_for(runner, tmp_path):
    out = tmp_path / "b.json"
    result = _run(runner, ["train", "-m", "tiny-mlp", "-p", "amp-bf16", "--out", str(out), *FAST[:-1]])
    assert result.exit_code == 0
    assert [r["identity"]["precision"] for r in json.loads(out.read_text())["records"]] == ["fp32", "amp-bf16"]


def test_max_drop_is_checked_before_work(runner, tmp_path):
    result = runner.invoke(main, ["train", "-m", "digits-cnn", "--max-drop", "-1", "--out", str(tmp_path / "x.json")])
    assert result.exit_code == 2 and "--max-drop -1" in result.output


def test_text_models_report_tokens_per_second_and_seed_002s_table(runner, tmp_path):
    out = tmp_path / "ac.json"
    result = _run(runner, ["train", "-m", "tiny-bert", "-p", "fp32", "--activation-checkpointing", "none,full",
                           "--out", str(out), *FAST[:-1]])
    assert result.exit_code == 0, result.output
    for text in ("tok/s", "throughput and peak memory against the baseline (fp32, no checkpointing)",
                 "activation checkpointing", "Δ peak memory", "fp32+ac-full", "peak allocated above the start"):
        assert text in result.output, text
    base, full = json.loads(out.read_text())["records"]
    assert base["training"]["tokens_per_s"] == base["training"]["samples_per_s"] * 16
    assert full["identity"]["variant"] == "ac-full" and "variant" not in base["identity"]
    assert full["backend_info"]["activation_checkpointing"]["blocks"] == 2


def test_a_model_without_blocks_skips_checkpointing(runner, tmp_path):
    result = _run(runner, ["train", "-m", "tiny-mlp", "--activation-checkpointing", "full", "--out",
                           str(tmp_path / "m.json"), *FAST])
    assert result.exit_code == 0, result.output
    records = json.loads((tmp_path / "m.json").read_text())["records"]
    assert [r["status"] for r in records] == ["ok", "skipped"] and "no repeated blocks" in records[1]["reason"]
