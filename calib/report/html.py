"""A single self-contained HTML report: inline CSS, charts as inline SVG, no scripts, no network.

Each chart sits in <figure class="chart" data-chart=NAME data-values=JSON>: the JSON holds the
exact values drawn, so a reader (or a test) can check the picture against the numbers.
"""

from __future__ import annotations

import datetime as _dt
import html
import json

from calib import __version__
from calib.render.compare_table import speedup_text
from calib import format as fmt
from calib.report import charts
from calib.report.content import INFERENCE, TRAINING, ReportContent, record_warnings
from calib.report.tables import (WARNING_SIGN, accuracy_table, environment_table, latency_table,
                                 layer_comparison_table, layer_table, loss_table)

ENVIRONMENT_START = '<section id="environment">'  # calib.report.history puts its section before this one
_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #222; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.meta { color: #666; font-size: .9rem; }
.warning { background: #fff4e0; border-left: 4px solid #e69f00; padding: .5rem .8rem; margin: .4rem 0; }
table { border-collapse: collapse; font-size: .85rem; margin: .8rem 0; }
th, td { border: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
figure.chart { margin: 1rem 0; } figure.chart svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: .85rem; }
.qualifier { color: #8a5300; background: #fff4e0; font-size: .78rem; margin-top: .2rem; padding: .1rem .3rem; }
h3 { margin-top: 1.6rem; }
.emulated { color: #b36b00; font-weight: 600; } .native { color: #007a4d; }
"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_marked(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _marked(text: str) -> str:
    """A cell's text: verdict words coloured, and each qualifying line (after a newline and a warning
    sign, calib.report.tables) shown under its number as a warning."""
    number, *qualifiers = text.split("\n")
    escaped = html.escape(number)
    for word in ("emulated", "native"):
        escaped = escaped.replace(f", {word}", f', <span class="{word}">{word}</span>')
    return escaped + "".join(f'<div class="qualifier">{html.escape(line)}</div>' for line in qualifiers)


def _figure(name: str, svg: str, values: list[dict], caption: str) -> str:
    data = html.escape(json.dumps(values), quote=True)
    return (f'<figure class="chart" data-chart="{name}" data-values="{data}">{svg}'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _series(content: ReportContent, rows, value_of) -> list[dict]:
    """value_of(row, cell, column index) -> (value, low, high) or None. One series per run (column)
    that has a cell in these rows: a training-only file adds no empty
    series (and no legend entry) to the inference charts."""
    series = []
    for column in content.columns:
        values, lows, highs, marks = [], [], [], []
        for row in rows:
            cell = row.cells.get(column.index)
            value = value_of(row, cell, column.index) if cell is not None and cell.summary is not None else None
            values.append(value[0] if value else None)
            lows.append(value[1] if value else None)
            highs.append(value[2] if value else None)
            marks.append(WARNING_SIGN if value and record_warnings(cell.record) else None)
        if any(v is not None for v in values):
            series.append({"name": content.column_name(column), "values": values, "low": lows, "high": highs,
                           "marks": marks})
    return series


_UNITS = {INFERENCE: ("per call", "call"), TRAINING: ("per training step", "step")}


def latency_section(content: ReportContent, kind: str = INFERENCE) -> str:
    rows, entries = content.rows_of(kind), content.entries_of(kind)
    if not entries:
        return ""
    per, _ = _UNITS[kind]
    series = _series(content, rows,
                     lambda _, cell, __: (cell.summary.median_ms, cell.summary.ci95_low_ms, cell.summary.ci95_high_ms))
    medians = [e.median_ms for e in entries]
    log_scale = bool(medians) and max(medians) / max(min(medians), 1e-12) > 20
    svg = charts.grouped_bars([r.label for r in rows], series, fmt.ms_unit,
                              f"median ms {per} (whiskers: 95% CI)" + (", log scale" if log_scale else ""),
                              log_scale=log_scale, chart_id=f"{kind}-latency")
    values = [{"row": e.row, "column": e.column, "precision": e.precision, "median_ms": e.median_ms,
               "ci95_low_ms": e.ci95_low_ms, "ci95_high_ms": e.ci95_high_ms, "verdict": e.verdict,
               "warnings": e.warnings} for e in entries]
    name = "latency" if kind == INFERENCE else "step_time"
    return (f"<h3>Median time {per}</h3>"
            + _figure(name, svg, values, f"Median time {per} with the 95% confidence interval of the median. "
                      f"{WARNING_SIGN}: something qualifies the number; the table says what, in its cell.")
            + _table(*latency_table(content, kind)))


def distribution_section(content: ReportContent, kind: str = INFERENCE) -> str:
    """Every configuration's raw samples as a box, p50/p90/p99 marked: the tail a median hides."""
    entries = [e for e in content.entries_of(kind) if e.samples_ms]
    if not entries:
        return ""
    per, _ = _UNITS[kind]
    several = len(content.columns) > 1
    boxes = [{"label": e.row.split(" [")[0] + (f" ({e.column})" if several else ""), "samples_ms": e.samples_ms,
              "p50": e.median_ms, "p90": e.p90_ms, "p99": e.p99_ms} for e in entries]
    svg = charts.distribution(boxes, f"ms {per}", chart_id=f"{kind}-distribution")
    values = [{"row": e.row, "column": e.column, "count": len(e.samples_ms), "p50_ms": e.median_ms,
               "p90_ms": e.p90_ms, "p99_ms": e.p99_ms} for e in entries]
    return ("<h3>Distribution of the samples</h3>"
            + _figure("distribution", svg, values, "Box: quartiles; whiskers: 1st to 99th percentile; dots: the "
                      "samples beyond; marked: p50, p90 and p99 of the raw samples."))


def speedup_section(content: ReportContent, kind: str = INFERENCE) -> str:
    rows = content.rows_of(kind)
    entries = [e for e in content.entries_of(kind) if e.speedup_vs_fp32]
    if not any(e.precision != "fp32" for e in entries):  # fp32 alone is 1x by definition: no chart
        return ""
    def with_interval(row, cell, column_index):
        if not cell.speedup_vs_fp32:
            return None
        interval = content.speedup_interval(row, column_index)
        return (cell.speedup_vs_fp32, interval.low if interval else None, interval.high if interval else None)

    series = _series(content, rows, with_interval) if entries else []
    ratios = [e.speedup_vs_fp32 for e in entries]
    log_scale = max(ratios) / max(min(ratios), 1e-12) > 20
    svg = charts.grouped_bars([r.label for r in rows], series, speedup_text,
                              "speed-up over fp32 on the same device (> 1 is faster)", log_scale=log_scale,
                              reference_line=1.0, chart_id=f"{kind}-speedup")
    values = [{"row": e.row, "column": e.column, "precision": e.precision, "speedup_vs_fp32": e.speedup_vs_fp32,
               "low": e.speedup_interval.low if e.speedup_interval else None,
               "high": e.speedup_interval.high if e.speedup_interval else None, "verdict": e.verdict}
              for e in entries]
    what = "call" if kind == INFERENCE else "training step"
    return ("<h3>Speed-up over fp32</h3>"
            + _figure("speedup" if kind == INFERENCE else "step_speedup", svg, values,
                      f"fp32 median / this precision's median per {what}, per device; whiskers: the 95% "
                      "bootstrap interval (one that holds 1 is no speed-up or slowdown). "
                      "Emulated precisions (no hardware support) are usually far below 1."))


def layer_comparison_section(content: ReportContent) -> str:
    """fp32's layers beside the same layers at int8/bf16/...: where a precision gains or loses."""
    parts = []
    for number, comparison in enumerate(content.layer_comparisons):
        series = [{"name": precision, "values": times} for precision, times in
                  zip(comparison.precisions, comparison.median_ms)]
        svg = charts.grouped_bars(comparison.layers, series, fmt.ms_unit, "median ms per layer",
                                  chart_id=f"layers-compared-{number}")
        values = [{"layer": layer, **{precision: times[index] for precision, times in
                                      zip(comparison.precisions, comparison.median_ms)}}
                  for index, layer in enumerate(comparison.layers)]
        parts.append(_figure("layers_compared", svg, values, f"{comparison.title}: each layer's median at "
                             f"{', '.join(comparison.precisions)}."))
        parts.append(_table(*layer_comparison_table(comparison)))
    return ("<h3>Per layer: fp32 against the other precisions</h3>" + "".join(parts)) if parts else ""


def layers_section(content: ReportContent) -> str:
    if not content.layer_sections:
        return ""
    parts = ["<h3>Per-layer breakdown of the slowest configurations</h3>"]
    for section in content.layer_sections:
        coverage = (f"; the layers cover {100 * section.coverage:.0f}% of end-to-end"
                    if isinstance(section.coverage, (int, float)) else "")
        svg = charts.layer_bars(section.layers, f"{section.title}: {fmt.ms_unit(section.median_ms)} end-to-end")
        values = [{k: layer.get(k) for k in ("name", "op_kind", "median_ms", "share")} for layer in section.layers]
        parts.append(_figure("layers", svg, values, f"Slowest layers of {section.title}{coverage}."))
        parts.append(_table(*layer_table(section.layers)))
    return "".join(parts)


def accuracy_section(content: ReportContent) -> str:
    if not content.accuracy_points:
        return ""
    svg = charts.accuracy_scatter(content.accuracy_points, content.accuracy_title)
    values = [{k: p[k] for k in ("row", "series", "label", "latency_ms", "value")} for p in content.accuracy_points]
    return (f"<h3>{html.escape(content.accuracy_title.capitalize())} against latency</h3>"
            + _figure("accuracy", svg, values, "Up and to the left is better.") + _table(*accuracy_table(content)))


def loss_section(content: ReportContent) -> str:
    """`calib train` files: the loss curves of every precision on one chart, and their fidelity figures."""
    if not content.loss_curves:
        return ""
    svg = charts.loss_curves(content.loss_curves)
    values = [{k: c[k] for k in ("label", "final_loss", "max_deviation", "loss")} for c in content.loss_curves]
    return ("<h3>Training loss per step</h3>"
            + _figure("loss", svg, values, "Same seed, initial weights and batches for every precision.")
            + _table(*loss_table(content)))


def inference_section(content: ReportContent) -> str:
    body = (latency_section(content, INFERENCE) + distribution_section(content, INFERENCE)
            + speedup_section(content, INFERENCE) + layer_comparison_section(content) + layers_section(content)
            + accuracy_section(content))
    return f'<section id="inference"><h2>Inference: latency per precision</h2>{body}</section>' if body else ""


def training_section(content: ReportContent) -> str:
    body = (latency_section(content, TRAINING) + distribution_section(content, TRAINING)
            + speedup_section(content, TRAINING) + loss_section(content))
    return f'<section id="training"><h2>Training: time per step</h2>{body}</section>' if body else ""


def _scenario_section(content: ReportContent) -> str:
    from calib.report.scenarios import scenario_section

    return scenario_section(content, _table, _figure)


def render_html(content: ReportContent) -> str:
    created = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    files = ", ".join(html.escape(label) for label, _ in content.environments)
    warnings = "".join(f'<div class="warning">warning: {html.escape(w)}</div>' for w in content.environment_warnings)
    notes = ("<h2>Not measured</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in content.notes) + "</ul>"
             if content.notes else "")
    body = (f"<h1>{html.escape(content.title)}</h1>"
            f'<p class="meta">calib {__version__}, generated {created} from {files}</p>{warnings}'
            + inference_section(content) + _scenario_section(content) + training_section(content) + notes
            + f'{ENVIRONMENT_START}<h2>Environment of each run</h2>' + _table(*environment_table(content))
            + "</section>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(content.title)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n")
