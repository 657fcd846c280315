"""`calib predict`'s library side: walk the model's graph, cost it with a table, and with --check
measure the model with calib's own timing (calib.lifecycle prepare + calib.timing.engine measure).

A prediction record (in the results file's "records", schema of calib.results.schema plus):
  "prediction": {"predicted_ms", "low_ms", "high_ms" (scaled by the machine's speed now, calib.predict.pulse),
                 "unscaled_ms" (at the table's speed), "speed": calib.predict.pulse.speed_scale's dict or null
                 (scaled by the anchors, the interval also holds their spread),
                 "node_sum_ms", "factor", "overhead_ms" (per inference), "drift": the machine's drift between
                 fresh processes inside the interval (+-, a fraction; calib.predict.cost_model.drift_half_width),
                 "table": path,
                 "table_describes": "...", "method": graph walk, "walk_s", "nodes": n, "backend": engine,
                 "complete": false when a node was unpredictable, "unpredictable_flop_share": their FLOPs' share,
                 "uncosted": [{"name", "op_kind", "key", "note", "flops"}],
                 "by_kind": [{"op_kind", "count", "predicted_ms"}], "layers": [{"name", "op_kind", "key",
                 "predicted_ms", "costed", "note"}], "validation": leave-one-model-out of the table}
  without --check the record's status is "skipped" (predicted, not measured); with --check it is "ok" with
  "timing"/"summary" as in `calib run` records: summary.median_ms is the measured median.
"""

from __future__ import annotations

import math

from calib.backends.base import RunConfig
from calib.configuration import Configuration
from calib.errors import UsageError
from calib.lifecycle import fill_measured, mark_unmeasured, new_record, other_cpu_use, prepare
from calib.predict.clock import model_plan, timer_for
from calib.predict.graph_walk import walk
from calib.settings import Int8Settings
from calib.timing.engine import FixedTime, measure
from calib.user_files import call_user


def predict_record(model, view, predictor, batch_size: int, report: dict | None,
                   speed: dict | None = None) -> tuple[dict, object]:
    """(record, Prediction) for one model at one batch size. Not measured, so the record is "skipped" with that
    reason for every reader of results files (calib show, compare); check_record makes it "ok" with its timing.
    `speed` (calib.predict.pulse.speed_scale): when applied, every predicted time is scaled by its "scale"."""
    if view.backend != "torch":  # the engine's own kernel graph, compiled, not run (calib.predict.engines)
        from calib.predict.engines import kernel_model

        graph = kernel_model(view.backend, model, view.precision, batch_size, view.threads).graph()
    elif model.module is None and hasattr(model, "walk"):  # an .onnx graph (calib.predict.onnx_walk)
        graph = model.walk(view.precision, batch_size)
    else:
        graph = walk(model, view.precision, batch_size, view.device)
    prediction = predictor.predict(graph.rows)
    scale = speed["scale"] if speed and speed.get("applied") else 1.0
    low_ms, high_ms = _widened(prediction, (speed or {}).get("spread") or 0.0)
    configuration = Configuration(model.name, view.backend, view.precision, batch_size,
                                  (batch_size, *model.item_shape), view.device)
    record = new_record(configuration, report)
    record["model_weights"] = model.weights
    record.update(status="skipped", reason="predicted by calib predict, not measured (add --check to measure it)")
    targets = {row.get("name"): row.get("target") for row in graph.rows}
    by_kind: dict[str, dict] = {}
    for node in prediction.nodes:
        group = by_kind.setdefault(node.op_kind, {"op_kind": node.op_kind, "count": 0, "predicted_ms": 0.0})
        group["count"] += 1
        group["predicted_ms"] += node.predicted_ms * prediction.factor * scale
    record["prediction"] = {
        "predicted_ms": prediction.predicted_ms * scale, "low_ms": low_ms * scale,
        "high_ms": high_ms * scale, "unscaled_ms": prediction.predicted_ms, "speed": speed,
        "node_sum_ms": prediction.node_sum_ms, "factor": prediction.factor, "overhead_ms": predictor.overhead_ms,
        "drift": math.exp(predictor.drift) - 1, "table": view.path,
        "table_describes": view.description, "emulated": view.emulated, "method": graph.method,
        "walk_s": graph.walk_s, "nodes": len(prediction.nodes), "backend": view.backend,
        "complete": prediction.complete, "unpredictable_flop_share": prediction.unpredictable_flop_share,
        "uncosted": [{"name": n.name, "op_kind": n.op_kind, "key": _finest_key(graph.rows, n.name), "note": n.note,
                      "flops": n.flops} for n in prediction.uncosted],
        "by_kind": sorted(by_kind.values(), key=lambda g: -g["predicted_ms"]),
        "layers": [{"name": n.name, "op_kind": n.op_kind, "target": targets.get(n.name), "key": n.key,
                    "predicted_ms": n.predicted_ms * prediction.factor * scale,
                    "costed": n.costed, "note": n.note} for n in prediction.nodes],
        "validation": predictor.validation,
    }
    return record, prediction


def _widened(prediction, spread: float) -> tuple[float, float]:
    """The interval with the anchors' spread (calib.predict.pulse: how differently the table's models moved,
    log units) added to each side in quadrature: a machine that moved, moved models unequally."""
    if spread <= 0 or prediction.predicted_ms <= 0 or prediction.low_ms <= 0:
        return prediction.low_ms, prediction.high_ms
    down = math.hypot(math.log(prediction.predicted_ms / prediction.low_ms), spread)
    up = math.hypot(math.log(prediction.high_ms / prediction.predicted_ms), spread)
    return prediction.predicted_ms * math.exp(-down), prediction.predicted_ms * math.exp(up)


def _finest_key(rows: list[dict], name: str) -> str | None:
    from calib.predict.features import fallback_keys

    return next((fallback_keys(row)[0] for row in rows if row.get("name") == name), None)


def check_record(record: dict, model, view, batch_size: int, report: dict | None, max_time_s: float = 3.0,
                 fixed_time_s: float | None = None, layers: bool = False) -> None:
    """Measure the model with the table's engine (calib's own backend for it, as `calib run -b ENGINE`) into
    `record`: CiTarget, or a FixedTime block. `layers`: then profile its layers as calibration profiled the table's
    models (record["layers"], as `calib run --layers` keeps them) and compare each with its price in the table
    (record["prediction"]["layers_compared"], compare_layers)."""
    if model.module is None and view.backend == "torch":
        raise UsageError(f"--check: {model.name} is an ONNX graph, which the torch eager backend the table "
                         "describes cannot run; predict it without --check")
    configuration = Configuration.of(record)
    run_config = RunConfig(precision=view.precision, device=view.device, batch_size=batch_size,
                           threads=view.threads,
                           int8=Int8Settings(path="fx") if view.backend == "torch" else Int8Settings())
    plan = model_plan(max_time_s)
    stop = FixedTime(fixed_time_s) if fixed_time_s else plan.stop_rule
    def run() -> None:
        import torch

        with prepare(model, configuration, run_config) as prepared:
            watch = other_cpu_use()
            # inference mode, as `calib run` times it: with autograd on, torch eager records a graph on every call
            # (mobilenet_v2 fp32 b1 ran 35% slower so on the Intel AMX machine kind); the conversion stays outside
            with torch.inference_mode():
                measurement = measure(prepared.run, timer_for(view.clock, prepared), batch_size=batch_size,
                                      stop=stop, warmup=plan.warmup)
            summary = fill_measured(record, prepared, measurement, watch.stop() if watch else None)
            if layers:
                record["layers"] = measured_layers(model, view, prepared, batch_size, summary.median_ms)

    try:  # supervised: sys.exit() in the model's code fails the check (calib.user_files.call_user)
        call_user(run)
        record.update(status="ok", reason=None)
        if layers:
            record["prediction"]["layers_compared"] = compare_layers(record)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - the prediction stays; the check is marked failed
        mark_unmeasured(record, exc)
        record["prediction"]["check_failed"] = record.get("reason")


LAYER_BUDGET_S = 2.0  # torch's per-layer passes, as calibration takes them (calib.predict.calibrate.CalibrationPlan)
WORST = 8  # the layers whose price is furthest off, kept per record


def measured_layers(model, view, prepared, batch_size: int, median_ms: float) -> dict:
    """The model's per-layer table as the table's own models were profiled: torch, calib's per-layer passes on the
    prepared module (calib.predict.clock.profile_layers, retaken once when disturbed); an engine, its profiler's
    per-kernel medians (PERF_COUNT, ORT's node events; retaken when disturbed, calib.predict.engines
    .steady_profile), taken on the model the backend prepared for the timing, as `calib run --layers` takes them:
    nothing is converted or quantized again."""
    if view.backend == "torch":
        from calib.predict.calibrate import layers_pass
        from calib.predict.clock import profile_layers
        from calib.settings import LayerSettings

        return layers_pass(lambda: profile_layers(
            prepared.module, prepared.inputs, median_ms, LayerSettings(budget_s=LAYER_BUDGET_S),
            prepared.call_context, view.clock, view.device), median_ms)
    from calib.predict.engines import steady_profile

    rows, profile = steady_profile(_PreparedProfile(prepared), median_ms, view.backend)
    return {"method": f"{view.backend}-kernels", "layers": rows, **profile}


class _PreparedProfile:
    """An engine backend's own profile of the model it prepared (Prepared.profile_layers), as steady_profile takes
    a kernel model's (profiled_rows)."""

    def __init__(self, prepared):
        self.prepared = prepared

    def profiled_rows(self, end_to_end_ms: float) -> tuple[list[dict], dict]:
        table = self.prepared.profile_layers(end_to_end_ms)
        return table["layers"], {key: table.get(key) for key in ("coverage", "repeats", "pass_s")}


def compare_layers(record: dict) -> dict:
    """Each predicted layer against its measured time, joined by name: the table's price of it (its law, before
    the whole-model factor and the speed scale, as the table's own layers were profiled) and what the profile
    measured, summed per op kind, and the WORST layers by |price - measured|. Layers only one side has are counted
    apart (a layer the profiler folded, a predicted node the engine did not run as its own kernel)."""
    prediction = record["prediction"]
    speed = prediction.get("speed") or {}
    scale = (prediction.get("factor") or 1.0) * (speed.get("scale", 1.0) if speed.get("applied") else 1.0)
    from calib.predict.onnxruntime_kernels import join_by_name  # pure: names, then unnamed nodes per op type

    profiled = [row for row in (record.get("layers") or {}).get("layers") or [] if row.get("median_ms") is not None]
    measured = join_by_name(prediction.get("layers") or [], profiled)
    by_kind: dict[str, dict] = {}
    pairs, predicted_only = [], 0
    for layer in prediction.get("layers") or []:
        if layer["name"] not in measured:
            predicted_only += 1
            continue
        price = layer["predicted_ms"] / scale if scale else layer["predicted_ms"]
        pairs.append({"name": layer["name"], "op_kind": layer["op_kind"], "key": layer.get("key"),
                      "price_ms": price, "measured_ms": measured[layer["name"]], "costed": layer.get("costed", True)})
        group = by_kind.setdefault(layer["op_kind"], {"op_kind": layer["op_kind"], "count": 0, "price_ms": 0.0,
                                                      "measured_ms": 0.0})
        group["count"] += 1
        group["price_ms"] += price
        group["measured_ms"] += measured[layer["name"]]
    profile = record.get("layers") or {}
    return {"matched": len(pairs), "predicted_only": predicted_only, "passes": profile.get("passes"),
            "scaled_from_ms": profile.get("scaled_from_ms"), "measured_only": len(profiled) - len(pairs),
            "price_ms": sum(p["price_ms"] for p in pairs), "measured_ms": sum(p["measured_ms"] for p in pairs),
            "end_to_end_ms": (record.get("summary") or {}).get("median_ms"), "factor": scale,
            "by_kind": sorted(by_kind.values(), key=lambda g: -abs(g["price_ms"] - g["measured_ms"])),
            "worst": sorted(pairs, key=lambda p: -abs(p["price_ms"] - p["measured_ms"]))[:WORST]}


def check_failures(records: list[dict]) -> list[str]:
    """One line per batch size whose --check measurement failed: `calib predict --check` exits 1."""
    return [f"--check of b{record['identity']['batch_size']} failed: {record['prediction']['check_failed']}"
            for record in records if (record.get("prediction") or {}).get("check_failed")]


def error_of(record: dict) -> float | None:
    """predicted / measured - 1, when both exist."""
    measured = (record.get("summary") or {}).get("median_ms")
    predicted = (record.get("prediction") or {}).get("predicted_ms")
    return predicted / measured - 1 if measured and predicted else None
