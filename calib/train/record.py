"""A training run as a record of the results file (calib.results.schema), plus its "training" part.

The shared fields are those of `calib run` records, so `calib show`, `compare`, `check` and `report`
read train records as they read inference ones: the identity's backend is "torch-train", the
batch size is the training batch, `timing.samples_ms` holds the timed steps (one sample = one
whole training step), and `summary` is derived from them (throughput_per_s = samples/s).

"training" (only in train records):
  "settings": calib.train.settings.TrainSettings.to_dict(), "task": {"data", "init", "input_kind"},
  "description": what the precision keeps in which dtype,
  "dtypes": {"weights", "grads", "optimizer_state": [dtype names read from the tensors],
             "compute": the matmul/conv dtype (heavy modules' outputs), "probe": {...}},
  "phases_ms": {"forward", "backward", "optimizer": [per timed step]}, "warmup_phases_ms": {...},
  "samples_per_s", "tokens_per_s" (text models) | null, "loss": [every step], "final_loss",
  "baseline": the precision the deviations are against, "loss_max_deviation", "loss_final_deviation",
  "grad_scaler": {"scale": [after every step], "skipped_steps": [...], "skipped": n} | null,
  "nonfinite": {"loss_steps": [...], "grad_steps": [...]},
  "memory": calib.train.memory.PeakMemory.to_dict(), "compile_s": float | null,
  "eval": {"accuracy", "count", and for int8-qat "int8_accuracy", "convert_s", "int8_modules"} | null,
  "qat_overhead": step-time ratio of int8-qat to fp32 (int8-qat only, when fp32 ran),
  "batch_fit": calib.train.sizing.BatchFit.to_dict() where the batch was calib's default | absent
The identity's "variant" is "ac-selective" / "ac-full" for activation checkpointing (absent: none);
"tuning" (as calib run's: every candidate's median step, the pick and why) where candidates were raced
(calib.train.candidates), and backend_info["candidate"] names the one trained with;
backend_info["activation_checkpointing"]: which blocks were recomputed (calib.train.checkpointing).
"""

from __future__ import annotations

import resource
import statistics

from calib.configuration import Configuration
from calib.environment import OtherCpuUse
from calib.lifecycle import mark_unmeasured, new_record
from calib.timing.stats import summarize
from calib.train.precisions import TRAIN_PRECISIONS

BACKEND = "torch-train"


def configuration_of(task, precision: str, batch_size: int, device: str, variant: str | None = None) -> Configuration:
    """`variant`: "ac-selective" / "ac-full" where activations are checkpointed (None: not), so the three
    checkpointing settings of one precision are three configurations (the label: amp-bf16+ac-full)."""
    return Configuration(task.name, BACKEND, precision, batch_size, (batch_size, *task.item_shape), device, variant)


def new_train_record(configuration: Configuration, device_report: dict | None) -> dict:
    """calib.lifecycle.new_record, with the verdict of the calib.precisions entry the training
    precision's arithmetic is (int8-qat: int8-static's, the int8 model it converts to)."""
    from dataclasses import replace

    precision = TRAIN_PRECISIONS[configuration.precision]
    record = new_record(replace(configuration, precision=precision.verdict_precision), device_report)
    record["identity"] = configuration.to_identity()
    record["training"] = {"description": precision.description}
    return record


def fill_trained(record: dict, run, task, settings, other_cpu_percent: float | None = None) -> None:
    """`other_cpu_percent`: what other processes took while this precision trained (calib.lifecycle.other_cpu_use);
    recorded, and a warning where it was enough to make the step times no evidence (as calib run's records)."""
    warmup = settings.warmup
    timed = run.step_ms[warmup:]
    batch = settings.batch_size
    summary = summarize(timed, batch)
    tokens = task.items_per_sample()
    dtypes = run.dtypes
    record.update(
        storage_dtype=(dtypes.get("weights") or [None])[0],
        compute_dtype=dtypes.get("compute"),
        timing={"settings": settings.to_dict(), "timer": run.timer, "stop_reason": "steps",
                "samples_ms": timed, "warmup_ms": run.step_ms[:warmup], "cold_ms": run.step_ms[0]},
        summary=summary.to_dict(),
        conversion_s=run.conversion_s,
        memory={"peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "cuda_max_allocated_bytes": run.memory.get("cuda_max_allocated_bytes"),
                "model_size_bytes": _model_bytes(task.module),
                "train_peak_bytes": run.memory.get("peak_bytes")},
        backend_info={"optimizer": settings.optimizer, "lr": settings.learning_rate, **run.info},
        layers=run.layers,
    )
    if run.layers is not None and run.layers.get("layers"):
        run.layers["configuration"] = record["training"]["description"]
    training = record["training"]
    training.update(
        settings=settings.to_dict(),
        task={"data": task.data, "init": task.init, "input_kind": task.input_kind},
        dtypes=dtypes,
        phases_ms={"forward": run.forward_ms[warmup:], "backward": run.backward_ms[warmup:],
                   "optimizer": run.optimizer_ms[warmup:]},
        warmup_phases_ms={"forward": run.forward_ms[:warmup], "backward": run.backward_ms[:warmup],
                          "optimizer": run.optimizer_ms[:warmup]},
        samples_per_s=summary.throughput_per_s,
        tokens_per_s=summary.throughput_per_s * tokens if task.input_kind == "tokens" else None,
        loss=run.loss, final_loss=run.loss[-1] if run.loss else None,
        grad_scaler=None if run.scale is None else {"scale": run.scale, "skipped_steps": run.skipped_steps,
                                                    "skipped": len(run.skipped_steps)},
        nonfinite={"loss_steps": run.nonfinite_loss_steps, "grad_steps": run.nonfinite_grad_steps},
        memory=run.memory, compile_s=run.compile_s, eval=run.eval,
    )
    record["other_cpu_percent"] = other_cpu_percent
    busy = OtherCpuUse.warning(other_cpu_percent)
    if busy:
        record["warnings"].append(busy)
    nonfinite = len(run.nonfinite_loss_steps)
    if nonfinite:
        record["warnings"].append(f"the loss was NaN/Inf at {nonfinite} of {len(run.loss)} steps")
    if dtypes.get("compute") and dtypes["compute"] != TRAIN_PRECISIONS[record["identity"]["precision"]].compute:
        record["warnings"].append(f"expected {TRAIN_PRECISIONS[record['identity']['precision']].compute} compute, "
                                  f"the matmul/conv outputs were {dtypes['compute']}")


def _model_bytes(module) -> int:
    return int(sum(p.numel() * p.element_size() for p in module.parameters()))


def mark_train_unmeasured(record: dict, exc: BaseException) -> None:
    mark_unmeasured(record, exc)


def add_fidelity(records: list[dict], baseline: str, max_drop: float | None = None) -> None:
    """Loss-curve deviation from the baseline precision's curve (same batches, same initial weights),
    eval accuracy and its drop, and the QAT step-time overhead; called once every precision ran."""
    reference = next((r for r in records if r["identity"]["precision"] == baseline and r["status"] == "ok"
                      and not r["identity"].get("variant")), None)
    fp32 = next((r for r in records if r["identity"]["precision"] == "fp32" and r["status"] == "ok"
                 and not r["identity"].get("variant")), None)
    for record in records:
        if record["status"] != "ok":
            continue
        training = record["training"]
        training["baseline"] = baseline if reference is not None else None
        if reference is not None:
            ours, theirs = training["loss"], reference["training"]["loss"]
            deviations = [abs(a - b) for a, b in zip(ours, theirs)]
            training["loss_max_deviation"] = max(deviations) if deviations else None
            training["loss_max_deviation_step"] = deviations.index(max(deviations)) if deviations else None
            training["loss_final_deviation"] = (ours[-1] - theirs[-1]) if ours and theirs else None
        if record["identity"]["precision"] == "int8-qat" and fp32 is not None:
            training["qat_overhead"] = (record["summary"]["median_ms"] / fp32["summary"]["median_ms"])
        record["fidelity"] = _fidelity(record, reference)
        if record["fidelity"] is not None:  # --max-drop, judged as calib run judges it (calib.fidelity.budget)
            from calib.fidelity.budget import judge

            passed, why = judge(record["fidelity"], max_drop)
            record["fidelity"].update(passed=passed, judgement=why, max_drop=max_drop)


def _fidelity(record: dict, reference: dict | None) -> dict | None:
    """The record's "fidelity" in calib.fidelity's terms where there are labels (accuracy, its drop in
    points against the baseline), so `calib report` plots it; NaN/Inf losses counted."""
    evaluation = record["training"].get("eval") or {}
    nonfinite = len(record["training"]["nonfinite"]["loss_steps"])
    if not evaluation and not nonfinite:
        return None
    is_reference = reference is record
    fidelity = {"is_reference": is_reference, "nan_count": nonfinite, "inf_count": 0, "passed": None,
                "source": "calib train eval after the steps"}
    accuracy = evaluation.get("int8_accuracy", evaluation.get("accuracy"))
    if accuracy is not None:
        fidelity["accuracy"] = accuracy
        fidelity["items"] = evaluation.get("count")
        base_eval = (reference or {}).get("training", {}).get("eval") or {}
        if base_eval.get("accuracy") is not None and not is_reference:
            fidelity["accuracy_drop"] = 100 * (base_eval["accuracy"] - accuracy)
    text = [f"acc {100 * accuracy:.1f}%"] if accuracy is not None else []
    if nonfinite:
        text.insert(0, f"NaN x{nonfinite}")
    fidelity["compact"] = " ".join(text)
    return fidelity


def median_or_none(values):
    return statistics.median(values) if values else None
