"""--max-drop X --fallback: when int8 (or a torch fp16/bf16 cast) misses the budget, keep its most
sensitive layers fp32.

The search (like NNCF's accuracy control, which reverts the quantizers that cost the most first):
  1. rank the layers one at a time (calib.sensitivity.ranking: one evaluation per layer, plus fp32
     and the all-int8 model);
  2. keep the most sensitive group in fp32 (Int8Settings.keep_float), evaluate, and add the next
     group until the score is within the budget (calib.fidelity.budget.judge), or every layer but
     one is float (then there is no mixed configuration worth having: fp32 is it); then give the
     last group's layers back to the precision one by one where the budget still holds;
  3. measure the configuration found like every configuration of the sweep (calib.sweep's
     measure_configuration: tuning, the timing engine, the fidelity pass, the per-layer table), as
     a distinct configuration, variant "mixed" (calib.configuration), with `record["fallback"]`:
     the assignment (which layers in which precision), the search steps, how many evaluations it
     took, and the all-int8 and fp32 latency and score it is set against.
Evaluations run in this process, after the sweep, outside any timed region; each call of the user's --eval
may take --timeout seconds (else the worker's default for an evaluation, DEFAULT_EVAL_SLACK_S): past it, or
when it calls sys.exit(), that configuration's search fails and says why (calib.user_files.call_user).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

from calib.fidelity.budget import judge
from calib.sensitivity.ranking import FLOAT_PRECISIONS, INT8_PRECISIONS, Ranking, kept_float_config, rank
from calib.sensitivity.score import Evaluation, evaluate

VARIANT = "mixed"
MAX_GROUPS = 8  # the search keeps at most this many groups float before it gives up


@dataclass(frozen=True)
class Step:
    kept_float: tuple[str, ...]
    evaluation: Evaluation

    def to_dict(self) -> dict:
        return {"kept_float": list(self.kept_float), **self.evaluation.to_dict()}


@dataclass(frozen=True)
class FallbackResult:
    backend: str
    precision: str
    max_drop: float
    ranking: Ranking
    steps: tuple[Step, ...]
    kept_float: tuple[str, ...] | None  # None: no mixed configuration within the budget
    reason: str
    seconds: float
    final: Evaluation | None = None  # of the assignment found

    @property
    def found(self) -> bool:
        return self.kept_float is not None

    @property
    def evaluations(self) -> int:
        return self.ranking.evaluations + len(self.steps)

    def assignment(self) -> dict:
        """{precision: [layer, ...]} for the switchable layers (the rest of the graph as the precision's
        quantizer leaves it)."""
        kept = set(self.kept_float or ())
        order = [row.layer.name for row in sorted(self.ranking.layers, key=lambda r: r.layer.name)]
        return {self.precision: [name for name in order if name not in kept], "fp32": sorted(kept)}

    def to_dict(self) -> dict:
        return {"backend": self.backend, "precision": self.precision, "max_drop": self.max_drop,
                "found": self.found, "reason": self.reason, "kept_float": list(self.kept_float or ()),
                "assignment": self.assignment() if self.found else None,
                "layers": len(self.ranking.layers), "evaluations": self.evaluations,
                "final": self.final.to_dict() if self.final else None,
                "search": [step.to_dict() for step in self.steps], "ranking": self.ranking.to_dict(),
                "seconds": round(self.seconds, 3)}


def group_size(layers: int) -> int:
    """Layers kept float per step: one at a time for small models, about an eighth of them for big ones."""
    return max(1, math.ceil(layers / MAX_GROUPS))


def search(model, backend: str, run_config, fidelity_settings, max_drop: float, references=None,
           ranking: Ranking | None = None, group: int | None = None, on_layer=None,
           layer_settings=None) -> FallbackResult:
    """Rank (unless `ranking` is given), then keep groups float until the score is within `max_drop`."""
    from calib import fidelity
    from calib.errors import UsageError

    if run_config.precision not in INT8_PRECISIONS and not (backend == "torch"
                                                            and run_config.precision in FLOAT_PRECISIONS):
        raise UsageError(f"--fallback keeps layers float for int8 on torch, onnxruntime and openvino and for "
                         f"fp16/bf16 casts on torch; not {run_config.precision} on {backend}")
    started = time.perf_counter()
    settings = replace(fidelity_settings, max_drop=max_drop)
    references = references if references is not None else fidelity.references()
    ranking = ranking or rank(model, backend, run_config, settings, references, on_layer=on_layer,
                              layer_settings=layer_settings)
    order = ranking.order
    if judge(ranking.full.fidelity, max_drop)[0]:  # a given ranking may have been judged on another budget
        return FallbackResult(backend, run_config.precision, max_drop, ranking, (), (),
                              f"all layers at {run_config.precision} are within the budget",
                              time.perf_counter() - started, ranking.full)
    size = group or group_size(len(order))
    steps = []
    for end in range(size, len(order), size):
        kept = tuple(order[:end])
        evaluation = evaluate(model, backend, kept_float_config(run_config, kept), settings, references)
        steps.append(Step(kept, evaluation))
        if evaluation.passed:
            kept, evaluation = _trim(model, backend, run_config, settings, references, kept, size, steps)
            return FallbackResult(backend, run_config.precision, max_drop, ranking, tuple(steps), kept,
                                  f"{len(kept)} of {len(order)} layers kept fp32: {evaluation.judgement}",
                                  time.perf_counter() - started, evaluation)
    last = steps[-1].evaluation.judgement if steps else ranking.full.judgement
    return FallbackResult(backend, run_config.precision, max_drop, ranking, tuple(steps), None,
                          f"no mixed configuration within the budget with at least one of {len(order)} layers "
                          f"at {run_config.precision} ({last})", time.perf_counter() - started)


def _trim(model, backend, run_config, settings, references, kept: tuple, size: int, steps: list):
    """The last group added may hold layers the budget does not need: give each back to the precision, least
    sensitive first, and keep it there when the score stays within the budget. Every trial is a step."""
    passing = steps[-1]
    for name in reversed(kept[len(kept) - size + 1:] if size > 1 else ()):
        trial = tuple(layer for layer in passing.kept_float if layer != name)
        evaluation = evaluate(model, backend, kept_float_config(run_config, trial), settings, references)
        steps.append(Step(trial, evaluation))
        if evaluation.passed:
            passing = steps[-1]
    return passing.kept_float, passing.evaluation


def measure_mixed(spec, model, result: FallbackResult, batch_size: int, device_report, references) -> dict:
    """The mixed configuration's record, measured like every configuration of the sweep."""
    from calib.sweep import measure_configuration

    mixed_spec = replace(spec, int8=replace(spec.int8, keep_float=tuple(result.kept_float), quantize_only=()))
    record = measure_configuration(mixed_spec, model, result.backend, result.precision, batch_size, device_report,
                                   references)
    record["identity"]["variant"] = VARIANT  # calib.configuration.Configuration.variant
    record["fallback"] = result.to_dict()
    return record


def run_fallback(spec, records: list[dict], device_report, model=None, writer=None, on_start=None) -> list[dict]:
    """After the sweep: for each int8 record over its budget, search and measure a mixed configuration.
    Returns the new records (also added to `writer`). Configurations it cannot search get a record
    saying why (status "skipped")."""
    from calib import fidelity, lifecycle
    from calib.configuration import Configuration
    from calib.errors import UsageError, UserEvalError
    from calib.models.loader import load_any
    from calib.settings import LayerSettings
    from calib.sweep import prepare_sweep

    failing = [record for record in records if needs_fallback(record)]
    if not failing:
        return []
    if model is None:
        model = load_any(spec.model, spec.input_shape, spec.seq_len, spec.trust_model_file)
    references = fidelity.references()
    references.limit_user_eval(spec.fidelity, eval_limit_s(spec))
    try:
        prepare_sweep(spec, model, references)
        reference_failure = None
    except UserEvalError as exc:  # the fp32 score, again in this process: no search can be judged without it
        reference_failure = exc
    added = []
    for record in failing:
        configuration = Configuration.of(record)
        if on_start:
            on_start(configuration)
        if reference_failure is not None:
            mixed = lifecycle.new_record(replace(configuration, variant=VARIANT), device_report)
            lifecycle.mark_failed(mixed, f"the fp32 reference score failed: {reference_failure}")
            mixed["fallback_of"] = configuration.to_identity()
            if writer is not None:
                writer.add(mixed)
            added.append(mixed)
            continue
        run_config = spec.run_config(configuration.precision, configuration.batch_size)
        controlled = accuracy_controlled(spec, model, configuration, device_report, references)
        if controlled is not None:  # OpenVINO with --eval: NNCF's own accuracy control
            controlled["fallback_of"] = configuration.to_identity()
            if writer is not None:
                writer.add(controlled)
            added.append(controlled)
            continue
        try:
            result = search(model, configuration.backend, run_config, spec.fidelity, spec.fidelity.max_drop,
                            references, layer_settings=spec.layers or LayerSettings(budget_s=spec.timing.max_time_s))
        except UserEvalError as exc:  # the user's evaluation failed, exited or ran past its limit: failed
            mixed = lifecycle.new_record(replace(configuration, variant=VARIANT), device_report)
            lifecycle.mark_failed(mixed, str(exc))
        except UsageError as exc:  # a precision or backend calib cannot switch per layer: said, not failed
            mixed = lifecycle.new_record(replace(configuration, variant=VARIANT), device_report)
            mixed.update(status="skipped", reason=str(exc))
        except Exception as exc:  # noqa: BLE001 - one search failing must not lose the sweep
            mixed = lifecycle.new_record(replace(configuration, variant=VARIANT), device_report)
            lifecycle.mark_unmeasured(mixed, exc)
        else:
            if result.found:
                mixed = measure_mixed(spec, model, result, configuration.batch_size, device_report, references)
            else:
                mixed = lifecycle.new_record(replace(configuration, variant=VARIANT), device_report)
                mixed.update(status="skipped", reason=result.reason, fallback=result.to_dict())
        if not _kept(mixed) and record.get("backend_choice"):  # auto: another engine's own search may hold it
            mixed = _on_openvino(spec, model, configuration, device_report, references, mixed)
        mixed["fallback_of"] = configuration.to_identity()
        if writer is not None:
            writer.add(mixed)
        added.append(mixed)
    return added


def eval_limit_s(spec) -> float:
    """Seconds one call of --eval may take in the fallback: --timeout, else the worker's default slack for
    an evaluation (calib.worker.DEFAULT_EVAL_SLACK_S)."""
    from calib.worker import DEFAULT_EVAL_SLACK_S

    return spec.timeout_s or DEFAULT_EVAL_SLACK_S


def _kept(mixed: dict) -> bool:
    """A measured mixed configuration within the budget."""
    return mixed.get("status") == "ok" and (mixed.get("fidelity") or {}).get("passed") is not False


def _on_openvino(spec, model, configuration, device_report, references, searched: dict) -> dict:
    """Under auto, when calib's search on the engine that won found nothing within the budget: NNCF's
    accuracy control on OpenVINO, where OpenVINO can run this model and there is an --eval. Its record is
    kept when it is within the budget with some int8 left; otherwise the first search's record, which then
    says what OpenVINO's gave."""
    from calib.backends.auto import engines

    if configuration.backend == "openvino" or "openvino" not in engines(model, configuration.precision,
                                                                      configuration.device)[0]:
        return searched
    controlled = accuracy_controlled(spec, model, replace(configuration, backend="openvino"), device_report,
                                     references)
    if controlled is None:
        return searched
    int8_left = ((controlled.get("fallback") or {}).get("accuracy_control") or {}).get("fake_quantize_ops")
    if _kept(controlled) and int8_left:
        controlled["fallback"]["instead_of"] = {"backend": configuration.backend, "reason": searched.get("reason")}
        return controlled
    said = controlled.get("reason") or (controlled.get("fallback") or {}).get("reason")
    if int8_left == 0:
        said = "it returned every quantized layer to float"
    searched["reason"] = f"{searched.get('reason')}; NNCF accuracy control on OpenVINO: {said}"
    return searched


def accuracy_controlled(spec, model, configuration, device_report, references) -> dict | None:
    """int8-static on OpenVINO with --eval: NNCF's quantize_with_accuracy_control, scored by the user's
    function, returns quantized layers to float until the score is within --max-drop (as OpenVINO's own
    tooling does it); the model it gives is measured like every configuration, variant "mixed". None
    where it does not apply (another engine or precision, no --eval): calib's own search runs instead.
    A failure of NNCF's search is recorded as that configuration's failure."""
    from calib import lifecycle
    from calib.fidelity.user_eval import Predictor
    from calib.quant.calibration_data import calibration_inputs
    from calib.sweep import measure_prepared

    user_eval = references.user_eval(spec.fidelity)
    if configuration.backend != "openvino" or configuration.precision != "int8-static" or user_eval is None:
        return None
    from calib.backends import openvino_accuracy

    run_config = spec.run_config(configuration.precision, configuration.batch_size)
    mixed_configuration = replace(configuration, variant=VARIANT)
    record = lifecycle.new_record(mixed_configuration, device_report)
    record["model_weights"] = getattr(model, "weights", "user")
    started = time.perf_counter()

    def validation_fn(predict) -> float:
        return user_eval.score(Predictor(predict, configuration.batch_size, item_shape=model.item_shape)).score

    try:
        batches = calibration_inputs(model, run_config.calibration, configuration.batch_size)
        ov_model, info = openvino_accuracy.quantize_with_accuracy_control(
            model, run_config, validation_fn, spec.fidelity.max_drop / 100, batches)
        prepared = openvino_accuracy.prepare_quantized(model, run_config, ov_model, info)
        info = dict(info)
        record["fallback"] = {"backend": "openvino", "precision": configuration.precision,
                              "method": "nncf.quantize_with_accuracy_control", "max_drop": spec.fidelity.max_drop,
                              "found": True, "seconds": round(time.perf_counter() - started, 3),
                              "evaluations": info.get("evaluations"), "layers": info.get("fake_quantize_ops"),
                              "kept_float": [],
                              "reason": _controlled_reason(info), "accuracy_control": info}
        measure_prepared(spec, model, mixed_configuration, record, prepared, references)
        if info.get("fake_quantize_ops") == 0:
            record["warnings"].append("NNCF's accuracy control returned every quantized layer to float: this "
                                      "configuration computes in float, not int8 (no int8 layer keeps the budget)")
    except Exception as exc:  # noqa: BLE001 - recorded as this configuration's failure; the run goes on
        lifecycle.mark_unmeasured(record, exc)
        record.setdefault("fallback", {"backend": "openvino", "method": "nncf.quantize_with_accuracy_control",
                                       "found": False, "seconds": round(time.perf_counter() - started, 3)})
    return record


def _controlled_reason(info: dict) -> str:
    shown = {"fp32_score": "fp32 score", "int8_full_score": "all-int8 score", "score": "final score"}
    parts = [f"{name} {info[key]:.4f}" for key, name in shown.items() if info.get(key) is not None]
    parts += [f"{info['fake_quantize_ops']} FakeQuantize ops left"] if info.get("fake_quantize_ops") is not None else []
    within = "within" if info.get("within_budget") else "NOT within"
    if info.get("fake_quantize_ops") == 0:
        parts.append("no int8 layer left")
    return f"NNCF accuracy control, {within} the budget: " + ", ".join(parts)


def unsearched(records: list[dict]) -> list[str]:
    """Why --fallback searched nothing for each measured non-fp32 configuration it left alone (it is never
    silent): within the budget, or not judged (no score to compare, so no budget verdict)."""
    lines = []
    from calib.configuration import Configuration

    for record in records:
        identity = record["identity"]
        if record.get("status") != "ok" or identity.get("variant") or identity["precision"] == "fp32" \
                or needs_fallback(record):
            continue
        fidelity = record.get("fidelity") or {}
        label = Configuration.of(record).short_label
        if fidelity.get("passed") is None:
            lines.append(f"fallback: {label} not searched: its accuracy was not judged against the budget "
                         f"({fidelity.get('judgement') or 'no fidelity pass'})")
        else:
            lines.append(f"fallback: {label} not searched: within the budget ({fidelity.get('judgement')})")
    return lines


def needs_fallback(record: dict) -> bool:
    """A measured configuration over its budget (one calib cannot switch per layer gets a skipped
    mixed record saying so)."""
    identity = record["identity"]
    return (record.get("status") == "ok" and not identity.get("variant") and identity["precision"] != "fp32"
            and (record.get("fidelity") or {}).get("passed") is False)


def rescued(records: list[dict]) -> set:
    """Keys of the int8 records whose mixed configuration is measured and within the budget: with
    --fallback they do not fail the run."""
    from calib.configuration import Configuration

    keys = set()
    for record in records:
        if record.get("fallback_of") and record.get("status") == "ok" \
                and (record.get("fidelity") or {}).get("passed") is not False:
            keys.add(Configuration.from_identity(record["fallback_of"]).key)
    return keys


def judged_records(records: list[dict]) -> list[dict]:
    """The records that decide the exit status with --fallback: a rescued int8 record is left out."""
    from calib.configuration import Configuration

    saved = rescued(records)
    return [record for record in records if Configuration.of(record).key not in saved]
