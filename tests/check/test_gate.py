"""The gate's decisions on records with samples drawn from seeded distributions."""

import numpy as np
import pytest

from calib.check.gate import (IMPROVEMENT, MISSING_BASELINE, MISSING_CURRENT, NOT_MEASURED, REGRESSION, UNCHANGED,
                              GateSettings, gate, judge)
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
    assert result.passed


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
