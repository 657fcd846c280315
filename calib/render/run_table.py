"""The table `calib run` and `calib show` print: one row per configuration."""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text

from calib.render import format as fmt
from calib.results.schema import summary_of


def speedups(records: list[dict]) -> dict[int, float]:
    """Speed-up over fp32 on the same model, backend, batch and device (index -> ratio)."""
    fp32 = {}
    for record in records:
        ident = record["identity"]
        summary = summary_of(record)
        if ident["precision"] == "fp32" and summary:
            fp32[(ident["model"], ident["backend"], ident["batch_size"], ident["device"])] = summary.median_ms
    result = {}
    for index, record in enumerate(records):
        ident = record["identity"]
        summary = summary_of(record)
        base = fp32.get((ident["model"], ident["backend"], ident["batch_size"], ident["device"]))
        if summary and base:
            result[index] = base / summary.median_ms
    return result


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


def build_run_table(records: list[dict], title: str | None = None) -> Table:
    """Columns that are the same in every row (one model, one backend) move to the title."""
    many_models = len({r["identity"]["model"] for r in records}) > 1
    many_backends = len({r["identity"]["backend"] for r in records}) > 1
    fixed = [f"{name}: {records[0]['identity'][name]}" for name, many in (("model", many_models),
                                                                          ("backend", many_backends))
             if records and not many]
    title = " | ".join([title] * bool(title) + fixed) or None
    # A light box: sixteen columns of borders would cost a third of an 120-column terminal.
    table = Table(title=title, header_style="bold", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  padding=(0, 1, 0, 0))
    # "dtype" is storage/compute, both visible in one narrow column.
    # Model size and the CI width live in the JSON, the CSV and `calib show --details`.
    columns = [("model", many_models), ("backend", many_backends), ("precision", True), ("dtype", True),
               ("batch", True), ("median ms", True), ("p90", True), ("p99", True),
               ("items/s", True), ("vs fp32", True), ("hw", True), ("fidelity", True), ("peak mem", True)]
    shown = [name for name, keep in columns if keep]
    for name in shown:
        left = name in ("model", "backend", "precision", "dtype", "hw", "fidelity")
        table.add_column(name, justify="left" if left else "right", no_wrap=True)
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
                "dtype": f"{_short_dtype(record.get('storage_dtype'))}/"
                                 f"{_short_dtype(record.get('compute_dtype'))}",
                "median ms": fmt.ms(summary.median_ms), "±CI": f"{50 * summary.ci95_rel_width:.1f}%",
                "p90": fmt.ms(summary.p90_ms), "p99": fmt.ms(summary.p99_ms),
                "items/s": fmt.rate(summary.throughput_per_s),
                "vs fp32": fmt.ratio(ratios.get(index)), "fidelity": _fidelity_text(record),
                "size": fmt.size(memory.get("model_size_bytes")),
                "peak mem": fmt.size(memory.get("cuda_max_allocated_bytes") or memory.get("peak_rss_bytes")),
            })
        table.add_row(*[cells.get(name, "") for name in shown], style=row_style)
    return table


_SHORT = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16", "float8_e4m3fn": "fp8e4m3"}


def _short_dtype(name: str | None) -> str:
    return _SHORT.get(name or "", name or "")


def note_lines(records: list[dict]) -> list[str]:
    """Why each skipped or failed configuration did not run, numbered as in the table."""
    return [f"note {index + 1}: {r['identity']['precision']} on {r['identity']['backend']} {r['status']}: {r.get('reason')}"
            for index, r in enumerate(records) if r.get("status") != "ok"]


def warning_lines(records: list[dict]) -> list[str]:
    lines = []
    for record in records:
        for warning in record.get("warnings") or []:
            ident = record["identity"]
            lines.append(f"{ident['model']} {ident['backend']} {ident['precision']} b{ident['batch_size']}: {warning}")
    return lines
