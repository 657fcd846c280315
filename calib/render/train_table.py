"""The tables `calib train` (and `calib show` on a train results file) prints: one row per precision
with speed, memory and loss fidelity against the baseline, and the per-layer forward/backward
table of every precision side by side (--layers). The builders take calib.results.record.Record
(or the dicts calib train holds); a record's "training" section stays a mapping (calib.train.record)."""

from __future__ import annotations

import statistics

from rich.text import Text

from calib.compare.ratios import median_ratio
from calib.dtypes import short_name
from calib import format as fmt
from calib.render.fit import Fitted, light_table
from calib.render.layers_table import coverage_line, rough_note
from calib.render.printout import Printout
from calib.results.record import Record, as_records

DROPPABLE = ("fwd", "bwd", "opt", "NaN", "scaler", "Δ mem", "peak mem", "dtypes w/g/opt/mm")
SEE_DROPPED = "`calib show FILE` on a wider terminal or the JSON has them"
LAYER_ROWS = 15


def is_train_result(records: list[Record | dict]) -> bool:
    return bool(records) and all(record.is_training for record in as_records(records))


def _baseline(records: list[Record]) -> Record | None:
    """The baseline configuration: the baseline precision without activation checkpointing."""
    names = {r.training.get("baseline") for r in records if r.ok} - {None}
    name = next(iter(names), None)
    return next((r for r in records if r.precision == name and r.ok and not r.identity.variant), None)


def _label(record: Record) -> str:
    """The precision with its checkpointing setting where there is one: amp-bf16+ac-full."""
    return record.identity.precision_label


def _median(values) -> float | None:
    return statistics.median(values) if values else None


def _dtypes(record: Record) -> str:
    dtypes = record.training.get("dtypes") or {}

    def one(key):
        values = dtypes.get(key)
        if isinstance(values, list):
            return "+".join(short_name(v) for v in values) or "-"
        return short_name(values, missing="-")
    return "/".join(one(key) for key in ("weights", "grads", "optimizer_state", "compute"))


def _delta(value, base) -> str:
    if value is None or not base:
        return "-"
    change = 100 * (value / base - 1)
    return f"{change:+.1f}%"


def _peak(record: Record) -> int | None:
    memory = record.training.get("memory")
    return memory.get("peak_bytes") if memory else None


def _rate(record: Record) -> tuple[float | None, str]:
    training = record.training
    if training.get("tokens_per_s") is not None:
        return training["tokens_per_s"], "tok/s"
    return training.get("samples_per_s"), "samples/s"


def _accuracy(record: Record) -> str:
    if record.fidelity_failed:  # said in words: logs have no colour
        return f"FAIL {_accuracy_figures(record)}"
    return _accuracy_figures(record)


def _accuracy_figures(record: Record) -> str:
    evaluation = record.training.get("eval") or {}
    if evaluation.get("int8_accuracy") is not None:
        return f"{100 * evaluation['accuracy']:.1f}% fq, {100 * evaluation['int8_accuracy']:.1f}% int8"
    if evaluation.get("accuracy") is not None:
        return f"{100 * evaluation['accuracy']:.1f}%"
    return "-"


def _scaler(record: Record) -> str:
    scaler = record.training.get("grad_scaler")
    if not scaler:
        return "-"
    last = scaler["scale"][-1] if scaler.get("scale") else None
    return f"{scaler['skipped']} skip, {last:g}" if last is not None else f"{scaler['skipped']} skip"


def build_train_table(records: list[Record | dict], title: str | None = None) -> Fitted:
    records = as_records(records)
    base = _baseline(records)
    base_rate = _rate(base)[0] if base else None
    base_peak = _peak(base) if base else None
    unit = _rate(records[0])[1] if records and records[0].ok else "samples/s"
    table = light_table(title)
    columns = ["precision", "hw", "dtypes w/g/opt/mm", "ms/step", "fwd", "bwd", "opt", unit,
               f"Δ {unit}", "peak mem", "Δ mem", "final loss", "max |Δloss|", "accuracy", "scaler", "NaN"]
    for name in columns:
        left = name in ("precision", "hw", "dtypes w/g/opt/mm", "accuracy", "scaler")
        table.add_column(name, justify="left" if left else "right", no_wrap=name != "accuracy", overflow="fold")
    for number, record in enumerate(records):
        precision = _label(record)
        verdict = record.verdict_status or "?"
        style_of = {"native": "green", "emulated": "bold yellow", "unsupported": "red"}
        hw = Text(verdict, style=style_of.get(verdict, "dim"))
        if not record.ok:
            table.add_row(precision, hw, "-", record.status or "?",
                          *[""] * (len(columns) - 4), style="red" if record.status == "failed" else "dim")
            continue
        training, summary = record.training, record.summary
        phases = training.get("phases_ms") or {}
        rate, _ = _rate(record)
        nonfinite = training.get("nonfinite") or {}
        nan_steps = len(nonfinite.get("loss_steps") or [])
        deviation = training.get("loss_max_deviation")
        is_base = record is base
        table.add_row(
            precision + (" (base)" if is_base else ""), hw, _dtypes(record),
            _marked(fmt.ms(summary.median_ms if summary else None), busy=record.busy),
            fmt.ms(_median(phases.get("forward"))), fmt.ms(_median(phases.get("backward"))),
            fmt.ms(_median(phases.get("optimizer"))), fmt.rate(rate),
            "-" if is_base else _rate_delta(record, base, rate, base_rate), fmt.size(_peak(record)),
            "-" if is_base else _delta(_peak(record), base_peak),
            _loss(training.get("final_loss")), "-" if deviation is None or is_base else _loss(deviation),
            _accuracy(record), _scaler(record), str(nan_steps) if nan_steps else "0",
            style="yellow" if verdict == "emulated" else None)
    return Fitted(table, DROPPABLE, where=SEE_DROPPED)


def _marked(text: str, busy: bool = False, not_significant: bool = False) -> Text:
    """A figure with what stops it carrying a conclusion, in its own cell: n.s., busy."""
    cell = Text(text, style="dim" if not_significant else "")
    if not_significant:
        cell.append(" n.s.")
    if busy:
        cell.append(" busy", style="bold yellow")
    return cell


def _rate_delta(record: Record, base: Record | None, rate, base_rate) -> Text | str:
    """Δ samples/s against the baseline; n.s. where the 95% bootstrap interval of the step times' ratio
    (calib.compare.ratios, from both records' raw samples) holds 1, busy where either was timed busy."""
    text = _delta(rate, base_rate)
    if base is None or text == "-" or not record.summary or not base.summary:
        return text
    estimate = median_ratio(record.samples_ms, base.samples_ms, record.summary.median_ms, base.summary.median_ms)
    return _marked(text, busy=record.busy or base.busy, not_significant=estimate.crosses_one)


def _loss(value) -> str:
    if value is None:
        return "-"
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def note_lines(records: list[Record | dict]) -> list[str]:
    """Skips and failures with their reasons, the evidence behind every emulated verdict, what the
    dtype column and the memory figure mean, and the data the steps ran on."""
    records = as_records(records)
    lines = []
    ok = [r for r in records if r.ok]
    for record in records:
        precision = _label(record)
        if not record.ok:
            lines.append(f"{precision} {record.unmeasured_reason}")
        if record.verdict_status == "emulated":
            lines.append(f"{precision} is emulated on this device: {record.verdict.evidence}")
    for record in ok:
        training = record.training
        if record.precision == "int8-qat" and training.get("qat_overhead"):
            qat = record.backend_info.get("qat") if record.backend_info else None
            qat, evaluation = qat or {}, training.get("eval") or {}
            lines.append(f"int8-qat: a step takes {training['qat_overhead']:.2f}x fp32's "
                         f"({qat.get('fake_quant_modules', '?')} fake-quant modules, engine {qat.get('engine')}); "
                         f"converted to int8 in {evaluation.get('convert_s') or 0:.2f} s")
        if training.get("compile_s") is not None:
            lines.append(f"{_label(record)}: torch.compile took {training['compile_s']:.1f} s "
                         "(the first, warm-up step)")
    if ok:
        first = ok[0].training
        settings = first.get("settings") or {}
        memory = first.get("memory") or {}
        base = _baseline(records)
        against = _label(base) if base else "-"
        lines.append(f"dtypes: weights/grads/optimizer state/matmul-conv compute, read from the tensors; "
                     f"peak mem: {memory.get('peak_kind')}; Δ against {against}")
        lines.append(f"{settings.get('steps')} steps ({settings.get('warmup_steps')} warm-up) of batch "
                     f"{settings.get('batch_size')}, {settings.get('optimizer')} lr {settings.get('lr'):g}, "
                     f"seed {settings.get('seed')}, same initial weights ({first['task'].get('init')}) and batches "
                     f"for every precision: {first['task'].get('data')}")
    return lines


def warning_lines(records: list[Record | dict]) -> list[str]:
    return [f"{label}: {warning}" for label, warning in warning_pairs(records)]


def warning_pairs(records: list[Record | dict]) -> list[tuple[str, str]]:
    return [(_label(record), warning) for record in as_records(records) for warning in record.warnings]


def build_train_layers_table(records: list[Record | dict], top: int | None = LAYER_ROWS) -> Fitted | None:
    """Per-module forward and backward ms of every precision with a layer table, side by side, the
    baseline's slowest layers first; speed-up = baseline's fwd+bwd / this precision's."""
    with_layers = [r for r in as_records(records) if r.ok and r.has_layers]
    if not with_layers:
        return None
    base = _baseline(with_layers) or with_layers[0]
    by_name = {id(r): {row["name"]: row for row in r.layer_rows} for r in with_layers}
    names = [row["name"] for row in sorted(base.layer_rows, key=lambda row: -(row.get("median_ms") or 0))]
    extra = [row["name"] for r in with_layers for row in r.layer_rows if row["name"] not in names]
    names += list(dict.fromkeys(extra))
    if top is not None:
        names = names[:top]
    base_name = base.precision
    rough = rough_note(*[(record.precision, record.layers) for record in with_layers])
    table = light_table(f"{base.identity.model}: forward / backward ms per layer and training step "
                        f"(slowest {len(names)} in {base_name}){rough.replace('end-to-end', 'the step')}")
    table.add_column("layer", no_wrap=False, overflow="fold", min_width=14)
    table.add_column("kind", no_wrap=True)
    for record in with_layers:
        precision = record.precision
        table.add_column(f"{precision} fwd", justify="right", no_wrap=True)
        table.add_column(f"{precision} bwd", justify="right", no_wrap=True)
        if record is not base:
            table.add_column(f"{precision} vs {base_name}", justify="right", no_wrap=True)
    for name in names:
        base_row = by_name[id(base)].get(name) or {}
        cells = [name, base_row.get("op_kind") or next(
            (by_name[id(r)][name].get("op_kind") for r in with_layers if name in by_name[id(r)]), "")]
        for record in with_layers:
            row = by_name[id(record)].get(name)
            cells += [fmt.ms(row.get("forward_ms")) if row else "-", fmt.ms(row.get("backward_ms")) if row else "-"]
            if record is not base:
                ratio = (base_row.get("median_ms") / row["median_ms"]
                         if row and base_row.get("median_ms") and row.get("median_ms") else None)
                style = "red" if ratio is not None and ratio < 1 else ("green" if ratio and ratio > 1 else "")
                cells.append(Text(fmt.ratio(ratio), style=style))
        table.add_row(*cells)
    totals = ["total (layers)", ""]
    for record in with_layers:
        layers = record.layers
        totals += [fmt.ms(layers.get("forward_sum_ms")), fmt.ms(layers.get("backward_sum_ms"))]
        if record is not base:
            ratio = base.layers["sum_ms"] / layers["sum_ms"] if layers.get("sum_ms") else None
            totals.append(fmt.ratio(ratio))
    table.add_row(*totals, style="bold")
    return Fitted(table, where="--layers-csv or the JSON has every layer")


def layer_coverage_lines(records: list[Record | dict]) -> list[str]:
    return [f"{record.precision}: {coverage_line(record.layers)}" for record in as_records(records)
            if record.ok and record.has_layers]


def train_printout(records: list[Record | dict], title: str | None = None, source: str | None = None) -> Printout:
    """The run table, the layer table (when there is one), then warnings grouped by kind and notes."""
    records = as_records(records)
    from calib.render.run_table import tuning_lines

    printout = Printout(source=source).table(build_train_table(records, title)).table(
        build_seed_table(records)).table(build_train_layers_table(records))
    return (printout.lines(layer_coverage_lines(records)).warnings(warning_pairs(records)).lines(note_lines(records))
            .lines(tuning_lines(records), "detail").lines(checkpointing_lines(records), "detail"))


def _checkpointing(record: Record) -> str:
    variant = record.identity.variant or ""
    return variant[len("ac-"):] if variant.startswith("ac-") else "none"


def _compiled(record: Record) -> str:
    settings = record.training.get("settings") or {}
    return "yes" if settings.get("compile") else "no"


def build_seed_table(records: list[Record | dict]) -> Fitted | None:
    """Seed 002's table: per configuration (precision, activation checkpointing, compiled or not) the
    throughput and peak memory, and both as deltas against the baseline configuration. Shown where the
    sweep has more than one checkpointing setting or a compiled configuration (the main table has the
    same figures otherwise)."""
    records = as_records(records)
    ok = [r for r in records if r.ok]
    if not ok or not any(r.identity.variant or _compiled(r) == "yes" for r in records):
        return None
    base = _baseline(records)
    base_rate = _rate(base)[0] if base else None
    base_peak = _peak(base) if base else None
    unit = _rate(ok[0])[1]
    against = f"{_label(base)}, no checkpointing" if base else "no baseline"
    table = light_table(f"throughput and peak memory against the baseline ({against})")
    for name in ("precision", "activation checkpointing", "compile", unit, f"Δ {unit}", "peak memory",
                 "Δ peak memory"):
        table.add_column(name, justify="left" if name in ("precision", "activation checkpointing", "compile")
                         else "right", no_wrap=True)
    for record in records:
        if not record.ok:
            table.add_row(record.precision, _checkpointing(record), "-", record.status or "?", "", "", "",
                          style="dim")
            continue
        rate, is_base = _rate(record)[0], record is base
        table.add_row(record.precision + (" (base)" if is_base else ""), _checkpointing(record), _compiled(record),
                      fmt.rate(rate), "-" if is_base else _delta(rate, base_rate), fmt.size(_peak(record)),
                      "-" if is_base else _delta(_peak(record), base_peak))
    return Fitted(table)


def checkpointing_lines(records: list[Record | dict]) -> list[str]:
    """Which blocks each checkpointed configuration recomputes (calib.train.checkpointing)."""
    lines = []
    for record in as_records(records):
        info = (record.backend_info or {}).get("activation_checkpointing") if record.ok else None
        if info and info.get("blocks"):
            lines.append(f"{_label(record)}: {info['blocks']} of {info['of_blocks']} {info['block_kind']} blocks "
                         f"recomputed in backward ({info['rule']}, {info['method']})")
    return lines
