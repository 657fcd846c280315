"""One configuration's fidelity: its outputs against the fp32 reference, and its accuracy when labels exist.

The reference is fp32 on the same backend when the sweep has already measured it (the sweep's
order is the user's, so it may not have); otherwise the fp32 torch module on the CPU, computed
here once and kept in the sweep's References cache. Files without a torch module (.onnx) can
only be compared with their backend's own fp32 run.

What the outputs are compared on ("sample" in the record):
  - labelled data (digits-cnn's test split, --eval-data): every item, which also gives accuracy;
  - classifiers without labels: the timed call's seeded inputs plus more seeded items, up to
    PROBE_ITEMS in all, so top-1 agreement is not a statement about a handful of images; the calls and
    their fp32 references are capped at PROBE_BUDGET_S together (a large model on a slow precision gets
    fewer items, and the record's "sample" says how many of PROBE_ITEMS and why);
  - anything else: the timed call's seeded inputs.
All of it runs after the timing, never inside it.
"""

from __future__ import annotations

import time

from calib.configuration import Configuration
from calib.fidelity import budget, metrics
from calib.models.loader import SEED
from calib.settings import FidelitySettings

# Top-1 agreement on 64 items resolves a disagreement of a few percent (1 item = 1.6%), where 4-5 items
# said little. A 64-item pass costs 64 calls at batch 1 plus the fp32 references not cached yet (resnet50
# at 2 threads, ~60 ms a call: about 4 s); the cap keeps larger models and emulated precisions (10-100x
# slower) to PROBE_BUDGET_S per configuration, and the record says how many items it reached.
PROBE_ITEMS = 64
PROBE_BUDGET_S = 5.0
CPU_FAMILY = "torch-cpu"
CPU_REFERENCE = "torch fp32 on cpu"
_UNSET = object()


class References:
    """What one sweep computes once and every later configuration compares against: the labelled
    set, and fp32 outputs per (backend family, batch size) on it or on each seeded input."""

    def __init__(self):
        self._labeled_set = _UNSET
        self._labeled: dict[tuple[str, int], list] = {}
        self._seeded: dict[tuple[str, int, int], list] = {}
        self._user_eval = _UNSET
        self._user_scores: dict[str, object] = {}  # backend family -> fp32 EvalScore

    def user_eval(self, settings: FidelitySettings):
        """--eval's function, imported on first use (the sweep asks before any timing); None without --eval."""
        if self._user_eval is _UNSET:
            from calib.fidelity.user_eval import load_eval

            self._user_eval = load_eval(settings.eval_fn) if settings.eval_fn else None
        return self._user_eval

    def limit_user_eval(self, settings: FidelitySettings, limit_s: float | None) -> None:
        """From now on, each call of --eval's function may take `limit_s` seconds (calib.user_files.call_user);
        for evaluations in calib's own process, where no worker's timeout reaches (the --fallback search)."""
        from dataclasses import replace

        user_eval = self.user_eval(settings)
        if user_eval is not None:
            self._user_eval = replace(user_eval, limit_s=limit_s)

    def user_score(self, family: str, compute=None):
        """The fp32 score of --eval on one backend family (CPU_FAMILY: the torch module on the CPU)."""
        if family not in self._user_scores and compute is not None:
            self._user_scores[family] = compute()
        return self._user_scores.get(family)

    def keep_user_score(self, family: str, score) -> None:
        self._user_scores[family] = score

    def keep_run_score(self, run_on, scored, described: str) -> None:
        """The --eval score calib.tuning already took of the candidate it kept: the fidelity pass uses it
        instead of running the evaluation again (one slot, so no released model is held)."""
        self._run_score = (run_on, scored, described)

    def take_run_score(self, run_on):
        """(EvalScore, predict description) kept for this run_on, or None; the slot is emptied."""
        kept, self._run_score = getattr(self, "_run_score", None), None
        return kept[1:] if kept is not None and kept[0] is run_on else None

    def fp32_user_score(self, family: str) -> tuple[object, str | None]:
        """(fp32 score, what it was measured on) for a configuration on `family`: that engine's own fp32
        score, else the torch module's on the CPU, else another engine's (the same model at fp32)."""
        if family in self._user_scores:
            return self._user_scores[family], f"{family} fp32"
        if CPU_FAMILY in self._user_scores:
            return self._user_scores[CPU_FAMILY], CPU_REFERENCE
        for other, score in self._user_scores.items():  # under auto, fp32 may have been won by another engine
            return score, f"{other} fp32"
        return None, None

    def labeled_set(self, model, settings: FidelitySettings):
        """Built on first use (the sweep asks before its first configuration, so a bad --eval-data
        stops the run before any timing); None when the model has no labelled data."""
        if self._labeled_set is _UNSET:
            from calib.fidelity.datasets import labeled_set

            self._labeled_set = labeled_set(model, settings)
        return self._labeled_set

    def labeled(self, family: str, batch_size: int, compute=None):
        """fp32 scores on the labelled set; `compute()` makes them when missing (None: only look)."""
        key = (family, batch_size)
        if key not in self._labeled and compute is not None:
            self._labeled[key] = compute()
        return self._labeled.get(key)

    def keep_labeled(self, family: str, batch_size: int, scores) -> None:
        self._labeled[(family, batch_size)] = scores

    def seeded(self, family: str, batch_size: int, seed: int, compute=None):
        key = (family, batch_size, seed)
        if key not in self._seeded and compute is not None:
            self._seeded[key] = compute()
        return self._seeded.get(key)

    def keep_seeded(self, family: str, batch_size: int, seed: int, outputs) -> None:
        self._seeded[(family, batch_size, seed)] = outputs


def evaluate(settings: FidelitySettings, model, configuration: Configuration, outputs, references: References,
             prepared=None) -> dict:
    """The fidelity dict stored in the record (see calib.results.schema and calib.fidelity.budget)."""
    import torch

    backend_name, precision, batch_size = configuration.backend, configuration.precision, configuration.batch_size
    run_on = getattr(prepared, "run_on", None)
    started = time.perf_counter()
    notes: list[str] = []
    with torch.inference_mode():
        labeled = references.labeled_set(model, settings)
        if labeled is not None and run_on is None:
            notes.append(f"no accuracy: the {backend_name} backend cannot run this model on other inputs")
        if labeled is not None and run_on is not None:
            result = _on_labeled_set(model, backend_name, precision, batch_size, run_on, labeled, references, notes)
        else:
            result = _on_seeded_inputs(model, backend_name, precision, batch_size, outputs, run_on, references)
            result.update(accuracy=None, reference_accuracy=None, accuracy_drop=None)
    user_eval = references.user_eval(settings)
    if user_eval is not None:
        result.update(_user_score(user_eval, model, backend_name, precision, batch_size, run_on, references, notes))
    passed, judgement = budget.judge(result, settings.max_drop)
    result.update(passed=passed, judgement=judgement, max_drop=settings.max_drop, notes=notes,
                  evaluation_s=round(time.perf_counter() - started, 3))
    result["compact"] = budget.compact(result)
    return result


def reference_user_score(user_eval, model, batch_size: int, run_on=None, capture: bool = True):
    """--eval on the fp32 torch module on the CPU (or on `run_on`, a graph file's fp32 engine): the
    reference of backends without their own fp32 run yet. The sweep computes it before any timing, which
    also checks that the function returns a score; with `capture`, the inputs the evaluation feeds are
    kept on the model for int8 calibration (calib.quant.calibration_data)."""
    import torch

    from calib.quant.calibration_data import Capture, keep_captured

    if run_on is None:
        module = model.module

        def run_on(inputs: tuple):
            return module(*inputs)

    capturing = Capture(run_on) if capture else None
    fixed = getattr(model, "fixed_batch", None)
    with torch.inference_mode():
        scored = user_eval.score(_predictor(capturing or run_on, fixed or batch_size, fixed is not None,
                                            model.item_shape))
    if capturing is not None:
        keep_captured(model, capturing.captured(f"--eval {user_eval.spec}"))
    return scored


def score_prepared(user_eval, model, prepared, batch_size: int):
    """(EvalScore, predict description) of --eval on one prepared candidate (calib.tuning judges candidates
    by it); None where the backend cannot run other inputs."""
    import torch

    if prepared.run_on is None:
        return None
    predictor = _predictor(prepared.run_on, batch_size, getattr(model, "fixed_batch", None) is not None,
                           model.item_shape)
    with torch.inference_mode():
        return user_eval.score(predictor), predictor.describe()


def _predictor(run_on, batch_size: int, fixed: bool, item_shape):
    from calib.fidelity.user_eval import Predictor

    return Predictor(run_on, batch_size, fixed_batch=fixed, item_shape=item_shape)


def _user_score(user_eval, model, backend_name, precision, batch_size, run_on, references, notes) -> dict:
    """The record's score fields: the user's score at this configuration and its drop from fp32 in points."""
    empty = {"score": None, "reference_score": None, "score_drop": None, "score_reference": None,
             "score_extras": {}, "score_s": None, "score_function": user_eval.spec, "predict": None}
    if run_on is None:
        notes.append(f"no --eval score: the {backend_name} backend cannot run this model on other inputs")
        return empty
    kept = references.take_run_score(run_on)  # scored already when calib.tuning judged the candidates
    if kept is not None:
        scored, described = kept
    else:
        predictor = _predictor(run_on, batch_size, getattr(model, "fixed_batch", None) is not None,
                               model.item_shape)
        scored = user_eval.score(predictor)
        described = predictor.describe()
    if precision == "fp32":
        references.keep_user_score(backend_name, scored)
        reference, reference_name = scored, "itself"
    else:
        reference, reference_name = references.fp32_user_score(backend_name)
        if reference is None:
            notes.append("no --eval drop: no fp32 score to compare with (measure fp32 first: -p fp32 -p ...)")
    empty.update(score=scored.score, score_extras=scored.extras, score_s=round(scored.seconds, 3),
                 predict=described, score_reference=reference_name)
    if reference is not None:
        empty.update(reference_score=reference.score, score_drop=100 * (reference.score - scored.score))
    return empty


def _on_labeled_set(model, backend_name, precision, batch_size, run_on, labeled, references, notes) -> dict:
    is_reference = precision == "fp32"
    scores, labels = _predict(run_on, labeled, batch_size)
    if is_reference:
        references.keep_labeled(backend_name, batch_size, scores)
        reference, reference_name = scores, "itself"
    elif references.labeled(backend_name, batch_size) is not None:
        reference, reference_name = references.labeled(backend_name, batch_size), f"{backend_name} fp32"
    elif model.module is not None:
        reference = references.labeled(
            CPU_FAMILY, batch_size, lambda: _predict(lambda inputs: model.module(*inputs), labeled, batch_size)[0])
        reference_name = CPU_REFERENCE
    else:
        reference, reference_name = None, None
    result = _compared(scores, reference, is_reference)
    result.update(sample=labeled.name, reference=reference_name, is_reference=is_reference,
                  accuracy=None, reference_accuracy=None, accuracy_drop=None)
    if labeled.method:
        result["method"] = labeled.method
    if labeled.head is not None:  # e.g. embeddings -> nearest-centroid class scores (calib.fidelity.datasets)
        scores = [[labeled.head(call[0])] for call in scores]
        reference = None if reference is None else [[labeled.head(call[0])] for call in reference]
    if any(metrics.class_scores(call) is None for call in scores):
        notes.append("no accuracy: the model's first output is not [batch, classes] scores")
        return result
    result["accuracy"] = _accuracy(scores, labels)
    if reference is not None:
        result["reference_accuracy"] = _accuracy(reference, labels)
        result["accuracy_drop"] = 100 * (result["reference_accuracy"] - result["accuracy"])
    return result


def _predict(run_on, labeled, batch_size: int):
    """Per-call CPU outputs over the whole labelled set (padding trimmed), and the labels."""
    import torch

    calls, labels = [], []
    for images, batch_labels, real_count in labeled.batches_of(batch_size):
        outputs = metrics.detached(run_on((images,)))
        calls.append([t[:real_count] for t in outputs])
        labels.append(batch_labels[:real_count])
    return calls, torch.cat(labels)


def _accuracy(calls: list, labels) -> float:
    import torch

    predicted = torch.cat([metrics.class_scores(call).argmax(dim=1) for call in calls])
    return float((predicted == labels).double().mean())


def _on_seeded_inputs(model, backend_name, precision, batch_size, outputs, run_on, references) -> dict:
    is_reference = precision == "fp32"

    def with_reference(seed: int, call: list) -> tuple:
        if is_reference:
            references.keep_seeded(backend_name, batch_size, seed, call)
            return call, call, "itself"
        return (call, *_seeded_reference(model, backend_name, batch_size, seed, references))

    found = [with_reference(SEED, metrics.detached(outputs))]
    can_probe = (run_on is not None and model.example_inputs is None
                 and metrics.class_scores(outputs) is not None and batch_size < PROBE_ITEMS)
    capped = False
    started = time.perf_counter()
    while can_probe and len(found) * batch_size < PROBE_ITEMS:
        if time.perf_counter() - started >= PROBE_BUDGET_S:
            capped = True
            break
        seed = SEED + len(found)
        found.append(with_reference(seed, metrics.detached(run_on(model.make_inputs(batch_size, seed=seed)))))
    if not is_reference:
        found = [entry for entry in found if entry[1] is not None] or [(found[0][0], None, None)]
    reference = None if found[0][1] is None else [entry[1] for entry in found]
    result = _compared([entry[0] for entry in found], reference, is_reference)
    items = len(found) * batch_size
    sample = f"seeded inputs ({items} item{'s' if items != 1 else ''}"
    if capped:
        sample += f" of {PROBE_ITEMS}: capped at {PROBE_BUDGET_S:g} s"
    result.update(sample=sample + ")", sample_items=items, is_reference=is_reference, reference=found[0][2])
    if capped:
        result["sample_capped_s"] = PROBE_BUDGET_S
    return result


def _seeded_reference(model, backend_name, batch_size, seed, references: References):
    same_backend = references.seeded(backend_name, batch_size, seed)
    if same_backend is not None:
        return same_backend, f"{backend_name} fp32"
    if model.module is None:
        return None, None
    reference = references.seeded(CPU_FAMILY, batch_size, seed,
                                  lambda: metrics.detached(model.module(*model.make_inputs(batch_size, seed=seed))))
    return reference, CPU_REFERENCE


def _compared(calls, reference, is_reference: bool) -> dict:
    if is_reference:
        return metrics.identical(calls)
    if reference is None:  # nothing to compare with: still count NaN/Inf, they are loud on their own
        counts = metrics.identical(calls)
        return {key: (counts[key] if key in ("nan_count", "inf_count", "elements") else None)
                for key in metrics.METRIC_KEYS}
    return metrics.compare(calls, reference)
