"""`--backend auto`: one concrete backend per (model, precision, device), with the reason.

The sweep resolves `auto` before each configuration (calib.sweep.configuration_of), so the
stored identity names the backend that ran and record["backend_choice"] says why. The rules
follow what each backend is built for; they are starting points, not verdicts: run the
backends side by side (--backend torch --backend onnxruntime) to measure the difference.
Whether a backend can run a configuration at all is its own answer (its `unsupported_reason`,
read through calib.backends.unsupported_reason); the tables here only say which goes first.
"""

from __future__ import annotations

from calib.backends.base import Prepared, RunConfig
from calib.precisions import get_precision

NAME = "auto"

# CPU precisions where ONNX Runtime goes first when it can run them, and what it does better.
_ORT_FIRST_ON_CPU = {
    "fp32": "fuses conv+bias+activation and uses blocked (NCHWc) CPU kernels",
    "int8-static": "fuses the QDQ graph into QLinearConv/QLinearMatMul kernels, with u8s8/s8s8 chosen from "
                   "the hardware rule table",
}
# CPU precisions both can run where PyTorch goes first, and why.
_TORCH_FIRST_ON_CPU = {
    "int8-dynamic": "PyTorch quantizes Linear layers only and keeps convs in fp32, where ONNX Runtime's "
                    "ConvInteger path is slow",
    "fp16": "ONNX Runtime's CPU provider runs most fp16 nodes through fp32 casts; PyTorch casts the whole model",
}


def choose(model, precision: str, device: str) -> tuple[str, str]:
    """(backend name, why) for this model, precision and device."""
    if getattr(model, "module", None) is None:
        if (getattr(model, "info", None) or {}).get("ir_path"):
            return "openvino", "the model is an OpenVINO IR, which only OpenVINO runs"
        return "onnxruntime", "the model is an ONNX file, which ONNX Runtime runs (or --backend openvino)"
    return _choose_for_torch_model(precision, device)


def _choose_for_torch_model(precision: str, device: str) -> tuple[str, str]:
    from calib.backends import unsupported_reason

    ort_cannot = unsupported_reason("onnxruntime", precision, device)  # None: ONNX Runtime can run it
    if device.startswith("cuda"):
        if get_precision(precision).family == "int8":
            if ort_cannot is None:
                return "onnxruntime", ("int8 on an NVIDIA GPU: PyTorch's native int8 kernels are CPU-only; "
                                       "ONNX Runtime runs the QDQ graph on its CUDA/TensorRT providers")
            return "torch", f"int8 on GPU would need ONNX Runtime ({ort_cannot}); torch reports why it cannot"
        return "torch", (f"{precision} on an NVIDIA GPU: PyTorch runs cuDNN/cuBLAS directly, and tf32, autocast "
                         "and fp8 exist only there")
    if precision in _ORT_FIRST_ON_CPU:
        if ort_cannot is None:
            return "onnxruntime", f"{precision} on the CPU: ONNX Runtime {_ORT_FIRST_ON_CPU[precision]}"
        return "torch", f"{precision} on the CPU: ONNX Runtime is not usable ({ort_cannot})"
    if precision in _TORCH_FIRST_ON_CPU:
        return "torch", f"{precision} on the CPU: {_TORCH_FIRST_ON_CPU[precision]}"
    if ort_cannot:
        return "torch", f"{precision} on the CPU: only PyTorch has a conversion for it"
    return "torch", f"{precision} on the CPU: PyTorch, the reference backend"


def unsupported_reason(precision: str, device: str) -> str | None:
    """The answer of the backend auto picks for a torch model."""
    from calib.backends import unsupported_reason as backend_reason

    picked, _ = _choose_for_torch_model(precision, device)
    return backend_reason(picked, precision, device)


def prepare(model, config: RunConfig) -> Prepared:
    """For callers that bypass the sweep: prepare with the chosen backend and record the choice."""
    from calib.backends import get_backend

    picked, why = choose(model, config.precision, config.device)
    prepared = get_backend(picked).prepare(model, config)
    prepared.info["backend_choice"] = {"requested": "auto", "picked": picked, "why": why}
    return prepared
