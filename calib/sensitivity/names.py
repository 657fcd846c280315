"""The layers a precision can be switched off for, named as the backend that quantizes names them.

Int8Settings.keep_float / quantize_only take these names (calib.settings):
  - torch: module paths of the Conv/Linear layers (int8-static, fp16/bf16 casts) or of the
    Linear/LSTM/GRU layers (int8-dynamic), as `named_modules()` gives them (features.0);
  - onnxruntime: node names of the Conv/MatMul/Gemm nodes of the quant_pre_process graph
    (/features/features.0/Conv), what quantize_static's nodes_to_exclude takes;
  - openvino: friendly names of the Convolution/MatMul ops of the OpenVINO model, what
    nncf.IgnoredScope(names=...) takes.
"""

from __future__ import annotations

from dataclasses import dataclass

from calib.backends import get_backend
from calib.backends.onnx_convert import quantizable_nodes
from calib.errors import UsageError
from calib.quant.error_analysis import quantizable_layers
from calib.quant.openvino_scope import OPENVINO_OPS

SENSITIVITY_BACKENDS = ("torch", "onnxruntime", "openvino")


@dataclass(frozen=True)
class Layer:
    name: str  # in the backend's namespace (see the module docstring)
    kind: str  # Conv2d, Linear, Conv, MatMul, Convolution, ...
    module_path: str | None = None  # the torch module path it came from, where known (joins the latency table)


def layer_names(model, backend: str, precision: str, batch_size: int = 1) -> list[Layer]:
    """The switchable layers of `model` on `backend` at `precision`, in graph order."""
    if backend not in SENSITIVITY_BACKENDS:
        raise UsageError(f"per-layer precision on {backend!r}: calib can keep layers float on "
                         f"{', '.join(SENSITIVITY_BACKENDS)} only")
    if backend == "torch":
        return _torch_layers(model, precision)
    if backend == "onnxruntime":
        return _onnx_layers(model)
    return _openvino_layers(model, batch_size)


def _torch_layers(model, precision: str) -> list[Layer]:
    if model.module is None:
        raise UsageError(f"{model.name} has no torch module: use --backend onnxruntime")
    if precision == "int8-dynamic":
        from calib.quant.torch_int8 import DYNAMIC_TYPES

        return [Layer(name, type(sub).__name__, name) for name, sub in model.module.named_modules()
                if isinstance(sub, DYNAMIC_TYPES)]
    return [Layer(name, type(sub).__name__, name) for name, sub in quantizable_layers(model.module)]


def _onnx_layers(model) -> list[Layer]:
    backend = get_backend("onnxruntime")  # BackendUnavailable in one line when onnxruntime is missing
    source, _ = backend.source_graph(model)
    _, nodes = quantizable_nodes(source)
    return [Layer(name, op_type, _module_path_of_node(name)) for name, op_type in nodes]


def _module_path_of_node(name: str) -> str | None:
    """'/features/features.0/Conv' -> 'features.0': the torch exporter names nodes by module scope."""
    parts = [part for part in name.split("/") if part]
    return parts[-2] if len(parts) >= 2 else None


def _openvino_layers(model, batch_size: int) -> list[Layer]:
    openvino_backend = get_backend("openvino")
    import openvino

    ov_model, _ = openvino_backend.read_model(openvino.Core(), model, batch_size)
    return [Layer(op.get_friendly_name(), op.get_type_name(), None) for op in ov_model.get_ordered_ops()
            if op.get_type_name() in OPENVINO_OPS]
