"""The report's tables as markdown text (no charts): for pull requests, wikis, terminals."""

from __future__ import annotations

from calib import format as fmt
from calib.report.content import INFERENCE, TRAINING, ReportContent
from calib.report.tables import (accuracy_table, environment_table, latency_table, layer_comparison_table,
                                 layer_table, loss_table)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    return [line(header), "|" + "---|" * len(header)] + [line(row) for row in rows] + [""]


def render_markdown(content: ReportContent) -> str:
    lines = [f"# {content.title}", ""]
    lines += [f"> warning: {w}" for w in content.environment_warnings]
    if content.environment_warnings:
        lines.append("")
    if content.entries_of(INFERENCE):
        lines += ["## Inference", "", "### Latency per precision", "",
                  "Median ms per call [95% CI of the median], speed-up over fp32 on the same device, hardware "
                  "verdict; what qualifies a number follows it.", ""]
        lines += _table(*latency_table(content, INFERENCE))
    for comparison in content.layer_comparisons:
        lines += [f"### Per layer: {comparison.title}", ""] + _table(*layer_comparison_table(comparison))
    for section in content.layer_sections:
        lines += [f"### Slowest layers: {section.title} ({fmt.ms_unit(section.median_ms)} end-to-end)", ""]
        lines += _table(*layer_table(section.layers))
    if content.accuracy_points:
        lines += [f"### {content.accuracy_title.capitalize()} against latency", ""]
        lines += _table(*accuracy_table(content))
    lines += _scenario_lines(content)
    if content.entries_of(TRAINING):
        lines += ["## Training", "", "### Time per step", "",
                  "Median ms per training step [95% CI], speed-up over fp32 training.", ""]
        lines += _table(*latency_table(content, TRAINING))
    if content.loss_curves:
        lines += ["### Training loss", ""] + _table(*loss_table(content))
    if content.notes:
        lines += ["## Not measured", ""] + [f"- {note}" for note in content.notes] + [""]
    lines += ["## Environment of each run", ""] + _table(*environment_table(content))
    return "\n".join(lines)


def _scenario_lines(content: ReportContent) -> list[str]:
    """Load scenarios (calib run --scenario): each record's headline and which way is better."""
    from calib.report.scenarios import _records, headline_rows

    records = _records(content)
    if not records:
        return []
    return (["## Load scenarios", ""]
            + _table(["configuration", "headline", "metric", "note"], headline_rows(records)))
