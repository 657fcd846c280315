"""One evaluation of a configuration outside the sweep: prepare it, run the fidelity pass, read its score.

The fidelity pass is the sweep's own (calib.fidelity.evaluate), so the numbers the sensitivity
pass and the fallback search compare are the ones a `calib run` records, and --max-drop is judged
by the one budget (calib.fidelity.budget.judge). The score, higher is better, in [0, 1], is the
strictest measure the fidelity dict holds:
  - the user's --eval score (calib.fidelity.user_eval), when --eval is given;
  - else task accuracy on the labelled set (digits-cnn's test split, --eval-data);
  - else top-1 agreement with fp32 (classifiers), else the cosine similarity of the outputs to fp32.
`sqnr_db` (outputs against fp32) breaks ties: on a labelled set many single layers change no answer.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

from calib import fidelity, lifecycle
from calib.backends.base import Prepared, module_size_bytes
from calib.backends.torch_eager import bound_call, run_on_inputs
from calib.configuration import Configuration
from calib.precisions import get_precision, torch_dtype

SCORE_KEYS = (("score", "--eval score"), ("accuracy", "accuracy"), ("top1_agreement", "top-1 agreement with fp32"),
              ("cosine", "cosine to fp32"))


@dataclass(frozen=True)
class Evaluation:
    score: float | None  # higher is better
    metric: str  # what the score is (SCORE_KEYS' names)
    drop: float | None  # points below fp32 (100 x the score's fall); None for the reference
    sqnr_db: float | None  # outputs against fp32 (None: exact, or no reference)
    passed: bool | None  # against --max-drop (calib.fidelity.budget.judge)
    judgement: str
    seconds: float  # prepare + fidelity pass
    fidelity: dict  # the full dict, as a record stores it

    @classmethod
    def of(cls, fidelity: dict, seconds: float, reference_score: float | None = None) -> "Evaluation":
        score, metric = None, "none"
        for key, name in SCORE_KEYS:
            if fidelity.get(key) is not None:
                score, metric = float(fidelity[key]), name
                break
        drop = _drop(fidelity, metric, score, reference_score)
        return cls(score=score, metric=metric, drop=drop, sqnr_db=fidelity.get("sqnr_db"),
                   passed=fidelity.get("passed"), judgement=fidelity.get("judgement") or "",
                   seconds=round(seconds, 3), fidelity=fidelity)

    def to_dict(self) -> dict:
        return {"score": self.score, "metric": self.metric, "drop": self.drop, "sqnr_db": self.sqnr_db,
                "passed": self.passed, "judgement": self.judgement, "seconds": self.seconds}


def _drop(fidelity: dict, metric: str, score: float | None, reference_score: float | None) -> float | None:
    if fidelity.get("is_reference"):
        return 0.0
    if metric == "--eval score":
        return fidelity.get("score_drop")
    if metric == "accuracy":
        return fidelity.get("accuracy_drop")
    if score is not None and metric in ("top-1 agreement with fp32", "cosine to fp32"):
        return 100 * (1 - score)  # against fp32 itself, which agrees with itself fully
    return None if score is None or reference_score is None else 100 * (reference_score - score)


def configuration_for(model, backend: str, run_config, variant: str | None = None) -> Configuration:
    return Configuration(model.name, backend, run_config.precision, run_config.batch_size,
                         (run_config.batch_size, *model.item_shape), run_config.device, variant)


def evaluate(model, backend: str, run_config, fidelity_settings, references) -> Evaluation:
    """Prepare `run_config` on `backend` (no timing) and evaluate it against the fp32 reference in
    `references` (evaluate fp32 on the same backend first to make that backend's run the reference)."""
    import torch

    configuration = configuration_for(model, backend, run_config)
    started = time.perf_counter()
    with _prepare(model, backend, configuration, run_config) as prepared:
        with torch.inference_mode():
            outputs = prepared.run()
        result = fidelity.evaluate(fidelity_settings, model, configuration, outputs, references, prepared=prepared)
    return Evaluation.of(result, time.perf_counter() - started)


def _prepare(model, backend: str, configuration, run_config):
    """The backend's own conversion; a torch fp16/bf16 cast of some layers only goes through
    prepare_cast (the torch backend casts whole modules)."""
    if backend == "torch" and get_precision(run_config.precision).family == "float" and run_config.int8.quantize_only:
        return prepare_cast(model, run_config)
    return lifecycle.prepare(model, configuration, run_config)


def prepare_cast(model, run_config) -> Prepared:
    """A Prepared of `model` with Int8Settings.quantize_only layers at run_config's fp16/bf16 precision
    (calib.quant.cast), the rest fp32."""
    import torch

    from calib.quant.cast import cast_only

    precision = get_precision(run_config.precision)
    started = time.perf_counter()
    module = copy.deepcopy(model.module).eval()
    names = set(run_config.int8.quantize_only)
    cast_only(module, names, torch_dtype(precision.storage_dtype))
    inputs = model.make_inputs(run_config.batch_size)
    return Prepared(run=bound_call(module, inputs, None), device="cpu", storage_dtype="float32",
                    compute_dtype=precision.compute_dtype, model_size_bytes=module_size_bytes(module),
                    conversion_s=time.perf_counter() - started, module=module, inputs=inputs,
                    info={"cast_only": sorted(names)}, run_on=run_on_inputs(module, inputs, None))
