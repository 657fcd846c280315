"""OpenVINO int8 within an accuracy budget: NNCF's quantize_with_accuracy_control scored by the caller.

NNCF quantizes the model, scores the fp32 and the int8 model with the caller's `validation_fn`, ranks
the quantized layers by how far each moves the model's outputs on the validation items, and returns
layers to float one group at a time until the score is within `max_drop` (absolute) of fp32's, or none
is left. This is what `--max-drop X --fallback` can run on OpenVINO:

    from calib.backends import openvino_accuracy

    ov_model, info = openvino_accuracy.quantize_with_accuracy_control(
        model, run_config, score, max_drop=0.01, calibration_batches=batches)
    with openvino_accuracy.prepare_quantized(model, run_config, ov_model, info) as prepared:
        ...  # timed and recorded like any other int8-static configuration

`score(predict) -> float` is the caller's: `predict(inputs)` runs the model under test on a tuple of torch
tensors (one per model input, any number of items: they are run in chunks of the model's batch size) and
returns a torch tensor (a tuple for several outputs). The user's `--eval` function, which scores a
`predict` in [0, 1], is wrapped into one by the caller. `max_drop` is in the units of that score
(0.01 = one point of a [0, 1] accuracy).

NNCF compiles every model it scores with INFERENCE_PRECISION_HINT f32 (its accuracy-control backend), so
fp32's score is fp32's and the int8 model's float layers compute f32 while it decides.
"""

from __future__ import annotations

import time
from typing import Callable

from calib.backends.base import Prepared, RunConfig


def quantize_with_accuracy_control(model, config: RunConfig, validation_fn: Callable[[Callable], float],
                                   max_drop: float, calibration_batches: list[tuple],
                                   validation_items: list[tuple] | None = None,
                                   max_iterations: int | None = None) -> tuple[object, dict]:
    """(the int8 openvino.Model within `max_drop` of fp32's score where NNCF found one, what was done).

    model: a calib model (its torch module's cached ONNX export, or its .onnx / IR file, is read).
    config: the int8-static RunConfig (batch size, threads, calibration and int8 settings; its
        int8_recipe, else the rule's first NNCF recipe for this graph: preset, model type, SmoothQuant).
    validation_fn(predict) -> float: the caller's score, higher is better.
    max_drop: the largest absolute drop of that score accepted (nncf.DropType.ABSOLUTE).
    calibration_batches: tuples of torch tensors at config.batch_size (calib.quant.calibration_data).
    validation_items: the items NNCF ranks layers on (by the change of the model's outputs); default the
        calibration batches. The score itself always comes from validation_fn.
    max_iterations: at most this many layer groups returned to float (default: NNCF's, all of them).
    """
    import openvino

    from calib.backends.openvino import _quiet, nncf_arguments, read_model

    with _quiet():
        import nncf
        from nncf.quantization.advanced_parameters import AdvancedAccuracyRestorerParameters

    if not calibration_batches:
        raise ValueError("quantize_with_accuracy_control needs at least one calibration batch")
    started = time.perf_counter()
    ov_model, info = read_model(openvino.Core(), model, config.batch_size)
    arguments, recorded = nncf_arguments(ov_model, model, config)
    arguments["advanced_quantization_parameters"] = arguments.pop("advanced_parameters")
    ranking = validation_items or calibration_batches
    scorer = _Scorer(validation_fn, config.batch_size)
    restorer = AdvancedAccuracyRestorerParameters(num_ranking_workers=1, ranking_subset_size=len(ranking))
    if max_iterations is not None:
        restorer.max_num_iterations = max_iterations
    quantize_started = time.perf_counter()
    with _quiet():
        quantized = nncf.quantize_with_accuracy_control(
            ov_model, _dataset(nncf, calibration_batches), _dataset(nncf, ranking), scorer,
            max_drop=max_drop, drop_type=nncf.DropType.ABSOLUTE, subset_size=len(calibration_batches),
            advanced_accuracy_restorer_parameters=restorer, **arguments)
    quantization_s = time.perf_counter() - quantize_started
    fp32_score = scorer.scores[0] if scorer.scores else None
    final_score = scorer.score_of(_compile_f32(quantized, config.threads))
    quantizers = _count(quantized, "FakeQuantize")
    recorded.update(
        quantization="nncf.quantize_with_accuracy_control", drop_type="absolute", max_drop=max_drop,
        subset_size=len(calibration_batches), ranking_items=len(ranking), calib_batch_size=config.batch_size,
        calib_data=config.calibration.data, calib_method=config.calibration.method,
        fp32_score=fp32_score, int8_full_score=scorer.scores[1] if len(scorer.scores) > 1 else None,
        score=final_score, drop=None if fp32_score is None else fp32_score - final_score,
        within_budget=fp32_score is not None and fp32_score - final_score <= max_drop + 1e-12,
        evaluations=scorer.evaluations, scores_seen=list(scorer.scores), fake_quantize_ops=quantizers,
        scored_with_hint="f32", quantization_s=quantization_s, calibration_s=quantization_s,
        total_s=time.perf_counter() - started)
    info.update(recorded)
    return quantized, info


def prepare_quantized(model, config: RunConfig, ov_model, info: dict | None = None) -> Prepared:
    """The Prepared of an accuracy-controlled model, compiled and recorded as calib's own int8-static
    (calib.backends.openvino.prepare_model); `info` (quantize_with_accuracy_control's) is kept in it."""
    from dataclasses import replace

    from calib.backends.openvino import prepare_model

    if config.precision != "int8-static":
        config = replace(config, precision="int8-static")
    return prepare_model(model, config, ov_model, info)


class _Scorer:
    """NNCF's validation_fn(compiled_model, validation_data) -> (score, outputs per item) around the caller's
    score. Returning the outputs per item keeps NNCF in its logits mode (layers ranked by how far they move
    the outputs) rather than calling the score once per item; the score of one compiled model is computed
    once (NNCF asks twice for the first model: once to learn the mode, once for the metric)."""

    def __init__(self, validation_fn: Callable[[Callable], float], batch_size: int):
        self.validation_fn, self.batch_size = validation_fn, batch_size
        self.scores: list[float] = []
        self.evaluations = 0
        self._last: tuple | None = None  # (compiled model, its score): held so that its id is not reused

    def __call__(self, compiled, validation_data):
        outputs = [[array.copy() for array in compiled(item).to_tuple()] for item in validation_data]
        return self.score_of(compiled, remember=True), outputs

    def score_of(self, compiled, remember: bool = False) -> float:
        if self._last is not None and self._last[0] is compiled:
            return self._last[1]
        self.evaluations += 1
        score = float(self.validation_fn(predictor(compiled, self.batch_size)))
        if remember:
            self.scores.append(score)
            self._last = (compiled, score)
        return score


def predictor(compiled, batch_size: int) -> Callable[[tuple], object]:
    """predict(inputs) on a compiled model of a static batch size: a tuple of torch tensors (or one tensor)
    with any number of items, run in chunks of batch_size (the last padded with its last item and cut);
    returns a torch tensor, or a tuple for several outputs."""
    import torch

    from calib.backends.openvino import _arrays

    request = compiled.create_infer_request()

    def predict(inputs):
        tensors = (inputs,) if isinstance(inputs, torch.Tensor) else tuple(inputs)
        tensors = tuple(torch.as_tensor(tensor) for tensor in tensors)
        count = tensors[0].shape[0]
        chunks = []
        for start in range(0, count, batch_size):
            chunk = tuple(tensor[start:start + batch_size] for tensor in tensors)
            short = batch_size - chunk[0].shape[0]
            if short:
                chunk = tuple(torch.cat([part, part[-1:].expand(short, *part.shape[1:])]) for part in chunk)
            result = request.infer(dict(enumerate(_arrays(compiled, chunk)))).to_tuple()
            chunks.append([torch.from_numpy(array.copy())[:batch_size - short] for array in result])
        outputs = [torch.cat([chunk[index] for chunk in chunks]) for index in range(len(chunks[0]))]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    return predict


def _dataset(nncf, batches: list[tuple]):
    return nncf.Dataset([{index: tensor.detach().cpu().numpy() for index, tensor in enumerate(batch)}
                         for batch in batches])


def _compile_f32(ov_model, threads: int):
    import openvino

    from calib.backends.openvino import DEVICE, compile_properties

    return openvino.Core().compile_model(ov_model, DEVICE, compile_properties("f32", threads))


def _count(ov_model, type_name: str) -> int:
    return sum(op.get_type_name() == type_name for op in ov_model.get_ops())
