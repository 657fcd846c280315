"""The report's tables as plain (header, rows) lists: the HTML and markdown writers share them."""

from __future__ import annotations

from calib.compare.ratios import ratio_to_reference
from calib.render.compare_table import format_ratio, speedup_text
from calib import format as fmt
from calib.report.content import ENVIRONMENT_KEYS, INFERENCE, LayerComparison, ReportContent, record_warnings


WARNING_SIGN = "\u26a0"


def speedup_with_interval(speedup: float | None, interval) -> str:
    """"0.36x [0.30-0.41]"; "n.s." where the interval holds 1 (no speed-up or slowdown can be called)."""
    if interval is None:
        return speedup_text(speedup)
    text = f"{speedup_text(speedup)} [{speedup_text(interval.low)[:-1]}-{speedup_text(interval.high)}]"
    return text + (" n.s." if interval.crosses_one else "")


def latency_table(content: ReportContent, kind: str = INFERENCE) -> tuple[list[str], list[list[str]]]:
    """Median [95% CI] ms, speed-up over fp32 and verdict per configuration and run, with the
    time ratio to the first run where there are several, for one kind of result (per call or per
    training step). What qualifies a number (noise, other processes' CPU use) follows it in its cell,
    one line each, after a warning sign."""
    kind_rows = content.rows_of(kind)
    columns = [c for c in content.columns if any(c.index in row.cells for row in kind_rows)]  # no empty runs
    header = ["configuration"] + [content.column_name(c) for c in columns]
    rows = []
    for row in kind_rows:
        cells = [row.label]
        for column in columns:
            cell = row.cells.get(column.index)
            if cell is None:
                cells.append("not run")
                continue
            if cell.summary is None:
                cells.append(str(cell.record.status))
                continue
            text = (f"{fmt.ms_unit(cell.summary.median_ms)} [{fmt.ms(cell.summary.ci95_low_ms)}-"
                    f"{fmt.ms(cell.summary.ci95_high_ms)}], "
                    f"{speedup_with_interval(cell.speedup_vs_fp32, content.speedup_interval(row, column.index))} "
                    f"vs fp32, {cell.verdict or '?'}")
            ratio = ratio_to_reference(row, column.index)
            if ratio:
                text += f"; time {format_ratio(ratio[1])} of #{ratio[0] + 1}"
            text += "".join(f"\n{WARNING_SIGN} {line}" for line in record_warnings(cell.record))
            cells.append(text)
        rows.append(cells)
    return header, rows


def layer_table(layers: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = ["layer", "kind", "median ms", "share"]
    rows = [[str(layer.get("name")), str(layer.get("op_kind", "")), fmt.ms(layer.get("median_ms")),
             f"{100 * layer['share']:.1f}%" if isinstance(layer.get("share"), (int, float)) else "-"]
            for layer in layers]
    return header, rows


def accuracy_table(content: ReportContent) -> tuple[list[str], list[list[str]]]:
    header = ["configuration", "run", "median ms", content.accuracy_title]
    rows = [[p["row"], p["series"], fmt.ms(p["latency_ms"]), fmt.score(p["value"])] for p in content.accuracy_points]
    return header, rows


def environment_table(content: ReportContent) -> tuple[list[str], list[list[str]]]:
    header = ["key"] + [label for label, _ in content.environments]
    rows = []
    for key in ENVIRONMENT_KEYS:
        values = [env.get(key) for _, env in content.environments]
        if any(value is not None for value in values):
            rows.append([key] + ["-" if value is None else str(value) for value in values])
    return header, rows


def loss_table(content: ReportContent) -> tuple[list[str], list[list[str]]]:
    """`calib train` records: final loss and the largest deviation from the baseline's curve."""
    def loss(value):
        return "-" if value is None else f"{value:.4f}"

    rows = [[curve["row"], curve["series"], str(len(curve["loss"])), loss(curve["final_loss"]),
             loss(curve["max_deviation"]), curve.get("baseline") or "-"] for curve in content.loss_curves]
    return ["configuration", "run", "steps", "final loss", "max |Δ loss|", "against"], rows


def layer_comparison_table(comparison: LayerComparison) -> tuple[list[str], list[list[str]]]:
    """Median ms per layer, one column per precision, then each precision's time relative to the first's."""
    first = comparison.median_ms[0]
    header = ["layer"] + [f"{name} ms" for name in comparison.precisions] + [
        f"{name} / {comparison.precisions[0]}" for name in comparison.precisions[1:]]
    rows = []
    for number, layer in enumerate(comparison.layers):
        times = [per_precision[number] for per_precision in comparison.median_ms]
        ratios = [f"{time / first[number]:.2f}x" if time and first[number] else "-" for time in times[1:]]
        rows.append([layer] + [fmt.ms(time) if time is not None else "-" for time in times] + ratios)
    return header, rows
