"""The `calib compare` table: one row per configuration, one column per run/device.

Each cell: median ms with its 95% CI, speed-up over fp32 on that device, the hardware verdict
(native / emulated), and, after the first column, the time ratio to the first column with its
bootstrap interval. Bookkeeping (align, ratios) lives apart from this drawing.
"""

from __future__ import annotations

from rich.text import Text

from calib.compare.align import Cell, Column, Row
from calib.compare.ratios import RatioEstimate, ratio_to_reference
from calib import format as fmt
from calib.render.fit import Fitted, light_table

_VERDICT_STYLE = {"native": "green", "emulated": "bold yellow", "unsupported": "red"}


def speedup_text(value: float | None) -> str:
    """Like fmt.ratio, but keeps two significant digits for emulated precisions (0.0038x)."""
    return f"{value:.2g}x" if value is not None and 0 < value < 0.1 else fmt.ratio(value)


def format_ratio(estimate: RatioEstimate) -> str:
    return f"{fmt.ratio(estimate.ratio)} [{estimate.low:.2f}-{estimate.high:.2f}]"


def _cell_text(row: Row, column: Column) -> Text:
    cell: Cell | None = row.cells.get(column.index)
    if cell is None:
        return Text("not run", style="dim")
    if cell.summary is None:
        status = cell.record.status or "?"
        return Text(status, style="red" if status == "failed" else "dim")
    summary = cell.summary
    top = _scenario_headline(cell.record)
    if top is not None:  # a load scenario: its own headline, with which way is better
        text = Text(top, style="bold")
    else:
        text = Text(f"{fmt.ms_unit(summary.median_ms)}", style="bold")
        text.append(f" [{fmt.ms(summary.ci95_low_ms)}-{fmt.ms(summary.ci95_high_ms)}]", style="dim")
    text.append(f"\n{speedup_text(cell.speedup_vs_fp32)} vs fp32" if cell.speedup_vs_fp32 else "\n-")
    verdict = cell.verdict
    text.append(f"  {verdict or '?'}", style=_VERDICT_STYLE.get(verdict, "dim"))
    ratio = ratio_to_reference(row, column.index)
    if ratio:
        reference_index, estimate = ratio
        style = "red" if estimate.low > 1 else "green" if estimate.high < 1 else ""
        text.append(f"\ntime {format_ratio(estimate)} of #{reference_index + 1}", style=style)
    return text


def _scenario_headline(record) -> str | None:
    """'1,234 items/s offline (higher is better)' for a record measured under --scenario; None otherwise."""
    from calib.scenarios.headline import headline, scenario_name

    if scenario_name(record) == "single-stream":
        return None
    top = headline(record)
    value = fmt.rate(top.value) if top.unit in ("items/s", "qps") else fmt.ms(top.value)
    return f"{top.metric} {value} {top.unit} ({top.direction})"


def build_compare_table(columns: list[Column], rows: list[Row], title: str | None = None) -> Fitted:
    """Every column is a run: none is dropped; the labels and cells wrap between their words."""
    table = light_table(title, show_lines=True)  # a blank line between rows of three-line cells
    table.add_column("configuration", min_width=16, overflow="fold")
    for column in columns:
        table.add_column(column.label, justify="right", overflow="fold")
    for row in rows:
        table.add_row(row.label, *[_cell_text(row, column) for column in columns])
    return Fitted(table)


LEGEND = ("cell: median ms [95% CI] (under --scenario: its headline, with which way is better); speed-up over "
          "fp32 on that device; hardware verdict; "
          "time ratio to the first column with its 95% bootstrap interval (< 1 is faster).")
