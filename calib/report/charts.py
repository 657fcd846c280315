"""Charts for the HTML report, drawn with matplotlib as inline SVG.

SVG keeps text as <text> (svg.fonttype "none"), so every value printed on a chart is real text
a reader can select and a test can find; the same values also travel as JSON in the figure's
data-values attribute (see calib.report.html). No pyplot: Figure objects hold no global state.
"""

from __future__ import annotations

import io
import math

from calib import format as fmt

# One colour per column (run/device); Okabe-Ito, readable by colour-blind readers.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
_BAR_HEIGHT_IN = 0.28


def _figure(width_in: float, height_in: float):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), dpi=96, layout="constrained")
    return figure, figure.add_subplot()


def to_svg(figure) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "calib"}):
        # No metadata block: no date (reproducible files) and no RDF links in a page meant to be offline.
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prologue and DOCTYPE: the SVG sits inside HTML


def grouped_bars(row_labels: list[str], series: list[dict], value_text, xlabel: str, log_scale: bool = False,
                 reference_line: float | None = None) -> str:
    """Horizontal bars, one group per row, one bar per series.

    series: [{"name", "values": [float|None per row], "low": [...], "high": [...]}]; low/high
    (optional) draw CI whiskers. value_text(value) is printed at the end of each bar.
    """
    rows = len(row_labels)
    count = max(1, len(series))
    figure, axes = _figure(9.0, 1.0 + rows * count * _BAR_HEIGHT_IN + 0.3 * rows)
    group_height = 0.8
    bar_height = group_height / count
    finite = [v for s in series for v in s["values"] if v is not None and v > 0 and math.isfinite(v)]
    largest = max(finite + [1e-9])
    for position, serie in enumerate(series):
        color = PALETTE[position % len(PALETTE)]
        for row, value in enumerate(serie["values"]):
            if value is None or not math.isfinite(value) or value <= 0:
                continue
            y = row - group_height / 2 + bar_height * (position + 0.5)
            axes.barh(y, value, height=bar_height * 0.9, color=color,
                      label=serie["name"] if row == _first_present(serie["values"]) else None)
            low, high = (serie.get("low") or [None] * rows)[row], (serie.get("high") or [None] * rows)[row]
            end = value
            if low is not None and high is not None:
                axes.errorbar(value, y, xerr=[[value - low], [high - value]], fmt="none", ecolor="#333333",
                              capsize=3, linewidth=1)
                end = high
            axes.text(end * (1.06 if log_scale else 1) + (0 if log_scale else largest * 0.01), y,
                      value_text(value), va="center", fontsize=8)
    axes.set_yticks(range(rows), row_labels, fontsize=8)
    axes.invert_yaxis()
    if log_scale:
        axes.set_xscale("log")
        axes.set_xlim(right=largest * 4)
    else:
        axes.set_xlim(0, largest * 1.25)
    if reference_line is not None:
        axes.axvline(reference_line, color="#888888", linestyle="--", linewidth=1)
    axes.set_xlabel(xlabel)
    axes.grid(axis="x", alpha=0.3)
    if len(series) > 1:
        axes.legend(fontsize=8, loc="lower right")
    return to_svg(figure)


def _first_present(values) -> int | None:
    return next((i for i, v in enumerate(values) if v is not None and v > 0 and math.isfinite(v)), None)


def layer_bars(layers: list[dict], title: str) -> str:
    """The slowest layers of one configuration, with their share of the end-to-end time."""
    labels = [f"{layer.get('name')} ({layer.get('op_kind', '?')})" for layer in layers]
    figure, axes = _figure(9.0, 0.8 + len(layers) * 0.3)
    values = [float(layer.get("median_ms") or 0) for layer in layers]
    axes.barh(range(len(layers)), values, color=PALETTE[0], height=0.7)
    for index, layer in enumerate(layers):
        share = layer.get("share")
        share_text = f" ({100 * share:.0f}%)" if isinstance(share, (int, float)) else ""
        axes.text(values[index], index, f" {fmt.ms(values[index])} ms{share_text}", va="center", fontsize=8)
    axes.set_yticks(range(len(layers)), labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, max(values + [1e-9]) * 1.35)
    axes.set_xlabel("median ms per call")
    axes.set_title(title, fontsize=9, loc="left")
    axes.grid(axis="x", alpha=0.3)
    return to_svg(figure)


def accuracy_scatter(points: list[dict], metric: str) -> str:
    """points: [{"label", "series", "latency_ms", "value"}]; one colour per series (column)."""
    figure, axes = _figure(7.5, 4.5)
    names = list(dict.fromkeys(p["series"] for p in points))
    for position, name in enumerate(names):
        mine = [p for p in points if p["series"] == name]
        axes.scatter([p["latency_ms"] for p in mine], [p["value"] for p in mine],
                     color=PALETTE[position % len(PALETTE)], label=name, zorder=3)
        for point in mine:
            axes.annotate(f"{point['label']} ({fmt.score(point['value'])})", (point["latency_ms"], point["value"]),
                          textcoords="offset points", xytext=(5, 4 + 11 * position), fontsize=8,
                          color=PALETTE[position % len(PALETTE)])  # one label row per series: no overlap
    latencies = [p["latency_ms"] for p in points]
    if latencies and max(latencies) / max(min(latencies), 1e-12) > 20:
        axes.set_xscale("log")
    axes.set_xlabel("median latency, ms (lower is better)")
    axes.set_ylabel(f"{metric} (higher is better)")
    axes.ticklabel_format(axis="y", useOffset=False)  # 0.99998 on the axis, not "1e-5 + 9.999e-1"
    axes.grid(alpha=0.3)
    if len(names) > 1:
        axes.legend(fontsize=8)
    return to_svg(figure)


def loss_curves(curves: list[dict]) -> str:
    """The training loss per step of every `calib train` record, one line each (calib train)."""
    figure, axes = _figure(9.0, 4.0)
    for number, curve in enumerate(curves):
        axes.plot(range(len(curve["loss"])), curve["loss"], label=curve["label"],
                  color=PALETTE[number % len(PALETTE)], linewidth=1.2)
    axes.set_xlabel("step")
    axes.set_ylabel("training loss")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    return to_svg(figure)
