"""What every result records about where it ran: versions, host, threads, governor."""

from __future__ import annotations

import os
import platform
import socket
import sys

from calib import __version__

# Keys whose difference changes timings; compare/check name them when they differ.
TIMING_KEYS = ("threads", "cpu_model", "cpu_governor", "gpu_name", "torch", "onnxruntime", "power_mode", "host")


def _version(package: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(package)
    except Exception:  # noqa: BLE001 - not installed
        return None


def _read(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return None


def capture(threads: int, device_report: dict | None = None) -> dict:
    import torch

    cpu = (device_report or {}).get("cpu") or {}
    gpus = [d for d in (device_report or {}).get("devices", []) if str(d.get("id", "")).startswith("cuda")]
    jetson = (device_report or {}).get("jetson") or {}
    return {
        "host": socket.gethostname(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "calib": __version__,
        "torch": torch.__version__,
        "torchvision": _version("torchvision"),
        "onnxruntime": _version("onnxruntime"),
        "numpy": _version("numpy"),
        "cpu_model": cpu.get("model") or platform.processor(),
        "cpu_arch": cpu.get("arch") or platform.machine(),
        "cpu_flags": cpu.get("flags"),
        "cpu_count_logical": os.cpu_count(),
        "cpu_governor": cpu.get("governor") or _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        "torch_cpu_capability": _cpu_capability(torch),
        "gpu_name": gpus[0].get("name") if gpus else None,
        "gpu_compute_capability": gpus[0].get("compute_capability") if gpus else None,
        "cuda": torch.version.cuda,
        "power_mode": jetson.get("power_mode"),
        "threads": threads,
    }


def _cpu_capability(torch) -> str | None:
    try:
        return torch.backends.cpu.get_cpu_capability()
    except Exception:  # noqa: BLE001 - older torch
        return None


def differences(env_a: dict, env_b: dict, keys=TIMING_KEYS) -> list[str]:
    """Human-readable list of timing-relevant differences between two environments."""
    return [f"{key}: {env_a.get(key)!r} vs {env_b.get(key)!r}" for key in keys if env_a.get(key) != env_b.get(key)]
