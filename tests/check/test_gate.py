"""The gate's decisions on records with samples drawn from seeded distributions."""

import numpy as np
import pytest

from calib.check import GateInconclusive, RegressionFound, raise_if_regressed
from calib.check.gate import (FAILED_CURRENT, IMPROVEMENT, MISSING_BASELINE, MISSING_CURRENT, NOT_MEASURED, REGRESSION,
                              SKIPPED_CURRENT, UNCHANGED, GateSettings, gate, judge)
from check.records import lognormal_samples, make_record, make_result


def test_same_distribution_is_unchanged():
    outcome = judge(make_record(lognormal_samples(1)), make_record(lognormal_samples(2)))
    assert outcome.outcome == UNCHANGED
    assert outcome.estimate.low < 1 < outcome.estimate.high


def test_ten_percent_slower_is_a_regression():
    outcome = judge(make_record(lognormal_samples(1)), make_record(1.10 * lognormal_samples(2)))
    assert outcome.outcome == REGRESSION
    assert outcome.ratio == pytest.approx(1.10, abs=0.02)
    assert outcome.estimate.low > 1.05 and outcome.p_value < 0.01


def test_slowdown_within_tolerance_passes_even_when_significant():
    outcome = judge(make_record(lognormal_samples(1, count=3000)), make_record(1.03 * lognormal_samples(2, count=3000)))
    assert outcome.outcome == UNCHANGED
    assert outcome.estimate.low > 1.0  # real, but smaller than the 5% tolerance


def test_tolerance_is_a_setting():
    baseline, current = make_record(lognormal_samples(1)), make_record(1.10 * lognormal_samples(2))
    assert judge(baseline, current, GateSettings(tolerance=0.20)).outcome == UNCHANGED


def test_large_but_not_significant_slowdown_passes_with_a_note():
    baseline = make_record(lognormal_samples(1, spread=0.5, count=6))
    current = make_record(1.15 * lognormal_samples(2, spread=0.5, count=6))
    outcome = judge(baseline, current)
    if outcome.ratio > 1.05:  # the draw decides the ratio; the test must not call it significant
        assert outcome.outcome == UNCHANGED and "not significant" in outcome.note


def test_faster_is_an_improvement():
    outcome = judge(make_record(lognormal_samples(1)), make_record(0.8 * lognormal_samples(2)))
    assert outcome.outcome == IMPROVEMENT


def test_missing_and_skipped_configurations_are_reported():
    baseline = make_result([make_record(lognormal_samples(1), "fp32"), make_record(lognormal_samples(2), "fp16"),
                            make_record([], "bf16", status="skipped")])
    current = make_result([make_record(lognormal_samples(3), "fp32"), make_record(lognormal_samples(4), "int8-dynamic"),
                           make_record(lognormal_samples(5), "bf16")])
    result = gate(baseline, current)
    outcomes = {o.label.split()[2]: o.outcome for o in result.outcomes}
    assert outcomes == {"fp32": UNCHANGED, "fp16": MISSING_CURRENT, "int8-dynamic": MISSING_BASELINE,
                        "bf16": NOT_MEASURED}
    # fp16 was measured in the baseline and not in the current run: the gate cannot pass on it
    assert not result.passed and result.inconclusive and not result.regressions
    assert gate(baseline, current, GateSettings(allow_missing=True)).passed


def test_false_alarm_and_detection_rates_on_iid_samples():
    """With independent samples (no run-to-run drift), the test alone must be well calibrated."""
    false_alarms = detections = 0
    for seed in range(0, 200, 2):
        baseline = make_record(lognormal_samples(seed, spread=0.1, count=200))
        same = make_record(lognormal_samples(seed + 1, spread=0.1, count=200))
        slower = make_record(1.10 * lognormal_samples(seed + 1, spread=0.1, count=200))
        false_alarms += judge(baseline, same).outcome == REGRESSION
        detections += judge(baseline, slower).outcome == REGRESSION
    assert false_alarms == 0
    assert detections >= 95


PRECISIONS = ("fp32", "fp16", "bf16", "int8-dynamic", "int8-static", "tf32", "amp-bf16", "amp-fp16", "fp8")


def test_empty_current_run_is_inconclusive_not_a_pass():
    baseline = make_result([make_record(lognormal_samples(seed), p) for seed, p in enumerate(PRECISIONS)])
    result = gate(baseline, make_result([], path="cur.json"))
    assert result.count(MISSING_CURRENT) == 9 and not result.passed and result.verdict == "INCONCLUSIVE"
    with pytest.raises(GateInconclusive, match="9 configuration\\(s\\) of the baseline not measured") as caught:
        raise_if_regressed(result)
    assert caught.value.exit_code == 3 and "--allow-missing" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("base_status, cur_status, expected", [
    ("ok", "failed", FAILED_CURRENT),
    ("ok", "skipped", SKIPPED_CURRENT),
    ("skipped", "failed", FAILED_CURRENT),   # a new failure, although the baseline did not measure it
    ("skipped", "skipped", NOT_MEASURED),    # not on this machine, in both: nothing lost
    ("failed", "failed", NOT_MEASURED),
    ("failed", "skipped", NOT_MEASURED),
    ("skipped", "ok", NOT_MEASURED),
])
def test_a_configuration_the_current_run_did_not_measure(base_status, cur_status, expected):
    samples = lognormal_samples(1)
    outcome = judge(make_record(samples, status=base_status), make_record(samples, status=cur_status))
    assert outcome.outcome == expected


def test_failed_in_current_makes_the_gate_inconclusive():
    baseline = make_result([make_record(lognormal_samples(1), "fp32"), make_record(lognormal_samples(2), "fp16")])
    current = make_result([make_record(lognormal_samples(3), "fp32"), make_record([], "fp16", status="failed")])
    result = gate(baseline, current)
    assert result.count(FAILED_CURRENT) == 1 and result.inconclusive and not result.passed
    assert "current failed" in result.lost[0].note


def test_skipped_in_both_runs_still_passes():
    baseline = make_result([make_record(lognormal_samples(1), "fp32"), make_record([], "fp16", status="skipped")])
    current = make_result([make_record(lognormal_samples(2), "fp32"), make_record([], "fp16", status="skipped")])
    result = gate(baseline, current)
    assert result.count(NOT_MEASURED) == 1 and result.passed and result.verdict == "PASS"
    raise_if_regressed(result)  # exit 0


def test_unfinished_current_run_is_inconclusive_unless_allowed():
    baseline = make_result([make_record(lognormal_samples(1))], complete=True)
    current = make_result([make_record(lognormal_samples(2))], path="cur.json", complete=False)
    result = gate(baseline, current)
    assert result.inconclusive and "cur.json is incomplete" in result.unjudged_reasons[0]
    allowed = gate(baseline, current, GateSettings(allow_missing=True))
    assert allowed.passed and any("incomplete" in note for note in allowed.completeness_notes)
    finished = gate(baseline, make_result([make_record(lognormal_samples(2))], complete=True))
    assert finished.passed and not finished.completeness_notes


def test_nothing_measured_in_both_is_inconclusive():
    assert gate(make_result([]), make_result([])).inconclusive
    only_new = gate(make_result([]), make_result([make_record(lognormal_samples(1))]))
    assert only_new.count(MISSING_BASELINE) == 1 and only_new.inconclusive


def test_a_regression_still_exits_1_when_configurations_are_also_lost():
    baseline = make_result([make_record(lognormal_samples(1), "fp32"), make_record(lognormal_samples(2), "fp16")])
    current = make_result([make_record(1.3 * lognormal_samples(3), "fp32")])
    result = gate(baseline, current)
    assert result.verdict == "FAIL"
    with pytest.raises(RegressionFound, match="also not judged") as caught:
        raise_if_regressed(result)
    assert caught.value.exit_code == 1
