"""The `calib history` table: one row per series (configuration x device class), its first and last
median, its latest median with the 95% interval, and its change points."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from calib import format as fmt
from calib.render.fit import light_table

LEGEND = ("Runs counted from the oldest. A change point is the first run at a new level: ratio = median of the "
          "runs after / before it (> 1 is slower), p from a t-test on log medians (kept when p <= {max_pvalue}).")


def change_point_text(change) -> str:
    """'run 21 (commit abc1234, 2026-12-05): 1.08x, p=0.0004' (run numbers count from 1)."""
    where = ([f"commit {change.commit[:7]}"] if change.commit else []) + [change.created.strftime("%Y-%m-%d")]
    return f"run {change.index + 1} ({', '.join(where)}): {fmt.ratio(change.ratio)}, {p_value_text(change.p_value)}"


def p_value_text(p_value: float) -> str:
    return "p<0.0001" if p_value < 0.0001 else f"p={p_value:.1g}"


def first_last_text(series) -> str:
    medians = [point.median_ms for point in series.points if point.median_ms is not None]
    if not medians:
        return "-"
    if len(medians) == 1:
        return fmt.ms_unit(medians[0])
    return f"{fmt.ms_unit(medians[0])} -> {fmt.ms_unit(medians[-1])} ({fmt.ratio(medians[-1] / medians[0])})"


def _latest(series) -> Text:
    point = series.points[-1]
    text = Text(fmt.ms_unit(point.median_ms), style="bold")
    if point.ci_low_ms is not None and point.ci_high_ms is not None:
        text.append(f" [{fmt.ms(point.ci_low_ms)}-{fmt.ms(point.ci_high_ms)}]", style="dim")
    when = ([point.commit[:7]] if point.commit else []) + [point.created.strftime("%Y-%m-%d")]
    text.append(f"\n{', '.join(when)}", style="dim")
    return text


def _changes(series) -> Text:
    if not series.change_points:
        return Text("none", style="dim")
    text = Text()
    for number, change in enumerate(series.change_points):
        text.append(("\n" if number else "") + change_point_text(change),
                    style="red" if change.ratio > 1 else "green")
    return text


def build_history_table(series_list, title: str) -> Table:
    table = light_table(title)
    for header in ("configuration", "device class", "runs", "first -> last median", "latest median [95% CI]",
                   "change points"):
        table.add_column(header, justify="right" if header == "runs" else "left")
    for series in series_list:
        table.add_row(series.label, series.device_class, str(len(series.points)), first_last_text(series),
                      _latest(series), _changes(series))
    return table
