"""The scenario table `calib run --scenario` and `calib show` print: one row per configuration under load.

Its columns are the scenario's own: the headline (items/s, a server's p99 from arrival or the highest
rate that kept the bound) with which way is better, the latency percentiles at microsecond
resolution (a server at 0.3 ms p50 and 0.9 ms p99 must not read as 0.30 and 0.90), p99.9 marked as
MLPerf's early-stopping estimate (or "-" with the queries it lacked), and what the search found.
"""

from __future__ import annotations

from calib import format as fmt
from calib.render.fit import Fitted, light_table
from calib.results.record import Record, as_records
from calib.scenarios.headline import headline, scenario_name
from calib.scenarios.percentiles import latency_percentiles, value_of

# each cell's key -> its column header (percentiles: each query's latency, or an offline call's, in ms)
HEADERS = {"p50": "p50 ms", "p90": "p90 ms", "p99": "p99 ms", "p99.9 (es)": "p99.9 ms (es)"}
# least valuable first: what an offline search found is its answer, dropped last
DROPPABLE = ("queries", "p50 ms", "fidelity", "found")
ES_NOTE = ("p99.9 ms (es), and a p99 headline marked es: MLPerf LoadGen's early-stopping estimate, a conservative "
           "percentile from the number of queries (calib.scenarios.early_stopping); '-' where the run had too few "
           "queries for one (p99 needs 662, p99.9 about 6,600)")


def us(value_ms: float | None) -> str:
    """Milliseconds at microsecond resolution: 0.312, 12.407, 1,204.113."""
    if value_ms is None:
        return "-"
    return f"{value_ms:,.3f}"


def scenario_records(records) -> list[Record]:
    return [record for record in as_records(records) if scenario_name(record) != "single-stream"]


def build_scenario_table(records, title: str | None = None) -> Fitted:
    records = scenario_records(records)
    table = light_table(title)
    shown = ["backend", "precision", "scenario", "headline", "better", "p50", "p90", "p99", "p99.9 (es)",
             "queries", "found", "fidelity"]
    for name in shown:
        left = name in ("backend", "precision", "scenario", "better", "found", "fidelity")
        table.add_column(HEADERS.get(name, name), justify="left" if left else "right", no_wrap=name not in ("found", "fidelity"),
                         overflow="fold")
    for record in records:
        table.add_row(*[_cells(record).get(name, "") for name in shown],
                      style=None if record.measured else ("red" if record.status == "failed" else "dim"))
    return Fitted(table, DROPPABLE, where="the results JSON has them")


def _cells(record: Record) -> dict:
    section = record.extra.get("scenario") or {}
    settings = section.get("settings") or {}
    cells = {"backend": record.identity.backend, "precision": record.identity.precision_label,
             "scenario": _scenario_text(section, settings)}
    if not record.measured:
        cells["headline"] = record.status or "?"
        return cells
    top = headline(record)
    value = fmt.rate(top.value) if top.unit in ("items/s", "qps") else us(top.value)
    cells["headline"] = f"{value} {top.unit}" + (" es" if "early-stopping" in top.note else "")
    cells["better"] = top.metric + (", higher" if top.higher_is_better else ", lower")
    latencies = (section.get("query_percentiles") if section.get("name") == "offline"
                 else latency_percentiles(record.samples_ms))
    for name in ("p50", "p90", "p99"):
        cells[name] = us(value_of(latencies or {}, name))
    cells["p99.9 (es)"] = us(value_of(latencies or {}, "p99.9"))
    cells["queries"] = _queries(section, record)
    cells["found"] = _found(section)
    cells["fidelity"] = record.fidelity_compact or "-"
    return cells


def _scenario_text(section: dict, settings: dict) -> str:
    name = section.get("name", "?")
    if name == "server":
        rate = "find-qps" if settings.get("find_qps") else f"{settings.get('target_qps'):g} qps"
        return f"server {rate} x{settings.get('streams', 1)}"
    if name == "multi-stream":
        return f"multi-stream x{settings.get('streams', 1)}"
    return name


def _queries(section: dict, record: Record) -> str:
    if section.get("name") == "server":
        served = section.get("server") or {}
        if served:
            return f"{served.get('queries')} at {fmt.rate(served.get('achieved_qps'))}/s"
    if section.get("name") == "server":
        return str(len(record.samples_ms))
    if section.get("name") == "multi-stream":
        return f"{section.get('queries')} at {fmt.rate(section.get('queries_per_s'))}/s"
    return f"{len(record.samples_ms)} blocks"  # offline: its samples are the best point's blocks


def _found(section: dict) -> str:
    """What the search tried and kept: offline's best point, --find-qps's rates."""
    search = section.get("search") or {}
    points = search.get("points") or []
    if section.get("name") == "offline":
        best = section.get("best") or {}
        failed = sum(1 for point in points if point.get("error"))
        text = (f"b{best.get('batch_size')} x{best.get('streams')} streams x{best.get('threads_per_stream')} thr "
                f"of {len(points)} points")
        return text + (f" ({failed} could not run)" if failed else "")
    if points:
        passed = sum(1 for point in points if point.get("passed"))
        return f"{len(points)} rates, {passed} within {search.get('latency_bound_ms'):g} ms"
    bound = (section.get("settings") or {}).get("latency_bound_ms")
    served = section.get("server") or {}
    if bound and served.get("passed") is not None:  # a fixed rate judged against --latency-bound-ms
        return f"p99 {'within' if served['passed'] else 'OVER'} {bound:g} ms"
    return ""


def scenario_notes(records) -> list[str]:
    return [ES_NOTE] if scenario_records(records) else []


__all__ = ["build_scenario_table", "scenario_records", "scenario_notes", "us"]
