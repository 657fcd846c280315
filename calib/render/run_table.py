"""The table `calib run` and `calib show` print: one row per configuration."""

from __future__ import annotations

from rich.text import Text

from calib.compare.ratios import RatioEstimate, fp32_peers, speedup_estimates, speedups
from calib.dtypes import short_name
from calib import format as fmt
from calib.render.fit import Fitted, light_table
from calib.render.printout import Printout
from calib.results.record import Record, as_records


SLOWER_THAN_FP32 = 0.95  # a "native" precision measured below this speed-up is marked native*
RANDOM_WEIGHTS_NOTE = ("random weights (catalog and torchvision: models are built with seeded random weights): fidelity "
                       "is output agreement with fp32, not task accuracy")
# calib quant-error and calib sensitivity judge layers on the model's outputs: on random weights the ranking
# says which layers move an untrained model's outputs, not which cost a trained model its accuracy
RANDOM_WEIGHTS_RANKING_NOTE = ("random weights (catalog and torchvision: models are built with seeded random weights): "
                               "this ranks layers by their error on a model that learned nothing; a trained model "
                               "(file.py:factory, .pt2) ranks its own layers, and --eval judges them by your score")
NATIVE_BUT_SLOWER_NOTE = ("native*: the hardware has the instructions (`calib device`), yet this configuration ran "
                          "slower than fp32 here; `calib layers FILE --compare-precision fp32` shows which layers "
                          "lost the time (runs with --layers have them), `calib device --probe` whether the kernels "
                          "gain at all")
NOT_SIGNIFICANT_NOTE = ("n.s.: the speed-up's 95% bootstrap interval (from both configurations' raw samples) holds "
                        "1x: neither faster nor slower than fp32 can be told from this run")
BUSY_NOTE = ("busy: other processes took at least 25% of a core while this was timed (the warnings say how much): "
             "its times and ratios carry no conclusion, and native* is not claimed from them; rerun on an idle "
             "machine or with fewer --threads")


def _verdict_text(record: Record, slower: bool) -> Text:
    status = record.verdict_status
    style = {"native": "green", "emulated": "bold yellow", "unsupported": "red"}.get(status, "dim")
    if status == "native" and slower:
        return Text("native*", style="yellow")
    return Text(status or "?", style=style)


def _native_but_slower(record: Record, estimate: RatioEstimate | None, busy: bool) -> bool:
    """Slower than fp32 beyond doubt: the whole interval below 1, the point below SLOWER_THAN_FP32, and
    neither side timed while other processes took the CPU."""
    return (estimate is not None and not busy and estimate.ratio < SLOWER_THAN_FP32 and estimate.high < 1.0
            and record.precision != "fp32" and record.verdict_status == "native")


def _busy_pairs(records: list[Record]) -> dict[int, bool]:
    """Record index -> whether it, or the fp32 peer its speed-up is against, was timed on a busy machine."""
    return {index: record.busy or bool(peer is not None and peer.busy)
            for index, (record, peer) in enumerate(fp32_peers(records))}


def _speedup_text(estimate: RatioEstimate | None, plain: float | None, busy: bool) -> Text:
    """The vs fp32 cell: the ratio with its interval, n.s. where that holds 1, busy where a side was."""
    text = fmt.ratio_interval(estimate.ratio, estimate.low, estimate.high) if estimate else fmt.ratio(plain)
    style = "dim" if estimate is not None and estimate.crosses_one else ""
    cell = Text(text, style=style)
    if busy:
        cell.append(" busy", style="bold yellow")
    return cell


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
# They wrap (down to these widths; a ratio's interval goes under it); other cells stay whole.
TEXT_COLUMNS = {"model": 20, "fidelity": 10, "vs fp32": 6}


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
    ratios, estimates, busy = speedups(records), speedup_estimates(records), _busy_pairs(records)
    notes = note_numbers(records)
    for index, record in enumerate(records):
        ident = record.identity
        summary = record.summary
        slower = _native_but_slower(record, estimates.get(index), busy[index])
        cells = {"model": ident.model, "backend": ident.backend, "precision": ident.precision_label,
                 "batch": str(ident.batch_size), "hw": _verdict_text(record, slower)}
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
                "median ms": _median_text(summary.median_ms, record.busy),
                "p90": fmt.ms(summary.p90_ms), "p99": fmt.ms(summary.p99_ms),
                "items/s": fmt.rate(summary.throughput_per_s),
                "vs fp32": _speedup_text(estimates.get(index), ratios.get(index), busy[index]),
                "fidelity": _fidelity_text(record),
                "peak mem": fmt.size(record.peak_memory_bytes),
            })
        table.add_row(*[cells.get(name, "") for name in shown], style=row_style)
    return Fitted(table, DROPPABLE, where=SEE_DROPPED)


def _median_text(median_ms: float, busy: bool) -> Text:
    cell = Text(fmt.ms(median_ms))
    if busy:  # marked where the number is: a log reader may never reach the warnings
        cell.append(" busy", style="bold yellow")
    return cell




def note_numbers(records: list[Record | dict]) -> dict[int, int]:
    """Record index -> its note's number (1, 2, ...) for every configuration that did not run."""
    unmeasured = [index for index, record in enumerate(as_records(records)) if not record.ok]
    return {index: number for number, index in enumerate(unmeasured, start=1)}


def note_lines(records: list[Record | dict]) -> list[str]:
    """Why each skipped or failed configuration did not run, numbered as the table's "see note N";
    then what the table's labels mean where they appear (native*, random weights). Under native*,
    each such configuration with a per-layer table, beside its fp32 peer's, names the op kinds
    that grew most (the sum of their layers' medians, from calib.layers.table.by_kind)."""
    from calib.layers.table import by_kind, layer_sum_off

    records = as_records(records)
    lines = [f"note {number}: {records[index].precision} on {records[index].identity.backend} "
             f"{records[index].unmeasured_reason}"
             for index, number in note_numbers(records).items()]
    estimates, busy = speedup_estimates(records), _busy_pairs(records)
    slower = [record for index, record in enumerate(records)
              if _native_but_slower(record, estimates.get(index), busy[index])]
    if any(estimate.crosses_one for estimate in estimates.values()):
        lines.append(NOT_SIGNIFICANT_NOTE)
    if any(busy.values()):
        lines.append(BUSY_NOTE)
    if slower:
        lines.append(NATIVE_BUT_SLOWER_NOTE)
    fp32_layers = {r.identity.peer_key: r for r in records if r.precision == "fp32" and r.has_layers}
    for record in slower:
        baseline = fp32_layers.get(record.identity.peer_key)
        if not baseline or not record.has_layers or layer_sum_off(baseline.layers) or layer_sum_off(record.layers):
            continue  # layer tables that do not add up to end-to-end name no culprit
        baseline, rows = baseline.layer_rows, record.layer_rows
        base_ms = {group["op_kind"]: group["median_ms"] for group in by_kind(baseline)}
        grown = sorted(((group["median_ms"] - base_ms.get(group["op_kind"], 0.0), group) for group in by_kind(rows)),
                       key=lambda pair: -pair[0])
        named = [f"{group['op_kind']} +{fmt.ms_unit(added)} ({fmt.ms(base_ms.get(group['op_kind'], 0.0))} -> "
                 f"{fmt.ms(group['median_ms'])})" for added, group in grown[:3] if added > 0]
        if named:
            lines.append(f"  {record.short_label} slowed most in: {', '.join(named)}")
    if any(record.model_weights == "random" and record.fidelity for record in records):
        lines.append(RANDOM_WEIGHTS_NOTE)
    return lines


def warning_lines(records: list[Record | dict]) -> list[str]:
    return [f"{label}: {warning}" for label, warning in warning_pairs(records)]


def warning_pairs(records: list[Record | dict]) -> list[tuple[str, str]]:
    """(configuration, warning) for every warning of every record (calib.render.printout groups them);
    a configuration is named by what tells it from the others in the table (the title has the rest)."""
    records = as_records(records)
    return [(_distinct_label(record, records), warning) for record in records for warning in record.warnings]


def _distinct_label(record: Record, records: list[Record]) -> str:
    ident = record.identity
    parts = [(ident.model, "model"), (ident.backend, "backend"), (ident.precision_label, None),
             (f"b{ident.batch_size}", "batch_size")]
    return " ".join(text for text, key in parts
                    if key is None or len({getattr(r.identity, key) for r in records}) > 1)


def auto_lines(records: list[Record | dict]) -> list[str]:
    """What --backend auto picked for each configuration, and why."""
    return [f"auto: {record.precision} -> {record.backend_choice.picked}: {record.backend_choice.why}"
            for record in as_records(records) if record.backend_choice]


def run_printout(records: list[Record | dict], title: str | None = None, layers: bool = False,
                 source: str | None = None) -> Printout:
    """The run table, the per-layer tables (`layers`), the warnings grouped by kind, the notes; the
    candidates tuned and auto's choices as details (-v). `calib run` and `calib show` print this."""
    from calib.render.layers_table import layer_blocks

    records = as_records(records)
    printout = _tables(records, title, source)
    if layers:
        printout.blocks.extend(layer_blocks(records))
    return (printout.warnings(warning_pairs(records)).lines(tuning_lines(records), "detail")
            .lines(note_lines(records)).lines(auto_lines(records), "detail")
            .lines(energy_lines(records)).lines(energy_absent_lines(records), "detail"))


def energy_lines(records: list[Record]) -> list[str]:
    """Joules per inference where a counter measured them (calib.energy): per item, above idle, power."""
    lines = []
    for record in records:
        energy = record.extra.get("energy") or {}
        if energy.get("joules_per_item") is None:
            continue
        above = energy.get("joules_per_item_above_idle")
        idle = energy.get("idle_power_w")
        lines.append(f"energy: {record.short_label}: {energy['joules_per_item'] * 1e3:.3g} mJ per item"
                     + (f" ({above * 1e3:.3g} above idle)" if above is not None else "")
                     + f", {energy['avg_power_w']:.3g} W average" + (f", idle {idle:.3g} W" if idle is not None else "")
                     + f" ({energy['counter']})")
    return lines


def energy_absent_lines(records: list[Record]) -> list[str]:
    """Why energy was not measured, once per reason (-v: a null is not news on a VM)."""
    found = [record.extra.get("energy") or {} for record in records]  # stored by the sweep (calib.energy)
    reasons = dict.fromkeys(energy.get("reason") for energy in found if energy.get("value", 0) is None)
    return [f"energy: not measured: {reason}" for reason in reasons if reason]


def _tables(records: list[Record], title: str | None, source: str | None) -> Printout:
    """The run table for one-call-at-a-time records, the scenario table (calib.render.scenario_table) for
    records measured under --scenario; the title goes to the first."""
    from calib.render.scenario_table import build_scenario_table, scenario_notes, scenario_records

    loaded = scenario_records(records)
    single = [record for record in records if all(record is not other for other in loaded)]
    printout = Printout(source=source)
    if single or not loaded:
        printout.table(build_run_table(single, title=title))  # the title is the table's
    if loaded:
        printout.table(build_scenario_table(loaded, title=None if single else title))
        printout.lines(scenario_notes(loaded))
    return printout


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
        listed = " | ".join(f"{c.name} {fmt.ms_unit(c.median_ms)}{_candidate_score(c)}" for c in timed) or \
            ", ".join(c.name for c in tuning.candidates)
        lines.append(f"tuned {record.short_label}: {listed} -> {tuning.why}")  # why names it
    return lines
