"""Backends: each turns (model, precision, device) into a Prepared callable.

Every backend module has the same shape: a NAME, a `prepare(model, config) -> Prepared`
function, and `unsupported_reason(precision, device) -> str | None`, its one declared answer
to "can it run this?" (None: yes; else why not), which `unsupported_reason` below and
`--backend auto` read. They are registered here by module path and imported only when used,
so a missing ONNX Runtime or TensorRT costs nothing until that backend is asked for.
"""

from __future__ import annotations

import importlib

from calib.backends.base import Prepared, RunConfig
from calib.errors import BackendUnavailable, UsageError

BACKENDS = {
    "torch": "calib.backends.torch_eager",
    "torch-compile": "calib.backends.torch_compile",
    "onnxruntime": "calib.backends.onnxruntime",
    "tensorrt": "calib.backends.tensorrt",
    "openvino": "calib.backends.openvino",
    "auto": "calib.backends.auto",  # resolved per precision and device by the sweep
}


def get_backend(name: str):
    if name not in BACKENDS:
        raise UsageError(f"unknown backend {name!r}; choose from: {', '.join(BACKENDS)}")
    try:
        return importlib.import_module(BACKENDS[name])
    except ModuleNotFoundError as exc:
        if exc.name == BACKENDS[name]:
            raise BackendUnavailable(f"backend {name!r} is not available in this build") from None
        hint = _INSTALL_HINTS.get((exc.name or "").partition(".")[0], "pip install it")
        raise BackendUnavailable(f"backend {name!r} needs the Python package {exc.name!r}, which is not installed "
                                 f"({hint})") from None


def unsupported_reason(backend: str, precision: str, device: str) -> str | None:
    """Why `backend` cannot run `precision` on `device`, from the backend itself (None: it can).
    A backend whose library is missing answers with the install hint."""
    try:
        module = get_backend(backend)
    except BackendUnavailable as exc:
        return str(exc)
    return module.unsupported_reason(precision, device)


_INSTALL_HINTS = {"onnxruntime": "pip install 'calib-bench[onnx]'", "onnx": "pip install 'calib-bench[onnx]'",
                  "tensorrt": "pip install 'calib-bench[tensorrt]' on a machine that can reach NVIDIA's package index",
                  "openvino": "pip install 'calib-bench[openvino]'", "nncf": "pip install 'calib-bench[openvino]'"}


__all__ = ["BACKENDS", "get_backend", "unsupported_reason", "Prepared", "RunConfig"]
