"""`calib check --history`: a run judged against the recent history of each configuration in a real store
(SQLite and PostgreSQL via store_url). Histories are derived from one real `calib run` (tests/history_runs.py)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from calib.check.gate import GateSettings, IMPROVEMENT, REGRESSION, UNCHANGED
from calib.check.history import history_judgement
from calib.cli import main
from history_runs import QUIET, derive, measure, push_history, write


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return measure(tmp_path_factory.mktemp("history"))


@pytest.fixture(autouse=True)
def _no_store_from_the_environment(monkeypatch):
    monkeypatch.delenv("CALIB_STORE", raising=False)
    monkeypatch.delenv("CALIB_DEVICE_CLASS", raising=False)


def _check(runner, url, current, *extra):
    return runner.invoke(main, ["check", "--history", "--store", url, "--current", str(current), *extra])


def test_same_level_passes_and_shows_its_window(runner, base, store_url, tmp_path):
    push_history(store_url, base)
    # Runs the gate must not read: another device class and another branch, both twice as slow
    push_history(store_url, base, factors=(0.5,) * 4, device_class="jetson-orin")
    push_history(store_url, base, factors=(0.5,) * 4, branch="feature")
    current = write(derive(base, 30, 1.002, branch="pr-7"), tmp_path / "current.json", store_url)
    result = _check(runner, store_url, current, "--window", "10")
    assert result.exit_code == 0, result.output
    assert "PASS: 2 unchanged" in result.output and "history of 10 runs" in result.output
    assert "cpu-ci on main, last 10 runs:" in result.output
    assert "  tiny-mlp onnxruntime fp32 b1 [1x64] cpu: 10 run(s) 2026-01-05 09:00 .. 2026-01-05 18:00" \
        in result.output
    assert "run-to-run spread 0.7%" in result.output


def test_twenty_percent_slower_fails_although_it_is_in_the_store(runner, base, store_url, tmp_path):
    push_history(store_url, base)
    # The current run was filed live on the base branch itself: it must not be its own history
    current = write(derive(base, 30, 1.20), tmp_path / "current.json", store_url)
    summary, junit = tmp_path / "summary.md", tmp_path / "junit.xml"
    result = _check(runner, store_url, current, "--markdown", str(summary), "--junit", str(junit))
    assert result.exit_code == 1, result.output
    assert "FAIL: 2 regression" in result.output and "history of 10 runs" in result.output
    assert "1.20x" in result.output and "20.0% slower (tolerance 5%)" in result.output
    text = summary.read_text()
    assert text.startswith("## calib check: FAIL") and "one-sided t-test" in text and "Wilcoxon" not in text
    assert "### History windows" in text and "cpu-ci on main" in text
    assert ET.parse(junit).getroot().find("testsuite").get("failures") == "2"


def test_a_generous_tolerance_passes_the_same_run(runner, base, store_url, tmp_path):
    push_history(store_url, base)
    current = write(derive(base, 30, 1.20), tmp_path / "current.json")
    assert _check(runner, store_url, current, "--tolerance", "25%").exit_code == 0


def test_two_runs_of_history_are_inconclusive(runner, base, store_url, tmp_path):
    push_history(store_url, base, factors=QUIET[:2])
    current = write(derive(base, 30, 1.20), tmp_path / "current.json")
    result = _check(runner, store_url, current)
    assert result.exit_code == 3, result.output
    assert "history too short: 2 run(s), needs 3" in result.output
    assert "shorter than 3 runs (cpu-ci on main)" in result.output and "(2 runs)" in result.output
    assert _check(runner, store_url, current, "--allow-missing").exit_code == 0


def test_failed_or_missing_configurations_of_the_history_are_inconclusive(runner, base, store_url, tmp_path):
    push_history(store_url, base)
    only_fp32 = write(derive(base, 30, 1.0, precisions=("fp32",)), tmp_path / "only_fp32.json")
    result = _check(runner, store_url, only_fp32)
    assert result.exit_code == 3, result.output
    assert "missing in current" in result.output and "tiny-mlp onnxruntime fp16 b1 [1x64] cpu" in result.output

    failed = derive(base, 30, 1.0)
    failed["records"][1].update(status="failed", reason="out of memory")
    failed["records"][1]["timing"]["samples_ms"] = []
    result = _check(runner, store_url, write(failed, tmp_path / "failed.json"))
    assert result.exit_code == 3, result.output
    assert "failed in current" in result.output and "out of memory" in result.output

    unfinished = derive(base, 30, 1.0)
    unfinished["complete"] = False
    result = _check(runner, store_url, write(unfinished, tmp_path / "unfinished.json"))
    assert result.exit_code == 3 and "did not finish" in result.output


def test_runs_of_other_timing_settings_are_left_out_unless_forced(runner, base, store_url, tmp_path):
    push_history(store_url, base, threads=1)
    current = write(derive(base, 30, 1.0, threads=2), tmp_path / "current.json")
    result = _check(runner, store_url, current)
    assert result.exit_code == 3, result.output
    assert "10 run(s) of the history left out" in result.output and "threads: 1 vs 2" in result.output
    assert _check(runner, store_url, current, "--force").exit_code == 0


def test_base_branch_defaults_to_the_main_one_and_can_be_named(runner, base, store_url, tmp_path):
    push_history(store_url, base, branch="master")
    push_history(store_url, base, factors=(0.5,) * 3, branch="release")
    current = write(derive(base, 30, 1.0, branch="pr-7"), tmp_path / "current.json")
    assert "cpu-ci on master" in _check(runner, store_url, current).output
    named = _check(runner, store_url, current, "--base-branch", "release")
    assert named.exit_code == 1 and "history of 3 runs" in named.output


def test_exactly_one_of_baseline_or_history(runner, base, tmp_path):
    current = write(derive(base, 30, 1.0), tmp_path / "current.json")
    for args, message in ((["--current", str(current)], "exactly one of --baseline FILE or --history"),
                          (["--history", "--baseline", str(current), "--current", str(current)], "exactly one of"),
                          (["--history", "--current", str(current), "--store", "none"], "the store is turned off"),
                          (["--baseline", str(current), "--current", str(current), "--window", "5"],
                           "--window go(es) with --history"),
                          (["--history", "--store", str(tmp_path / "none.db"), "--current", str(current)],
                           "no store at")):
        result = runner.invoke(main, ["check", *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "none.db").exists()  # reading never creates a store


def test_history_judgement_is_a_prediction_interval_t_test():
    from scipy.stats import t as student

    history = [10.0 * f for f in QUIET]
    settings = GateSettings(tolerance=0.05, alpha=0.01)
    logs = [math.log(v) for v in history]
    mean = sum(logs) / len(logs)
    spread = math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))
    outcome = history_judgement("c", history, 12.0, settings)
    expected = student.sf((math.log(12.0) - mean - math.log(1.05)) / (spread * math.sqrt(1 + 1 / 10)), 9)
    assert outcome.outcome == REGRESSION and outcome.p_value == pytest.approx(expected)
    assert outcome.ratio == pytest.approx(12.0 / math.exp(mean))
    assert history_judgement("c", history, 10.0, settings).outcome == UNCHANGED
    assert history_judgement("c", history, 8.0, settings).outcome == IMPROVEMENT
    # 6% slower is past the tolerance but not significantly, given a 0.7% spread and 10 runs
    assert history_judgement("c", history, 10.6, settings).outcome == UNCHANGED
    # a wide history (10% run-to-run) does not call a 20% step significant from 3 runs
    assert history_judgement("c", [9.0, 10.0, 11.0], 12.0, settings).outcome == UNCHANGED
    # identical medians: the ratio alone decides
    assert history_judgement("c", [10.0] * 3, 10.6, settings).outcome == REGRESSION
