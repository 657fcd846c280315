"""Which inference engines can run on a device, and which of them this Python environment has.

`calib device` lists them per device; `--backend auto` races the installed ones (calib.tuning).
Found without importing any engine (importlib.util.find_spec and the installed distributions'
metadata), so `calib device` costs no onnxruntime/openvino/tensorrt import and works where
they are missing.
"""

from __future__ import annotations

import importlib.util

from calib.environment import distribution_version

# (backend, module to find, distributions that ship it, device kinds, CPU architectures or None for any,
#  what it is there, the install hint)
_ENGINES = (
    ("torch", "torch", ("torch",), ("cpu", "cuda"), None, "eager PyTorch, the reference", "pip install torch"),
    ("onnxruntime", "onnxruntime", ("onnxruntime", "onnxruntime-gpu", "onnxruntime-openvino"), ("cpu",), None,
     "ONNX Runtime's CPU provider", "pip install 'calib-bench[onnx]'"),
    ("onnxruntime", "onnxruntime", ("onnxruntime-gpu",), ("cuda",), None,
     "ONNX Runtime's CUDA/TensorRT providers", "pip install onnxruntime-gpu"),
    ("openvino", "openvino", ("openvino",), ("cpu",), ("x86_64",),
     "OpenVINO's CPU plugin, the CPU engine candidate on x86", "pip install 'calib-bench[openvino]'"),
    ("tensorrt", "tensorrt", ("tensorrt", "tensorrt-cu13", "tensorrt-cu12", "tensorrt-cu11"), ("cuda",), None,
     "NVIDIA's engine builder", "pip install 'calib-bench[tensorrt]'"),
)


def engines_for(kind: str, arch: str | None, check_installed: bool = True) -> list[dict]:
    """The engines calib can run on a device of `kind` ("cpu", "cuda") and CPU `arch`, each with whether
    it is installed here and its version. `check_installed` False (a captured machine, --root /
    --cpuinfo): what is installed here says nothing about that machine, so `installed` is None."""
    listed = []
    for backend, module, distributions, kinds, arches, role, hint in _ENGINES:
        if kind not in kinds or (arches is not None and arch not in arches):
            continue
        entry = {"backend": backend, "role": role, "installed": None, "version": None}
        if check_installed:
            version = _installed_version(module, distributions, need_distribution=kind == "cuda"
                                         and backend == "onnxruntime")
            entry.update(installed=version is not None, version=version or None)
            if version is None:
                entry["install"] = hint
        listed.append(entry)
    return listed


def _installed_version(module: str, distributions: tuple[str, ...], need_distribution: bool = False) -> str | None:
    """The version of the first installed distribution, "" when the module is found without one, None
    when it is not installed. `need_distribution`: only these distributions count (ONNX Runtime's CUDA
    provider ships in onnxruntime-gpu, not in the CPU wheel)."""
    version = distribution_version(*distributions)
    if version is not None or need_distribution:
        return version
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    return "" if found else None


__all__ = ["engines_for"]
