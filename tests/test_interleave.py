"""The paired (interleaved) rule of the gate, on records built from seeded samples whose rounds
share a drift, the way `calib ab` measures on a busy machine."""

import numpy as np
import pytest

from calib.check.gate import (IMPROVEMENT, REGRESSION, SEPARATE_RUNS, UNCHANGED, GateSettings, gate, judge,
                              paired_rounds, paired_settled)
from calib.interleave import InterleaveSettings
from calib.errors import UsageError
from check.records import make_record, make_result


def ab_records(seed, slowdown=0.0, rounds=20, per_round=60, session="s1"):
    """Baseline and current records of one interleaved session: every round's load (a factor up to
    2x, as measured on this machine) hits both sides; within a round, samples are lognormal."""
    rng = np.random.default_rng(seed)
    drift = rng.choice([1.0, 1.3, 2.0], size=rounds) * rng.lognormal(0.0, 0.1, rounds)
    sides = []
    for role, factor in (("baseline", 1.0), ("current", 1.0 + slowdown)):
        samples = np.concatenate([factor * d * rng.lognormal(0.0, 0.08, per_round) for d in drift])
        record = make_record(samples)
        record["timing"].update(rounds=[per_round] * rounds,
                                interleave={"session": session, "role": role, "order": "ABBA"})
        sides.append(record)
    return sides


def test_same_build_passes_despite_drift():
    for seed in range(30):
        outcome = judge(*ab_records(seed))
        assert outcome.outcome == UNCHANGED, (seed, outcome)
        assert outcome.method == "interleaved, paired over 20 rounds"


def test_ten_percent_slower_is_caught_despite_drift():
    for seed in range(30):
        outcome = judge(*ab_records(seed, slowdown=0.10))
        assert outcome.outcome == REGRESSION, (seed, outcome)
        assert outcome.estimate.low < 1.10 < outcome.estimate.high or outcome.estimate.low > 1.05


def test_faster_is_an_improvement_and_small_changes_pass():
    assert judge(*ab_records(1, slowdown=-0.15)).outcome == IMPROVEMENT
    assert judge(*ab_records(2, slowdown=0.02)).outcome == UNCHANGED  # real, but within the 5% tolerance
    assert judge(*ab_records(3, slowdown=0.10), GateSettings(tolerance=0.20)).outcome == UNCHANGED


def test_one_round_disturbed_on_one_side_does_not_alarm():
    baseline, current = ab_records(4)
    samples = np.asarray(current["timing"]["samples_ms"])
    samples[:60] *= 2.0  # a burst of load that hit only the current half of round 0
    current["timing"]["samples_ms"] = samples.tolist()
    assert judge(baseline, current).outcome == UNCHANGED


def test_without_a_shared_session_the_separate_runs_rule_judges_with_a_note():
    baseline, _ = ab_records(5, session="one")
    _, current = ab_records(6, session="other")
    assert paired_rounds(baseline, current) is None
    result = gate(make_result([baseline]), make_result([current]))
    assert result.outcomes[0].method == SEPARATE_RUNS
    assert any("calib ab" in note for note in result.method_notes)
    interleaved = gate(make_result([ab_records(7)[0]]), make_result([ab_records(7)[1]]))
    assert interleaved.method_notes == []


def test_round_counts_that_do_not_match_the_samples_fall_back():
    baseline, current = ab_records(8)
    current["timing"]["rounds"] = current["timing"]["rounds"][:-1] + [1]
    assert paired_rounds(baseline, current) is None


@pytest.mark.parametrize("rounds, round_time", [(1, 0.2), (20, 0.0)])
def test_interleave_settings_refuse_what_cannot_be_tested(rounds, round_time):
    with pytest.raises(UsageError):
        InterleaveSettings(rounds=rounds, round_time_s=round_time)


def test_rounds_are_fixed_blocks_that_never_stop_early():
    first, later = InterleaveSettings(round_time_s=0.2).round_timing(True), InterleaveSettings().round_timing(False)
    assert first.stop_rule.time_s == first.stop_rule.max_time_s == 0.2 and first.stop_rule.settled([1] * 99, 0) is None
    assert first.warmup.min_time_s > 0 and later.warmup.min_time_s == 0


def test_fresh_instances_are_spread_over_the_rounds():
    every_round = InterleaveSettings(rounds=6, instances=6)
    assert [every_round.new_instance(i) for i in range(6)] == [True] * 6
    assert [i for i in range(6) if InterleaveSettings(rounds=6).new_instance(i)] == [0]  # default: one instance
    four = InterleaveSettings(rounds=8, instances=4)
    assert [i for i in range(8) if four.new_instance(i)] == [0, 2, 4, 6]
    assert [i for i in range(5) if InterleaveSettings(rounds=5, instances=1).new_instance(i)] == [0]
    fresh = InterleaveSettings().round_timing(first=False, fresh=True)
    assert fresh.warmup.min_count == 3 and fresh.warmup.min_time_s == 0.0


def test_settled_only_once_the_interval_clears_both_tolerances():
    noise = np.exp(np.random.default_rng(0).normal(0.0, 0.02, 20))
    base = [1.0] * 20
    assert paired_settled(base, list(noise))  # A/A: clearly within the tolerance both ways
    assert paired_settled(base, list(1.10 * noise))  # clearly beyond it
    assert paired_settled(base, list(0.85 * noise))  # clearly an improvement
    assert not paired_settled(base, list(1.05 * noise))  # on the line: more rounds could decide it
    assert not paired_settled(base, list(1.05 * noise), GateSettings(tolerance=0.05, alpha=1e-9))
    assert paired_settled(base, list(1.05 * noise), GateSettings(tolerance=0.20))
    assert not paired_settled([1.0] * 6, [1.5] * 6)  # 6 rounds: the signed-rank test cannot reach 0.01 yet


def test_max_rounds_below_rounds_is_refused():
    with pytest.raises(UsageError):
        InterleaveSettings(rounds=20, max_rounds=10)


def test_a_pair_unsettled_at_max_rounds_says_so():
    baseline, current = ab_records(0, slowdown=0.055)  # just past the tolerance, not significantly
    assert "undecided" not in judge(baseline, current).note
    for record in (baseline, current):
        record["timing"]["interleave"]["stop"] = "max rounds"
    outcome = judge(baseline, current)
    assert outcome.outcome == UNCHANGED and "undecided after 20 rounds" in outcome.note
