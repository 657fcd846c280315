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
from calib.report.content import ReportContent
from calib.report.tables import accuracy_table, environment_table, latency_table, layer_table, loss_table

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
.emulated { color: #b36b00; font-weight: 600; } .native { color: #007a4d; }
"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_marked(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _marked(text: str) -> str:
    escaped = html.escape(text)
    for word in ("emulated", "native"):
        escaped = escaped.replace(f", {word}", f', <span class="{word}">{word}</span>')
    return escaped


def _figure(name: str, svg: str, values: list[dict], caption: str) -> str:
    data = html.escape(json.dumps(values), quote=True)
    return (f'<figure class="chart" data-chart="{name}" data-values="{data}">{svg}'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _series(content: ReportContent, value_of) -> list[dict]:
    series = []
    for column in content.columns:
        values, lows, highs = [], [], []
        for row in content.rows:
            cell = row.cells.get(column.index)
            value = value_of(cell) if cell is not None and cell.summary is not None else None
            values.append(value[0] if value else None)
            lows.append(value[1] if value else None)
            highs.append(value[2] if value else None)
        series.append({"name": content.column_name(column), "values": values, "low": lows, "high": highs})
    return series


def latency_section(content: ReportContent) -> str:
    series = _series(content, lambda c: (c.summary.median_ms, c.summary.ci95_low_ms, c.summary.ci95_high_ms))
    medians = [e.median_ms for e in content.latency]
    log_scale = bool(medians) and max(medians) / max(min(medians), 1e-12) > 20
    svg = charts.grouped_bars([r.label for r in content.rows], series, lambda v: f"{fmt.ms(v)} ms",
                              "median latency per call, ms (whiskers: 95% CI)" + (", log scale" if log_scale else ""),
                              log_scale=log_scale)
    values = [{"row": e.row, "column": e.column, "precision": e.precision, "median_ms": e.median_ms,
               "ci95_low_ms": e.ci95_low_ms, "ci95_high_ms": e.ci95_high_ms, "verdict": e.verdict}
              for e in content.latency]
    return ("<h2>Latency per precision</h2>"
            + _figure("latency", svg, values, "Median latency with 95% confidence interval of the median.")
            + _table(*latency_table(content)))


def speedup_section(content: ReportContent) -> str:
    entries = [e for e in content.latency if e.speedup_vs_fp32]
    if not entries:
        return ""
    series = _series(content, lambda c: (c.speedup_vs_fp32, None, None) if c.speedup_vs_fp32 else None)
    for serie in series:
        serie["low"] = serie["high"] = None
    ratios = [e.speedup_vs_fp32 for e in entries]
    log_scale = max(ratios) / max(min(ratios), 1e-12) > 20
    svg = charts.grouped_bars([r.label for r in content.rows], series, speedup_text,
                              "speed-up over fp32 on the same device (> 1 is faster)", log_scale=log_scale,
                              reference_line=1.0)
    values = [{"row": e.row, "column": e.column, "precision": e.precision, "speedup_vs_fp32": e.speedup_vs_fp32,
               "verdict": e.verdict} for e in entries]
    return ("<h2>Speed-up over fp32</h2>"
            + _figure("speedup", svg, values, "fp32 median / this precision's median, per device. "
                      "Emulated precisions (no hardware support) are usually far below 1."))


def layers_section(content: ReportContent) -> str:
    if not content.layer_sections:
        return ""
    parts = ["<h2>Per-layer breakdown of the slowest configurations</h2>"]
    for section in content.layer_sections:
        coverage = (f"; the layers cover {100 * section.coverage:.0f}% of end-to-end"
                    if isinstance(section.coverage, (int, float)) else "")
        svg = charts.layer_bars(section.layers, f"{section.title}: {fmt.ms(section.median_ms)} ms end-to-end")
        values = [{k: layer.get(k) for k in ("name", "op_kind", "median_ms", "share")} for layer in section.layers]
        parts.append(_figure("layers", svg, values, f"Slowest layers of {section.title}{coverage}."))
        parts.append(_table(*layer_table(section.layers)))
    return "".join(parts)


def accuracy_section(content: ReportContent) -> str:
    if not content.accuracy_points:
        return ""
    svg = charts.accuracy_scatter(content.accuracy_points, content.accuracy_title)
    values = [{k: p[k] for k in ("row", "series", "latency_ms", "value")} for p in content.accuracy_points]
    return (f"<h2>{html.escape(content.accuracy_title.capitalize())} against latency</h2>"
            + _figure("accuracy", svg, values, "Up and to the left is better.") + _table(*accuracy_table(content)))


def loss_section(content: ReportContent) -> str:
    """`calib train` files: the loss curves of every precision on one chart, and their fidelity figures."""
    if not content.loss_curves:
        return ""
    svg = charts.loss_curves(content.loss_curves)
    values = [{k: c[k] for k in ("label", "final_loss", "max_deviation", "loss")} for c in content.loss_curves]
    return ("<h2>Training loss per step</h2>"
            + _figure("loss", svg, values, "Same seed, initial weights and batches for every precision.")
            + _table(*loss_table(content)))


def render_html(content: ReportContent) -> str:
    created = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    files = ", ".join(html.escape(label) for label, _ in content.environments)
    warnings = "".join(f'<div class="warning">warning: {html.escape(w)}</div>' for w in content.environment_warnings)
    notes = ("<h2>Not measured</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in content.notes) + "</ul>"
             if content.notes else "")
    body = (f"<h1>{html.escape(content.title)}</h1>"
            f'<p class="meta">calib {__version__}, generated {created} from {files}</p>{warnings}'
            + latency_section(content) + speedup_section(content) + layers_section(content)
            + accuracy_section(content) + loss_section(content) + notes
            + "<h2>Environment of each run</h2>" + _table(*environment_table(content)))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(content.title)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n")
