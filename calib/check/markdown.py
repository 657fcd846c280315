"""The gate's summary as markdown, for a CI job page (e.g. $GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

from pathlib import Path

from calib.check.gate import GateResult, ConfigOutcome, LOST, OUTCOME_ORDER, REGRESSION, SEPARATE_RUNS
from calib import format as fmt

_MARK = {"regression": "❌", "fails fidelity": "❌", "improvement": "🚀", "unchanged": "✅",
         **{name: "❓" for name in LOST}}


def outcome_cells(outcome: ConfigOutcome) -> list[str]:
    """The row every writer shows: configuration, outcome, medians, ratio [CI], p, method, note."""
    estimate = outcome.estimate
    interval = f"{fmt.ratio(estimate.ratio)} [{estimate.low:.3f}-{estimate.high:.3f}]" if estimate else "-"
    p_value = f"{outcome.p_value:.2g}" if outcome.p_value is not None else "-"
    return [outcome.label, outcome.outcome, fmt.ms(outcome.baseline_median_ms), fmt.ms(outcome.current_median_ms),
            interval, p_value, outcome.method or "-", outcome.note]


def headline(result: GateResult) -> str:
    counts = ", ".join(f"{result.count(name)} {name}" for name in OUTCOME_ORDER if result.count(name))
    return (f"{result.verdict}: {counts or 'nothing compared'} (tolerance {100 * result.settings.tolerance:g}%, "
            f"alpha {result.settings.alpha:g})")


def gate_markdown(result: GateResult, described: str | None = None) -> str:
    """`described`: what was compared and how, in place of the file gate's sentence (calib check --history)."""
    described = described or (f"Baseline `{result.baseline_path}`, current `{result.current_path}`. A regression is "
                              f"a slowdown above {100 * result.settings.tolerance:g}% that {_test_text(result)} finds "
                              f"significant at {result.settings.alpha:g}.")
    lines = [f"## calib check: {headline(result)}", "", described, ""]
    if result.inconclusive:
        lines += [f"**Inconclusive** (exit 3): {'; '.join(result.unjudged_reasons)}. A gate passes only when "
                  "every configuration of the baseline was measured again; `--allow-missing` accepts less.", ""]
    notes = result.environment_notes + result.method_notes + result.completeness_notes
    if notes:
        lines += [f"> ⚠️ {note}" for note in notes] + [""]
    lines += ["| | configuration | outcome | baseline ms | current ms | current/baseline [95% CI] | p | method | note |",
              "|---|---|---|---:|---:|---:|---:|---|---|"]
    for outcome in result.outcomes:
        cells = [escape(c) for c in outcome_cells(outcome)]
        mark = _MARK.get(outcome.outcome, "⚠️")
        lines.append(f"| {mark} | " + " | ".join(cells) + " |")
    if result.regressions:
        worst = max(result.regressions, key=lambda o: o.ratio or 0)
        lines += ["", f"Worst: **{worst.label}** is {100 * ((worst.ratio or 1) - 1):.1f}% slower."]
    return "\n".join(lines) + "\n"


def write_markdown(result: GateResult, path, render=gate_markdown) -> None:
    """The summary `render` writes (the history gate passes its own) into `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(result))


def _test_text(result: GateResult) -> str:
    methods = {o.method for o in result.outcomes if o.method}
    paired = ("a one-sided Wilcoxon signed-rank test over the interleaved rounds' log ratios "
              "(of lower quartiles)")
    separate = "a one-sided Mann-Whitney U test on the raw samples"
    if methods == {SEPARATE_RUNS}:
        return separate
    if SEPARATE_RUNS in methods:
        return f"{paired} (interleaved pairs) or {separate} (separate runs)"
    return paired if methods else separate


def escape(text: str) -> str:
    return str(text).replace("|", "\\|")


__all__ = ["gate_markdown", "write_markdown", "headline", "outcome_cells", "REGRESSION"]
