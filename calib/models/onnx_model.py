"""`--model file.onnx`: a LoadedModel with no torch module, read from the graph's inputs.

The batch axis is the first dimension of every input (dynamic or not); the rest comes from
the graph, or from --input-shape where the graph leaves it symbolic. Only the ONNX Runtime
backend can run such a model; the torch backends say so and skip it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from calib.dtypes import dtype_of_onnx_element, onnx_type_text
from calib.errors import ModelLoadError, UsageError
from calib.models.base import SEED, LoadedModel

# Input types calib makes seeded tensors for and feeds through numpy (which has no bfloat16).
_FEEDABLE = ("float32", "float16", "float64", "int64", "int32", "bool")


@dataclass(frozen=True)
class GraphInput:
    name: str
    dtype: str  # torch dtype name: float32, float16, int64, ...
    item_shape: tuple[int, ...]  # without the batch axis
    batch: int | None = None  # the graph's fixed batch size; None when the batch axis is symbolic


@dataclass
class OnnxLoadedModel(LoadedModel):
    graph_inputs: tuple[GraphInput, ...] = ()

    def make_inputs(self, batch_size: int, seed: int = SEED) -> tuple:
        """One seeded tensor per graph input: normal floats, token ids below the vocabulary, masks of ones."""
        import torch

        generator = torch.Generator().manual_seed(seed)
        tensors = []
        for graph_input in self.graph_inputs:
            shape = (batch_size, *graph_input.item_shape)
            dtype = getattr(torch, graph_input.dtype)
            if not dtype.is_floating_point:
                if "mask" in graph_input.name.lower():
                    tensors.append(torch.ones(shape, dtype=dtype))
                else:
                    tensors.append(torch.randint(0, self.vocab_size or 1000, shape, generator=generator, dtype=dtype))
            else:
                tensors.append(torch.randn(shape, generator=generator).to(dtype))
        return tuple(tensors)


def load_onnx_model(path_text: str, input_shape: tuple[int, ...] | None = None) -> OnnxLoadedModel:
    path = Path(path_text)
    if not path.exists():
        raise ModelLoadError(f"{path_text}: no such file")
    try:
        import onnx
    except ModuleNotFoundError:
        raise UsageError(f"{path_text}: reading ONNX files needs the 'onnx' package "
                         "(pip install 'calib-bench[onnx]')") from None
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - any failure to parse is the user's file
        raise ModelLoadError(f"{path_text}: not a readable ONNX model ({type(exc).__name__})") from None
    inputs = _graph_inputs(proto, path_text, input_shape)
    first = inputs[0]
    is_float = first.dtype.startswith("float")
    kind = ("image" if len(first.item_shape) >= 2 else "features") if is_float else "tokens"
    return OnnxLoadedModel(name=path.name, module=None, input_kind=kind, item_shape=first.item_shape,
                           source=str(path), family="onnx", vocab_size=_vocab_size(proto, inputs),
                           info={"onnx_path": str(path.resolve()), "opset": _opset(proto)},
                           graph_inputs=tuple(inputs), fixed_batch=first.batch,
                           fixed_batch_hint="export it with a dynamic batch axis (torch.onnx.export(..., "
                                            "dynamic_axes={'<input>': {0: 'batch'}}) or dynamic_shapes)")


def _graph_inputs(proto, path_text: str, input_shape) -> list[GraphInput]:
    initializer_names = {init.name for init in proto.graph.initializer}
    inputs = []
    for value in proto.graph.input:
        if value.name in initializer_names:  # old exporters list weights as inputs too
            continue
        element_type = value.type.tensor_type.elem_type
        dtype = dtype_of_onnx_element(element_type)
        if dtype not in _FEEDABLE:
            raise ModelLoadError(f"{path_text}: input {value.name!r} has type {onnx_type_text(element_type)}, "
                                 "which calib cannot feed")
        dims = [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]
        if not dims:
            raise ModelLoadError(f"{path_text}: input {value.name!r} is a scalar; calib needs a batch axis")
        item = dims[1:]
        if any(d is None for d in item):
            if input_shape is None or len(input_shape) != len(item):
                raise UsageError(f"{path_text}: input {value.name!r} has shape {_show(dims)}; give --input-shape "
                                 f"with {len(item)} dimension(s), without the batch")
            item = [given if d is None else d for d, given in zip(item, input_shape)]
        elif input_shape is not None and len(inputs) == 0 and tuple(input_shape) != tuple(item):
            raise UsageError(f"{path_text}: --input-shape {','.join(map(str, input_shape))} does not match the "
                             f"graph's input {_show(dims)}")
        inputs.append(GraphInput(value.name, dtype, tuple(item), dims[0]))
    if not inputs:
        raise ModelLoadError(f"{path_text}: the graph has no inputs")
    return inputs


def _vocab_size(proto, inputs: list[GraphInput]) -> int | None:
    """Rows of the embedding table an integer input indexes (a Gather on an initializer)."""
    token_inputs = {i.name for i in inputs if not i.dtype.startswith("float") and "mask" not in i.name.lower()}
    tables = {init.name: init.dims[0] for init in proto.graph.initializer if init.dims}
    sizes = [tables[node.input[0]] for node in proto.graph.node
             if node.op_type == "Gather" and len(node.input) > 1 and node.input[1] in token_inputs
             and node.input[0] in tables]
    return min(sizes) if sizes else None


def _opset(proto) -> int | None:
    return next((entry.version for entry in proto.opset_import if entry.domain in ("", "ai.onnx")), None)


def _show(dims) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"
