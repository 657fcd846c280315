"""Backends: each turns (model, precision, device) into a Prepared callable.

Every backend module has the same shape: a `prepare(model, config) -> Prepared` function
and a NAME. They are registered here by module path and imported only when used, so a
missing ONNX Runtime or TensorRT costs nothing until that backend is asked for.
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


_INSTALL_HINTS = {"onnxruntime": "pip install 'calib[onnx]'", "onnx": "pip install 'calib[onnx]'",
                  "tensorrt": "pip install 'calib[tensorrt]' on a machine that can reach NVIDIA's package index"}


__all__ = ["BACKENDS", "get_backend", "Prepared", "RunConfig"]
