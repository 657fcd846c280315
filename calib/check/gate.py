"""The regression gate: is the current run slower than the baseline by more than the tolerance?

A configuration regresses only when BOTH hold:
  1. the slowdown (current / baseline, estimated as below) exceeds 1 + tolerance, and
  2. it is statistically significant. How that is tested depends on how the two were measured:
     - interleaved (`calib ab`: both records carry the same interleave session and their
       per-round sample counts): a PAIRED test over rounds. Round i gives
       r_i = log(q current_i / q baseline_i), q the round's lower quartile (round_statistic).
       The machine's drift (seconds-scale load changes that move whole-run medians by 15-25%
       here, single rounds by up to 2x) falls on both sides of a round and cancels in r_i.
       The lower quartile rather than the median: a neighbour's load only ever slows calls
       down, and a burst that covers part of one side's round moves that round's median once
       it covers half of it, its lower quartile only past three quarters, while a slowdown of
       every call (the regression a gate is for) moves both alike. Measured on 100 A/A and 40
       +10% pairs (bench/gate.py): medians caught 38/40 with A/A ratios up to 1.047; lower
       quartiles of the same rounds 40/40, A/A up to 1.033; a fresh 100 + 40 run with lower
       quartiles then gave 0/100 false alarms (A/A max 1.010) and 40/40 caught. What it does
       not see is a change of the slowest quarter of calls only (spikes): `calib compare` shows
       p90/p99.
       The slowdown is exp(Hodges-Lehmann estimate of the r_i) (the median of their pairwise
       means: the per-round ratio, pooled robustly), and a one-sided Wilcoxon signed-rank test
       of r_i - log(1 + tolerance) must reject "no slower than the tolerance allows" at alpha.
       Wilcoxon rather than a t-test: when the load changes in the middle of a round, that
       round's r_i lands far out (|r| up to 0.6 measured on this machine, against a typical
       0.03-0.1). Such rounds inflate a t-test's variance and hide a real 10% slowdown; ranks
       do not care how far out they are. Its smallest p is 2^-n over n rounds, so alpha 0.01
       needs at least 7 rounds. The 95% interval shown is the matching distribution-free one
       (order statistics of the pairwise means).
     - separate runs (`calib run` twice): a one-sided Mann-Whitney U test of current against
       baseline scaled by (1 + tolerance) on the raw samples, at level alpha. It treats the
       samples as independent, which drift between runs is not: on a shared machine it cannot
       tell a 10% change from drift, so a note recommends `calib ab`.
The tolerance carries the noise a test cannot see (placement in memory, a new process); the
test keeps a short, noisy measurement from being read as a shift. Improvements use the mirror
test. The ratio's 95% interval (Hodges-Lehmann, or a bootstrap for separate runs) is reported beside it.

A gate that did not see everything it was asked to judge does not pass: it is INCONCLUSIVE when a
configuration measured in the baseline is missing, failed or was skipped in the current run (the
LOST outcomes), when the current file says its run did not finish ("complete": false), or when no
configuration was measured in both. A configuration the baseline did not measure either (skipped
in both, failed in both, or skipped/failed only in the baseline) is "not measured": nothing was
lost. GateSettings.allow_missing (`calib check --allow-missing`) turns the inconclusive verdict
back into a pass, still listing what was not judged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from calib.compare.ratios import RatioEstimate, median_ratio
from calib.errors import UsageError
from calib.results.record import Record, ResultFile, as_record, as_result
from calib.timing.stats import summarize

DEFAULT_TOLERANCE = 0.05
DEFAULT_ALPHA = 0.01

# Outcome of one configuration, in the order reports list them.
REGRESSION, IMPROVEMENT, UNCHANGED = "regression", "improvement", "unchanged"
MISSING_BASELINE, MISSING_CURRENT, NOT_MEASURED = "missing in baseline", "missing in current", "not measured"
FAILED_CURRENT, SKIPPED_CURRENT = "failed in current", "skipped in current"
# The current run's outputs failed their --max-drop budget or hold NaN/Inf: a regression of accuracy.
FIDELITY_FAILED = "fails fidelity"
OUTCOME_ORDER = (REGRESSION, FIDELITY_FAILED, IMPROVEMENT, UNCHANGED, NOT_MEASURED, FAILED_CURRENT, SKIPPED_CURRENT,
                 MISSING_CURRENT, MISSING_BASELINE)
FAILING = (REGRESSION, FIDELITY_FAILED)  # what makes a gate FAIL (exit 1)
# Measured in the baseline, not in the current run: the gate could not judge them (inconclusive).
LOST = (FAILED_CURRENT, SKIPPED_CURRENT, MISSING_CURRENT)
JUDGED = (REGRESSION, FIDELITY_FAILED, IMPROVEMENT, UNCHANGED)

# Why `calib ab` stopped adding rounds (timing["interleave"]["stop"]).
STOP_SETTLED, STOP_MAX_ROUNDS = "settled", "max rounds"

SEPARATE_RUNS = "separate runs"
SEPARATE_RUNS_NOTE = ("compared separate runs: on a shared machine, drift between runs (15-25% here) cannot be told "
                      "from a 10% change; measure both builds interleaved with `calib ab` for a gate you can trust")


def parse_tolerance(text: str) -> float:
    """'5%' or '0.05' -> 0.05 (GateSettings checks the range)."""
    raw = str(text).strip()
    try:
        value = float(raw.rstrip("%")) / (100 if raw.endswith("%") else 1)
    except ValueError:
        raise UsageError(f"--tolerance {text!r}: expected a percentage like 5% or a fraction like 0.05") from None
    if not raw.endswith("%") and value >= 1:
        raise UsageError(f"--tolerance {text!r}: a bare number is a fraction (0.05); write {raw}% for percent")
    return value


@dataclass(frozen=True)
class GateSettings:
    tolerance: float = DEFAULT_TOLERANCE  # a fraction: 0.05 allows 5% slower
    alpha: float = DEFAULT_ALPHA
    allow_missing: bool = False  # pass although configurations went unjudged (see the module docstring)

    def __post_init__(self):
        if not 0 < self.alpha < 1:
            raise UsageError(f"--alpha {self.alpha}: must lie between 0 and 1")
        if not self.tolerance >= 0 or self.tolerance == float("inf"):
            raise UsageError(f"--tolerance {100 * self.tolerance:g}%: must be a finite, non-negative number")

    @classmethod
    def from_cli(cls, tolerance: str, alpha: float | None = None, allow_missing: bool = False) -> "GateSettings":
        """From the command line's text: --tolerance 5% (or 0.05); --alpha not given: DEFAULT_ALPHA."""
        return cls(tolerance=parse_tolerance(tolerance), alpha=DEFAULT_ALPHA if alpha is None else alpha,
                   allow_missing=allow_missing)


@dataclass
class ConfigOutcome:
    label: str
    outcome: str
    baseline_median_ms: float | None = None
    current_median_ms: float | None = None
    estimate: RatioEstimate | None = None
    p_value: float | None = None  # of the test that decided (slower or faster), None when untested
    note: str = ""
    method: str = ""  # "interleaved, paired over N rounds" or "separate runs"; empty when not judged

    @property
    def ratio(self) -> float | None:
        return self.estimate.ratio if self.estimate else None


@dataclass
class GateResult:
    settings: GateSettings
    outcomes: list[ConfigOutcome]
    baseline_path: str = ""
    current_path: str = ""
    environment_notes: list[str] = field(default_factory=list)
    baseline_complete: bool | None = None  # the files' "complete" (None: a file from before the field)
    current_complete: bool | None = None

    @property
    def regressions(self) -> list[ConfigOutcome]:
        """Slower beyond the tolerance, or failing the fidelity budget: either fails the gate."""
        return [o for o in self.outcomes if o.outcome in FAILING]

    @property
    def lost(self) -> list[ConfigOutcome]:
        """Configurations measured in the baseline that the current run did not measure."""
        return [o for o in self.outcomes if o.outcome in LOST]

    # What the current run is judged against, and what "nothing judged" means, in the reasons below (the
    # history gate, calib.check.history, names its history instead of a baseline file)
    REFERENCE = "baseline"
    NOTHING_JUDGED = "no configuration was measured in both runs"

    def other_unjudged_reasons(self) -> list[str]:
        """Reasons a kind of gate adds to the file gate's (the history gate: histories too short)."""
        return []

    @property
    def unjudged_reasons(self) -> list[str]:
        """Why the gate did not see everything it should have (empty when it did)."""
        reasons = []
        if self.lost:
            counts = ", ".join(f"{self.count(name)} {name}" for name in LOST if self.count(name))
            reasons.append(f"{len(self.lost)} configuration(s) of the {self.REFERENCE} not measured in the current run "
                           f"({counts}: {_some_labels(self.lost)})")
        others = self.other_unjudged_reasons()
        reasons += others
        if self.current_complete is False:
            reasons.append(f"the current file {self.current_path} is incomplete: its run did not finish")
        if not any(o.outcome in JUDGED for o in self.outcomes) and not others:
            reasons.append(self.NOTHING_JUDGED)
        return reasons

    @property
    def inconclusive(self) -> bool:
        """No regression seen, but not everything was judged, and --allow-missing was not given."""
        return not self.regressions and bool(self.unjudged_reasons) and not self.settings.allow_missing

    @property
    def passed(self) -> bool:
        return not self.regressions and not self.inconclusive

    @property
    def verdict(self) -> str:
        return "FAIL" if self.regressions else "INCONCLUSIVE" if self.inconclusive else "PASS"

    @property
    def completeness_notes(self) -> list[str]:
        """Warnings about what the gate could not see, for every writer."""
        notes = []
        if self.settings.allow_missing:
            notes += [f"--allow-missing: {reason}" for reason in self.unjudged_reasons]
        if self.baseline_complete is False:
            notes.append(f"the baseline file {self.baseline_path} is incomplete: its run did not finish")
        for side, path, complete in (("baseline", self.baseline_path, self.baseline_complete),
                                     ("current", self.current_path, self.current_complete)):
            if complete is None:
                notes.append(f"the {side} file {path} does not say whether its run finished "
                             "(written before calib recorded it)")
        return notes

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)

    @property
    def method_notes(self) -> list[str]:
        return [SEPARATE_RUNS_NOTE] if any(o.method == SEPARATE_RUNS for o in self.outcomes) else []


def _some_labels(outcomes: list[ConfigOutcome], shown: int = 4) -> str:
    labels = [o.label for o in outcomes[:shown]]
    return ", ".join(labels) + (f" and {len(outcomes) - shown} more" if len(outcomes) > shown else "")


def _shift_p_value(slower_ms, faster_ms, tolerance: float) -> float:
    """p of H0 'slower_ms is not stochastically larger than faster_ms * (1 + tolerance)'."""
    import numpy as np
    from scipy.stats import mannwhitneyu

    scaled = np.asarray(faster_ms, dtype=float) * (1 + tolerance)
    return float(mannwhitneyu(np.asarray(slower_ms, dtype=float), scaled, alternative="greater").pvalue)


def judge(baseline: Record | dict, current: Record | dict, settings: GateSettings = GateSettings()) -> ConfigOutcome:
    """Outcome for one configuration measured in both runs (calib.results.record.Record, or stored dicts)."""
    baseline, current = as_record(baseline), as_record(current)
    outcome = _judge(baseline, current, settings)
    if current.fidelity_failed and outcome.outcome in JUDGED:
        outcome.outcome = FIDELITY_FAILED
        failed = f"current fails its fidelity budget: {current.fidelity.judgement}"
        outcome.note = f"{failed}; {outcome.note}" if outcome.note else failed
    candidates = [record.candidate for record in (baseline, current)]
    if candidates[0] != candidates[1] and all(candidates):
        mismatch = (f"different implementations: baseline {candidates[0]}, current {candidates[1]} (calib run "
                    f"tunes per run; pin one on both sides with --candidate {candidates[0]})")
        outcome.note = f"{outcome.note}; {mismatch}" if outcome.note else mismatch
    return outcome


def _judge(baseline: Record, current: Record, settings: GateSettings) -> ConfigOutcome:
    from calib.check.scenario import ONE_VALUE, judge_headline_only

    label = current.label
    base_summary, cur_summary = baseline.summary, current.summary
    if base_summary is None or cur_summary is None:
        return _unmeasured(label, baseline, current, base_summary)
    only = judge_headline_only(baseline, current, settings.tolerance)  # --find-qps: one number per run
    if only is not None:
        outcome, estimate, note = only
        return ConfigOutcome(label, outcome, estimate=estimate, note=note, method=ONE_VALUE)
    rounds = paired_rounds(baseline, current)
    if rounds is not None:
        outcome = _judge_paired(label, base_summary.median_ms, cur_summary.median_ms, *rounds, settings)
        if current.interleave.stop == STOP_MAX_ROUNDS and outcome.note:
            outcome.note += (f"; undecided after {len(rounds[0])} rounds (the maximum): "
                             "`calib ab --max-rounds` higher, or a quieter machine")
        return outcome
    base_ms, cur_ms = baseline.samples_ms, current.samples_ms
    estimate = median_ratio(base_ms, cur_ms, base_summary.median_ms, cur_summary.median_ms)
    outcome = ConfigOutcome(label, UNCHANGED, base_summary.median_ms, cur_summary.median_ms, estimate,
                            method=SEPARATE_RUNS)
    limit = 1 + settings.tolerance
    if estimate.ratio > limit:
        outcome.p_value = _shift_p_value(cur_ms, base_ms, settings.tolerance)
        if outcome.p_value < settings.alpha:
            outcome.outcome = REGRESSION
        else:
            outcome.note = f"slower than the tolerance but not significant (p={outcome.p_value:.2g})"
    elif estimate.ratio < 1 / limit:
        outcome.p_value = _shift_p_value(base_ms, cur_ms, settings.tolerance)
        if outcome.p_value < settings.alpha:
            outcome.outcome = IMPROVEMENT
    return outcome


def _unmeasured(label: str, baseline: Record, current: Record, base_summary) -> ConfigOutcome:
    """One side has no samples. Lost when the current run did not measure what the baseline did,
    or failed where the baseline did not; otherwise nothing of the baseline is missing."""
    base_status, cur_status = baseline.status, current.status
    if not current.measured and (base_summary is not None or (cur_status != "skipped" and base_status != cur_status)):
        outcome = SKIPPED_CURRENT if cur_status == "skipped" else FAILED_CURRENT
        reason = current.reason or ("no samples" if cur_status == "ok" else "")
        return ConfigOutcome(label, outcome, base_summary.median_ms if base_summary else None,
                             note=f"current {cur_status}: {reason}")
    if base_status == cur_status:
        return ConfigOutcome(label, NOT_MEASURED, note=f"{base_status} in both: {current.reason}")
    side, record = ("baseline", baseline) if base_summary is None else ("current", current)
    return ConfigOutcome(label, NOT_MEASURED, note=f"{side} {record.status}: {record.reason}")


def paired_rounds(baseline: Record | dict, current: Record | dict) -> tuple[list[float], list[float]] | None:
    """Per-round statistics (round_statistic) of both sides when `calib ab` measured them
    interleaved in one session (same session id, same number of rounds, every round with
    samples); otherwise None."""
    baseline, current = as_record(baseline), as_record(current)
    base_timing, cur_timing = baseline.timing, current.timing
    base_session = base_timing.session if base_timing else None
    if not base_session or base_session != (cur_timing.session if cur_timing else None):
        return None
    base_rounds, cur_rounds = list(base_timing.rounds), list(cur_timing.rounds)
    if len(base_rounds) < 2 or len(base_rounds) != len(cur_rounds) or min(base_rounds + cur_rounds) < 1:
        return None
    try:
        return (split_rounds(base_timing.samples_ms, base_rounds),
                split_rounds(cur_timing.samples_ms, cur_rounds))
    except ValueError:  # counts that do not add up to the samples: not a file calib ab wrote
        return None


def round_statistic(summary) -> float:
    """What the paired rule compares of one round (a calib.timing.stats.Summary): its lower quartile."""
    return summary.p25_ms


def split_rounds(samples_ms, counts) -> list[float]:
    """round_statistic of each round of a record's samples, given the samples per round."""
    if sum(counts) != len(samples_ms):
        raise ValueError("round counts do not match the samples")
    values, start = [], 0
    for count in counts:
        values.append(round_statistic(summarize(samples_ms[start:start + count])))
        start += count
    return values


def _log_ratios(base_rounds: list[float], cur_rounds: list[float]):
    import numpy as np

    return np.log(np.asarray(cur_rounds, dtype=float) / np.asarray(base_rounds, dtype=float))


def paired_settled(base_rounds: list[float], cur_rounds: list[float], settings: GateSettings = GateSettings()) -> bool:
    """Whether more interleaved rounds could still change the paired verdict (`calib ab` stops
    adding rounds once they cannot): the Hodges-Lehmann interval at confidence 1 - 2 alpha (the
    two-sided match of the one-sided tests at alpha) lies wholly on one side of 1 + tolerance
    AND wholly on one side of 1 / (1 + tolerance). An A/A pair (ratio 1.00 +- 2%) settles at
    once; a +7% pair sits across 1.05 and gets more rounds, which is where they help."""
    if 0.5 ** len(base_rounds) >= settings.alpha:  # the signed-rank test cannot reach alpha yet
        return False
    estimate = _hodges_lehmann(_log_ratios(base_rounds, cur_rounds), confidence=1 - 2 * settings.alpha)
    return all(not estimate.low <= limit <= estimate.high
               for limit in (1 + settings.tolerance, 1 / (1 + settings.tolerance)))


def _judge_paired(label: str, base_median: float, cur_median: float, base_rounds: list[float],
                  cur_rounds: list[float], settings: GateSettings) -> ConfigOutcome:
    """The interleaved rule: the paired slowdown beyond the tolerance AND a one-sided Wilcoxon
    signed-rank test over the rounds' log ratios against log(1 + tolerance) (module docstring)."""
    log_ratios = _log_ratios(base_rounds, cur_rounds)
    estimate = _hodges_lehmann(log_ratios)
    outcome = ConfigOutcome(label, UNCHANGED, base_median, cur_median, estimate,
                            method=f"interleaved, paired over {len(log_ratios)} rounds")
    threshold = math.log1p(settings.tolerance)
    if estimate.ratio > 1 + settings.tolerance:
        outcome.p_value = _signed_rank_p_value(log_ratios - threshold, "greater")
        if outcome.p_value < settings.alpha:
            outcome.outcome = REGRESSION
        else:
            outcome.note = f"slower than the tolerance but not significant (p={outcome.p_value:.2g})"
    elif estimate.ratio < 1 / (1 + settings.tolerance):
        outcome.p_value = _signed_rank_p_value(log_ratios + threshold, "less")
        if outcome.p_value < settings.alpha:
            outcome.outcome = IMPROVEMENT
    return outcome


def _hodges_lehmann(log_ratios, confidence: float = 0.95) -> RatioEstimate:
    """exp of the median of all pairwise means (Walsh averages) of the log ratios, with the
    distribution-free interval that inverts the signed-rank test (normal approximation)."""
    import numpy as np
    from statistics import NormalDist

    count = len(log_ratios)
    upper = np.triu_indices(count)
    walsh = np.sort((log_ratios[upper[0]] + log_ratios[upper[1]]) / 2)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    spread = math.sqrt(count * (count + 1) * (2 * count + 1) / 24)
    k = max(0, min(len(walsh) // 2, int(math.floor(len(walsh) / 2 - z * spread))))
    return RatioEstimate(ratio=math.exp(float(np.median(walsh))), low=math.exp(float(walsh[k])),
                         high=math.exp(float(walsh[len(walsh) - 1 - k])), confidence=confidence)


def _signed_rank_p_value(differences, alternative: str) -> float:
    """p of the one-sided Wilcoxon signed-rank test that `differences` lie above (below) zero."""
    from scipy.stats import wilcoxon

    if not (differences != 0).any():  # identical rounds (a coarse clock): nothing to rank
        return 1.0
    return float(wilcoxon(differences, alternative=alternative).pvalue)


def gate(baseline_result: ResultFile | dict, current_result: ResultFile | dict,
         settings: GateSettings = GateSettings()) -> GateResult:
    """Align the two results files by configuration identity and judge every configuration."""
    baseline_result, current_result = as_result(baseline_result), as_result(current_result)
    from calib.check.scenario import labelled, scenario_key

    baseline_records = {scenario_key(r): r for r in baseline_result.records}
    current_records = {scenario_key(r): r for r in current_result.records}
    outcomes = []
    for key, record in current_records.items():
        if key in baseline_records:
            outcomes.append(labelled(judge(baseline_records[key], record, settings), record, baseline_records[key]))
        else:
            outcomes.append(labelled(ConfigOutcome(record.label, MISSING_BASELINE), record))
    for key, record in baseline_records.items():
        if key not in current_records:
            outcomes.append(labelled(ConfigOutcome(record.label, MISSING_CURRENT), record))
    outcomes.sort(key=lambda o: OUTCOME_ORDER.index(o.outcome))
    return GateResult(settings, outcomes, baseline_result.path or "", current_result.path or "",
                      baseline_complete=baseline_result.complete, current_complete=current_result.complete)
