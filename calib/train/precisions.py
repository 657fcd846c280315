"""What each precision means for training, and whether this device can train in it.

The names are calib.precisions' (fp32, tf32, amp-fp16, amp-bf16, bf16, fp8) plus `int8-qat`,
which exists only for training: fake-quant modules (straight-through estimator) during the
steps, a real int8 model after conversion. Each names the calib.precisions entry whose hardware
verdict (calib.hardware.rules) describes its arithmetic: int8-qat trains in fp32 with fake
quantization and is judged, like its converted model, by int8-static's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from calib.errors import UsageError
from calib.precisions import PRECISIONS, Precision, capability_reason, cuda_since


@dataclass(frozen=True)
class TrainPrecision:
    name: str
    verdict_precision: str  # the calib.precisions name whose verdict (native/emulated) applies
    weights: str  # the dtype master weights (and so the optimizer state) are kept in
    description: str
    compute_dtype: str | None = None  # where training computes otherwise than verdict_precision (int8-qat)

    @property
    def precision(self) -> Precision:
        """The calib.precisions entry: CUDA-only or not, the compute capability it needs."""
        return PRECISIONS[self.verdict_precision]

    @property
    def compute(self) -> str:
        """The dtype of the matmul/conv arithmetic."""
        return self.compute_dtype or self.precision.compute_dtype


TRAIN_PRECISIONS: dict[str, TrainPrecision] = {p.name: p for p in [
    TrainPrecision("fp32", "fp32", "float32", "fp32 weights, gradients, optimizer state and compute"),
    TrainPrecision("tf32", "tf32", "float32", PRECISIONS["tf32"].description),
    TrainPrecision("amp-fp16", "amp-fp16", "float32",
                   "fp32 master weights and optimizer state, torch.autocast fp16 compute, GradScaler loss scaling"),
    TrainPrecision("amp-bf16", "amp-bf16", "float32",
                   "fp32 master weights and optimizer state, torch.autocast bf16 compute, no loss scaling"),
    TrainPrecision("bf16", "bf16", "bfloat16",
                   "model and inputs cast to bf16: weights, gradients and optimizer state all bf16 (no fp32 "
                   "master copy); the loss is computed in fp32 from the bf16 output"),
    TrainPrecision("fp8", "fp8", "float32",
                   f"torchao float8 training of nn.Linear (dynamic scaling; {cuda_since('fp8')}), fp32 master weights"),
    TrainPrecision("int8-qat", "int8-static", "float32",
                   "int8 quantization-aware training: fake-quant (straight-through estimator) in an fp32 model, "
                   "converted to a real int8 model for the eval", compute_dtype="float32"),
]}


def get_train_precision(name: str) -> TrainPrecision:
    try:
        return TRAIN_PRECISIONS[name]
    except KeyError:
        raise UsageError(f"unknown training precision {name!r}; choose from: {', '.join(TRAIN_PRECISIONS)}") from None


def unsupported_reason(precision: TrainPrecision, device: str) -> str | None:
    """Why this device cannot train in `precision` (None when it can): recorded as skipped."""
    import torch

    reason = capability_reason(precision.precision, device)
    if reason:
        return f"{precision.name} training {reason}"
    if precision.name == "fp8":
        try:
            import torchao.float8  # noqa: F401
        except ImportError as exc:
            return f"fp8 training needs torchao.float8 ({exc})"
    if precision.name == "amp-fp16":
        kind = "cuda" if device.startswith("cuda") else "cpu"
        if not torch.amp.autocast_mode.is_autocast_available(kind):
            return f"torch {torch.__version__} has no autocast on {kind}"
        with torch.autocast(kind, dtype=torch.float16):
            probe = torch.ones(2, 2, device=device) @ torch.ones(2, 2, device=device)
        if probe.dtype != torch.float16:
            return f"torch {torch.__version__}: autocast on {kind} does not compute matmul in fp16"
    if precision.name == "int8-qat" and device.startswith("cuda"):
        return "int8-qat converts to torch's CPU int8 kernels (fbgemm/x86/onednn); run it with --device cpu"
    return None
