"""The gate under load scenarios (issue 28 item 5): records align per scenario, and each outcome says
its scenario's headline and which way is better.

Every scenario's samples are lower-is-better times (calib.scenarios.measure): latencies for
single-stream, multi-stream and server, time per item for offline. So calib.check.gate's one test on
the samples judges each headline the right way round: offline's throughput falling is its time per
item rising, a regression. The exception is server --find-qps, whose headline (the highest rate that
kept the bound) is one number per run with no samples behind it: it is judged on its ratio against
the tolerance alone, and the outcome says so.
"""

from __future__ import annotations

from calib import format as fmt
from calib.scenarios.headline import headline, scenario_key, scenario_label, scenario_name

ONE_VALUE = "one value per run (--find-qps): tolerance only, no test"


def labelled(outcome, record, baseline=None):
    """The outcome's label with the record's scenario, and (both measured) the headlines in the note."""
    suffix = scenario_label(record)
    if suffix and not outcome.label.endswith(suffix):
        outcome.label += suffix
    if suffix and baseline is not None and outcome.method != ONE_VALUE:
        note = headline_note(baseline, record)
        if note:
            outcome.note = f"{note}; {outcome.note}" if outcome.note else note
    return outcome


def headline_note(baseline, current) -> str:
    """'offline throughput 1,020 -> 940 items/s (higher is better)'."""
    before, after = headline(baseline), headline(current)
    if before is None or after is None:
        return ""
    show = fmt.rate if after.unit in ("items/s", "qps") else fmt.ms
    return (f"{scenario_name(current)} {after.metric} {show(before.value)} -> {show(after.value)} {after.unit} "
            f"({after.direction})")


def judge_headline_only(baseline, current, tolerance: float):
    """A --find-qps pair judged on max qps: (outcome, RatioEstimate | None, note), the outcome one of
    calib.check.gate's "regression" / "improvement" / "unchanged"; None: not such a pair, the samples decide."""
    from calib.compare.ratios import RatioEstimate

    before, after = headline(baseline), headline(current)
    if before is None or after is None or before.metric != "max qps" or after.metric != "max qps":
        return None
    note = headline_note(baseline, current)
    if not before.value or not after.value:  # no rate kept the bound on a side
        lost = bool(before.value) and not after.value
        side = "current run" if before.value else "baseline"
        return ("regression" if lost else "unchanged"), None, f"{note}; no rate kept the bound in the {side}"
    time_ratio = before.value / after.value  # as the gate's ratios: > 1 is worse
    estimate = RatioEstimate(time_ratio, time_ratio, time_ratio, 1.0)
    if time_ratio > 1 + tolerance:
        return "regression", estimate, note
    if time_ratio < 1 / (1 + tolerance):
        return "improvement", estimate, note
    return "unchanged", estimate, note


__all__ = ["labelled", "headline_note", "judge_headline_only", "scenario_key", "ONE_VALUE"]
