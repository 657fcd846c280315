"""The table `calib run` and `calib show` print: one row per configuration."""

from __future__ import annotations

from rich.text import Text

from calib.compare.ratios import speedups
from calib.dtypes import short_name
from calib import format as fmt
from calib.render.fit import Fitted, light_table
from calib.results.record import Record, as_records


SLOWER_THAN_FP32 = 0.95  # a "native" precision measured below this speed-up is marked native*
RANDOM_WEIGHTS_NOTE = ("random weights (catalog models are built with weights=None): fidelity is output agreement "
                       "with fp32, not task accuracy")
NATIVE_BUT_SLOWER_NOTE = ("native*: the hardware has the instructions (`calib device`), yet this configuration ran "
                          "slower than fp32 here; `calib layers FILE --compare-precision fp32` shows which layers "
                          "lost the time (runs with --layers have them), `calib device --probe` whether the kernels "
                          "gain at all")


def _verdict_text(record: Record, speedup: float | None) -> Text:
    status = record.verdict_status
    style = {"native": "green", "emulated": "bold yellow", "unsupported": "red"}.get(status, "dim")
    if status == "native" and _native_but_slower(record, speedup):
        return Text("native*", style="yellow")
    return Text(status or "?", style=style)


def _native_but_slower(record: Record, speedup: float | None) -> bool:
    return (speedup is not None and speedup < SLOWER_THAN_FP32 and record.precision != "fp32"
            and record.verdict_status == "native")


def dtype_text(record: Record | dict) -> str:
    """storage/compute; an int8 model that keeps float layers says how many run int8 ("int8 1/21 layers")."""
    record = Record.from_json(record)
    text = f"{short_name(record.storage_dtype)}/{short_name(record.compute_dtype)}"
    info = record.backend_info
    quantized, floating = (info.quantized_layers, info.float_layers) if info else (None, None)
    if isinstance(quantized, int) and isinstance(floating, int) and floating:
        text = f"int8 {quantized}/{quantized + floating} layers"
    return text


def _fidelity_text(record: Record) -> Text:
    compact = record.fidelity_compact
    if not compact:
        return Text("-", style="dim")
    if record.fidelity_failed:  # said in words, not only in red (logs and pipes have no colour)
        return Text(f"FAIL {compact}", style="bold red")
    return Text(compact)


# Dropped first when the terminal is too narrow for every column (calib.render.fit).
DROPPABLE = ("p99", "peak mem", "items/s", "dtype", "p90")
SEE_DROPPED = "`calib show FILE` on a wider terminal, the JSON or --csv has them"
TEXT_COLUMNS = {"model": 20, "fidelity": 10}  # they wrap (down to these widths); other cells stay whole


def build_run_table(records: list[Record | dict], title: str | None = None) -> Fitted:
    """Columns that are the same in every row (one model, one backend, one batch size) move to the title."""
    records = as_records(records)
    many = {column: len({getattr(r.identity, key) for r in records}) > 1
            for column, key in (("model", "model"), ("backend", "backend"), ("batch", "batch_size"))}
    fixed = [f"{column}: {getattr(records[0].identity, key)}"
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
    notes = note_numbers(records)
    for index, record in enumerate(records):
        ident = record.identity
        summary = record.summary
        cells = {"model": ident.model, "backend": ident.backend, "precision": ident.precision_label,
                 "batch": str(ident.batch_size), "hw": _verdict_text(record, ratios.get(index))}
        row_style = None
        if summary is None:
            row_style = "red" if record.status == "failed" else "dim"
            cells["median ms"] = record.status or "?"
            cells["fidelity"] = f"see note {notes[index]}"
        else:
            if record.verdict_status == "emulated":
                row_style = "yellow"
            cells.update({
                "dtype": dtype_text(record),
                "median ms": fmt.ms(summary.median_ms),
                "p90": fmt.ms(summary.p90_ms), "p99": fmt.ms(summary.p99_ms),
                "items/s": fmt.rate(summary.throughput_per_s),
                "vs fp32": fmt.ratio(ratios.get(index)), "fidelity": _fidelity_text(record),
                "peak mem": fmt.size(record.peak_memory_bytes),
            })
        table.add_row(*[cells.get(name, "") for name in shown], style=row_style)
    return Fitted(table, DROPPABLE, where=SEE_DROPPED)


def note_numbers(records: list[Record | dict]) -> dict[int, int]:
    """Record index -> its note's number (1, 2, ...) for every configuration that did not run."""
    unmeasured = [index for index, record in enumerate(as_records(records)) if not record.ok]
    return {index: number for number, index in enumerate(unmeasured, start=1)}


def note_lines(records: list[Record | dict]) -> list[str]:
    """Why each skipped or failed configuration did not run, numbered as the table's "see note N";
    then what the table's labels mean where they appear (native*, random weights). Under native*,
    each such configuration with a per-layer table, beside its fp32 peer's, names the op kinds
    that grew most (the sum of their layers' medians, from calib.layers.table.by_kind)."""
    from calib.layers.table import by_kind

    records = as_records(records)
    lines = [f"note {number}: {records[index].precision} on {records[index].identity.backend} "
             f"{records[index].unmeasured_reason}"
             for index, number in note_numbers(records).items()]
    ratios = speedups(records)
    slower = [record for index, record in enumerate(records) if _native_but_slower(record, ratios.get(index))]
    if slower:
        lines.append(NATIVE_BUT_SLOWER_NOTE)
    fp32_layers = {r.identity.peer_key: r.layer_rows for r in records if r.precision == "fp32" and r.has_layers}
    for record in slower:
        baseline = fp32_layers.get(record.identity.peer_key)
        rows = record.layer_rows
        if not baseline or not rows:
            continue
        base_ms = {group["op_kind"]: group["median_ms"] for group in by_kind(baseline)}
        grown = sorted(((group["median_ms"] - base_ms.get(group["op_kind"], 0.0), group) for group in by_kind(rows)),
                       key=lambda pair: -pair[0])
        named = [f"{group['op_kind']} +{fmt.ms(added)} ms ({fmt.ms(base_ms.get(group['op_kind'], 0.0))} -> "
                 f"{fmt.ms(group['median_ms'])})" for added, group in grown[:3] if added > 0]
        if named:
            lines.append(f"  {record.short_label} slowed most in: {', '.join(named)}")
    if any(record.model_weights == "random" and record.fidelity for record in records):
        lines.append(RANDOM_WEIGHTS_NOTE)
    return lines


def warning_lines(records: list[Record | dict]) -> list[str]:
    return [f"{record.short_label}: {warning}" for record in as_records(records) for warning in record.warnings]


def _candidate_score(candidate) -> str:
    """ " score 0.975 (-0.4)": a candidate's --eval score and its drop in points, where it was scored."""
    if candidate.score is None:
        return ""
    drop = "" if candidate.score_drop is None else f" ({-candidate.score_drop:+.1f})"
    return f" score {candidate.score:.3f}{drop}"


def tuning_lines(records: list[Record | dict]) -> list[str]:
    """What calib.tuning measured per configuration: every candidate's median, the pick and why."""
    lines = []
    for record in as_records(records):
        tuning = record.tuning
        if not tuning:
            continue
        timed = [c for c in tuning.candidates if c.median_ms is not None]
        listed = " | ".join(f"{c.name} {fmt.ms(c.median_ms)} ms{_candidate_score(c)}" for c in timed) or \
            ", ".join(c.name for c in tuning.candidates)
        lines.append(f"tuned {record.short_label}: {listed} -> {tuning.why}")  # why names it
    return lines
