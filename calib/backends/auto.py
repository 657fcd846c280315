"""`--backend auto`: one concrete backend per (model, precision, device), with the reason.

The sweep resolves `auto` before each configuration (calib.sweep._resolve_backend), so the
stored identity names the backend that ran and record["backend_choice"] says why. The rules
follow what each backend is built for; they are starting points, not verdicts: run the
backends side by side (--backend torch --backend onnxruntime) to measure the difference.
"""

from __future__ import annotations

import importlib.util

from calib.backends.base import Prepared, RunConfig
from calib.precisions import get_precision

NAME = "auto"


def choose(model, precision: str, device: str) -> tuple[str, str]:
    """(backend name, why) for this model, precision and device."""
    family = get_precision(precision).family
    ort_ready, ort_missing = _onnxruntime_ready(device)
    if getattr(model, "module", None) is None:
        return "onnxruntime", "the model is an ONNX file, which only ONNX Runtime runs"
    if device.startswith("cuda"):
        if family == "int8":
            if ort_ready:
                return "onnxruntime", ("int8 on an NVIDIA GPU: PyTorch's native int8 kernels are CPU-only; ONNX Runtime "
                                       "runs the QDQ graph on its CUDA/TensorRT providers")
            return "torch", f"int8 on GPU would need ONNX Runtime ({ort_missing}); torch reports why it cannot"
        return "torch", (f"{precision} on an NVIDIA GPU: PyTorch runs cuDNN/cuBLAS directly, and tf32, autocast "
                         "and fp8 exist only there")
    if precision in ("fp32", "int8-static") and ort_ready:
        what = ("fuses conv+bias+activation and uses blocked (NCHWc) CPU kernels" if precision == "fp32" else
                "fuses the QDQ graph into QLinearConv/QLinearMatMul kernels, with u8s8/s8s8 chosen from the CPU flags")
        return "onnxruntime", f"{precision} on the CPU: ONNX Runtime {what}"
    if precision == "int8-dynamic":
        return "torch", ("int8-dynamic on the CPU: PyTorch quantizes Linear layers only and keeps convs in fp32, "
                         "where ONNX Runtime's ConvInteger path is slow")
    if family == "int8" and not ort_ready:
        return "torch", f"{precision} on the CPU: ONNX Runtime is not usable ({ort_missing})"
    if precision == "fp16":
        return "torch", ("fp16 on the CPU: ONNX Runtime's CPU provider runs most fp16 nodes through fp32 casts; "
                         "PyTorch casts the whole model")
    return "torch", f"{precision} on the CPU: only PyTorch has a conversion for it"


def _onnxruntime_ready(device: str) -> tuple[bool, str]:
    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None:
        return False, "onnxruntime or onnx is not installed"
    if device.startswith("cuda"):
        import onnxruntime

        if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
            return False, "this onnxruntime has no CUDAExecutionProvider (pip install onnxruntime-gpu)"
    return True, ""


def prepare(model, config: RunConfig) -> Prepared:
    """For callers that bypass the sweep: prepare with the chosen backend and record the choice."""
    from calib.backends import get_backend

    picked, why = choose(model, config.precision, config.device)
    prepared = get_backend(picked).prepare(model, config)
    prepared.info["backend_choice"] = {"requested": "auto", "picked": picked, "why": why}
    return prepared
