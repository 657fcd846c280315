"""The ONNX graph of an .onnx file as rows of calib.layers' per-layer shape, for `calib predict`.

Shapes come from ONNX shape inference at the requested batch size (nothing runs). Each ONNX op is
named as its torch eager counterpart (Conv -> Conv2d, BatchNormalization -> BatchNorm2d, Relu -> ReLU,
Add -> operator.add, ...), so a torch-eager table costs it: the prediction is for the torch eager
backend running the network this graph describes, at fp32 or bf16. Shape-only ops (Reshape, Shape,
Gather, Constant ...) cost as views.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from calib.errors import ModelLoadError, UsageError, first_line
from calib.precisions import get_precision
from calib.predict.graph_walk import Walk

# ONNX op type -> (op_kind, torch target)
_OPS = {
    "Conv": ("conv", "Conv2d"), "Gemm": ("linear", "Linear"), "BatchNormalization": ("norm", "BatchNorm2d"),
    "LayerNormalization": ("norm", "LayerNorm"), "Relu": ("activation", "ReLU"), "Clip": ("activation", "ReLU6"),
    "HardSwish": ("activation", "Hardswish"), "HardSigmoid": ("activation", "Hardsigmoid"),
    "Sigmoid": ("activation", "Sigmoid"), "Gelu": ("activation", "GELU"), "Tanh": ("activation", "Tanh"),
    "Softmax": ("activation", "F.softmax"), "MaxPool": ("pooling", "MaxPool2d"),
    "GlobalAveragePool": ("pooling", "AdaptiveAvgPool2d"), "AveragePool": ("pooling", "AvgPool2d"),
    "Add": ("elementwise", "operator.add"), "Mul": ("elementwise", "operator.mul"),
    "Sub": ("elementwise", "operator.sub"), "Div": ("elementwise", "operator.truediv"),
    "Concat": ("elementwise", "torch.cat"),
}
_VIEWS = {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Shape", "Gather", "Constant", "Identity",
          "Dropout", "Slice", "Split", "Cast", "ConstantOfShape", "Expand", "Range"}


@dataclass
class OnnxGraph:
    name: str
    path: str
    item_shape: tuple[int, ...]
    weights: str = "user"
    module = None

    def walk(self, precision: str, batch_size: int):
        if get_precision(precision).family != "float":
            raise UsageError(f"{self.path}: {precision} tables are torch's int8 graphs (FX conversion of a torch "
                             "module); an .onnx graph can be predicted at fp32 or bf16")
        started = time.perf_counter()
        rows = onnx_rows(self.path, batch_size, 2 if precision in ("bf16", "fp16") else 4)
        return Walk(rows, "onnx-shape-inference", time.perf_counter() - started)


def load_onnx_graph(path: str, input_shape=None) -> OnnxGraph:
    import onnx

    try:
        model = onnx.load(path, load_external_data=False)
    except Exception as exc:  # noqa: BLE001
        raise ModelLoadError(f"{path}: cannot read the ONNX file ({type(exc).__name__}: {first_line(exc)})") from None
    initializers = {init.name for init in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in initializers]
    dims = [d.dim_value for d in graph_inputs[0].type.tensor_type.shape.dim[1:]] if graph_inputs else []
    shape = tuple(input_shape) if input_shape else tuple(dims)
    if not shape or any(d <= 0 for d in shape):
        raise UsageError(f"{path}: the graph does not say its input size; give --input-shape")
    from pathlib import Path

    return OnnxGraph(Path(path).stem, path, shape)


def onnx_rows(path: str, batch_size: int, element_size: int) -> list[dict]:
    import onnx
    from onnx import numpy_helper, shape_inference

    model = onnx.load(path)
    initializers = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    for graph_input in model.graph.input:
        if graph_input.name in initializers:
            continue
        first = graph_input.type.tensor_type.shape.dim[0]
        if first.dim_value and first.dim_value != batch_size:
            raise UsageError(f"{path}: the graph is fixed to batch {first.dim_value}; export it with a dynamic "
                             "batch to predict batch {batch_size}")
        first.ClearField("dim_param")
        first.dim_value = batch_size
    inferred = shape_inference.infer_shapes(model)
    shapes = {}
    for value in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
        shapes[value.name] = tuple(dims)
    for name, array in initializers.items():
        shapes[name] = tuple(array.shape)
    rows = []
    for index, node in enumerate(inferred.graph.node):
        inputs = [shapes.get(name, ()) for name in node.input if name and name not in initializers]
        outputs = [shapes.get(name, ()) for name in node.output]
        params = sum(int(initializers[name].size) for name in node.input if name in initializers)
        kind, target = _OPS.get(node.op_type, ("other", node.op_type))
        if node.op_type in _VIEWS:
            kind, target = "other", ".view"
        if node.op_type == "MatMul":
            kind, target = ("linear", "Linear") if params else ("matmul", "torch.matmul")
        out_numel = sum(math.prod(s) for s in outputs if s)
        flops = _flops(node.op_type, kind, inputs, outputs, params, initializers, node)
        size = element_size * (sum(math.prod(s) for s in inputs if s) + out_numel + params)
        rows.append({"name": node.name or f"{node.op_type}_{index}", "op_kind": kind, "target": target,
                     "input_shapes": ", ".join("x".join(map(str, s)) for s in inputs),
                     "input_dtypes": "float32", "output_shape": ", ".join("x".join(map(str, s)) for s in outputs),
                     "params": params, "flops": flops, "bytes": size})
    return rows


def _flops(op_type, kind, inputs, outputs, params, initializers, node) -> int:
    out_numel = sum(math.prod(s) for s in outputs if s)
    if op_type == "Conv" and node.input[1] in initializers:
        weight = initializers[node.input[1]].shape  # cout, cin/g, k, k
        return int(2 * out_numel * math.prod(weight[1:]))
    if kind in ("linear", "matmul") and inputs and inputs[0]:
        return int(2 * out_numel * inputs[0][-1])
    if kind == "norm":
        return 5 * out_numel
    if kind == "pooling" and inputs and inputs[0]:
        return math.prod(inputs[0])
    if kind in ("activation", "elementwise"):
        return out_numel
    return 0
