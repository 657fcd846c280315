"""OpenVINO's kernel graph, read from the engine: what its CPU plugin runs as one kernel, and each kernel's time.

Why the runtime model and not the ONNX graph: the plugin fuses (a conv with its bias, ReLU, residual
add and, at int8, its requantizing FakeQuantize becomes one brgconv kernel), inserts layout Reorders,
and picks a kernel per layer (brgconv_avx512_amx_bf16, jit_avx512_1x1_f32, ...). None of that can be
guessed from a sum of framework ops; all of it is in `compiled.get_runtime_model()`: one op per executed
kernel, rt_info `layerType`, `primitiveType` (the kernel), `runtimePrecision` and `originalLayersNames`
(the original layers it fused). Compiling is enough: nothing runs to read it.

A kernel's cost key is read from that graph, finest first:
  ov:<layerType>:<kernel>:+<fused types>   e.g. ov:Convolution:brgconv_avx512_amx_bf16:+Add+Relu
  ov:<layerType>:<kernel>
  kind:ov:<layerType>:<runtime precision>  (the layer type's law, fitted on every kernel of that type)
so a table prices a kernel by what the engine ran, and a layer type it never saw has no key at all
(calib.predict.cost_model reports it unpredictable). Kernels with no primitive (`unknown_*`: inputs,
constants, reshapes the plugin folds) do not run and are left out of the graph.

Calibration measures the same rows with PERF_COUNT (calib.backends.openvino_profile.profile_request):
per-kernel medians joined by the runtime layer's name, the end-to-end median with calib.timing.engine.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from calib.backends.base import RunConfig
from calib.precisions import get_precision
from calib.predict.cost_model import STREAM_SUFFIX

ENGINE = "openvino"
_ELEMENT_BYTES = {"f32": 4, "bf16": 2, "f16": 2, "u8": 1, "i8": 1, "i32": 4, "i64": 8}
_NOT_RUN_TYPES = {"Input", "Output", "Const", "Parameter", "Result", "Constant"}
# A kernel whose weights (its second input) pass this many bytes streams them from memory on every call:
# VGG / AlexNet classifier heads (64-400 MB at fp32) run at memory speed, where the families' heads and
# convs (at most ~10 MB) stay in cache and run at compute speed. One law cannot follow both (fitted
# together, the heads put ConvNeXt's MLPs 22% off), so such kernels get keys of their own ("@stream"),
# fitted on calib.predict.models.KERNEL_SAMPLES. Every weighted kernel's row carries its weight bytes and its
# model's weight total: how much of them stays in cache between calls (calib.predict.cost_model.missed_bytes).
STREAM_WEIGHT_BYTES = 16 * 2**20
_WEIGHTED_TYPES = {"Convolution", "FullyConnected", "GroupConvolution", "Deconvolution"}


@dataclass(frozen=True)
class KernelGraph:
    """The kernels one compiled model runs, as calib per-layer rows (with their cost keys)."""
    rows: list
    method: str
    walk_s: float


def kernel_rows(layers: list[dict], original_types: dict[str, str]) -> list[dict]:
    """Runtime layers (name, type, kernel, precision, fused original names, shapes) -> per-kernel rows.
    FLOPs: 2 per multiply-add (conv, matmul), else one per output element (a pooling, a reorder, an
    interpolation), as ONNX Runtime's rows count them: every kernel has work, so an unpredictable one
    has a share of the model's. Pure: tested on a hand-made graph."""
    from calib.backends.openvino_profile import _flops, op_kind  # one FLOP rule for profiles and predictions

    rows = []
    model_weights = sum(_weight_bytes(layer) for layer in layers
                        if not (layer["type"] in _NOT_RUN_TYPES or (layer.get("kernel") or "unknown").startswith("unknown")))
    for layer in layers:
        kernel = layer.get("kernel") or ""
        if layer["type"] in _NOT_RUN_TYPES or not kernel or kernel.startswith("unknown") or not runs_per_call(layer):
            continue
        kind = op_kind(layer["type"])
        inputs, output = layer.get("input_shapes") or [], layer.get("output_shape")
        fused = sorted({original_types.get(name, "?") for name in layer.get("fused") or ()}
                       - {layer["type"], original_types.get(layer["name"])} - {None})
        fused = [name for name in fused if name not in ("?", "Constant", "Convert")]
        element = _ELEMENT_BYTES.get(layer.get("precision") or "", 4)
        numel = [math.prod(d for d in shape if d) for shape in [*inputs, output] if shape]
        signature = "+" + "+".join(fused) if fused else ""
        keys = [f"ov:{layer['type']}:{kernel}{signature}", f"ov:{layer['type']}:{kernel}",
                f"kind:ov:{layer['type']}:{layer.get('precision') or '?'}"]
        if _grouped(layer):  # its own law first, the dense kernel's where it has too few samples
            keys = [f"{keys[0]}/grouped", f"{keys[1]}/grouped", *keys]
        streaming = _weight_bytes(layer) > STREAM_WEIGHT_BYTES
        if streaming:
            keys = [f"{keys[0]}{STREAM_SUFFIX}", f"{keys[2]}{STREAM_SUFFIX}"]
        rows.append({"name": layer["name"], "op_kind": kind, "target": layer["type"], "provider": kernel,
                     "fused": ",".join(fused), "input_shapes": ", ".join(_text(s) for s in inputs if s),
                     "output_shape": _text(output), "input_dtypes": layer.get("precision") or "",
                     "flops": _flops(kind, inputs, output) or _elements(output), "bytes": element * sum(numel),
                     "cost_keys": list(dict.fromkeys(keys)),
                     **({"weight_bytes": _weight_bytes(layer), "model_weight_bytes": model_weights}
                        if _weight_bytes(layer) else {})})
    return rows


def runs_per_call(layer: dict) -> bool:
    """False for the Reorders the CPU plugin does not run on each inference, though its runtime model lists them:
    one fed by constants only (weights, a BatchNorm's scale, a reshaped bias) is reordered once, at compile time,
    and one that keeps the precision and, over the dimensions larger than 1, the memory order (abcd -> acdb on an N x C x 1 x 1
    squeeze-excite vector) is done in place. PERF_COUNT reports neither as executed, so no table has them; priced
    at a Reorder's cost they put MobileNetV3-Small 30% and DenseNet-169 6% over (86 constant reorders).
    Other kernels always run."""
    if layer.get("type") != "Reorder":
        return True
    source = layer.get("source") or {}
    if source.get("constant"):
        return False
    before, after = source.get("layout") or "", layer.get("layout") or ""
    shape = (layer.get("input_shapes") or [None])[0]
    plain = all(layout.isalpha() and layout.islower() and len(layout) == len(shape or ()) for layout in (before, after))
    if not shape or None in shape or not plain or source.get("precision") != layer.get("output_precision"):
        return True  # a blocked layout (aBcd16b) or a precision change: real work
    large = {chr(ord("a") + axis) for axis, size in enumerate(shape) if size > 1}
    return [d for d in before if d in large] != [d for d in after if d in large]


def _grouped(layer: dict) -> bool:
    """A grouped, not depthwise, convolution (weights [groups, out/groups, in/groups, k, k]): the same kernel as
    a dense conv (brgconv_avx512_f32), run once per group, at 2-3x a dense conv's cost per FLOP at 24 channels per
    group (RegNet 1.6GF); one law for both put RegNets 15% low."""
    inputs, output = layer.get("input_shapes") or [], layer.get("output_shape") or []
    weight = inputs[1] if len(inputs) >= 2 and inputs[1] else []
    return (layer.get("type") == "Convolution" and len(weight) == len(output) + 1 and (weight[0] or 0) > 1
            and "_dw" not in (layer.get("kernel") or "") and (weight[2] or 0) > 1)


def _weight_bytes(layer: dict) -> int:
    """A convolution's or FullyConnected layer's weights (its second input), else 0."""
    inputs = layer.get("input_shapes") or []
    if layer["type"] not in _WEIGHTED_TYPES or len(inputs) < 2 or not inputs[1]:
        return 0
    return _ELEMENT_BYTES.get(layer.get("precision") or "", 4) * _elements(inputs[1])


def runtime_ops(compiled) -> list[dict]:
    """The compiled model's runtime ops with the original layers each fused (rt_info originalLayersNames)."""
    from calib.backends.openvino_profile import runtime_layers

    layers = runtime_layers(compiled)
    for layer, op in zip(layers, compiled.get_runtime_model().get_ordered_ops()):
        info = op.get_rt_info()
        names = info["originalLayersNames"].astype(str) if "originalLayersNames" in info else ""
        layer["fused"] = tuple(name for name in names.split(",") if name)
    return layers


class OpenVinoModel:
    """One model at one precision and batch size, read (and for int8-static quantized by NNCF, as calib's
    OpenVINO backend does) once; compiled for the graph, for timing and for PERF_COUNT."""

    def __init__(self, model, precision: str, batch_size: int, threads: int):
        import openvino

        from calib.backends import openvino as backend

        reason = backend.unsupported_reason(precision, "cpu")
        if reason:
            from calib.errors import PrecisionUnavailable

            raise PrecisionUnavailable(reason)
        self._backend, self._openvino = backend, openvino
        self.core = openvino.Core()
        self.config = RunConfig(precision=precision, device="cpu", batch_size=batch_size, threads=threads)
        self.ov_model, self.info = backend.read_model(self.core, model, batch_size)
        if precision == "int8-static":
            self.ov_model = backend.quantize(self.ov_model, model, self.config, self.info)
        self.hint = backend.inference_hint(self.config)
        self.original_types = {op.get_friendly_name(): op.get_type_name() for op in self.ov_model.get_ops()}
        self.arrays = [tensor.numpy() for tensor in model.make_inputs(batch_size)]
        self.precision = get_precision(precision)

    def _compile(self, perf_count: bool):
        properties = self._backend.compile_properties(self.hint, self.config.threads, perf_count=perf_count)
        return self.core.compile_model(self.ov_model, "CPU", properties)

    def _request(self, compiled):
        request = compiled.create_infer_request()
        for index, array in enumerate(self.arrays):
            request.set_input_tensor(index, self._openvino.Tensor(array, shared_memory=True))
        return request

    def graph(self) -> KernelGraph:
        started = time.perf_counter()
        rows = kernel_rows(runtime_ops(self._compile(False)), self.original_types)
        return KernelGraph(rows, "openvino-runtime-model", time.perf_counter() - started)

    def measure(self, stop, warmup):
        """End to end with calib's timing engine (no counters), one sync request, inputs bound once."""
        from calib.timing.clock import PerfCounterTimer
        from calib.timing.engine import measure

        request = self._request(self._compile(False))
        return measure(request.infer, PerfCounterTimer(), stop=stop, warmup=warmup,
                       batch_size=self.config.batch_size)

    def profiled_rows(self, end_to_end_ms: float) -> tuple[list[dict], dict]:
        """The kernel rows with each kernel's PERF_COUNT median (ms), and the profile's summary."""
        from calib.backends.openvino_profile import profile_request

        compiled = self._compile(True)
        layers = runtime_ops(compiled)
        table = profile_request(self._request(compiled), end_to_end_ms, layers, self.precision.storage_dtype,
                                self.precision.compute_dtype)
        medians = {row["name"]: row["median_ms"] for row in table["layers"]}
        rows = [{**row, "median_ms": medians[row["name"]]} for row in kernel_rows(layers, self.original_types)
                if row["name"] in medians]
        return rows, {"coverage": table.get("coverage"), "repeats": table.get("repeats"),
                      "pass_s": table.get("pass_s")}


def _elements(shape) -> int:
    return math.prod(d for d in shape if d) if shape else 0


def _text(shape) -> str:
    if not shape:
        return "scalar"
    return "x".join("?" if d is None else str(d) for d in shape)
