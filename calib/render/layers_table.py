"""Per-layer tables: the slowest layers, totals by op kind, and two precisions side by side.

Rows are read from stored records (Record.layers, see calib.layers.table); nothing
here runs a model. The builders take calib.results.record.Record (or the dicts calib run holds).
"""

from __future__ import annotations

from rich.text import Text

from calib import format as fmt
from calib.render.fit import Fitted, light_table
from calib.results.record import Record, as_record, as_records

DEFAULT_TOP = 15
# Left out first, in this order, where the terminal is too narrow (calib.render.fit).
DROPPABLE = ("GFLOP/s", "p90", "output", "compute")
SEE_DROPPED = "`calib layers FILE` on a wider terminal or --layers-csv has them"
LAYER_WIDTH = 16  # layer names wrap (long ones fold) down to this width


def coverage_line(table: dict) -> str:
    """How well the rows account for the end-to-end time, in one line."""
    parts = [f"method {table.get('method')}"]
    # Plain runs interleaved with the passes are the fair denominator on a drifting machine: lead with them.
    if table.get("coverage_interleaved") is not None:
        parts.append(f"layers sum {fmt.ms_unit(table.get('sum_ms'))} = {100 * table['coverage_interleaved']:.0f}% of "
                     f"{fmt.ms_unit(table.get('interleaved_end_to_end_ms'))} end-to-end measured between passes")
        if table.get("coverage") is not None:
            parts.append(f"{100 * table['coverage']:.0f}% of the sweep's {fmt.ms_unit(table.get('end_to_end_ms'))}")
    elif table.get("coverage") is not None:
        parts.append(f"layers sum {fmt.ms_unit(table.get('sum_ms'))} = {100 * table['coverage']:.0f}% of "
                     f"end-to-end {fmt.ms_unit(table.get('end_to_end_ms'))}")
    if table.get("instrumented_ms") is not None:
        parts.append(f"a timed pass took {fmt.ms_unit(table['instrumented_ms'])}")
    if table.get("overhead_correction_ms_per_node") is not None:
        how = " (measured in this model)" if (table.get("mark_cost_in_situ_ms") or 0) > (
            table.get("mark_cost_empty_graph_ms") or 0) else ""
        parts.append(f"{1000 * table['overhead_correction_ms_per_node']:.2f} us/layer timer cost{how} subtracted")
    if table.get("repeats") is not None:
        parts.append(f"{table['repeats']} passes in {table.get('pass_s') or 0:.1f} s")
    if table.get("trace_error"):
        parts.append(f"fx could not trace ({table['trace_error']})")
    return "; ".join(parts)


def rough_note(*named_tables) -> str:
    """"; ROUGH: layers sum 326% of end-to-end" for a table title, where a layer table's rows do not add
    up to end-to-end within +-25% (calib.layers.table.layer_sum_off): said in the header, where the
    per-layer numbers are read, not under them. `named_tables`: (name or "", layer table) pairs."""
    from calib.layers.table import layer_sum_off

    off = [f"{name} {layer_sum_off(table)}".strip() for name, table in named_tables if layer_sum_off(table)]
    return f"; ROUGH: {', '.join(off)}" if off else ""


def build_layer_table(record: Record | dict, top: int | None = DEFAULT_TOP) -> Fitted:
    from calib.layers.table import top_layers

    record = as_record(record)
    table = record.layers
    rows = top_layers(table, top)
    shown = f"top {len(rows)} of {len(record.layer_rows)}" if top is not None else "all"
    result = light_table(f"{record.label}: slowest layers ({shown}){rough_note(('', table))}",
                         caption=coverage_line(table), caption_justify="left")
    # "ms" is the layer's time in the median passes (see calib.layers.passes.build_table).
    for name in ("layer", "kind", "output", "compute", "ms", "p90", "share", "GFLOP/s", "flag"):
        result.add_column(name, justify="right" if name in ("ms", "p90", "share", "GFLOP/s") else "left",
                          no_wrap=name not in ("layer", "flag"), min_width=LAYER_WIDTH if name == "layer" else None,
                          overflow="fold")
    for row in rows:
        flag = row.get("flag")
        result.add_row(row.get("name") or "", row.get("op_kind") or "", _shape(row.get("output_shape")),
                       _dtype(row.get("compute_dtype")), fmt.ms(row.get("median_ms")), fmt.ms(row.get("p90_ms")), _percent(row.get("share")), _gflops(row.get("gflops")),
                       Text(flag or "", style="bold yellow"), style="yellow" if flag else None)
    return Fitted(result, DROPPABLE, where=SEE_DROPPED)


def build_kind_table(record: Record | dict) -> Fitted:
    record = as_record(record)
    table = record.layers
    result = light_table(f"{record.label}: by op kind{rough_note(('', table))}")
    for name in ("kind", "layers", "ms", "share", "GFLOP/s"):
        result.add_column(name, justify="left" if name == "kind" else "right", no_wrap=True)
    for group in table.get("by_kind") or []:
        result.add_row(group["op_kind"], str(group["count"]), fmt.ms(group["median_ms"]), _percent(group.get("share")),
                       _gflops(group.get("gflops")))
    return Fitted(result)


def build_compare_table(baseline: Record | dict, record: Record | dict, top: int | None = DEFAULT_TOP) -> Fitted:
    """Layers of `record` beside the same layers of `baseline`, the ones slowed most first."""
    from calib.layers.table import compare_tables

    baseline, record = as_record(baseline), as_record(record)
    base_precision, precision = baseline.precision, record.precision
    pairs = compare_tables(baseline.layers, record.layers)
    rows = pairs if top is None else pairs[:top]
    rough = rough_note((base_precision, baseline.layers), (precision, record.layers))
    result = light_table(f"{record.label} vs {base_precision}: layers by time added{rough}")
    for name in ("layer", "kind", f"{base_precision} ms", f"{precision} ms", "speed-up", "added ms", "compute",
                 "flag"):
        result.add_column(name, justify="right" if name.endswith(("ms", "up")) else "left",
                          no_wrap=name not in ("layer", "flag"), min_width=LAYER_WIDTH if name == "layer" else None,
                          overflow="fold")
    for pair in rows:
        speedup = pair.get("speedup")
        style = "red" if speedup is not None and speedup < 1 else ("green" if speedup and speedup > 1 else None)
        compute = f"{_dtype(pair.get('baseline_compute_dtype'))} -> {_dtype(pair.get('compute_dtype'))}"
        result.add_row(pair["name"], pair.get("op_kind") or "", fmt.ms(pair.get("baseline_ms")),
                       fmt.ms(pair.get("median_ms")), Text(fmt.ratio(speedup), style=style or ""),
                       fmt.ms(pair.get("added_ms")) if (pair.get("added_ms") or 0) >= 0
                       else f"-{fmt.ms(-pair['added_ms'])}", compute, pair.get("flag") or "")
    return Fitted(result, ("compute",), where=SEE_DROPPED)


def layer_blocks(records: list[Record | dict], top: int | None = DEFAULT_TOP) -> list:
    """What `calib run --layers` prints after the run table: per configuration, layers then kinds (or
    why there is no table), as calib.render.printout blocks."""
    from calib.render.printout import Line

    blocks = []
    for record in as_records(records):
        table = record.layers
        if not record.ok or not table:
            continue
        if not record.has_layers:
            why = table.get("reason") or table.get("method")
            blocks.append(Line(f"{record.label}: no per-layer table ({why})"))
            continue
        blocks += [build_layer_table(record, top), build_kind_table(record)]
    return blocks


def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _gflops(value) -> str:
    return "-" if not value else (f"{value:.1f}" if value < 100 else f"{value:.0f}")


def _dtype(name) -> str:
    from calib.dtypes import short_name

    return short_name(name, missing="-")


def _shape(value) -> str:
    if isinstance(value, list):
        return "x".join(str(d) for d in value)
    return value or ""
