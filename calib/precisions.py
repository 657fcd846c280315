"""The one place that says what each precision name means.

storage_dtype is what the weights and inputs are kept in; compute_dtype is what the
arithmetic of the heavy ops (matmul, conv) runs in. They differ for tf32 and autocast.
What a dtype name itself means (its short name, torch dtype, tensor-core generation) is
calib.dtypes'.
"""

from __future__ import annotations

from dataclasses import dataclass

from calib.dtypes import TENSOR_CORE_CC, cc_text, short_name
from calib.dtypes import torch_dtype  # noqa: F401 - the backends import it from here
from calib.errors import UsageError


@dataclass(frozen=True)
class Precision:
    name: str
    storage_dtype: str
    compute_dtype: str
    family: str  # "float" (cast or autocast), "int8" (quantized), "fp8"
    autocast: bool = False
    cuda_only: bool = False  # a CUDA tensor-core mode: needs the compute capability that introduced it
    description: str = ""

    @property
    def compute(self) -> str:
        """The short name of compute_dtype (fp32, tf32, bf16, int8, fp8): the rule table's compute column."""
        return short_name(self.compute_dtype)

    @property
    def min_compute_capability(self) -> tuple[int, int] | None:
        """For CUDA-only precisions, the compute capability whose tensor cores they need (calib.dtypes)."""
        return TENSOR_CORE_CC[self.compute] if self.cuda_only else None


def cuda_since(compute: str) -> str:
    """'CUDA 8.9+': the compute capability whose tensor cores compute in `compute` (fp8, tf32, ...)."""
    return f"CUDA {cc_text(TENSOR_CORE_CC[compute])}+"


PRECISIONS: dict[str, Precision] = {
    p.name: p
    for p in [
        Precision("fp32", "float32", "float32", "float", description="reference: fp32 storage and compute"),
        Precision(
            "tf32", "float32", "tf32", "float", cuda_only=True,
            description=f"fp32 storage, TF32 tensor-core matmul/conv ({cuda_since('tf32')})",
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
        Precision("fp8", "float8_e4m3fn", "float8_e4m3fn", "fp8", cuda_only=True,
                  description=f"fp8 e4m3 matmul ({cuda_since('fp8')})"),
    ]
}


def get_precision(name: str) -> Precision:
    try:
        return PRECISIONS[name]
    except KeyError:
        raise UsageError(f"unknown precision {name!r}; choose from: {', '.join(PRECISIONS)}") from None


def capability_reason(precision: Precision, device: str) -> str | None:
    """Why `device` cannot run a CUDA-only precision ("needs CUDA compute capability 8.9+; cuda:0 is 8.6");
    None when it can, or when the precision needs no particular capability."""
    needed = precision.min_compute_capability
    if needed is None:
        return None
    wanted = f"needs CUDA compute capability {cc_text(needed)}+"
    if not device.startswith("cuda"):
        return f"{wanted}; this device is {device}"
    import torch

    capability = tuple(torch.cuda.get_device_capability(torch.device(device)))
    return f"{wanted}; {device} is {cc_text(capability)}" if capability < needed else None
