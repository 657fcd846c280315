"""`calib calibrate --backend openvino|onnxruntime`: a kernel table of an engine, measured on real models.

Why real models and not an op sweep: an engine's unit of cost is its fused kernel (conv+bias+add+relu,
a quantized conv with its requantize), which exists only where a real architecture puts it; the
kernels of real models are the samples "where real architectures put them". Per precision:

1. Candidates (--model, in the order given) are compiled (not run) to read their kernel graphs.
2. Adaptive choice, within --budget-s (of measuring; reading the graphs, which exports each candidate to
   ONNX once, is counted apart and reported): the first candidate is measured; each next one is the candidate
   whose kernels the current table knows worst: the share of its kernels whose key the table has never
   seen, plus the predicted-time-weighted error of the laws its kernels fall under (how far the law's
   samples sit from it). So measurements go where the fitted law's error is largest.
3. A measured candidate: at each batch size, the end-to-end median (calib.timing.engine, no counters)
   and every kernel's time from the engine's profiler (PERF_COUNT / ORT's node events), as one record; a
   profile whose kernels sum far from that median is taken again (calib.predict.engines.steady_profile).
4. Every measured candidate timed again end to end in --revisits more fresh processes, as torch's tables
   (calib.predict.calibrate.revisit): the table prices each at the median process, its kernels scaled with it,
   and the spread between processes widens the interval.

The table (calib.predict.table) is the same file as torch's, its "backend" the engine; its "ops" are empty
and its samples are the records' kernel rows (with --from, also another device's, scaled:
calib.predict.transfer). Rewritten after every model: an interrupted run keeps them.
"""

from __future__ import annotations

import math
import time
from functools import partial

from calib.configuration import Configuration
from calib.environment import capture
from calib.hardware import device_report, verdict_for
from calib.lifecycle import mark_unmeasured, new_record, other_cpu_use
from calib.predict.clock import model_plan
from calib.predict.cost_model import ModelSample, fit_cost_model, model_samples
from calib.predict.engines import check_engine, kernel_model, steady_profile
from calib.predict.models import load_named
from calib.predict.pulse import pulse_ms
from calib.predict.table import TABLE_VERSION, device_name
from calib.predict.transfer import source_models, transferred_rows
from calib.results.store import ResultWriter

UNSEEN_WEIGHT = 1.0  # a kernel of a key the table never saw counts as a 100% error


def calibrate_engine(plan, engine: str, out_path, on_item=None, on_open=None):
    """`plan`: calib.predict.calibrate.CalibrationPlan (precisions, threads, models, batch sizes, budget_s)."""
    from calib.predict.calibrate import CalibrationReport, writing_table

    check_engine(engine, plan.precisions)
    started = time.perf_counter()
    report = device_report()
    environment = capture(plan.threads, report)
    writer = ResultWriter(out_path, environment, report)
    if on_open is not None:
        on_open(writer)
    section = {"table_version": TABLE_VERSION, "device": "cpu", "device_name": device_name(environment, "cpu"),
               "backend": engine, "threads": plan.threads, "clock": "wall", "sweep": "models", "tables": {},
               "elapsed_s": None}
    writer.payload["calibration"] = section
    result = CalibrationReport(str(writer.path), 0.0)
    loaded = {name: load_named(name) for name in plan.models}
    with writing_table(writer, section, result, started):
        per_precision = len(loaded) * len(plan.batch_sizes)
        total = per_precision * len(plan.precisions)
        for position, precision in enumerate(plan.precisions):
            def item(index, phase, label, first=position * per_precision):
                if on_item is not None:
                    on_item(first + index, total, phase, label)

            section["tables"][precision] = _precision(plan, engine, precision, loaded, writer, report, item)
            table = section["tables"][precision]
            result.per_precision[precision] = {
                "ops": table["kernel_samples"], "skipped": len(table["left_out"]), "sweep_s": table["graphs_s"],
                "models_s": table["models_s"], "elapsed_s": table["elapsed_s"], "models": table["model_records"],
                "emulated": table["emulated"], "other_cpu_percent": table["other_cpu_percent"]}
    return result


def _precision(plan, engine, precision, loaded, writer, report, on_item) -> dict:
    from calib.predict.calibrate import measure_apart, most_percent, revisit

    started = time.perf_counter()
    verdict = verdict_for(report, "cpu", precision)
    emulated = bool(verdict and verdict.get("status") == "emulated")
    table = {"precision": precision, "verdict": verdict, "emulated": emulated,
             "ops": [], "op_count": 0, "skipped": [], "selection": [], "left_out": [], "kernel_samples": 0,
             "model_records": 0, "graphs_s": 0.0, "models_s": 0.0, "elapsed_s": None, "other_cpu_percent": None,
             "speed_pulses_ms": []}
    writer.payload["calibration"]["tables"][precision] = table
    graphs, measured = {}, []
    source, source_device = ([], None) if not plan.from_table else source_models(plan.from_table, engine, precision)
    graph_s = 0.0
    for name, model in loaded.items():  # kernel graphs at batch 1: what each candidate would add
        graph_started = time.perf_counter()
        try:
            graphs[name] = kernel_model(engine, model, precision, 1, plan.threads).graph().rows
        except Exception as exc:  # noqa: BLE001 - a candidate that cannot compile is left out, said
            table["left_out"].append(f"{name}: {type(exc).__name__}: {str(exc)[:160]}")
        graph_s += time.perf_counter() - graph_started
    table["graphs_s"] = graph_s
    remaining = [name for name in loaded if name in graphs]
    models_started = time.perf_counter()
    others = []  # each record's neighbours, watched in its own process (here, this one's child would count)
    index = 0
    while remaining and time.perf_counter() - models_started < plan.budget_s:
        gap = gap_scorer(source + measured)  # one fit per choice, every candidate scored against it
        scores = {name: gap(graphs[name]) for name in remaining}
        name = remaining[0] if not (source or measured) else max(remaining, key=lambda n: scores[n])
        remaining.remove(name)
        table["selection"].append({"model": name, "score": scores[name],
                                   "at_s": round(time.perf_counter() - started, 2)})
        table["speed_pulses_ms"].append(pulse_ms(plan.threads))  # the machine's speed now (calib.predict.pulse)
        records = measure_apart(name, loaded[name], engine, precision, plan, None, lambda i, at=index: on_item(
            at + i, "model", f"{precision} model {name} b{plan.batch_sizes[i]}"),
            partial(measure_model, engine, precision=precision, plan=plan))
        index += len(plan.batch_sizes)
        for batch_size, record in zip(plan.batch_sizes, records):
            writer.add(record)
            others.append(record.get("other_cpu_percent"))
            if record["status"] == "ok":
                rows = record["layers"]["layers"]
                measured.append(ModelSample(name, batch_size, record["summary"]["median_ms"], tuple(rows)))
                table["kernel_samples"] += len(rows)
                table["model_records"] += 1
            writer.flush()
    if measured:
        table["speed_pulses_ms"].append(pulse_ms(plan.threads))
    if measured and plan.revisits and plan.clock == "wall":  # each model again in fresh processes, as torch's
        revisit([r for r in writer.records if r["identity"]["precision"] == precision], plan, precision,
                lambda text: on_item(max(index - 1, 0), "model", text), engine)
        writer.flush()
    table["left_out"].extend(f"{name}: past --budget-s {plan.budget_s:g}" for name in remaining)
    table["skipped"] = table["left_out"]  # what _refuse_empty names, as torch's skipped ops
    if source and measured:  # another device's kernels, scaled to this one (calib.predict.transfer)
        table["ops"], figures = transferred_rows(source, measured, source_device)
        table["transfer"] = {"from": str(plan.from_table), "device_name": source_device, **figures}
    table["models_s"] = time.perf_counter() - models_started
    table["other_cpu_percent"] = most_percent(others)
    table["elapsed_s"] = time.perf_counter() - started
    return table


def knowledge_gap(rows: list[dict], measured: list[ModelSample]) -> float:
    """How badly the table measured so far knows a candidate's kernels (see gap_scorer)."""
    return gap_scorer(measured)(rows)


def gap_scorer(measured: list[ModelSample]):
    """rows -> the share of a candidate's kernels with a key the table never saw (x UNSEEN_WEIGHT) plus, over
    the rest, the predicted-time-weighted mean |log error| of the law that prices each, on that law's own
    samples. 0: every kernel is a known key on a law that fits. The table is fitted once."""
    samples = model_samples(measured)
    seen = {sample.key for sample in samples}
    model = fit_cost_model(samples) if samples else None
    error_of = {}
    for key, law in (model.laws.items() if model else ()):
        members = [s for s in samples if key in (s.key, *s.kind_keys)]
        errors = [abs(math.log(s.ms / max(law.base_ms(s.flops, s.bytes), 1e-9))) for s in members]
        error_of[key] = sum(errors) / len(errors) if errors else 1.0

    def score(rows: list[dict]) -> float:
        if not rows:
            return 0.0
        unseen = sum(1 for row in rows if row["cost_keys"][0] not in seen) / len(rows)
        if model is None:
            return UNSEEN_WEIGHT * unseen
        weighted = total = 0.0
        for node in model.nodes(rows):
            if node.costed:
                weighted += node.predicted_ms * error_of.get(node.key, 1.0)
                total += node.predicted_ms
        return UNSEEN_WEIGHT * unseen + (weighted / total if total else 0.0)

    return score


def measure_model(engine: str, model, precision: str, batch_size: int, plan) -> dict:
    """One candidate at one batch size: end-to-end median, then each kernel's profiled median."""
    configuration = Configuration(model.name, engine, precision, batch_size, (batch_size, *model.item_shape), "cpu")
    record = new_record(configuration, None)
    record["model_weights"] = model.weights
    try:
        compiled = kernel_model(engine, model, precision, batch_size, plan.threads)
        timing = model_plan(plan.model_max_time_s, min_time_s=0.5)
        watch = other_cpu_use()
        measurement = compiled.measure(timing.stop_rule, timing.warmup)
        summary = measurement.summary()
        rows, profile = steady_profile(compiled, summary.median_ms, engine)
        record.update(summary=summary.to_dict(), other_cpu_percent=watch.stop() if watch else None,
                      timing={"settings": measurement.settings_dict(), "timer": measurement.timer,
                              "stop_reason": measurement.stop_reason, "samples_ms": measurement.samples_ms},
                      layers={"method": f"{engine}-kernels", "layers": rows, **profile})
        record["warnings"].extend(measurement.warnings)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - a model that cannot run is recorded, the table goes on
        mark_unmeasured(record, exc)
    return record
