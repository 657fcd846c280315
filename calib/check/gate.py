"""The regression gate: is the current run slower than the baseline by more than the tolerance?

A configuration regresses only when BOTH hold:
  1. the slowdown (ratio of medians, current / baseline) exceeds 1 + tolerance, and
  2. it is statistically significant. How that is tested depends on how the two were measured:
     - interleaved (`calib ab`: both records carry the same interleave session and their
       per-round sample counts): a PAIRED test over rounds. Round i gives
       r_i = log(median current_i / median baseline_i); a one-sided one-sample t-test rejects
       "mean r <= log(1 + tolerance)" at level alpha. The machine's drift (seconds-scale load
       changes that move whole-run medians by 15-25% here) falls on both sides of a round and
       cancels in r_i, which is why this can hold a 5% tolerance where separate runs cannot.
       The t-test rather than Wilcoxon: the r_i of real runs are close to normal once drift
       is removed (bench/gate.py), the t-test has more power at 20 rounds, and its interval of
       exp(mean r) is the 95% CI shown beside the ratio. One round disturbed on one side only
       widens the t interval (a pass, never a false alarm).
     - separate runs (`calib run` twice): a one-sided Mann-Whitney U test of current against
       baseline scaled by (1 + tolerance) on the raw samples, at level alpha. It treats the
       samples as independent, which drift between runs is not: on a shared machine it cannot
       tell a 10% change from drift, so a note recommends `calib ab`.
The tolerance carries the noise a test cannot see (placement in memory, a new process); the
test keeps a short, noisy measurement from being read as a shift. Improvements use the mirror
test. The ratio's 95% interval (paired t, or a bootstrap for separate runs) is reported beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from calib.compare.ratios import RatioEstimate, median_ratio
from calib.results.schema import identity, identity_label, summary_of

DEFAULT_TOLERANCE = 0.05
DEFAULT_ALPHA = 0.01

# Outcome of one configuration, in the order reports list them.
REGRESSION, IMPROVEMENT, UNCHANGED = "regression", "improvement", "unchanged"
MISSING_BASELINE, MISSING_CURRENT, NOT_MEASURED = "missing in baseline", "missing in current", "not measured"
OUTCOME_ORDER = (REGRESSION, IMPROVEMENT, UNCHANGED, NOT_MEASURED, MISSING_CURRENT, MISSING_BASELINE)

SEPARATE_RUNS = "separate runs"
SEPARATE_RUNS_NOTE = ("compared separate runs: on a shared machine, drift between runs (15-25% here) cannot be told "
                      "from a 10% change; measure both builds interleaved with `calib ab` for a gate you can trust")


@dataclass(frozen=True)
class GateSettings:
    tolerance: float = DEFAULT_TOLERANCE
    alpha: float = DEFAULT_ALPHA


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

    @property
    def regressions(self) -> list[ConfigOutcome]:
        return [o for o in self.outcomes if o.outcome == REGRESSION]

    @property
    def passed(self) -> bool:
        return not self.regressions

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)

    @property
    def method_notes(self) -> list[str]:
        return [SEPARATE_RUNS_NOTE] if any(o.method == SEPARATE_RUNS for o in self.outcomes) else []


def _shift_p_value(slower_ms, faster_ms, tolerance: float) -> float:
    """p of H0 'slower_ms is not stochastically larger than faster_ms * (1 + tolerance)'."""
    import numpy as np
    from scipy.stats import mannwhitneyu

    scaled = np.asarray(faster_ms, dtype=float) * (1 + tolerance)
    return float(mannwhitneyu(np.asarray(slower_ms, dtype=float), scaled, alternative="greater").pvalue)


def judge(baseline: dict, current: dict, settings: GateSettings = GateSettings()) -> ConfigOutcome:
    """Outcome for one configuration measured in both runs (records as in the results file)."""
    label = identity_label(current)
    base_summary, cur_summary = summary_of(baseline), summary_of(current)
    if base_summary is None or cur_summary is None:
        side = "baseline" if base_summary is None else "current"
        record = baseline if base_summary is None else current
        return ConfigOutcome(label, NOT_MEASURED, note=f"{side} {record.get('status')}: {record.get('reason')}")
    rounds = paired_round_medians(baseline, current)
    if rounds is not None:
        return _judge_paired(label, base_summary.median_ms, cur_summary.median_ms, *rounds, settings)
    base_ms, cur_ms = baseline["timing"]["samples_ms"], current["timing"]["samples_ms"]
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


def paired_round_medians(baseline: dict, current: dict) -> tuple[list[float], list[float]] | None:
    """Per-round medians of both sides when `calib ab` measured them interleaved in one session
    (same session id, same number of rounds, every round with samples); otherwise None."""
    base_timing, cur_timing = baseline.get("timing") or {}, current.get("timing") or {}
    base_session = (base_timing.get("interleave") or {}).get("session")
    if not base_session or base_session != (cur_timing.get("interleave") or {}).get("session"):
        return None
    base_rounds, cur_rounds = base_timing.get("rounds") or [], cur_timing.get("rounds") or []
    if len(base_rounds) < 2 or len(base_rounds) != len(cur_rounds) or min(base_rounds + cur_rounds) < 1:
        return None
    try:
        return (_round_medians(base_timing["samples_ms"], base_rounds),
                _round_medians(cur_timing["samples_ms"], cur_rounds))
    except ValueError:  # counts that do not add up to the samples: not a file calib ab wrote
        return None


def _round_medians(samples_ms: list[float], counts: list[int]) -> list[float]:
    from calib.timing.stats import summarize

    if sum(counts) != len(samples_ms):
        raise ValueError("round counts do not match the samples")
    medians, start = [], 0
    for count in counts:
        medians.append(summarize(samples_ms[start:start + count]).median_ms)
        start += count
    return medians


def _judge_paired(label: str, base_median: float, cur_median: float, base_rounds: list[float],
                  cur_rounds: list[float], settings: GateSettings) -> ConfigOutcome:
    """The interleaved rule: ratio of medians beyond the tolerance AND a one-sided paired t-test
    over the rounds' log ratios against log(1 + tolerance) (see the module docstring)."""
    import numpy as np
    from scipy import stats

    log_ratios = np.log(np.asarray(cur_rounds, dtype=float) / np.asarray(base_rounds, dtype=float))
    count, mean = len(log_ratios), float(log_ratios.mean())
    spread = float(log_ratios.std(ddof=1)) / math.sqrt(count)
    half_width = float(stats.t.ppf(0.975, count - 1)) * spread
    estimate = RatioEstimate(ratio=cur_median / base_median, low=math.exp(mean - half_width),
                             high=math.exp(mean + half_width), confidence=0.95)
    outcome = ConfigOutcome(label, UNCHANGED, base_median, cur_median, estimate,
                            method=f"interleaved, paired over {count} rounds")
    threshold = math.log1p(settings.tolerance)
    if estimate.ratio > 1 + settings.tolerance:
        outcome.p_value = _paired_p_value(log_ratios, threshold, "greater")
        if outcome.p_value < settings.alpha:
            outcome.outcome = REGRESSION
        else:
            outcome.note = f"slower than the tolerance but not significant (p={outcome.p_value:.2g})"
    elif estimate.ratio < 1 / (1 + settings.tolerance):
        outcome.p_value = _paired_p_value(log_ratios, -threshold, "less")
        if outcome.p_value < settings.alpha:
            outcome.outcome = IMPROVEMENT
    return outcome


def _paired_p_value(log_ratios, threshold: float, alternative: str) -> float:
    """p of H0 'mean log ratio is on the other side of `threshold`' (one-sided t-test)."""
    from scipy.stats import ttest_1samp

    if float(log_ratios.std()) == 0.0:  # identical rounds (a coarse clock): the mean alone decides
        beyond = log_ratios[0] > threshold if alternative == "greater" else log_ratios[0] < threshold
        return 0.0 if beyond else 1.0
    return float(ttest_1samp(log_ratios, threshold, alternative=alternative).pvalue)


def gate(baseline_result: dict, current_result: dict, settings: GateSettings = GateSettings()) -> GateResult:
    """Align the two results files by configuration identity and judge every configuration."""
    baseline_records = {identity(r): r for r in baseline_result["records"]}
    current_records = {identity(r): r for r in current_result["records"]}
    outcomes = []
    for key, record in current_records.items():
        if key in baseline_records:
            outcomes.append(judge(baseline_records[key], record, settings))
        else:
            outcomes.append(ConfigOutcome(identity_label(record), MISSING_BASELINE))
    for key, record in baseline_records.items():
        if key not in current_records:
            outcomes.append(ConfigOutcome(identity_label(record), MISSING_CURRENT))
    outcomes.sort(key=lambda o: OUTCOME_ORDER.index(o.outcome))
    return GateResult(settings, outcomes, baseline_result.get("_path", ""), current_result.get("_path", ""))
