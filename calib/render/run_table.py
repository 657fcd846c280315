"""The table `calib run` and `calib show` print: one row per configuration."""

from __future__ import annotations

from rich.text import Text

from calib.compare.ratios import speedups
from calib.configuration import Configuration
from calib.dtypes import short_name
from calib.render import format as fmt
from calib.render.fit import Fitted, light_table
from calib.results.schema import summary_of


def _verdict_text(record: dict) -> Text:
    verdict = record.get("verdict") or {}
    status = verdict.get("status")
    style = {"native": "green", "emulated": "bold yellow", "unsupported": "red"}.get(status, "dim")
    return Text(status or "?", style=style)


def _fidelity_text(record: dict) -> Text:
    fidelity = record.get("fidelity") or {}
    compact = fidelity.get("compact")
    if not compact:
        return Text("-", style="dim")
    return Text(compact, style="bold red" if fidelity.get("passed") is False else "")


# Dropped first when the terminal is too narrow for every column (calib.render.fit).
DROPPABLE = ("p99", "peak mem", "items/s", "dtype", "p90")
SEE_DROPPED = "`calib show FILE` on a wider terminal, the JSON or --csv has them"
TEXT_COLUMNS = {"model": 20, "fidelity": 10}  # they wrap (down to these widths); other cells stay whole


def build_run_table(records: list[dict], title: str | None = None) -> Fitted:
    """Columns that are the same in every row (one model, one backend, one batch size) move to the title."""
    many = {column: len({r["identity"][key] for r in records}) > 1
            for column, key in (("model", "model"), ("backend", "backend"), ("batch", "batch_size"))}
    fixed = [f"{column}: {records[0]['identity'][key]}"
             for column, key in (("model", "model"), ("backend", "backend"), ("batch", "batch_size"))
             if records and not many[column]]
    title = " | ".join([title] * bool(title) + fixed) or None
    # A light box: sixteen columns of borders would cost a third of an 120-column terminal.
    table = light_table(title)
    # "dtype" is storage/compute, both visible in one narrow column.
    # Model size and the CI of the median live in the results JSON and the CSV.
    columns = [("model", many["model"]), ("backend", many["backend"]), ("precision", True), ("dtype", True),
               ("batch", many["batch"]), ("median ms", True), ("p90", True), ("p99", True),
               ("items/s", True), ("vs fp32", True), ("hw", True), ("fidelity", True), ("peak mem", True)]
    shown = [name for name, keep in columns if keep]
    for name in shown:
        left = name in ("model", "backend", "precision", "dtype", "hw", "fidelity")
        table.add_column(name, justify="left" if left else "right", no_wrap=name not in TEXT_COLUMNS,
                         min_width=TEXT_COLUMNS.get(name), overflow="fold")
    ratios = speedups(records)
    for index, record in enumerate(records):
        ident = record["identity"]
        summary = summary_of(record)
        cells = {"model": ident["model"], "backend": ident["backend"], "precision": ident["precision"],
                 "batch": str(ident["batch_size"]), "hw": _verdict_text(record)}
        row_style = None
        if record.get("status") != "ok" or summary is None:
            row_style = "red" if record.get("status") == "failed" else "dim"
            cells["median ms"] = record.get("status", "?")
            cells["fidelity"] = f"see note {index + 1}"
        else:
            memory = record.get("memory") or {}
            if (record.get("verdict") or {}).get("status") == "emulated":
                row_style = "yellow"
            cells.update({
                "dtype": f"{short_name(record.get('storage_dtype'))}/{short_name(record.get('compute_dtype'))}",
                "median ms": fmt.ms(summary.median_ms),
                "p90": fmt.ms(summary.p90_ms), "p99": fmt.ms(summary.p99_ms),
                "items/s": fmt.rate(summary.throughput_per_s),
                "vs fp32": fmt.ratio(ratios.get(index)), "fidelity": _fidelity_text(record),
                "peak mem": fmt.size(memory.get("cuda_max_allocated_bytes") or memory.get("peak_rss_bytes")),
            })
        table.add_row(*[cells.get(name, "") for name in shown], style=row_style)
    return Fitted(table, DROPPABLE, where=SEE_DROPPED)


def note_lines(records: list[dict]) -> list[str]:
    """Why each skipped or failed configuration did not run, numbered as in the table."""
    return [f"note {index + 1}: {r['identity']['precision']} on {r['identity']['backend']} {r['status']}: {r.get('reason')}"
            for index, r in enumerate(records) if r.get("status") != "ok"]


def warning_lines(records: list[dict]) -> list[str]:
    return [f"{Configuration.of(record).short_label}: {warning}"
            for record in records for warning in record.get("warnings") or []]
