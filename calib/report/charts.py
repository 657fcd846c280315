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
                 reference_line: float | None = None, chart_id: str = "bars") -> str:
    """Horizontal bars, one group per row, one bar per series that has a value in that row.

    series: [{"name", "values": [float|None per row], "low": [...], "high": [...], "marks": [str|None]}];
    low/high (optional) draw CI whiskers; marks (optional) are appended to the printed value (a warning
    sign where the number is qualified). value_text(value) is printed at the end of each bar.

    Each row's bars are centred on its label, whichever series are missing from it (a configuration in
    one file only is one bar on its label, not one slot of an empty group), and the legend sits above
    the axes, where it cannot cover a bar or its value. The bars, their value texts, the row labels and
    the legend carry SVG ids (CHART-bar-ROW-SERIES, CHART-value-ROW-SERIES, CHART-row-ROW,
    CHART-legend) so a browser test can measure them.
    """
    rows = len(row_labels)
    count = max(1, len(series))
    figure, axes = _figure(9.0, 1.2 + rows * count * _BAR_HEIGHT_IN + 0.3 * rows)
    group_height = 0.8
    bar_height = group_height / count
    finite = [v for s in series for v in s["values"] + list(s.get("high") or []) if _drawable(v)]  # whiskers too
    largest = max(finite + [1e-9])
    handles = {}
    for row in range(rows):
        present = [position for position, serie in enumerate(series) if _drawable(serie["values"][row])]
        for slot, position in enumerate(present):
            serie = series[position]
            value = serie["values"][row]
            color = PALETTE[position % len(PALETTE)]
            y = row - bar_height * len(present) / 2 + bar_height * (slot + 0.5)
            [bar] = axes.barh(y, value, height=bar_height * 0.9, color=color)
            bar.set_gid(f"{chart_id}-bar-{row}-{position}")
            handles.setdefault(position, bar)
            low, high = (serie.get("low") or [None] * rows)[row], (serie.get("high") or [None] * rows)[row]
            end = value
            if low is not None and high is not None:
                axes.errorbar(value, y, xerr=[[value - low], [high - value]], fmt="none", ecolor="#333333",
                              capsize=3, linewidth=1)
                end = high
            mark = (serie.get("marks") or [None] * rows)[row]
            text = axes.text(end * (1.06 if log_scale else 1) + (0 if log_scale else largest * 0.01), y,
                             value_text(value) + (f" {mark}" if mark else ""), va="center", fontsize=8)
            text.set_gid(f"{chart_id}-value-{row}-{position}")
    axes.set_yticks(range(rows), row_labels, fontsize=8)
    for row, label in enumerate(axes.get_yticklabels()):
        label.set_gid(f"{chart_id}-row-{row}")
    axes.set_ylim(rows - 0.5, -0.5)  # first row on top
    if log_scale:  # a quarter of the axis right of the longest bar, however many decades it spans
        lows = [v for s in series for v in (s.get("low") or []) + s["values"] if _drawable(v)]
        left = min(lows + [reference_line or largest]) / 2
        axes.set_xscale("log")
        axes.set_xlim(left, largest * (largest / left) ** (1 / 3))
    else:
        axes.set_xlim(0, largest * 1.35)
    if reference_line is not None:
        axes.axvline(reference_line, color="#888888", linestyle="--", linewidth=1)
    axes.set_xlabel(xlabel)
    axes.grid(axis="x", alpha=0.3)
    if len(series) > 1:
        ordered = sorted(handles)
        legend = figure.legend([handles[p] for p in ordered], [series[p]["name"] for p in ordered], fontsize=8,
                               loc="outside upper center", ncols=min(3, len(ordered)), frameon=False)
        legend.set_gid(f"{chart_id}-legend")
    return to_svg(figure)


def _drawable(value) -> bool:
    return value is not None and math.isfinite(value) and value > 0


def distribution(entries: list[dict], unit_label: str, chart_id: str = "distribution") -> str:
    """One box per configuration from its raw samples (whiskers: 1st-99th percentile, dots beyond),
    with p50, p90 and p99 marked and printed. entries: [{"label", "samples_ms", "p50", "p90", "p99"}]."""
    count = len(entries)
    figure, axes = _figure(9.0, 1.3 + 0.55 * count)
    data = [list(entry["samples_ms"]) for entry in entries]
    axes.boxplot(data, orientation="horizontal", positions=range(count), widths=0.5, whis=(1, 99),
                 flierprops={"markersize": 2, "alpha": 0.4}, medianprops={"color": PALETTE[3]})
    everything = [v for samples in data for v in samples if v > 0]
    log_scale = bool(everything) and max(everything) / max(min(everything), 1e-12) > 20
    markers = (("p50", "|", PALETTE[3]), ("p90", "D", PALETTE[1]), ("p99", "v", PALETTE[0]))
    for row, entry in enumerate(entries):
        for name, marker, color in markers:
            axes.scatter([entry[name]], [row], marker=marker, color=color, s=30, zorder=4,
                         label=name if row == 0 else None)
        # right of the axes, in a column of its own that the layout makes room for, whatever the scale
        text = axes.text(1.01, row, "  ".join(f"{name} {fmt.ms_unit(entry[name])}" for name, _, _ in markers),
                         transform=axes.get_yaxis_transform(), va="center", fontsize=8)
        text.set_gid(f"{chart_id}-value-{row}")
    axes.set_yticks(range(count), [entry["label"] for entry in entries], fontsize=8)
    for row, label in enumerate(axes.get_yticklabels()):
        label.set_gid(f"{chart_id}-row-{row}")
    axes.set_ylim(count - 0.5, -0.5)
    if log_scale:
        axes.set_xscale("log")
    else:
        axes.set_xlim(0, max(everything + [1e-9]) * 1.1)
    axes.set_xlabel(unit_label + (", log scale" if log_scale else ""))
    axes.grid(axis="x", alpha=0.3)
    legend = figure.legend(fontsize=8, loc="outside upper center", ncols=3, frameon=False)
    legend.set_gid(f"{chart_id}-legend")
    return to_svg(figure)


def layer_bars(layers: list[dict], title: str) -> str:
    """The slowest layers of one configuration, with their share of the end-to-end time."""
    labels = [f"{layer.get('name')} ({layer.get('op_kind', '?')})" for layer in layers]
    figure, axes = _figure(9.0, 0.8 + len(layers) * 0.3)
    values = [float(layer.get("median_ms") or 0) for layer in layers]
    axes.barh(range(len(layers)), values, color=PALETTE[0], height=0.7)
    for index, layer in enumerate(layers):
        share = layer.get("share")
        share_text = f" ({100 * share:.0f}%)" if isinstance(share, (int, float)) else ""
        axes.text(values[index], index, f" {fmt.ms_unit(values[index])}{share_text}", va="center", fontsize=8)
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
    line = 0  # one label row per point: points of several runs often sit on the same spot (agreement 1)
    for position, name in enumerate(names):
        mine = [p for p in points if p["series"] == name]
        axes.scatter([p["latency_ms"] for p in mine], [p["value"] for p in mine],
                     color=PALETTE[position % len(PALETTE)], label=name, zorder=3)
        for point in mine:
            axes.annotate(f"{point['label']}: {fmt.score(point['value'])}", (point["latency_ms"], point["value"]),
                          textcoords="offset points", xytext=(5, 4 + 11 * line), fontsize=8,
                          color=PALETTE[position % len(PALETTE)])
            line += 1
    latencies = [p["latency_ms"] for p in points]
    if latencies and max(latencies) / max(min(latencies), 1e-12) > 20:
        axes.set_xscale("log")
    axes.set_xlabel("median latency, ms (lower is better)")
    axes.set_ylabel(f"{metric} (higher is better)")
    axes.ticklabel_format(axis="y", useOffset=False)  # 0.99998 on the axis, not "1e-5 + 9.999e-1"
    axes.grid(alpha=0.3)
    if len(names) > 1:
        figure.legend(fontsize=8, loc="outside upper center", ncols=min(3, len(names)), frameon=False)
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
    figure.legend(fontsize="small", loc="outside upper center", ncols=min(3, max(1, len(curves))), frameon=False)
    return to_svg(figure)


def qps_latency(curves: list[dict], bound_ms: float | None = None, chart_id: str = "qps-latency") -> str:
    """Server latency against load: one line per configuration, x the achieved rate (queries/s), y the p99
    from arrival (ms); a point that kept the bound filled, one that did not hollow; the bound dashed.
    curves: [{"label", "points": [{"qps", "p99_ms", "passed"}]}], points in any order."""
    figure, axes = _figure(9.0, 4.2)
    for index, curve in enumerate(curves):
        color = PALETTE[index % len(PALETTE)]
        points = sorted(curve["points"], key=lambda point: point["qps"])
        axes.plot([p["qps"] for p in points], [p["p99_ms"] for p in points], color=color, label=curve["label"],
                  linewidth=1.2, gid=f"{chart_id}-line-{index}")
        for number, point in enumerate(points):
            filled = point.get("passed") is not False
            axes.scatter([point["qps"]], [point["p99_ms"]], s=28, zorder=4, color=color if filled else "white",
                         edgecolors=color, gid=f"{chart_id}-point-{index}-{number}")
    if bound_ms:
        axes.axhline(bound_ms, color=PALETTE[3], linestyle="--", linewidth=1, label=f"bound {fmt.ms_unit(bound_ms)}")
    values = [p["p99_ms"] for curve in curves for p in curve["points"] if _drawable(p["p99_ms"])]
    if values and max(values) / max(min(values), 1e-12) > 20:
        axes.set_yscale("log")
    axes.set_xlabel("queries/s (achieved)")
    axes.set_ylabel("p99 ms from arrival")
    axes.grid(alpha=0.3)
    legend = figure.legend(fontsize=8, loc="outside upper center", ncols=3, frameon=False)
    legend.set_gid(f"{chart_id}-legend")
    return to_svg(figure)
