"""Tables of `calib predict` and `calib calibrate`: predicted (and measured) latency per model, the
predicted per-layer breakdown, and what a calibration measured. Read from records; nothing runs."""

from __future__ import annotations

from rich.table import Table

from calib.configuration import Configuration
from calib.environment import OtherCpuUse
from calib import format as fmt
from calib.render.fit import Fitted, light_table

DEFAULT_TOP = 10


def build_prediction_table(records: list[dict], title: str) -> Fitted:
    table = light_table(title)
    for name in ("model", "precision", "batch", "predicted ms", "interval ms", "measured ms", "error", "nodes",
                 "uncosted"):
        table.add_column(name, justify="left" if name in ("model", "precision") else "right", no_wrap=True)
    for record in records:
        identity, prediction = record["identity"], record.get("prediction") or {}
        measured = (record.get("summary") or {}).get("median_ms")
        predicted = prediction.get("predicted_ms")
        error = f"{100 * (predicted / measured - 1):+.1f}%" if measured and predicted else "-"
        busy = " busy" if OtherCpuUse.busy(record.get("other_cpu_percent")) else ""  # --check timed on a busy machine
        # an incomplete prediction (unpredictable kernels charged their overhead only) is a lower bound
        lower_bound = ">=" if prediction.get("complete") is False else ""
        table.add_row(identity["model"], identity["precision"], str(identity["batch_size"]),
                      lower_bound + fmt.ms(predicted),
                      f"{fmt.ms(prediction.get('low_ms'))}-{fmt.ms(prediction.get('high_ms'))}",
                      fmt.ms(measured) + (busy if measured else ""), error + (busy if measured else ""), str(prediction.get("nodes", "-")), str(len(prediction.get("uncosted") or [])))
    return Fitted(table, droppable=("uncosted", "nodes"))


def build_breakdown_table(record: dict, top: int | None = DEFAULT_TOP) -> Table:
    """The predicted cost by op kind, then the `top` most expensive nodes."""
    prediction = record["prediction"]
    label = Configuration.of(record).short_label
    table = light_table(f"{label}: predicted cost by op kind")
    for name in ("kind", "nodes", "predicted ms", "share"):
        table.add_column(name, justify="left" if name == "kind" else "right", no_wrap=True)
    total = prediction.get("predicted_ms") or 0.0
    for group in prediction.get("by_kind") or []:
        share = group["predicted_ms"] / total if total else None
        table.add_row(group["op_kind"], str(group["count"]), fmt.ms(group["predicted_ms"]),
                      f"{100 * share:.0f}%" if share is not None else "-")
    return table


def build_top_nodes_table(record: dict, top: int | None = DEFAULT_TOP) -> Fitted:
    prediction = record["prediction"]
    rows = sorted(prediction.get("layers") or [], key=lambda row: -row["predicted_ms"])
    rows = rows if top is None else rows[:top]
    table = light_table(f"{Configuration.of(record).short_label}: most expensive nodes (top {len(rows)} of "
                        f"{len(prediction.get('layers') or [])})")
    for name in ("node", "kind", "table entry", "predicted ms", "note"):
        table.add_column(name, justify="right" if name == "predicted ms" else "left",
                         no_wrap=name in ("predicted ms", "kind"), overflow="fold")
    for row in rows:
        table.add_row(row["name"], row["op_kind"], row["key"], fmt.ms(row["predicted_ms"]), row.get("note") or "")
    return Fitted(table, droppable=("note", "table entry"))


def build_layers_compared_table(record: dict) -> Fitted:
    """`calib predict --check --layers`: per op kind, the table's price of its layers against their profiled times,
    then the layers priced furthest off (calib.predict.predictor.compare_layers)."""
    compared = record["prediction"]["layers_compared"]
    table = light_table(f"{Configuration.of(record).short_label}: the table's price of each layer against its "
                        "profiled time (by op kind, then the furthest off)")
    for name in ("kind / layer", "layers", "table ms", "profiled ms", "off", "table entry"):
        table.add_column(name, justify="left" if name in ("kind / layer", "table entry") else "right",
                         no_wrap=name != "table entry", overflow="fold")
    for group in compared["by_kind"]:
        table.add_row(group["op_kind"], str(group["count"]), fmt.ms(group["price_ms"]), fmt.ms(group["measured_ms"]),
                      _off(group["price_ms"], group["measured_ms"]), "")
    for layer in compared["worst"]:
        table.add_row(f"  {layer['name']}", layer["op_kind"], fmt.ms(layer["price_ms"]), fmt.ms(layer["measured_ms"]),
                      _off(layer["price_ms"], layer["measured_ms"]),
                      (layer.get("key") or "") + ("" if layer.get("costed", True) else " (unpredictable)"))
    return Fitted(table, droppable=("table entry",))


def layers_compared_line(compared: dict) -> str:
    """What the comparison covers and how its sum relates to the end-to-end prediction."""
    apart = [f"{compared['predicted_only']} predicted node(s) the profile has no row for"] * bool(
        compared["predicted_only"]) + [f"{compared['measured_only']} profiled row(s) the prediction has no node for"
                                       ] * bool(compared["measured_only"])
    end_to_end = compared.get("end_to_end_ms")
    return (f"layers: {compared['matched']} matched by name, summing to {fmt.ms(compared['price_ms'])} ms priced and "
            f"{fmt.ms(compared['measured_ms'])} ms profiled ({_off(compared['price_ms'], compared['measured_ms'])})"
            + (f"; the end-to-end {fmt.ms(end_to_end)} ms measured" if end_to_end else "")
            + f"; the prediction is the priced sum x the whole-model factor {compared['factor']:.3f}"
            + (f"; apart: {', '.join(apart)}" if apart else "")
            + (f"; the profile took {compared['passes']} passes (its kernels summed far from the end-to-end)"
               if (compared.get("passes") or 1) > 1 else "")
            + (f"; its rows scaled to the end-to-end from {fmt.ms(compared['scaled_from_ms'])} ms"
               if compared.get("scaled_from_ms") else ""))


def _off(price: float, measured: float) -> str:
    return f"{100 * (price / measured - 1):+.0f}%" if measured else "-"


def build_calibration_table(per_precision: dict, title: str, engine: str = "torch") -> Table:
    """torch: ops of the isolated sweep; an engine: kernels profiled in real models, candidates left out,
    seconds reading their kernel graphs (calib.predict.engine_calibrate)."""
    table = light_table(title)
    names = (("ops timed", "left out", "sweep s") if engine == "torch" else
             ("kernels timed", "models left out", "graphs s"))
    for name in ("precision", *names, "model records", "models s", "total s", "note"):
        table.add_column(name, justify="left" if name in ("precision", "note") else "right", no_wrap=name != "note")
    for precision, figures in per_precision.items():
        notes = ["emulated on this CPU: the table describes emulated timings"] * bool(figures.get("emulated"))
        if OtherCpuUse.busy(figures.get("other_cpu_percent")):  # said in the row its timings are in
            notes.append(f"BUSY: other processes used {figures['other_cpu_percent']:.0f}% of a core: timings too "
                         "slow, recalibrate on an idle machine")
        note = "; ".join(notes)
        table.add_row(precision, str(figures["ops"]), str(figures["skipped"]), f"{figures['sweep_s']:.1f}",
                      str(figures["models"]), f"{figures['models_s']:.1f}", f"{figures['elapsed_s']:.1f}", note)
    return table
