"""`--backend auto`: one concrete backend per (model, precision, device), with the reason.

The sweep resolves `auto` before each configuration (calib.sweep.configuration_of) to the
rule's pick (`choose`), so the stored identity names a backend and record["backend_choice"]
says why. The rules follow what each backend is built for; they only order the candidates:
unless --no-tune, every engine that can run the configuration (`engines`: torch, ONNX Runtime,
OpenVINO on x86 CPUs, TensorRT on CUDA) is prepared and raced as calib.tuning races a backend's
candidates, and the fastest whose outputs are as close to fp32 as the rule's pick wins; the
identity then names the engine that won, and record["tuning"] keeps every engine's median.
Whether a backend can run a configuration at all is its own answer (its `unsupported_reason`,
read through calib.backends.unsupported_reason); the tables here only say which goes first.
"""

from __future__ import annotations

import platform

from calib import backends  # the registry: each backend's own unsupported_reason, get_backend
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


def default_backends(model_path: str) -> list[str]:
    """What `calib run` measures when --backend is not given: an OpenVINO IR (.xml) on OpenVINO, the one
    engine that runs it; any other model under auto (every installed engine that can run a precision races,
    calib.tuning); --backend pins one."""
    return ["openvino"] if str(model_path).endswith(".xml") else ["auto"]


def choose(model, precision: str, device: str) -> tuple[str, str]:
    """(backend name, why) for this model, precision and device."""
    if getattr(model, "module", None) is None:
        if (getattr(model, "info", None) or {}).get("ir_path"):
            return "openvino", "the model is an OpenVINO IR, which only OpenVINO runs"
        return _choose_for_graph(precision, device)
    return _choose_for_torch_model(precision, device)


def _choose_for_graph(precision: str, device: str) -> tuple[str, str]:
    """An ONNX file: ONNX Runtime first where it runs the precision, else OpenVINO (which runs ONNX files
    at bf16 and int8 on x86 CPUs), else ONNX Runtime, whose own reason is then what the record says."""
    ort_cannot = backends.unsupported_reason("onnxruntime", precision, device)
    if ort_cannot is None:
        return "onnxruntime", "the model is an ONNX file, which ONNX Runtime runs (OpenVINO races it)"
    ov_cannot = backends.unsupported_reason("openvino", precision, device)
    if ov_cannot is None and not device.startswith("cuda") and platform.machine().lower() in _X86:
        return "openvino", f"the model is an ONNX file; ONNX Runtime cannot run {precision} ({ort_cannot}), OpenVINO can"
    return "onnxruntime", f"the model is an ONNX file, which ONNX Runtime runs ({ort_cannot})"


# The engines auto measures per device kind, beside the rule's pick (torch-compile is left out: its
# compilation takes minutes on large models; ask for it with --backend torch-compile).
ENGINES = {"cpu": ("torch", "onnxruntime", "openvino"), "cuda": ("torch", "onnxruntime", "tensorrt")}
_X86 = ("x86_64", "amd64", "x86")


def engines(model, precision: str, device: str) -> tuple[list[str], dict[str, str]]:
    """(the engines that can run this configuration, the rule's pick first; {engine: why not} for the rest).
    Each engine answers for itself (its unsupported_reason, or its missing package); what the model is
    decides too: a torch model runs everywhere, an ONNX file on ONNX Runtime and OpenVINO, an IR on
    OpenVINO only."""
    picked, _ = choose(model, precision, device)
    kind = "cuda" if device.startswith("cuda") else "cpu"
    usable, not_usable = [], {}
    for name in [picked, *(e for e in ENGINES[kind] if e != picked)]:
        reason = _model_reason(model, name)
        if reason is None and name == "openvino" and platform.machine().lower() not in _X86:
            reason = f"calib measures OpenVINO on x86 CPUs only, not {platform.machine()}"
        reason = reason or backends.unsupported_reason(name, precision, device)
        if reason is None:
            usable.append(name)
        else:
            not_usable[name] = reason
    return usable, not_usable


def _model_reason(model, backend: str) -> str | None:
    info = getattr(model, "info", None) or {}
    if getattr(model, "module", None) is not None:
        return None
    if info.get("ir_path"):
        return None if backend == "openvino" else "the model is an OpenVINO IR, which only OpenVINO runs"
    return "the model is an ONNX file, not a torch module" if backend == "torch" else None


def _choose_for_torch_model(precision: str, device: str) -> tuple[str, str]:
    ort_cannot = backends.unsupported_reason("onnxruntime", precision, device)  # None: ONNX Runtime can run it
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
    picked, _ = _choose_for_torch_model(precision, device)
    return backends.unsupported_reason(picked, precision, device)


def prepare(model, config: RunConfig) -> Prepared:
    """For callers that bypass the sweep: prepare with the chosen backend and record the choice."""
    picked, why = choose(model, config.precision, config.device)
    prepared = backends.get_backend(picked).prepare(model, config)
    prepared.info["backend_choice"] = {"requested": "auto", "picked": picked, "why": why}
    return prepared
