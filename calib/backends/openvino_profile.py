"""What an OpenVINO compiled model really ran, and its per-layer times, in calib's formats.

Two sources, both from OpenVINO's CPU plugin after compilation:
- the runtime graph (`compiled.get_runtime_model()`): one op per executed layer, with rt_info
  `layerType`, `runtimePrecision` (f32, bf16, f16, u8, i8, ...) and `primitiveType`, the kernel
  (brgconv_avx2_f32, brgconv_avx512_amx_bf16, jit_avx2_I8, ...). `provenance` counts them: how many
  layers computed in the requested precision, which fell back. This is what catches the silent
  bf16: an INFERENCE_PRECISION_HINT the CPU cannot honour is dropped without an error.
- the performance counters (PERF_COUNT, `request.get_profiling_info()`), one entry per layer, cumulative
  since compile: `steady_entries` takes each layer's mean over the profiled calls, `layer_table` turns them
  into calib's one layer-table format.
  Counters slow every call, so they come from a second compiled model, after the timing.

The functions here take plain dicts (`runtime_layers`, `profiling_entries` read them from the
OpenVINO objects), so they are tested without OpenVINO.
"""

from __future__ import annotations

import math
import time
from collections import Counter

from calib.layers.table import finish_table
from calib.timing.stats import summarize

WARMUP_RUNS = 3
MIN_REPEATS, MAX_REPEATS = 5, 50
TARGET_PASS_MS = 2000.0  # profiled time to aim for, as calib.backends.onnx_profile
FALLBACK_LISTED = 20  # fallback layers kept by name in the record (all are counted)

# OpenVINO precision names -> calib dtype names.
DTYPES = {"f32": "float32", "bf16": "bfloat16", "f16": "float16", "u8": "int8", "i8": "int8", "f64": "float64",
          "i32": "int32", "i64": "int64", "boolean": "bool", "u1": "bool"}
# The runtime precisions that count as the requested precision.
REQUESTED = {"fp32": ("f32",), "bf16": ("bf16",), "fp16": ("f16",), "int8-static": ("u8", "i8")}
# Layers that move or reshape data and do no arithmetic of their own: not counted.
NO_ARITHMETIC = {"Input", "Output", "Parameter", "Result", "Const", "Constant", "Reshape", "Squeeze", "Unsqueeze",
                 "ShapeOf", "Reorder", "Transpose", "Concatenation", "Concat", "Gather", "Split", "StridedSlice",
                 "Broadcast", "Convert", "Range"}
# The heavy layers a precision is meant to speed up (and the ones NNCF quantizes).
HEAVY = {"Convolution", "GroupConvolution", "Deconvolution", "FullyConnected", "FullyConnectedQuantizedLegacy",
         "MatMul", "ScaledDotProductAttention"}
_INTEGER = {"i32", "i64", "boolean", "u1"}  # shape and index arithmetic, no model compute

# OpenVINO layer types the name rules of calib.layers.kinds would misfile.
_KINDS = {"fullyconnected": "linear", "fullyconnectedquantizedlegacy": "linear", "eltwise": "elementwise",
          "subgraph": "elementwise", "fakequantize": "quantize", "reorder": "other", "mvn": "norm",
          "rmsnorm": "norm", "scaleddotproductattention": "attention", "input": "other", "output": "other"}


def runtime_layers(compiled) -> list[dict]:
    """One dict per op of the compiled model's runtime graph: name, type, precision, kernel, shapes, the output's
    memory layout ("abcd", "acdb", "aBcd16b") and precision, and of the op feeding its first input ("source") the
    same three and whether only constants feed it: what tells a Reorder that does work from one the plugin runs in
    place or once, at compile time."""
    layers, constant = [], {}
    for op in compiled.get_runtime_model().get_ordered_ops():  # topological: an op's inputs come first
        info = op.get_rt_info()
        feeds = [op.input_value(i) for i in range(op.get_input_size())]
        constant[op.get_friendly_name()] = _rt(info, "layerType") == "Const" or bool(feeds) and all(
            constant.get(feed.get_node().get_friendly_name(), False) for feed in feeds)
        source = feeds[0].get_node() if feeds else None
        layers.append({"name": op.get_friendly_name(), "type": _rt(info, "layerType"),
                       "precision": _rt(info, "runtimePrecision").lower(), "kernel": _rt(info, "primitiveType"),
                       "input_shapes": [_shape(op.input(i).get_partial_shape()) for i in range(op.get_input_size())],
                       "output_shape": _shape(op.get_output_partial_shape(0)) if op.get_output_size() else None,
                       "layout": _rt(info, "outputLayouts"), "output_precision": _rt(info, "outputPrecisions").lower(),
                       "source": None if source is None else {
                           "type": _rt(source.get_rt_info(), "layerType"),
                           "constant": constant.get(source.get_friendly_name(), False),
                           "layout": _nth(_rt(source.get_rt_info(), "outputLayouts"), feeds[0].get_index()),
                           "precision": _nth(_rt(source.get_rt_info(), "outputPrecisions"),
                                             feeds[0].get_index()).lower()}})
    return layers


def _rt(info, key: str) -> str:
    return info[key].astype(str) if key in info else ""


def _nth(listed: str, index: int) -> str:
    """One output's entry of a comma-separated per-output rt_info value."""
    parts = listed.split(",")
    return parts[index] if index < len(parts) else parts[-1]


def provenance(layers: list[dict], precision: str) -> dict:
    """How many layers computed in `precision`, per runtime precision and kernel, and which fell back.

    Counted: layers that do arithmetic (no reshapes, reorders, constants, shape math). For int8
    the question is whether the heavy layers (conv, fully connected, matmul) are int8; the other
    layers of an int8 graph legitimately stay float.
    """
    wanted = REQUESTED[precision]
    counted = [layer for layer in layers if _computes(layer)]
    checked = [layer for layer in counted if layer["type"] in HEAVY] if precision == "int8-static" else counted
    heavy = [layer for layer in counted if layer["type"] in HEAVY]
    fallback = [layer for layer in checked if layer["precision"] not in wanted]
    return {
        "requested": precision, "requested_runtime_precisions": list(wanted),
        "executed_precisions": dict(Counter(layer["precision"] for layer in counted).most_common()),
        "layers_checked": len(checked), "layers_in_requested_precision": len(checked) - len(fallback),
        "heavy_layers": len(heavy), "heavy_in_requested_precision": sum(l["precision"] in wanted for l in heavy),
        "heavy_kernels": dict(Counter(layer["kernel"] for layer in heavy).most_common()),
        "fallback_count": len(fallback),
        "fallback": [{key: layer[key] for key in ("name", "type", "precision", "kernel")}
                     for layer in fallback[:FALLBACK_LISTED]],
    }


def _computes(layer: dict) -> bool:
    """A layer with arithmetic of its own on model values (not a copy, a reshape or shape math)."""
    return layer["type"] not in NO_ARITHMETIC and layer["precision"] not in _INTEGER


def executed_dtype(summary: dict) -> str | None:
    """The calib dtype most heavy layers (else most counted layers) computed in."""
    heavy = Counter()
    for kernel, count in summary["heavy_kernels"].items():
        heavy[kernel_dtype(kernel)] += count
    heavy.pop(None, None)
    if heavy:
        return heavy.most_common(1)[0][0]
    floating = [DTYPES.get(name) for name in summary["executed_precisions"]]
    return next((d for d in floating if d and d not in ("int32", "int64", "bool")), None)


def fallback_warning(summary: dict, hint_compiled: str | None, capabilities: list[str]) -> str | None:
    """One line when the precision asked for is not what the heavy layers (or, for fp32, any layer) ran."""
    from calib.dtypes import short_name

    precision = summary["requested"]
    if precision == "fp32":
        narrower = {name: n for name, n in summary["executed_precisions"].items() if name in ("bf16", "f16")}
        if not narrower:
            return None
        return (f"fp32 requested, yet OpenVINO ran {sum(narrower.values())} layers in {'/'.join(narrower)} "
                f"(compiled INFERENCE_PRECISION_HINT {hint_compiled}): this timing is not fp32's")
    heavy, in_wanted = summary["heavy_layers"], summary["heavy_in_requested_precision"]
    if heavy == 0 or in_wanted == heavy:
        return None
    kernels = ", ".join(summary["heavy_kernels"])
    if precision == "int8-static":
        return (f"int8-static: {heavy - in_wanted} of {heavy} conv/matmul layers did not run int8 in OpenVINO "
                f"(kernels {kernels}); see backend_info.executed.fallback")
    ran = short_name(executed_dtype(summary), missing="?")
    return (f"{precision} requested, but OpenVINO's CPU plugin ran {in_wanted} of {heavy} conv/matmul layers in "
            f"{precision} (kernels {kernels}; compiled INFERENCE_PRECISION_HINT {hint_compiled}; this CPU's "
            f"capabilities {', '.join(capabilities) or '?'}): the hint fell back without an error, "
            f"so this timing is {ran}'s")


def kernel_dtype(kernel: str | None) -> str | None:
    """'brgconv_avx2_f32' -> float32, 'jit_avx2_I8' -> int8, 'brgconv_avx512_amx_bf16' -> bfloat16."""
    if not kernel:
        return None
    suffix = kernel.rsplit("_", 1)[-1].lower()
    return DTYPES.get(suffix)


# PERF_COUNT's counters are cumulative and integer (intel_cpu PerfCount / Graph::GetPerfData): a kernel's
# real_time is floor(its total since compile / calls), the total a sum of per-call times each truncated to whole
# microseconds, and "executed" means that average is above 0. So one snapshot per inference is a running mean
# that still holds the warm-up calls (MobileNetV3-Small b4: its kernels summed 5.4 ms after the first call, 3.1 ms
# after 60, the median over calib's 50 profiled calls 4% above their steady mean), and a 1.9 us kernel reads
# 1 us. steady_entries takes the mean over the profiled calls alone from two snapshots, half a microsecond back
# for each truncation.
HALF_US_MS = 0.0005


def profiling_entries(request) -> list[dict]:
    """The performance counters (cumulative since compile, see HALF_US_MS) as dicts."""
    return [{"name": entry.node_name, "type": entry.node_type, "kernel": entry.exec_type,
             "executed": entry.status.name == "EXECUTED", "real_ms": entry.real_time.total_seconds() * 1000.0}
            for entry in request.get_profiling_info()]


def steady_entries(before: list[dict], after: list[dict], calls_before: int, calls_after: int) -> list[dict]:
    """Each kernel's mean time per call over the calls between two snapshots of the cumulative counters (taken
    after calls_before and calls_after inferences since compile). Pure: tested on hand-made counters."""
    prior = {entry["name"]: entry for entry in before}
    span = calls_after - calls_before
    steady = []
    for entry in after:
        earlier = prior.get(entry["name"]) or {"real_ms": 0.0, "executed": False}
        if not (entry["executed"] or earlier["executed"]) or span <= 0:
            steady.append(entry)  # never above 0: not run (in place, optimized out)
            continue
        total_after = (entry["real_ms"] + HALF_US_MS) * calls_after  # floor(total / calls): half a us back
        total_before = (earlier["real_ms"] + HALF_US_MS) * calls_before
        mean = (total_after - total_before) / span + HALF_US_MS  # each call truncated: half a us back
        # a kernel under 1 us a call reads 0 once its slower warm-up calls are averaged away: it ran, in [0, 1) us
        steady.append({**entry, "executed": True, "real_ms": max(mean, HALF_US_MS)})
    return steady


def profile_request(request, end_to_end_ms: float, layers: list[dict], storage_dtype: str, compute_dtype: str,
                    repeats: int | None = None) -> dict:
    """Run a PERF_COUNT request `repeats` times (after warm-up) and return the layer table."""
    started = time.perf_counter()
    if repeats is None:
        repeats = int(min(MAX_REPEATS, max(MIN_REPEATS, TARGET_PASS_MS / max(end_to_end_ms, 1e-3))))
    for _ in range(WARMUP_RUNS):  # on a request of a freshly compiled model: its counters count these first
        request.infer()
    before = profiling_entries(request)
    run_ms = []
    for _ in range(repeats):
        call_started = time.perf_counter()
        request.infer()
        run_ms.append((time.perf_counter() - call_started) * 1000.0)
    steady = steady_entries(before, profiling_entries(request), WARMUP_RUNS, WARMUP_RUNS + repeats)
    table = layer_table([steady], end_to_end_ms, layers, storage_dtype, compute_dtype, run_ms, repeats=repeats)
    table["pass_s"] = time.perf_counter() - started
    return table


def layer_table(runs: list[list[dict]], end_to_end_ms: float, layers: list[dict], storage_dtype: str,
                compute_dtype: str, run_ms: list[float] | None = None, repeats: int | None = None) -> dict:
    """Per-layer medians over `runs` (profile_request passes one: the steady means of its `repeats` calls;
    executed layers only), with coverage and the count of executed layers per precision (what
    `benchmark_app -pc` shows per layer)."""
    from calib.layers.facts import configuration_label

    by_name = {layer["name"]: layer for layer in layers}
    times: dict[str, list[float]] = {}
    first: dict[str, dict] = {}
    for entries in runs:
        for entry in entries:
            if entry["executed"]:
                first.setdefault(entry["name"], entry)
                times.setdefault(entry["name"], []).append(entry["real_ms"])
    label = configuration_label(storage_dtype, compute_dtype, False)
    rows = [_row(first[name], values, by_name.get(name, {}), compute_dtype, label) for name, values in times.items()]
    rows.sort(key=lambda row: row["median_ms"], reverse=True)
    executed = Counter(row["compute_dtype"] or "?" for row in rows)
    return finish_table(rows, end_to_end_ms, "openvino-perf-count", repeats=repeats or len(runs),
                        profiled_run_ms=summarize(run_ms).median_ms if run_ms else None,
                        executed_dtypes=dict(executed.most_common()))


def _row(entry: dict, times_ms: list[float], layer: dict, compute_dtype: str, label: str) -> dict:
    from calib.layers.facts import flag_for

    kind = op_kind(entry["type"])
    layer_dtype = kernel_dtype(entry["kernel"]) or DTYPES.get(layer.get("precision", ""))
    stats = summarize(times_ms)
    inputs, output = layer.get("input_shapes") or [], layer.get("output_shape")
    flag = flag_for(kind, layer_dtype, compute_dtype, label)
    if compute_dtype == "float32" and layer_dtype in ("bfloat16", "float16"):
        flag = f"{layer_dtype.replace('bfloat', 'bf').replace('float', 'fp')} in fp32"  # the silent hint
    return {"name": entry["name"], "op_kind": kind, "target": entry["type"], "module_path": None,
            "input_shapes": [_text(shape) for shape in inputs], "output_shape": _text(output),
            "output_dtype": DTYPES.get(layer.get("precision", "")), "flops": _flops(kind, inputs, output),
            "median_ms": stats.median_ms, "p90_ms": stats.p90_ms, "compute_dtype": layer_dtype,
            "provider": entry["kernel"], "flag": flag}


def op_kind(layer_type: str) -> str:
    from calib.layers.kinds import op_kind_of

    lowered = layer_type.lower()
    return _KINDS.get(lowered) or op_kind_of(lowered)


def _flops(kind: str, inputs: list, output) -> int | None:
    """2 per multiply-add for conv (weights from the second input) and matmul; 1 per output element otherwise."""
    if not output or any(d is None for d in output):
        return None
    out_numel = math.prod(output)
    if kind == "conv" and len(inputs) >= 2 and inputs[1] and None not in inputs[1]:
        weight = inputs[1]
        per_output = weight[2:] if len(weight) > len(output) else weight[1:]  # grouped: [G, O/G, I/G, k...]
        return 2 * out_numel * math.prod(per_output)
    if kind in ("linear", "matmul") and inputs and inputs[0] and inputs[0][-1] is not None:
        return 2 * out_numel * inputs[0][-1]
    if kind in ("elementwise", "activation", "norm"):
        return out_numel
    return None


def _shape(partial_shape) -> list[int | None]:
    return [dim.get_length() if dim.is_static else None for dim in partial_shape]


def _text(shape) -> str | None:
    if shape is None:
        return None
    return "x".join("?" if d is None else str(d) for d in shape) or "scalar"
