"""`--model file.xml`: an OpenVINO IR (.xml + .bin) as a LoadedModel with no torch module.

Read like an .onnx file (calib.models.onnx_model): the batch axis is the first dimension of
every input, the rest comes from the graph or from --input-shape where the graph leaves it
dynamic. Only the OpenVINO backend runs it.
"""

from __future__ import annotations

from pathlib import Path

from calib.models.onnx_model import _FEEDABLE, GraphInput, OnnxLoadedModel
from calib.errors import ModelLoadError, UsageError


def load_ir_model(path_text: str, input_shape: tuple[int, ...] | None = None) -> OnnxLoadedModel:
    path = Path(path_text)
    if not path.exists():
        raise ModelLoadError(f"{path_text}: no such file")
    if not path.with_suffix(".bin").exists():
        raise ModelLoadError(f"{path_text}: an OpenVINO IR needs its weights beside it "
                             f"({path.with_suffix('.bin').name})")
    try:
        import openvino
    except ModuleNotFoundError:
        raise UsageError(f"{path_text}: reading OpenVINO IR needs the 'openvino' package "
                         "(pip install 'calib-bench[openvino]')") from None
    try:
        ov_model = openvino.Core().read_model(str(path))
    except Exception as exc:  # noqa: BLE001 - any failure to parse is the user's file
        raise ModelLoadError(f"{path_text}: not a readable OpenVINO IR ({type(exc).__name__})") from None
    inputs = [_graph_input(port, path_text, input_shape, index) for index, port in enumerate(ov_model.inputs)]
    if not inputs:
        raise ModelLoadError(f"{path_text}: the model has no inputs")
    first = inputs[0]
    kind = ("image" if len(first.item_shape) >= 2 else "features") if first.dtype.startswith("float") else "tokens"
    return OnnxLoadedModel(name=path.name, module=None, input_kind=kind, item_shape=first.item_shape,
                           source=str(path), family="openvino-ir", info={"ir_path": str(path.resolve())},
                           graph_inputs=tuple(inputs), fixed_batch=first.batch,
                           fixed_batch_hint="convert it with a dynamic batch (openvino.convert_model(..., "
                                            "input=[-1, ...])) or reshape it before saving")


def _graph_input(port, path_text: str, input_shape, index: int) -> GraphInput:
    name = port.get_any_name() if port.get_names() else f"input_{index}"
    element = port.get_element_type()
    dtype = element.to_dtype().name if element.get_type_name() != "bf16" else "bfloat16"
    if dtype not in _FEEDABLE:
        raise ModelLoadError(f"{path_text}: input {name!r} has type {element.get_type_name()}, which calib cannot feed")
    shape = port.get_partial_shape()
    if shape.rank.is_dynamic or shape.rank.get_length() == 0:
        raise ModelLoadError(f"{path_text}: input {name!r} has no batch axis calib can see ({shape})")
    dims = [dim.get_length() if dim.is_static else None for dim in shape]
    item = dims[1:]
    if any(d is None for d in item):
        if input_shape is None or len(input_shape) != len(item):
            raise UsageError(f"{path_text}: input {name!r} has shape {shape}; give --input-shape with {len(item)} "
                             "dimension(s), without the batch")
        item = [given if d is None else d for d, given in zip(item, input_shape)]
    elif input_shape is not None and index == 0 and tuple(input_shape) != tuple(item):
        raise UsageError(f"{path_text}: --input-shape {','.join(map(str, input_shape))} does not match the "
                         f"model's input {shape}")
    return GraphInput(name, dtype, tuple(item), dims[0])
