"""The one place that says what each precision name means.

storage_dtype is what the weights and inputs are kept in; compute_dtype is what the
arithmetic of the heavy ops (matmul, conv) runs in. They differ for tf32 and autocast.
"""

from __future__ import annotations

from dataclasses import dataclass

from calib.errors import UsageError


@dataclass(frozen=True)
class Precision:
    name: str
    storage_dtype: str
    compute_dtype: str
    family: str  # "float" (cast or autocast), "int8" (quantized), "fp8"
    autocast: bool = False
    cuda_only: bool = False
    min_compute_capability: tuple[int, int] | None = None
    description: str = ""


PRECISIONS: dict[str, Precision] = {
    p.name: p
    for p in [
        Precision("fp32", "float32", "float32", "float", description="reference: fp32 storage and compute"),
        Precision(
            "tf32", "float32", "tf32", "float", cuda_only=True, min_compute_capability=(8, 0),
            description="fp32 storage, TF32 tensor-core matmul/conv (CUDA 8.0+)",
        ),
        Precision("fp16", "float16", "float16", "float", description="model and inputs cast to fp16"),
        Precision("bf16", "bfloat16", "bfloat16", "float", description="model and inputs cast to bf16"),
        Precision("amp-fp16", "float32", "float16", "float", autocast=True,
                  description="fp32 storage, torch.autocast fp16 compute"),
        Precision("amp-bf16", "float32", "bfloat16", "float", autocast=True,
                  description="fp32 storage, torch.autocast bf16 compute"),
        Precision("int8-dynamic", "int8", "int8", "int8",
                  description="int8 weights, activations quantized at run time"),
        Precision("int8-static", "int8", "int8", "int8",
                  description="int8 weights and activations, ranges from calibration data"),
        Precision("fp8", "float8_e4m3fn", "float8_e4m3fn", "fp8", cuda_only=True, min_compute_capability=(8, 9),
                  description="fp8 e4m3 matmul (CUDA 8.9+)"),
    ]
}


def get_precision(name: str) -> Precision:
    try:
        return PRECISIONS[name]
    except KeyError:
        raise UsageError(f"unknown precision {name!r}; choose from: {', '.join(PRECISIONS)}") from None


def torch_dtype(name: str):
    """torch dtype for a storage/compute dtype name ('tf32' computes on float32 storage)."""
    import torch

    return {"float32": torch.float32, "tf32": torch.float32, "float16": torch.float16,
            "bfloat16": torch.bfloat16}[name]
