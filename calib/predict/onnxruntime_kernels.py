"""ONNX Runtime's kernel graph, read from the engine: the session's optimized graph and each node's time.

Why the optimized graph: at ORT_ENABLE_ALL (calib's level) the CPU provider fuses Conv+Add+Relu into one
node (FusedConv, or an NCHWc Conv with an "activation" attribute and the residual as a 4th input), turns
QDQ groups into QLinearConv / QGemm and inserts NCHWc ReorderInput/ReorderOutput nodes: one node per
kernel the session runs. `SessionOptions.optimized_model_filepath` writes that graph when the session is
created; nothing runs. Its nodes are the names the profiler's node events carry, so calibration joins
each node's profiled median (calib.backends.onnx_profile) to the same row a prediction costs.

Shapes: the optimized graph has no value_info and contrib ops that onnx's shape inference does not know;
so shapes are the converted graph's (inferred) by value name, carried through the nodes ORT added (an
NCHWc node is named "<original output>_nchwc"; a reorder keeps its input's logical shape).

Cost keys, finest first: ort:<op>[:<fused activation, +Sum>][/dw], ort:<op>[/dw], kind:ort:<op>:<input dtype>.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from pathlib import Path

from calib.backends.base import RunConfig
from calib.predict.openvino_kernels import KernelGraph

ENGINE = "onnxruntime"
_ELEMENT_BYTES = {1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 10: 2, 16: 2}  # onnx TensorProto elem types
_DTYPES = {1: "f32", 2: "u8", 3: "i8", 6: "i32", 7: "i64", 10: "f16", 16: "bf16"}
_CONVS = {"Conv", "FusedConv", "QLinearConv", "ConvInteger", "NhwcFusedConv"}
_MATMULS = {"Gemm", "MatMul", "FusedGemm", "QGemm", "MatMulInteger", "QLinearMatMul", "FusedMatMul"}


def kernel_rows(graph, known_shapes: dict[str, tuple], known_types: dict[str, int]) -> list[dict]:
    """Optimized-graph nodes -> per-kernel rows. `known_shapes`/`known_types`: the converted graph's values."""
    from calib.backends.onnx_profile import _op_kind  # ORT's op types as calib's kinds, as its profiles name them

    initializers = {init.name: tuple(init.dims) for init in graph.initializer}
    element = {init.name: init.data_type for init in graph.initializer}
    shapes = {**known_shapes, **initializers}
    types = {**known_types, **element}
    rows = []
    for index, node in enumerate(graph.node):
        inputs = [shapes.get(name) for name in node.input if name]
        original = node.name.removesuffix("_nchwc")
        output = (known_shapes.get(node.output[0]) or known_shapes.get(original)
                  or _conv_output(node, inputs, initializers) or _propagated(node, inputs))
        for name in node.output:
            shapes.setdefault(name, output)
        first_type = types.get(node.input[0]) if node.input else None
        for name in node.output:
            types.setdefault(name, first_type)
        attributes = {a.name: a for a in node.attribute}
        kind = _op_kind(node.op_type)
        dtype = _DTYPES.get(first_type or 1, "f32")
        depthwise = _depthwise(node, attributes, inputs)
        fused = attributes["activation"].s.decode() if "activation" in attributes else ""
        if node.op_type in _CONVS and node.domain.endswith("nchwc") and len(node.input) > 3 and node.input[3]:
            fused += "+Sum"
        suffix = "/dw" if depthwise else ""
        keys = [f"ort:{node.op_type}{':' + fused if fused else ''}{suffix}", f"ort:{node.op_type}{suffix}",
                f"kind:ort:{node.op_type}:{dtype}"]
        activations = [shape for name, shape in zip(node.input, inputs) if shape and name not in initializers]
        size = sum(math.prod(shape) * _ELEMENT_BYTES.get(types.get(name) or 1, 4)
                   for name, shape in zip(node.input, inputs) if shape)
        size += math.prod(output) * _ELEMENT_BYTES.get(first_type or 1, 4) if output else 0
        rows.append({"name": node.name or f"{node.op_type}_{index}", "op_kind": kind, "target": node.op_type,
                     "provider": node.domain or "ai.onnx", "fused": fused,
                     "input_shapes": ", ".join(_text(s) for s in activations), "output_shape": _text(output),
                     "input_dtypes": dtype, "flops": _flops(node, attributes, inputs, output), "bytes": size,
                     "cost_keys": list(dict.fromkeys(keys))})
    return rows


def _propagated(node, inputs):
    """A node ORT added (a reorder, a pooling in NCHWc): its first input's logical shape, pooled to 1x1."""
    first = inputs[0] if inputs else None
    if first and node.op_type.startswith("Global"):
        return (*first[:2], *([1] * (len(first) - 2)))
    return first


def _conv_output(node, inputs, initializers):
    """A conv ORT rewrote (QLinearConv's output is a new value): N, Cout from its weight, spatial from the
    attributes, as ONNX's Conv shape rule."""
    if node.op_type not in _CONVS or not inputs or not inputs[0] or len(inputs[0]) < 3:
        return None
    weight_position = 3 if node.op_type == "QLinearConv" else 1
    weight = initializers.get(node.input[weight_position]) if len(node.input) > weight_position else None
    if not weight:
        return None
    attributes = {a.name: a for a in node.attribute}
    spatial = inputs[0][2:]
    kernel = list(attributes["kernel_shape"].ints) if "kernel_shape" in attributes else list(weight[2:])
    strides = list(attributes["strides"].ints) if "strides" in attributes else [1] * len(spatial)
    dilations = list(attributes["dilations"].ints) if "dilations" in attributes else [1] * len(spatial)
    pads = list(attributes["pads"].ints) if "pads" in attributes else [0] * (2 * len(spatial))
    out = [(size + pads[i] + pads[i + len(spatial)] - dilations[i] * (kernel[i] - 1) - 1) // strides[i] + 1
           for i, size in enumerate(spatial)]
    return (inputs[0][0], weight[0], *out)


def _depthwise(node, attributes, inputs) -> bool:
    if node.op_type not in _CONVS or "group" not in attributes:
        return False
    group = attributes["group"].i
    return group > 1 and bool(inputs and inputs[0] and len(inputs[0]) > 1 and inputs[0][1] == group)


def _flops(node, attributes, inputs, output) -> int:
    if not output:
        return 0
    out_numel = math.prod(output)
    first = inputs[0] if inputs else None
    if node.op_type in _CONVS and first and "kernel_shape" in attributes:
        group = attributes["group"].i if "group" in attributes else 1
        return int(2 * out_numel * (first[1] // max(group, 1)) * math.prod(attributes["kernel_shape"].ints))
    if node.op_type in _MATMULS and first:
        return int(2 * out_numel * first[-1])
    return int(out_numel)


class OrtModel:
    """One model at one precision and batch size, converted once (calib's ONNX Runtime conversion:
    int8-static is its QDQ quantize_static), then opened as sessions for the graph, timing and profile."""

    def __init__(self, model, precision: str, batch_size: int, threads: int):
        import onnx

        from calib.backends import onnx_convert
        from calib.backends.onnxruntime import source_graph, unsupported_reason

        reason = unsupported_reason(precision, "cpu")
        if reason:
            from calib.errors import PrecisionUnavailable

            raise PrecisionUnavailable(reason)
        self.config = RunConfig(precision=precision, device="cpu", batch_size=batch_size, threads=threads)
        self.work_dir = Path(tempfile.mkdtemp(prefix="calib-ort-kernels-"))
        try:
            source, _ = source_graph(model)
            self.path, _ = onnx_convert.convert(source, precision, model, self.config, self.work_dir)
            converted = onnx.load(str(self.path))
            inputs = [i for i in converted.graph.input if i.name not in {x.name for x in converted.graph.initializer}]
            for graph_input, tensor in zip(inputs, model.make_inputs(batch_size)):
                dims = graph_input.type.tensor_type.shape.dim
                for dim, size in zip(dims, tensor.shape):
                    dim.ClearField("dim_param")
                    dim.dim_value = int(size)
            inferred = onnx.shape_inference.infer_shapes(converted)
            self.shapes, self.types = {}, {}
            for value in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]:
                tensor_type = value.type.tensor_type
                self.shapes[value.name] = tuple(d.dim_value for d in tensor_type.shape.dim)
                self.types[value.name] = tensor_type.elem_type
            self.feeds = {graph_input.name: tensor.numpy()
                          for graph_input, tensor in zip(inputs, model.make_inputs(batch_size))}
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def __del__(self):
        self.close()

    def _session(self, optimized_path: str | None = None, profile_prefix: str | None = None):
        import onnxruntime

        from calib.backends.onnxruntime import session_options

        options = session_options(self.config.threads, profile_prefix=profile_prefix)
        if optimized_path:
            options.optimized_model_filepath = optimized_path
        return onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def graph(self) -> KernelGraph:
        import onnx

        started = time.perf_counter()
        optimized = str(self.work_dir / "optimized.onnx")
        self._session(optimized)
        rows = kernel_rows(onnx.load(optimized).graph, self.shapes, self.types)
        return KernelGraph(rows, "onnxruntime-optimized-graph", time.perf_counter() - started)

    def measure(self, stop, warmup):
        from calib.timing.clock import PerfCounterTimer
        from calib.timing.engine import measure

        session, feeds = self._session(), self.feeds
        return measure(lambda: session.run(None, feeds), PerfCounterTimer(), stop=stop, warmup=warmup,
                       batch_size=self.config.batch_size)

    def profiled_rows(self, end_to_end_ms: float) -> tuple[list[dict], dict]:
        from calib.backends.onnx_profile import profile_session
        from calib.precisions import get_precision

        precision = get_precision(self.config.precision)
        rows = self.graph().rows
        table = profile_session(lambda prefix: self._session(profile_prefix=prefix), self.feeds, end_to_end_ms,
                                precision.storage_dtype, precision.compute_dtype)
        medians = join_by_name(rows, table["layers"])
        joined = [{**row, "median_ms": medians[row["name"]]} for row in rows if row["name"] in medians]
        return joined, {"coverage": table.get("coverage"), "repeats": table.get("repeats"),
                        "pass_s": table.get("pass_s"), "unjoined": len(table["layers"]) - len(joined)}


def join_by_name(rows: list[dict], profiled: list[dict]) -> dict[str, float]:
    """Graph row name -> profiled median. A node the saved graph leaves unnamed is named by the profiler
    "<op>_<its internal index>": those are paired per op type in graph order (the index grows with it)."""
    medians = {row["name"]: row["median_ms"] for row in profiled}
    found = {row["name"]: medians[row["name"]] for row in rows if row["name"] in medians}
    left = [row for row in rows if row["name"] not in medians]
    taken = set(found)
    spare = [row for row in profiled if row["name"] not in taken]
    for target in {row["target"] for row in left}:
        mine = [row for row in left if row["target"] == target]
        theirs = sorted((row for row in spare if row["target"] == target), key=lambda row: _index_of(row["name"]))
        if len(mine) == len(theirs):
            found.update((row["name"], other["median_ms"]) for row, other in zip(mine, theirs))
    return found


def _index_of(name: str) -> tuple:
    head, _, tail = name.rpartition("_")
    return (head, int(tail)) if tail.isdigit() else (name, -1)


def _text(shape) -> str:
    if not shape:
        return "scalar"
    return "x".join(str(d) for d in shape)
