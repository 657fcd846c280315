"""The regression gate: is the current run slower than the baseline by more than the tolerance?

A configuration regresses only when BOTH hold:
  1. the slowdown (ratio of medians, current / baseline) exceeds 1 + tolerance, and
  2. it is statistically significant on the raw samples: a one-sided Mann-Whitney U test of
     current against baseline scaled by (1 + tolerance) rejects "no slower than the tolerance
     allows" at level alpha.
The tolerance carries the run-to-run noise of a machine (a few percent here); the test keeps a
short, noisy measurement from being read as a shift. Improvements use the mirror test.
The ratio's bootstrap interval is reported beside it so a reader sees how sure the figure is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from calib.compare.ratios import RatioEstimate, median_ratio
from calib.results.schema import identity, identity_label, summary_of

DEFAULT_TOLERANCE = 0.05
DEFAULT_ALPHA = 0.01

# Outcome of one configuration, in the order reports list them.
REGRESSION, IMPROVEMENT, UNCHANGED = "regression", "improvement", "unchanged"
MISSING_BASELINE, MISSING_CURRENT, NOT_MEASURED = "missing in baseline", "missing in current", "not measured"
OUTCOME_ORDER = (REGRESSION, IMPROVEMENT, UNCHANGED, NOT_MEASURED, MISSING_CURRENT, MISSING_BASELINE)


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
    base_ms, cur_ms = baseline["timing"]["samples_ms"], current["timing"]["samples_ms"]
    estimate = median_ratio(base_ms, cur_ms, base_summary.median_ms, cur_summary.median_ms)
    outcome = ConfigOutcome(label, UNCHANGED, base_summary.median_ms, cur_summary.median_ms, estimate)
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
