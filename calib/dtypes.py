"""The one place for small dtype facts: short names, torch dtypes, ONNX types, tensor-core generations.

Dtype names are torch's ("float32", "bfloat16", "float8_e4m3fn") plus calib's "tf32" (float32
tensors, TF32 tensor-core arithmetic). Short names are the compute column of the hardware rule
table (calib.hardware.rules) and what the tables print: fp32 tf32 fp16 bf16 int8 fp8.
torch is imported inside the functions that need it, so `calib --help` and `calib device` stay light.
"""

from __future__ import annotations

from contextlib import contextmanager

SHORT_NAMES = {"float32": "fp32", "tf32": "tf32", "float16": "fp16", "bfloat16": "bf16", "int8": "int8",
               "float8_e4m3fn": "fp8"}
_LONG_NAMES = {short: name for name, short in SHORT_NAMES.items()}

# The CUDA compute capability that introduced tensor cores for each compute type (Volta fp16,
# Xavier int8, Ampere tf32/bf16, Ada fp8, Blackwell fp4). calib.precisions' minimum compute
# capabilities, calib.hardware.cuda's tensor-core list and the rule table's "cc>=" rows read it.
TENSOR_CORE_CC: dict[str, tuple[int, int]] = {"fp16": (7, 0), "int8": (7, 2), "tf32": (8, 0), "bf16": (8, 0),
                                              "fp8": (8, 9), "fp4": (10, 0)}

# Bytes per element, for sizes computed from shapes without torch (ONNX Runtime's profile).
ITEM_BYTES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4, "int16": 2,
              "uint16": 2, "int8": 1, "uint8": 1, "bool": 1, "float8_e4m3fn": 1}

# ONNX TensorProto element types calib reads: number -> (ONNX Runtime's name, torch/numpy dtype name).
# ORT spells a tensor type "tensor(<name>)" in sessions and "<name>" in its profiler events.
ONNX_ELEMENT_TYPES: dict[int, tuple[str, str]] = {
    1: ("float", "float32"), 2: ("uint8", "uint8"), 3: ("int8", "int8"), 4: ("uint16", "uint16"),
    5: ("int16", "int16"), 6: ("int32", "int32"), 7: ("int64", "int64"), 9: ("bool", "bool"),
    10: ("float16", "float16"), 11: ("double", "float64"), 16: ("bfloat16", "bfloat16"),
    17: ("float8e4m3fn", "float8_e4m3fn"),
}
_DTYPE_OF_ONNX_NAME = {onnx_name: dtype for onnx_name, dtype in ONNX_ELEMENT_TYPES.values()}
NOT_IN_NUMPY = ("bfloat16", "float8_e4m3fn")  # torch and ONNX have them; numpy arrays cannot hold them


def short_name(dtype: str | None, missing: str = "") -> str:
    """'bfloat16' -> 'bf16'; a name without a short form comes back as it is, None or '' as `missing`."""
    if not dtype:
        return missing
    return SHORT_NAMES.get(dtype, dtype)


def torch_dtype(name: str):
    """The torch dtype of a storage/compute dtype name or its short name ('tf32' computes on float32)."""
    import torch

    full = _LONG_NAMES.get(name, name)
    if full not in SHORT_NAMES:
        raise KeyError(f"no torch dtype for {name!r}; known: {', '.join(SHORT_NAMES)}")
    return torch.float32 if full == "tf32" else getattr(torch, full)


def cc_text(capability: tuple[int, int]) -> str:
    """(8, 9) -> '8.9', as compute capabilities are written."""
    return f"{capability[0]}.{capability[1]}"


@contextmanager
def tf32_enabled(allow: bool):
    """TF32 for CUDA matmuls (cuBLAS) and convolutions (cuDNN) on or off inside the block, restored after.

    Only CUDA kernels read these switches: on the CPU the block changes nothing. fp32 must run with
    TF32 off to be the reference; the tf32 precision is the same kernels with it on."""
    import torch

    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = allow
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def dtype_of_onnx_type(type_name: str) -> str | None:
    """'tensor(float)' or 'float' (ONNX Runtime's spellings) -> 'float32'; None for a type calib does not know."""
    inner = type_name[len("tensor("):-1] if type_name.startswith("tensor(") else type_name
    return _DTYPE_OF_ONNX_NAME.get(inner)


def dtype_of_onnx_element(element_type: int) -> str | None:
    """ONNX TensorProto element type number (1, 10, 7, ...) -> 'float32', 'float16', 'int64'; None if unknown."""
    entry = ONNX_ELEMENT_TYPES.get(element_type)
    return entry[1] if entry else None


def onnx_type_text(element_type: int) -> str:
    """ONNX Runtime's name of a tensor of this element type: 1 -> 'tensor(float)'."""
    entry = ONNX_ELEMENT_TYPES.get(element_type)
    return f"tensor({entry[0] if entry else element_type})"
