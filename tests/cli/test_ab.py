"""`calib ab` on real models: two results files that `calib check` judges with the paired rule."""

import json

import pytest

from calib.cli import main

# Short rounds keep each command to about a second; 8 rounds let the signed-rank test reach p < 0.01.
ROUND_OPTIONS = ["--round-time", "0.02", "--warmup-min-time", "0.01", "--threads", "1", "-q"]
FAST_AB = ["--rounds", "8", "--max-rounds", "8", *ROUND_OPTIONS]

STACK = """
import torch
from torch import nn

def build():
    torch.manual_seed(0)
    return nn.Sequential(*[nn.Linear(256, 256) for _ in range({layers})]), (torch.randn(4, 256),)
"""


def _stack_file(folder, layers):
    folder.mkdir()
    path = folder / "net.py"  # the same stem in both folders: one identity, as in two checkouts
    path.write_text(STACK.format(layers=layers))
    return f"{path}:build"


def test_same_model_writes_two_files_that_check_passes(runner, tmp_path):
    base, cur = tmp_path / "base.json", tmp_path / "cur.json"
    result = runner.invoke(main, ["ab", "--baseline-model", "tiny-mlp", "--current-model", "tiny-mlp",
                                  "--baseline-out", str(base), "--current-out", str(cur), *FAST_AB])
    assert result.exit_code == 0, result.output
    assert "calib check --baseline" in result.output
    records = [json.loads(path.read_text())["records"][0] for path in (base, cur)]
    assert [r["timing"]["interleave"]["role"] for r in records] == ["baseline", "current"]
    assert records[0]["timing"]["interleave"]["session"] == records[1]["timing"]["interleave"]["session"]
    assert len(records[0]["timing"]["rounds"]) == 8
    assert sum(records[1]["timing"]["rounds"]) == len(records[1]["timing"]["samples_ms"])

    checked = runner.invoke(main, ["check", "--baseline", str(base), "--current", str(cur)])
    assert checked.exit_code == 0, checked.output
    assert "interleaved, paired over 8 rounds" in checked.output and "separate runs" not in checked.output


def test_current_doing_more_work_fails_the_gate(runner, tmp_path):
    light, heavy = _stack_file(tmp_path / "main", 1), _stack_file(tmp_path / "pr", 8)
    base, cur, summary = tmp_path / "base.json", tmp_path / "cur.json", tmp_path / "summary.md"
    result = runner.invoke(main, ["ab", "--baseline-model", light, "--current-model", heavy,
                                  "--baseline-out", str(base), "--current-out", str(cur), *FAST_AB])
    assert result.exit_code == 0, result.output
    checked = runner.invoke(main, ["check", "--baseline", str(base), "--current", str(cur), "--markdown", str(summary)])
    assert checked.exit_code == 1, checked.output
    assert "net:build torch fp32" in checked.output and "regression" in checked.output
    assert "Wilcoxon signed-rank" in summary.read_text()
    # --tolerance gates right away, with check's exit codes.
    gated = runner.invoke(main, ["ab", "--baseline-model", light, "--current-model", heavy, "--tolerance", "5%",
                                 "--baseline-out", str(base), "--current-out", str(cur), *FAST_AB])
    assert gated.exit_code == 1 and "regressed" in gated.output


def test_different_files_are_filed_under_the_baseline_name(runner, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "renamed.py").write_text(STACK.format(layers=1))
    base, cur = tmp_path / "base.json", tmp_path / "cur.json"
    result = runner.invoke(main, ["ab", "--baseline-model", _stack_file(tmp_path / "main", 1),
                                  "--current-model", f"{other / 'renamed.py'}:build",
                                  "--baseline-out", str(base), "--current-out", str(cur), *FAST_AB])
    assert result.exit_code == 0, result.output
    record = json.loads(cur.read_text())["records"][0]
    assert record["identity"]["model"] == "net:build"
    assert record["timing"]["interleave"]["model"] == "renamed:build"
    assert "filed as net:build" in result.output


@pytest.mark.parametrize("extra, message", [(["--rounds", "1"], "--rounds"), (["--tolerance", "five"], "--tolerance"),
                                            (["--backend", "auto"], "auto"),
                                            (["--rounds", "10", "--max-rounds", "6"], "--max-rounds")])
def test_bad_options_exit_2(runner, tmp_path, extra, message):
    result = runner.invoke(main, ["ab", "--baseline-model", "tiny-mlp", "--current-model", "tiny-mlp",
                                  "--baseline-out", str(tmp_path / "b.json"), "--current-out", str(tmp_path / "c.json"),
                                  *extra])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_models_with_different_inputs_are_refused(runner, tmp_path):
    result = runner.invoke(main, ["ab", "--baseline-model", "tiny-mlp", "--current-model", "tiny-cnn",
                                  "--baseline-out", str(tmp_path / "b.json"), "--current-out", str(tmp_path / "c.json")])
    assert result.exit_code == 2 and "different inputs" in result.output


def _round_values(path):
    from calib.check.gate import split_rounds

    timing = json.loads(path.read_text())["records"][0]["timing"]
    return split_rounds(timing["samples_ms"], timing["rounds"]), timing


def test_rounds_go_on_until_the_verdict_is_settled(runner, tmp_path):
    from calib.check.gate import paired_settled

    base, cur = tmp_path / "base.json", tmp_path / "cur.json"
    result = runner.invoke(main, ["ab", "--baseline-model", "tiny-mlp", "--current-model", "tiny-mlp", "--rounds", "4",
                                  "--max-rounds", "30", "--baseline-out", str(base), "--current-out", str(cur),
                                  *ROUND_OPTIONS])
    assert result.exit_code == 0, result.output
    (base_values, timing), (cur_values, _) = _round_values(base), _round_values(cur)
    rounds, interleave = len(timing["rounds"]), timing["interleave"]
    assert 8 <= rounds <= 30 and (rounds % 2 == 0 or rounds == 30)  # 8: the first count the test can decide at
    assert interleave["min_rounds"] == 4 and interleave["max_rounds"] == 30
    assert interleave["stop_rule"] == {"tolerance": 0.05, "alpha": 0.01}
    # What the loop decided agrees with the gate's own rule on the stored rounds.
    assert (interleave["stop"] == "settled") == paired_settled(base_values, cur_values)
    assert interleave["stop"] == "settled" or rounds == 30


def test_a_large_slowdown_settles_as_soon_as_the_test_can_decide(runner, tmp_path):
    light, heavy = _stack_file(tmp_path / "main", 1), _stack_file(tmp_path / "pr", 8)
    base, cur = tmp_path / "base.json", tmp_path / "cur.json"
    result = runner.invoke(main, ["ab", "--baseline-model", light, "--current-model", heavy, "--rounds", "2",
                                  "--max-rounds", "40", "--baseline-out", str(base), "--current-out", str(cur),
                                  *ROUND_OPTIONS])
    assert result.exit_code == 0, result.output
    _, timing = _round_values(cur)
    assert len(timing["rounds"]) == 8 and timing["interleave"]["stop"] == "settled"
    assert "8 (settled)" in result.output


BATCH_8 = """
import torch
from torch import nn

def build():
    torch.manual_seed(0)
    return nn.Linear(16, 4), (torch.randn(8, 16),)
"""


def test_example_inputs_of_another_batch_are_warned_as_run_does(runner, tmp_path):
    """Issue 30 item 7: a factory whose example batch is 8, measured at batch 1 by default, said nothing."""
    factory = tmp_path / "net8.py"
    factory.write_text(BATCH_8)
    base, cur = tmp_path / "base.json", tmp_path / "cur.json"
    result = runner.invoke(main, ["ab", "--baseline-model", f"{factory}:build", "--current-model", f"{factory}:build",
                                  "--baseline-out", str(base), "--current-out", str(cur), "--rounds", "2",
                                  "--max-rounds", "2", *ROUND_OPTIONS])
    assert result.exit_code == 0, result.output
    expected = "the model's example inputs have batch 8; measured at batch 1 (--batch-size 8 measures theirs)"
    said = " ".join(result.output.split())
    assert f"{expected}" in said and "warning: baseline " in said and ", current " in said  # one line for both
    for path in (base, cur):
        assert expected in json.loads(path.read_text())["records"][0]["warnings"]
    at_8 = runner.invoke(main, ["ab", "--baseline-model", f"{factory}:build", "--current-model", f"{factory}:build",
                                "--baseline-out", str(base), "--current-out", str(cur), "--rounds", "2",
                                "--max-rounds", "2", "--batch-size", "8", *ROUND_OPTIONS])
    assert at_8.exit_code == 0, at_8.output
    assert "example inputs" not in at_8.output


def test_format_json_holds_the_pair_and_the_gate(runner, tmp_path):
    base, cur = tmp_path / "base.json", tmp_path / "cur.json"
    result = runner.invoke(main, ["ab", "--baseline-model", "tiny-mlp", "--current-model", "tiny-mlp",
                                  "--baseline-out", str(base), "--current-out", str(cur), "--tolerance", "50%",
                                  "--format", "json", *FAST_AB])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)[0]
    pair, verdict = printed["tables"]
    assert pair["rows"][0]["status"] == "ok" and "current/\nbaseline" in pair["columns"]
    assert "PASS" in verdict["title"]
    assert any(str(cur) in line for line in printed["info"])
