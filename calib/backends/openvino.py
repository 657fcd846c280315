"""OpenVINO backend: the cached ONNX export (or the user's .onnx / IR .xml) compiled by OpenVINO's CPU plugin.

Importing this module imports openvino, so calib.backends.get_backend turns a missing one into
BackendUnavailable with the install hint; nothing else in calib imports it (NNCF is imported
only to quantize). Precisions are the plugin's INFERENCE_PRECISION_HINT (f32, bf16, f16); fp32
sets f32 explicitly, because on CPUs with bf16 the plugin's default hint is bf16 and an unset
"fp32" run silently computes bf16. int8-static is NNCF post-training quantization on calib's
calibration data. A hint the CPU cannot honour is dropped without an error (bf16 on an AVX2
CPU runs f32), so what ran is read back from the compiled runtime graph
(calib.backends.openvino_profile.provenance), recorded as backend_info["executed"] and
warned about when it is not what was asked.

int8-static's implementation candidates (`candidates`, raced by calib.tuning) are NNCF recipes
(`recipes`): on a graph with attention, model_type=TRANSFORMER with SmoothQuant (NNCF's alpha) first,
without SmoothQuant, and plain; on other graphs NNCF's defaults first, its full BiasCorrection where
layers have biases, and the other preset; where bf16 is native (calib.hardware's rule) the first
recipe again with the layers NNCF left float compiled at INFERENCE_PRECISION_HINT=bf16 ("+bf16").
backend_info records the recipe and the hint the compiled model reports. NNCF's accuracy control
(layers returned to float until the caller's score is within a budget) is
calib.backends.openvino_accuracy.

Timing: one synchronous infer request, inputs bound once outside the timed call, the LATENCY
performance hint with INFERENCE_NUM_THREADS = --threads; a timed call is one infer() plus
wrapping the copied outputs as torch tensors for the fidelity checks (as ONNX Runtime's timed call
does). bench/openvino.py checks it against benchmark_app and against benchmark_app's bare loop.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import time
from pathlib import Path

import openvino

from calib.backends.base import Prepared, RunConfig
from calib.backends.openvino_profile import executed_dtype, fallback_warning, provenance, runtime_layers
from calib.errors import CalibError, PrecisionUnavailable
from calib.precisions import get_precision

NAME = "openvino"
DEVICE = "CPU"
PERFORMANCE_HINT = "LATENCY"
# calib precision -> INFERENCE_PRECISION_HINT. int8-static: the layers NNCF leaves float run f32
# (as in ONNX Runtime's QDQ graph), not the plugin's default, which is bf16 on bf16 CPUs; the "+bf16"
# candidate (Int8Recipe.float_hint) asks for bf16 there, only where bf16 is native.
INFERENCE_PRECISION = {"fp32": "f32", "bf16": "bf16", "fp16": "f16", "int8-static": "f32"}
# Compiled-model properties recorded as they were read back.
RECORDED_PROPERTIES = ("INFERENCE_PRECISION_HINT", "PERFORMANCE_HINT", "NUM_STREAMS", "INFERENCE_NUM_THREADS",
                       "ENABLE_CPU_PINNING", "EXECUTION_MODE_HINT", "OPTIMAL_NUMBER_OF_INFER_REQUESTS")

_NOT_RUN = {
    "int8-dynamic": ("OpenVINO has no int8-dynamic mode for whole models: its nearest, weight compression "
                     "(nncf.compress_weights) with the CPU plugin's DYNAMIC_QUANTIZATION_GROUP_SIZE, is built for "
                     "LLM FullyConnected layers, and on an AVX2 CPU it decompresses the u8 weights to f32 "
                     "(brgemm_avx2_f32); measure int8-static (NNCF) instead"),
    "amp-fp16": "OpenVINO has no autocast: its f16 hint already keeps precision-sensitive layers in f32; measure fp16",
    "amp-bf16": "OpenVINO has no autocast: its bf16 hint already keeps precision-sensitive layers in f32; measure bf16",
    "tf32": "TF32 is a CUDA math mode; OpenVINO's CPU plugin has none (use --backend torch on CUDA)",
    "fp8": "OpenVINO's CPU plugin has no fp8 compute; calib does not map NNCF's fp8 quantization",
}


def unsupported_reason(precision: str, device: str) -> str | None:
    """Why OpenVINO cannot run this precision on this device in calib; None when it can."""
    if device != "cpu":
        return f"{precision} on openvino: calib runs OpenVINO's CPU plugin only, not {device}"
    if precision in _NOT_RUN:
        return f"{precision} on openvino: {_NOT_RUN[precision]}"
    if precision not in INFERENCE_PRECISION:
        return f"{precision} on openvino: calib has no OpenVINO mapping for it"
    if precision == "int8-static" and importlib.util.find_spec("nncf") is None:
        return "int8-static on openvino needs NNCF, which is not installed (pip install 'calib-bench[openvino]')"
    return None


def capabilities(core=None) -> list[str]:
    """The CPU plugin's OPTIMIZATION_CAPABILITIES (FP32, INT8, BF16, FP16, ...): what it can compute natively."""
    core = core or openvino.Core()
    return [str(item) for item in core.get_property(DEVICE, "OPTIMIZATION_CAPABILITIES")]


def prepare(model, config: RunConfig) -> Prepared:
    reason = unsupported_reason(config.precision, config.device)
    if reason:
        raise PrecisionUnavailable(reason)
    started = time.perf_counter()
    core = openvino.Core()
    ov_model, info = read_model(core, model, config.batch_size)
    if config.precision == "int8-static":
        ov_model = quantize(ov_model, model, config, info)
    return _compiled(core, model, config, ov_model, info, started)


def prepare_model(model, config: RunConfig, ov_model, info: dict | None = None) -> Prepared:
    """A Prepared from an openvino.Model built elsewhere (quantize_with_accuracy_control's result): compiled
    and recorded exactly as `prepare` compiles its own (`config.precision` picks the hint; int8-static's
    float layers run config.int8_recipe.float_hint, else f32)."""
    reason = unsupported_reason(config.precision, config.device)
    if reason:
        raise PrecisionUnavailable(reason)
    return _compiled(openvino.Core(), model, config, ov_model, dict(info or {}), time.perf_counter())


def inference_hint(config: RunConfig) -> str:
    """The INFERENCE_PRECISION_HINT calib compiles with: the precision's, and for int8-static the float
    layers' hint of the candidate's recipe (f32 unless it asks for bf16)."""
    recipe = config.int8_recipe
    if config.precision == "int8-static" and recipe is not None and recipe.float_hint:
        return recipe.float_hint
    return INFERENCE_PRECISION[config.precision]


def _compiled(core, model, config: RunConfig, ov_model, info: dict, started: float) -> Prepared:
    import torch

    precision = get_precision(config.precision)
    example = model.make_inputs(config.batch_size)
    hint = inference_hint(config)
    compile_started = time.perf_counter()
    compiled = core.compile_model(ov_model, DEVICE, _stream_properties(compile_properties(hint, config.threads),
                                                                         config))
    compile_s = time.perf_counter() - compile_started
    layers = runtime_layers(compiled)
    executed = provenance(layers, config.precision)
    read_back = {name: _plain(compiled.get_property(name)) for name in RECORDED_PROPERTIES}
    executed["hint_requested"], executed["hint_compiled"] = hint, read_back["INFERENCE_PRECISION_HINT"]
    plugin_capabilities = capabilities(core)
    info.update(openvino_version=openvino.get_version(), device=DEVICE, compile_s=compile_s,
                compiled_properties=read_back, capabilities=plugin_capabilities, executed=executed,
                io="inputs bound once (set_input_tensor), outputs copied per call")
    if config.precision == "int8-static":
        # What the layers NNCF left float computed in: the hint as the compiled model reports it, and
        # the precisions its runtime graph ran (a bf16 hint the CPU cannot honour reads back f32).
        info.update(quantized_layers=executed["heavy_in_requested_precision"],
                    float_layers=executed["heavy_layers"] - executed["heavy_in_requested_precision"],
                    float_layers_hint_requested=hint, float_layers_hint=read_back["INFERENCE_PRECISION_HINT"])
    arrays = _arrays(compiled, example)
    request = compiled.create_infer_request()
    for index, array in enumerate(arrays):
        request.set_input_tensor(index, openvino.Tensor(array, shared_memory=True))
    stream_requests = [request] + [_bound_request(compiled, arrays) for _ in range(config.streams - 1)]
    conversion_s = time.perf_counter() - started
    ran = executed_dtype(executed) or precision.compute_dtype
    storage = precision.storage_dtype if ran == precision.compute_dtype else ran
    warning = fallback_warning(executed, read_back["INFERENCE_PRECISION_HINT"], plugin_capabilities)
    accuracy_request = []  # created on the first run_on

    def wrap(outputs) -> object:
        # to_tuple(): OVDict's outputs[index] looks the port up by name on every call (~45 us measured on
        # a tiny CNN, where infer() took ~110 us); the tuple is in port order, copies as before.
        tensors = [torch.from_numpy(array) for array in outputs.to_tuple()]
        return tensors[0] if len(tensors) == 1 else tuple(tensors)

    def run(_inputs=arrays):  # the bound tensors share the arrays' memory: the closure keeps them alive
        return wrap(request.infer())  # infer() returns copies: later calls do not overwrite them

    def run_on(new_inputs: tuple):
        """One inference on other inputs (the accuracy pass), on a second request: the bound one stays as it is."""
        if not accuracy_request:
            accuracy_request.append(compiled.create_infer_request())
        return wrap(accuracy_request[0].infer(dict(enumerate(_arrays(compiled, new_inputs)))))

    def profile_layers(end_to_end_ms: float, settings=None) -> dict:
        from calib.backends.openvino_profile import profile_request

        counted = core.compile_model(ov_model, DEVICE, compile_properties(hint, config.threads, perf_count=True))
        profiled = counted.create_infer_request()
        for index, array in enumerate(arrays):
            profiled.set_input_tensor(index, openvino.Tensor(array, shared_memory=True))
        # Rows are flagged against the precision asked for: a bf16 run that fell back shows "fp32 in bf16".
        table = profile_request(profiled, end_to_end_ms, runtime_layers(counted), precision.storage_dtype,
                                precision.compute_dtype)
        table["executed_compute_dtype"] = ran
        return table

    def close():
        # Nothing on disk; the compiled model and the timed request go with the Prepared.
        accuracy_request.clear()

    return Prepared(run=run, device=config.device, storage_dtype=storage, compute_dtype=ran,
                    model_size_bytes=weight_bytes(ov_model, ran), conversion_s=conversion_s, module=None,
                    inputs=tuple(arrays), info=info, close=close, run_on=run_on, profile_layers=profile_layers,
                    warnings=[warning] if warning else [],
                    stream_runs=(tuple(_request_run(each, wrap) for each in stream_requests)
                                 if config.streams > 1 else ()))


def _stream_properties(properties: dict, config: RunConfig) -> dict:
    """RunConfig.streams > 1: the CPU plugin's NUM_STREAMS (explicit, which takes precedence over the
    performance hint) and INFERENCE_NUM_THREADS for all streams together, as benchmark_app's -nstreams
    and -nthreads set them; one stream: the properties as they were."""
    if config.streams == 1 and config.stream_threads is None:
        return properties
    return {**properties, "NUM_STREAMS": config.streams,
            "INFERENCE_NUM_THREADS": config.streams * config.threads_per_stream}


def _bound_request(compiled, arrays):
    """Another infer request on the same inputs: one per stream, as benchmark_app's -nireq."""
    request = compiled.create_infer_request()
    for index, array in enumerate(arrays):
        request.set_input_tensor(index, openvino.Tensor(array, shared_memory=True))
    return request


def _request_run(request, wrap):
    def run():
        return wrap(request.infer())  # infer() releases the GIL: the streams' threads run in parallel

    return run


def compile_properties(hint: str, threads: int, perf_count: bool = False) -> dict:
    """What calib compiles with: the precision hint set always, the latency hint, the thread count."""
    return {"INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": PERFORMANCE_HINT,
            "INFERENCE_NUM_THREADS": threads, "PERF_COUNT": perf_count}


def read_model(core, model, batch_size: int) -> tuple[object, dict]:
    """The fp32 openvino.Model with static input shapes at `batch_size` (as benchmark_app's -shape
    gives them), and where it came from."""
    started = time.perf_counter()
    source, info = source_model(model)
    ov_model = core.read_model(str(source))
    example = model.make_inputs(batch_size)
    ov_model.reshape({index: openvino.PartialShape(list(tensor.shape)) for index, tensor in enumerate(example)})
    info.update(frontend=Path(source).suffix.lstrip("."), read_s=time.perf_counter() - started)
    return ov_model, info


def source_model(model) -> tuple[Path, dict]:
    """The fp32 graph OpenVINO reads: the user's IR (.xml) or .onnx, or the torch model's cached ONNX export
    (the same file the ONNX Runtime backend runs)."""
    from calib.backends.onnx_export import export_model

    given = model.info or {}
    for key in ("ir_path", "onnx_path"):
        if given.get(key):
            return Path(given[key]), {"exporter": "file", "opset": given.get("opset"), "model_source": given[key]}
    if model.module is None:
        raise CalibError(f"{model.name}: no torch module and no model file to run")
    exported = export_model(model)
    return exported.path, {"exporter": exported.exporter, "opset": exported.opset, "export_s": exported.export_s,
                           "export_cached": exported.cached, "model_source": str(exported.path)}


def candidates(model, config: RunConfig) -> list[tuple[str, RunConfig]]:
    """int8-static's NNCF recipes (calib.tuning races them), the rule's first: see `recipes`."""
    from dataclasses import replace

    if config.precision != "int8-static" or config.int8_recipe is not None \
            or unsupported_reason(config.precision, config.device):
        return [("default", config)]
    ov_model, _ = read_model(openvino.Core(), model, config.batch_size)
    return [(name, replace(config, int8_recipe=recipe)) for name, recipe in recipes(ov_model, model, config)]


# SmoothQuant's MatMul alpha for transformer graphs: NNCF's own default (AdvancedSmoothQuantParameters.matmul).
SMOOTH_QUANT_ALPHA = 0.95


def recipes(ov_model, model, config: RunConfig, cpu: dict | None = None) -> list[tuple[str, object]]:
    """[(candidate name, Int8Recipe)] for NNCF on this graph, the rule's choice first. `cpu`: the CPU's
    {"arch", "flags"} (calib.quant.engine.cpu_features(), read when None) for the bf16 rule.

    - a graph with attention (MatMul -> Softmax -> MatMul, or the tokens input kind): NNCF's
      model_type=TRANSFORMER with SmoothQuant at NNCF's alpha (what NNCF recommends), the same without
      SmoothQuant, and the plain recipe;
    - any other graph: NNCF's defaults (fast bias correction), its full BiasCorrection where layers have
      biases to correct, and the other preset (mixed <-> performance) than --qscheme's;
    - where bf16 is native on this CPU (calib.hardware's rule): the first recipe with the layers NNCF left
      float compiled at INFERENCE_PRECISION_HINT=bf16 ("+bf16"). Elsewhere that hint would run f32 anyway.
    """
    from calib.backends.int8_recipe import Int8Recipe

    if has_attention(ov_model) or model.input_kind == "tokens":
        listed = [("nncf-transformer-sq", Int8Recipe(model_type="transformer", smooth_quant_alpha=SMOOTH_QUANT_ALPHA)),
                  ("nncf-transformer", Int8Recipe(model_type="transformer", smooth_quant_alpha=-1.0)),
                  ("nncf", Int8Recipe())]
    else:
        listed = [("nncf", Int8Recipe())]
        if biased_layers(ov_model):
            listed.append(("nncf-bc", Int8Recipe(fast_bias_correction=False)))
        other = "mixed" if _preset_name(config.calibration) == "performance" else "performance"
        listed.append((f"nncf-{other}", Int8Recipe(preset=other)))
    native, _ = bf16_native(cpu)
    if native:
        from dataclasses import replace

        name, first = listed[0]  # second, so that it reuses the first's quantized model (one NNCF pass)
        listed.insert(1, (f"{name}+bf16", replace(first, float_hint="bf16")))
    return listed


def bf16_native(cpu: dict | None = None) -> tuple[bool, str]:
    """(whether bf16 is native on this CPU, the rule's evidence), from calib.hardware's rule table."""
    from calib.hardware.rules import NATIVE
    from calib.hardware.verdict import precision_verdict
    from calib.quant.engine import cpu_features

    cpu = cpu_features() if cpu is None else cpu
    verdict = precision_verdict({"id": "cpu", "kind": "cpu", "arch": cpu.get("arch") or "",
                                 "flags": list(cpu.get("flags") or [])}, "bf16")
    return verdict["status"] == NATIVE, verdict["evidence"]


# Ops between attention's MatMuls and its Softmax (scale, mask, casts, reshapes).
_ATTENTION_GLUE = {"Add", "Multiply", "Divide", "Convert", "Reshape", "Transpose", "Select", "Squeeze", "Unsqueeze",
                   "Subtract", "FakeQuantize", "Concat"}


def has_attention(ov_model) -> bool:
    """Whether the graph has attention: ScaledDotProductAttention, or a Softmax fed by a MatMul and feeding
    one (through scaling, masking and reshapes), as NNCF's transformer patterns expect. A classifier's
    final Softmax feeds no MatMul, so it does not count."""
    for op in ov_model.get_ordered_ops():
        kind = op.get_type_name()
        if kind == "ScaledDotProductAttention":
            return True
        if kind in ("Softmax", "SoftMax") and _reaches_matmul(op, upstream=True) and _reaches_matmul(op, upstream=False):
            return True
    return False


def _reaches_matmul(op, upstream: bool, depth: int = 4) -> bool:
    if depth == 0:
        return False
    if upstream:
        neighbours = [op.input_value(i).get_node() for i in range(op.get_input_size())]
    else:
        neighbours = [target.get_node() for output in op.outputs() for target in output.get_target_inputs()]
    for node in neighbours:
        kind = node.get_type_name()
        if kind == "MatMul":
            return True
        if kind in _ATTENTION_GLUE and _reaches_matmul(node, upstream, depth - 1):
            return True
    return False


def biased_layers(ov_model) -> int:
    """Convolutions and MatMuls followed by an Add of a constant (their bias; an ONNX Gemm's alpha/beta
    Multiply in between is passed over): what NNCF's bias correction corrects. A graph with none gains
    nothing from BiasCorrection."""
    return sum(_adds_constant(op) for op in ov_model.get_ordered_ops()
               if op.get_type_name() in ("Convolution", "GroupConvolution", "MatMul"))


def _adds_constant(op, depth: int = 3) -> bool:
    for output in op.outputs():
        for target in output.get_target_inputs():
            node = target.get_node()
            others = [node.input_value(i).get_node() for i in range(node.get_input_size()) if i != target.get_index()]
            if not others or not all(_is_constant(other) for other in others):
                continue
            if node.get_type_name() == "Add":
                return True
            if depth > 1 and node.get_type_name() in ("Multiply", "Convert") and _adds_constant(node, depth - 1):
                return True
    return False


def _is_constant(node, depth: int = 6) -> bool:
    """A Constant, or arithmetic on constants and shapes only (a Gemm's beta * bias, a conv bias reshaped
    to the output's rank: folded when the plugin compiles)."""
    if node.get_type_name() in ("Constant", "ShapeOf"):
        return True
    if depth == 0 or not node.get_input_size():
        return False
    return all(_is_constant(node.input_value(i).get_node(), depth - 1) for i in range(node.get_input_size()))


def _preset_name(calibration) -> str:
    return "performance" if calibration.qscheme == "symmetric" else "mixed"


def default_recipe(ov_model, model, config: RunConfig):
    """The recipe a configuration without one quantizes with: the rule's first candidate's (float hint f32)."""
    from dataclasses import replace

    return replace(recipes(ov_model, model, config, cpu={})[0][1], float_hint=None)


def nncf_arguments(ov_model, model, config: RunConfig, recipe=None) -> tuple[dict, dict]:
    """(keyword arguments for nncf.quantize / quantize_with_accuracy_control past the datasets, what to
    record): preset, model type, SmoothQuant, bias correction, range estimator, weight granularity and
    the ignored scope, from the recipe (default: the rule's first) and calib's settings."""
    with _quiet():
        import nncf
        from nncf.quantization.advanced_parameters import (AdvancedQuantizationParameters,
                                                           AdvancedSmoothQuantParameters, QuantizationParameters)
        from calib.quant.openvino_scope import openvino_ignored_scope  # Int8Settings.keep_float / quantize_only

    recipe = recipe or config.int8_recipe or default_recipe(ov_model, model, config)
    calibration = config.calibration
    preset = nncf.QuantizationPreset(recipe.preset or _preset_name(calibration))
    estimator, estimator_text, not_mapped = _range_estimator(calibration)
    advanced = AdvancedQuantizationParameters(
        weights_quantization_params=QuantizationParameters(per_channel=calibration.weight_granularity == "per-channel"))
    if estimator is not None:
        advanced.activations_range_estimator_params = estimator
    model_type = nncf.ModelType.TRANSFORMER if recipe.model_type == "transformer" else None
    alpha = None
    if model_type is not None:  # NNCF runs SmoothQuant for transformer graphs only
        alpha = SMOOTH_QUANT_ALPHA if recipe.smooth_quant_alpha is None else recipe.smooth_quant_alpha
        advanced.smooth_quant_alphas = AdvancedSmoothQuantParameters(convolution=-1, matmul=alpha)
    info = {}
    arguments = dict(preset=preset, target_device=nncf.TargetDevice.CPU, model_type=model_type,
                     fast_bias_correction=recipe.fast_bias_correction,
                     ignored_scope=openvino_ignored_scope(ov_model, config.int8, info))
    arguments["advanced_parameters"] = advanced  # nncf.quantize's name (the accuracy-control call renames it)
    info.update(nncf_version=nncf.__version__, preset=preset.value, target_device="CPU",
                model_type=model_type.value if model_type else None,
                attention=has_attention(ov_model),
                smooth_quant_alpha=alpha if (alpha is not None and alpha >= 0) else None,
                smooth_quant="off" if model_type is None or alpha < 0 else f"MatMul alpha {alpha:g}",
                fast_bias_correction=recipe.fast_bias_correction,
                bias_correction="FastBiasCorrection" if recipe.fast_bias_correction else "BiasCorrection",
                range_estimator=estimator_text, weight_granularity=calibration.weight_granularity,
                per_channel=calibration.weight_granularity == "per-channel", activation_scheme=calibration.qscheme,
                mapped=("--calib-data, --calib-samples (subset_size = calibration batches), --qscheme "
                        "(symmetric: preset performance, affine: preset mixed; a candidate may set the other), "
                        "--weight-granularity (per_channel)" + ("" if not_mapped else ", --calib-method")),
                not_mapped=not_mapped)
    if calibration.method == "percentile":
        info["calib_percentile"] = calibration.percentile
    return arguments, info


# The last quantized model, so that a candidate differing only in its float-layer hint ("+bf16") does not
# quantize again: (key, the model object the key's id refers to, quantized openvino.Model, its record).
_LAST_QUANTIZED: list = []


def quantize(ov_model, model, config: RunConfig, info: dict):
    """NNCF post-training int8 on calib's calibration batches with the candidate's recipe; what was done is
    recorded in `info` (preset, model type, SmoothQuant, bias correction, quantization seconds, ...)."""
    from dataclasses import replace

    from calib.quant.calibration_data import calibration_inputs

    with _quiet():
        import nncf

    recipe = config.int8_recipe or default_recipe(ov_model, model, config)
    key = (id(model), info.get("model_source"), config.batch_size, config.calibration, config.int8,
           replace(recipe, float_hint=None))
    if _LAST_QUANTIZED and _LAST_QUANTIZED[0][0] == key and _LAST_QUANTIZED[0][1] is model:
        _, _, quantized, recorded = _LAST_QUANTIZED.pop()  # used once: the model is not held past its reuse
        info.update(recorded, quantized_model_reused=True)
        return quantized
    calibration = config.calibration
    batches = calibration_inputs(model, calibration, config.batch_size)
    dataset = nncf.Dataset([{i: t.numpy() for i, t in enumerate(batch)} for batch in batches])
    arguments, recorded = nncf_arguments(ov_model, model, config, recipe)
    started = time.perf_counter()
    with _quiet():
        quantized = nncf.quantize(ov_model, dataset, subset_size=len(batches), **arguments)
    seconds = time.perf_counter() - started
    recorded.update(quantization="nncf.quantize", subset_size=len(batches), calib_batch_size=config.batch_size,
                    calib_data=calibration.data, calib_method=calibration.method,
                    calibration_s=seconds, quantization_s=seconds)
    info.update(recorded)
    _LAST_QUANTIZED[:] = [(key, model, quantized, recorded)]
    return quantized


def _range_estimator(calibration):
    """(NNCF activation range estimator or None for NNCF's default, its description, what was not mapped)."""
    from nncf.quantization.range_estimator import (AggregatorType, RangeEstimatorParameters,
                                                   RangeEstimatorParametersSet, StatisticsCollectorParameters,
                                                   StatisticsType)

    if calibration.method == "minmax":
        return RangeEstimatorParametersSet.MINMAX, "min/max over all calibration batches", []
    if calibration.method == "percentile":
        outlier = 1.0 - calibration.percentile / 100.0

        def quantile():
            return StatisticsCollectorParameters(statistics_type=StatisticsType.QUANTILE,
                                                 aggregator_type=AggregatorType.MEAN, quantile_outlier_prob=outlier)

        return (RangeEstimatorParameters(min=quantile(), max=quantile()),
                f"quantile {calibration.percentile:g}% per batch (outlier probability {outlier:.2g}), mean over "
                "batches", [])
    return None, "NNCF's default", [f"--calib-method {calibration.method}: NNCF has no KL-entropy range estimator; "
                                    "its default was used"]


def weight_bytes(ov_model, ran_dtype: str) -> int:
    """Bytes of the model's constants; float weights at the width the plugin ran them (it converts them
    to bf16/f16 when it runs those)."""
    from calib.dtypes import ITEM_BYTES

    total = 0
    for op in ov_model.get_ops():
        if op.get_type_name() != "Constant":
            continue
        size = op.get_byte_size()
        if op.get_element_type().get_type_name() == "f32" and ran_dtype in ("bfloat16", "float16"):
            size = size * ITEM_BYTES[ran_dtype] // 4
        total += size
    return total


def _arrays(compiled, tensors: tuple) -> list:
    """Inputs as contiguous numpy arrays of the compiled model's input types."""
    import numpy as np

    if len(compiled.inputs) != len(tensors):
        raise CalibError(f"the OpenVINO model takes {len(compiled.inputs)} inputs; calib made {len(tensors)}")
    arrays = []
    for port, tensor in zip(compiled.inputs, tensors):
        wanted = port.get_element_type().to_dtype()
        arrays.append(np.ascontiguousarray(tensor.detach().cpu().numpy().astype(wanted, copy=False)))
    return arrays


def _plain(value):
    """A compiled-model property as JSON can hold it: Type -> 'f32', enums -> their name."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, openvino.Type):
        return value.get_type_name()
    return getattr(value, "name", None) or str(value)


@contextlib.contextmanager
def _quiet():
    """NNCF prints progress bars on stdout and INFO lines through logging; importing it logs torch's CUDA
    search. Keep them off calib's output."""
    loggers = [logging.getLogger(name) for name in ("nncf", "torch.utils.cpp_extension")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
