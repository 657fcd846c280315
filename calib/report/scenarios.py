"""The report's section for load scenarios (calib run --scenario): the headline table, the latency
distribution of every server and multi-stream record (from arrival: the queue is in it), and the
QPS-latency curve of the server records (a --find-qps search's every rate, and fixed-rate runs).

Read from the stored records only (STYLE.md: reports never re-run models); the p99 of a curve's point
is the one the run judged by (MLPerf's early-stopping estimate where the point had the queries for it).
"""

from __future__ import annotations


from calib import format as fmt
from calib.report import charts
from calib.report.content import SCENARIO, ReportContent
from calib.scenarios.headline import headline, scenario_label, scenario_name
from calib.scenarios.percentiles import latency_percentiles


def _records(content: ReportContent) -> list[tuple[str, object]]:
    """(label, record) of every scenario record, labelled by configuration, scenario and run."""
    several = len(content.columns) > 1
    out = []
    for row in content.rows_of(SCENARIO):
        for index, cell in sorted(row.cells.items()):
            column = f" (#{index + 1})" if several else ""
            out.append((row.label.split(" [")[0] + scenario_label(cell.record) + column, cell.record))
    return out


def headline_rows(records) -> list[list[str]]:
    rows = []
    for label, record in records:
        top = headline(record)
        if top is None:
            rows.append([label, record.status or "?", "", ""])
            continue
        value = fmt.rate(top.value) if top.unit in ("items/s", "qps") else fmt.ms(top.value)
        rows.append([label, f"{value} {top.unit}", f"{top.metric}, {top.direction}", top.note])
    return rows


def distribution_figure(records, figure) -> str:
    """A box per latency-scenario record from its raw per-query latencies, p50/p90/p99 marked."""
    boxes = []
    for label, record in records:
        if not record.measured or scenario_name(record) == "offline":
            continue
        table = latency_percentiles(record.samples_ms)
        boxes.append({"label": label, "samples_ms": list(record.samples_ms), "p50": table["p50"],
                      "p90": table["p90"], "p99": table["p99"]})
    if not boxes:
        return ""
    svg = charts.distribution(boxes, "ms per query (server: from arrival)", chart_id="scenario-distribution")
    return figure("scenario-distribution", svg, [{k: v for k, v in b.items() if k != "samples_ms"} | {
        "count": len(b["samples_ms"])} for b in boxes],
        "Per-query latency: box quartiles, whiskers 1st-99th percentile; a server's latency runs from each "
        "query's scheduled arrival, so time waiting in the queue is in it.")


def qps_curves(records) -> tuple[list[dict], float | None]:
    """One curve per server configuration: every --find-qps rate, or the fixed-rate records' points."""
    curves: dict[str, dict] = {}
    bound = None
    for label, record in records:
        if scenario_name(record) != "server" or not record.measured:
            continue
        section = record.extra.get("scenario") or {}
        name = label.split(" [")[0]
        curve = curves.setdefault(name, {"label": name, "points": []})
        search = section.get("search") or {}
        if search.get("points"):
            bound = search.get("latency_bound_ms") or bound
            curve["points"] += [{"qps": p["achieved_qps"], "p99_ms": p["p99_ms"], "passed": p.get("passed")}
                                for p in search["points"] if p.get("achieved_qps")]
        else:
            served = section.get("server") or {}
            p99 = headline(record).value
            curve["points"].append({"qps": served.get("achieved_qps") or section["settings"].get("target_qps"),
                                    "p99_ms": p99, "passed": served.get("passed")})
    return [curve for curve in curves.values() if curve["points"]], bound


def curve_figure(records, figure) -> str:
    curves, bound = qps_curves(records)
    if not curves:
        return ""
    svg = charts.qps_latency(curves, bound)
    return figure("qps-latency", svg, curves,
                   "p99 from arrival against the achieved rate; hollow: over the latency bound (dashed).")


def scenario_section(content: ReportContent, table, figure) -> str:
    """The section's HTML; `table(header, rows)` and `figure(name, svg, values, caption)` are the page's
    own writers (calib.report.html), so every section of the page reads alike."""
    records = _records(content)
    if not records:
        return ""
    body = ("<h3>Headline per scenario</h3>"
            + table(["configuration", "headline", "metric", "note"], headline_rows(records))
            + distribution_figure(records, figure) + curve_figure(records, figure))
    return f'<section id="scenarios"><h2>Load scenarios</h2>{body}</section>'


__all__ = ["scenario_section", "qps_curves", "headline_rows"]
