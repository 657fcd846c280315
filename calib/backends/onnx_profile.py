"""Per-node latency of an ONNX Runtime session, in the same layer-table format as calib.layers.

ORT's profiler writes one JSON event per node execution (cat "Node", name "<node>_kernel_time",
dur in microseconds) and one "model_run" event per Run. Profiling slows every run, so it
happens in a separate session after the end-to-end measurement; the table's coverage is the
per-node sum over the unprofiled end-to-end median.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
import tempfile
import time

from calib.dtypes import ITEM_BYTES, dtype_of_onnx_type
from calib.layers.table import finish_table
from calib.timing.stats import summarize

WARMUP_RUNS = 3
MIN_REPEATS, MAX_REPEATS = 5, 50
TARGET_PASS_MS = 2000.0  # profiled time to aim for: enough repeats for a stable median

# ORT op types the name rules of calib.layers.kinds would misfile ("QuantizeLinear" is no Linear layer).
_ORT_KINDS = {"gemm": "linear", "fusedgemm": "linear", "qgemm": "linear", "quantizelinear": "quantize",
              "dequantizelinear": "quantize", "dynamicquantizelinear": "quantize"}


def profile_session(create_session, feeds: dict, end_to_end_ms: float, storage_dtype: str, compute_dtype: str,
                    repeats: int | None = None, graph_path=None) -> dict:
    """Run a profiling session `repeats` times and return the layer-table dict."""
    started = time.perf_counter()
    if repeats is None:
        repeats = int(min(MAX_REPEATS, max(MIN_REPEATS, TARGET_PASS_MS / max(end_to_end_ms, 1e-3))))
    with tempfile.TemporaryDirectory(prefix="calib-ort-profile-") as folder:
        session = create_session(os.path.join(folder, "profile"))
        for _ in range(WARMUP_RUNS + repeats):
            session.run(None, feeds)
        with open(session.end_profiling()) as handle:
            events = json.load(handle)
    weights = conv_weights_of(graph_path) if graph_path else {}
    table = layer_table(events, end_to_end_ms, storage_dtype, compute_dtype, skip_runs=WARMUP_RUNS,
                        conv_weights=weights)
    table["pass_s"] = time.perf_counter() - started
    return table


def layer_table(events: list[dict], end_to_end_ms: float, storage_dtype: str, compute_dtype: str,
                skip_runs: int = 0, conv_weights: dict | None = None) -> dict:
    """Per-node medians over the profiled runs (after `skip_runs` warm-up runs), with coverage."""
    runs = sorted((e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"),
                  key=lambda e: e["ts"])[skip_runs:]
    node_events = [e for e in events if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")]
    starts = [run["ts"] for run in runs]
    per_node: dict[str, list[float]] = {}
    first_event: dict[str, dict] = {}
    for event in node_events:
        run_index = bisect.bisect_right(starts, event["ts"]) - 1
        if run_index < 0 or event["ts"] > runs[run_index]["ts"] + runs[run_index]["dur"]:
            continue  # a warm-up run's node
        name = event["name"][: -len("_kernel_time")]
        first_event.setdefault(name, event)
        times = per_node.setdefault(name, [0.0] * len(runs))
        times[run_index] += event["dur"] / 1000.0  # a node inside a loop runs several times per run
    rows = [_row(name, first_event[name], times, compute_dtype, storage_dtype, conv_weights or {})
            for name, times in per_node.items()]
    rows.sort(key=lambda row: row["median_ms"], reverse=True)
    run_ms = [run["dur"] / 1000.0 for run in runs]
    # finish_table adds share (of the per-node sum), GFLOP/s, coverage (sum / unprofiled end-to-end), by_kind
    return finish_table(rows, end_to_end_ms, "ort-profiler", repeats=len(runs),
                        profiled_run_ms=summarize(run_ms).median_ms if run_ms else None)


def _row(name: str, event: dict, times_ms: list[float], compute_dtype: str, storage_dtype: str,
         conv_weights: dict) -> dict:
    from calib.layers.facts import configuration_label, flag_for
    args = event.get("args", {})
    op_type = args.get("op_name", "?")
    kind = _op_kind(op_type)
    inputs = [_typed_shape(entry) for entry in args.get("input_type_shape", [])]
    outputs = [_typed_shape(entry) for entry in args.get("output_type_shape", [])]
    layer_dtype = _layer_compute_dtype(kind, [d for d, _ in inputs], outputs[0][0] if outputs else None)
    stats = summarize(times_ms)
    median_ms = stats.median_ms
    graph_conv = conv_weights.get(_graph_node_name(name)) or {}
    flops = _flops(kind, op_type, inputs, outputs, graph_conv.get("weight"))
    params = _param_count(inputs, int(args.get("parameter_size", 0) or 0))
    return {
        "name": name, "op_kind": kind, "target": op_type, "module_path": module_path(name),
        "input_shapes": [_shape_text(shape) for _, shape in inputs], "input_dtypes": [d for d, _ in inputs],
        "output_shape": _shape_text(outputs[0][1]) if outputs else None,
        "output_dtype": outputs[0][0] if outputs else None,
        "params": graph_conv.get("params", params),  # the graph's count where ORT prepacked the weights
        "flops": flops,
        "bytes": sum(int(args.get(key, 0) or 0) for key in ("activation_size", "parameter_size", "output_size")),
        "median_ms": median_ms, "p90_ms": stats.p90_ms, "compute_dtype": layer_dtype, "provider": args.get("provider"),
        "flag": flag_for(kind, layer_dtype, compute_dtype, configuration_label(storage_dtype, compute_dtype, False)),
    }


def conv_weights_of(graph_path) -> dict[str, dict]:
    """Conv node name -> {"weight": shape, "params": weight + bias elements}, read from the graph
    (through the DequantizeLinear in front of each weight in QDQ graphs)."""
    import onnx

    graph = onnx.load(str(graph_path), load_external_data=False).graph
    initializers = {init.name: list(init.dims) for init in graph.initializer}
    dequantized = {node.output[0]: initializers.get(node.input[0]) for node in graph.node
                   if node.op_type == "DequantizeLinear"}
    shapes = {}
    for node in graph.node:
        if node.op_type == "Conv" and len(node.input) > 1:
            shapes_in = [initializers.get(name) or dequantized.get(name) for name in node.input[1:]]
            if shapes_in[0]:
                shapes[node.name] = {"weight": shapes_in[0],
                                     "params": sum(math.prod(shape) for shape in shapes_in if shape)}
    return shapes


def _graph_node_name(profiled_name: str) -> str:
    """'/conv1/Conv_token_1' (a node ORT fused or rewrote) -> '/conv1/Conv', its name in the graph."""
    return re.sub(r"_token_\d+$", "", profiled_name)


def _op_kind(op_type: str) -> str:
    from calib.layers.kinds import op_kind_of

    lowered = op_type.lower()
    if lowered in _ORT_KINDS:
        return _ORT_KINDS[lowered]
    return op_kind_of(lowered.removeprefix("qlinear"))  # QLinearAdd is an add, QLinearConv a conv


def module_path(node_name: str) -> str | None:
    """'/layer1/layer1.0/conv1/Conv' -> 'layer1.0.conv1' (the exporter's scope names)."""
    parts = [p for p in node_name.split("/") if p and not p.startswith("Inserted")][:-1]
    path = ""
    for part in parts:
        path = part if (not path or part.startswith(path + ".")) else f"{path}.{part}"
    return path or None


def _typed_shape(entry: dict) -> tuple[str, list[int]]:
    ort_dtype, shape = next(iter(entry.items()))
    return dtype_of_onnx_type(ort_dtype) or ort_dtype, list(shape)


def _shape_text(shape: list[int]) -> str:
    return "x".join(str(d) for d in shape) or "scalar"


def _layer_compute_dtype(kind: str, input_dtypes: list[str], output_dtype: str | None) -> str | None:
    if kind != "quantize" and any(d in ("int8", "uint8") for d in input_dtypes):
        return "int8"
    floating = [d for d in [output_dtype, *input_dtypes] if d and d.startswith(("float", "bfloat"))]
    return floating[0] if floating else None


def _param_count(inputs: list[tuple[str, list[int]]], parameter_bytes: int) -> int | None:
    """Elements of the node's weight inputs: the run of inputs whose bytes add up to ORT's parameter_size
    (a fused Conv+Add takes [x, weight, bias, residual]: the weights sit in the middle)."""
    if not parameter_bytes:
        return 0
    for start in range(len(inputs)):
        for end in range(len(inputs), start, -1):
            run = inputs[start:end]
            if sum(math.prod(shape) * ITEM_BYTES.get(dtype, 4) for dtype, shape in run) == parameter_bytes:
                return sum(math.prod(shape) for _, shape in run)
    return None


def _flops(kind: str, op_type: str, inputs, outputs, graph_weight: list[int] | None = None) -> int | None:
    """2 per multiply-add for conv and matmul (weights read from the input shapes); 1 per output element otherwise.

    ORT prepacks QLinearConv weights, so their events lack the weight shape: it then comes from
    the graph (graph_weight), or the count is None."""
    if not outputs:
        return 0
    out_numel = sum(math.prod(shape) for _, shape in outputs)
    shapes = [shape for _, shape in inputs]
    if kind == "conv" and len(shapes) >= 2:
        weight = shapes[3] if op_type == "QLinearConv" and len(shapes) > 3 else shapes[1]
        weight = weight if len(weight) >= 3 else (graph_weight or [])
        if len(weight) >= 3:
            return 2 * out_numel * math.prod(weight[1:])  # Cin/groups * kernel area per output
        return None
    if kind in ("linear", "matmul") and shapes and shapes[0]:
        return 2 * out_numel * shapes[0][-1]
    if kind == "pooling" and shapes and shapes[0]:
        return math.prod(shapes[0])  # one add or compare per input element
    if kind in ("elementwise", "activation", "norm"):
        return out_numel
    return 0

