"""The report's "History" section (`calib report --store URL`): one chart per series of the store, the
median of every run with its 95% interval, change points marked where the level moved.

The series come from calib.store.history.build_series; this module only draws them. Like every chart
of the report, each figure carries the values it draws as JSON in data-values (calib.report.html)."""

from __future__ import annotations

import datetime as _dt
import html

from calib import format as fmt
from calib.render.history_table import change_point_text, first_last_text

_MAX_TICKS = 12


def history_chart(series) -> str:
    """Median per run (x: run number, labelled with date and commit), interval band, change points as
    vertical lines with their ratio, and each segment's level as a dashed line."""
    from calib.report import charts

    figure, axes = charts._figure(9.0, 3.4)
    points = series.points
    runs = list(range(1, len(points) + 1))
    known = [p.median_ms for p in points if p.median_ms is not None]
    scale, unit = (1000.0, "us") if known and max(known) < 0.1 else (1.0, "ms")  # 5.49 us, not 0.00549 ms
    medians = [p.median_ms * scale if p.median_ms is not None else float("nan") for p in points]
    lows = [p.ci_low_ms * scale if p.ci_low_ms is not None else m for p, m in zip(points, medians)]
    highs = [p.ci_high_ms * scale if p.ci_high_ms is not None else m for p, m in zip(points, medians)]
    color = charts.PALETTE[0]
    axes.fill_between(runs, lows, highs, color=color, alpha=0.2, linewidth=0, label="95% CI of the median")
    axes.plot(runs, medians, color=color, marker="o", markersize=3, linewidth=1.2, label="median")
    if series.change_points:  # each segment's level: a change's before_ms is the previous one's after_ms
        bounds = [0, *(change.index for change in series.change_points), len(points)]
        levels = [change.before_ms for change in series.change_points] + [series.change_points[-1].after_ms]
        for number, level in enumerate(levels):
            axes.hlines(level * scale, bounds[number] + 0.5, bounds[number + 1] + 0.5, colors="#555555",
                        linestyles="dashed", linewidth=1)
    for change in series.change_points:
        where = change.index + 0.5  # between the last run at the old level and the first at the new one
        axes.axvline(where, color=charts.PALETTE[3] if change.ratio > 1 else charts.PALETTE[2], linewidth=1.2)
        axes.annotate(f"{change.ratio:.2f}x", (where, 1.0), xycoords=("data", "axes fraction"),
                      xytext=(3, -12), textcoords="offset points", fontsize=8)
    step = max(1, -(-len(points) // _MAX_TICKS))
    ticks = runs[::step]
    axes.set_xticks(ticks, [_tick(points[run - 1], run) for run in ticks], fontsize=7)
    axes.set_xlim(0.5, len(points) + 0.5)
    axes.set_ylabel(f"median {unit} per call")
    axes.ticklabel_format(axis="y", useOffset=False, style="plain")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="lower left")
    return charts.to_svg(figure)


def _tick(point, run: int) -> str:
    return f"{run}\n{point.created.strftime('%m-%d')}" + (f"\n{point.commit[:7]}" if point.commit else "")


def history_rows(series_list) -> tuple[list[str], list[list[str]]]:
    """The section's table (and the markdown report's): one row per series."""
    header = ["configuration", "device class", "runs", "first -> last median", "latest median [95% CI]",
              "change points"]
    rows = []
    for series in series_list:
        latest = series.points[-1]
        interval = (f" [{fmt.ms_unit(latest.ci_low_ms)}-{fmt.ms_unit(latest.ci_high_ms)}]"
                    if latest.ci_low_ms is not None and latest.ci_high_ms is not None else "")
        changes = "; ".join(change_point_text(change) for change in series.change_points) or "none"
        rows.append([series.label, series.device_class, str(len(series.points)), first_last_text(series),
                     fmt.ms_unit(latest.median_ms) + interval, changes])
    return header, rows


def history_section(series_list, source: str) -> str:
    """<h2>History</h2>, a table of every series, then one chart per series."""
    from calib.report.html import _figure, _table

    parts = ["<h2>History</h2>",
             f'<p class="meta">{len(series_list)} series from {html.escape(source)}; runs counted from the oldest; '
             "a change point is the first run at a new level (ratio: median after / before; p: t-test on log "
             "medians)</p>"]
    if not series_list:
        return "".join(parts[:1]) + '<p class="meta">no records match in ' + html.escape(source) + "</p>"
    parts.append(_table(*history_rows(series_list)))
    for series in series_list:
        values = dict(series.to_json(), label=series.label)
        caption = f"{series.label} on {series.device_class}: {len(series.points)} runs" + (
            "; " + "; ".join(change_point_text(c) for c in series.change_points) if series.change_points else
            "; no change point")
        parts.append(_figure("history", history_chart(series), [values], caption))
    return "".join(parts)


def add_to_page(page: str, section: str) -> str:
    """The HTML report of results files with the history section after the results' own sections, before
    the environment table (or at the end of the body of a page without one)."""
    from calib.report.html import ENVIRONMENT_START

    anchor = ENVIRONMENT_START if ENVIRONMENT_START in page else "</body>"
    return page.replace(anchor, f'<section id="history">{section}</section>' + anchor, 1)


def history_page(series_list, source: str, title: str | None) -> str:
    """A report that is the history alone (`calib report --store URL` without files)."""
    from calib import __version__
    from calib.report.html import _CSS

    heading = title or "calib history"
    created = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    body = (f"<h1>{html.escape(heading)}</h1>"
            f'<p class="meta">calib {__version__}, generated {created} from {html.escape(source)}</p>'
            + history_section(series_list, source))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(heading)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n")


def history_markdown(series_list, source: str) -> list[str]:
    """The markdown report's History section (a table; no charts in markdown)."""
    from calib.report.markdown import _table

    lines = ["## History", "", f"{len(series_list)} series from {source}; runs counted from the oldest.", ""]
    return lines + (_table(*history_rows(series_list)) if series_list else ["no records match", ""])
