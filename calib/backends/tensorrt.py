"""TensorRT backend: not built yet; here so `--backend tensorrt` says why in one line.

Importing `tensorrt` fails on machines without it (it cannot be installed from PyPI
without NVIDIA's download host), and calib.backends.get_backend turns that into
BackendUnavailable. Where it is installed, ONNX Runtime's TensorRT execution provider
(--backend onnxruntime on a CUDA device) is the way to use it for now.
"""

from __future__ import annotations

import tensorrt  # noqa: F401 - the import is the availability check

from calib.backends.base import Prepared, RunConfig
from calib.errors import BackendUnavailable

NAME = "tensorrt"


def unsupported_reason(precision: str, device: str) -> str | None:
    """Nothing runs yet: the same answer for every precision and device."""
    return (f"the native TensorRT backend is not built yet (tensorrt {tensorrt.__version__} is installed); "
            "use --backend onnxruntime on a CUDA device, which runs its TensorRT provider")


def prepare(model, config: RunConfig) -> Prepared:
    raise BackendUnavailable(unsupported_reason(config.precision, config.device))
