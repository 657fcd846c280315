"""What every result records about where it ran: versions, host, threads, governor."""

from __future__ import annotations

import os
import platform
import socket
import sys

from calib import __version__
from calib.malloc import malloc_state

# Every engine calib runs or quantizes with beyond torch and ONNX Runtime's CPU wheel: the environment
# key and the distributions that ship it, first found wins. Read from the installed metadata, never
# imported (recording must not cost an OpenVINO or TensorRT import). `--backend auto` may pick any of
# them, so an upgrade of one can change timings: the gate names a difference in any of them
# (calib.compare.environment), without refusing the pair, since only the runs that used it move.
ENGINE_DISTRIBUTIONS = {
    "openvino": ("openvino",),
    "nncf": ("nncf",),  # OpenVINO's int8 quantizer
    "tensorrt": ("tensorrt", "tensorrt-cu13", "tensorrt-cu12", "tensorrt-cu11"),
    "onnxruntime-gpu": ("onnxruntime-gpu",),  # the CUDA/TensorRT providers ("onnxruntime" is the CPU wheel)
    "onnx": ("onnx",),  # the exporter's graph format: its version changes what ONNX Runtime and OpenVINO get
    "torchao": ("torchao",),
    "transformers": ("transformers",),
}
ENGINE_KEYS = tuple(ENGINE_DISTRIBUTIONS)
# Keys whose difference changes timings; compare/check name them when they differ.
TIMING_KEYS = ("threads", "cpu_model", "cpu_governor", "gpu_name", "torch", "onnxruntime", "power_mode", "host")
# Recorded since issue 30 (calib 0.1.0): files written before lack these keys, and a key absent from one
# environment cannot differ (an engine that is not installed is recorded as None, so that can).
_RECORDED_LATER = frozenset(ENGINE_KEYS)


def distribution_version(*distributions: str) -> str | None:
    """The version of the first of `distributions` installed, from its metadata (no import), else None."""
    from importlib.metadata import PackageNotFoundError, version

    for name in distributions:
        try:
            return version(name)
        except PackageNotFoundError:
            continue
        except Exception:  # noqa: BLE001 - unreadable metadata: as good as not installed
            continue
    return None


def _version(package: str) -> str | None:
    return distribution_version(package)


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
        **{key: distribution_version(*names) for key, names in ENGINE_DISTRIBUTIONS.items()},
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
        "malloc": malloc_state(),  # calib.malloc: whether glibc's thresholds were fixed for steady timings
    }


def _cpu_capability(torch) -> str | None:
    try:
        return torch.backends.cpu.get_cpu_capability()
    except Exception:  # noqa: BLE001 - older torch
        return None


def differences(env_a: dict, env_b: dict, keys=TIMING_KEYS) -> list[str]:
    """Human-readable list of timing-relevant differences between two environments. An engine version one
    of them lacks altogether was not recorded (a file from before calib recorded it): not a difference."""
    return [f"{key}: {env_a.get(key)!r} vs {env_b.get(key)!r}" for key in keys
            if env_a.get(key) != env_b.get(key) and (key not in _RECORDED_LATER or (key in env_a and key in env_b))]


class OtherCpuUse:
    """How much CPU other processes took while something of ours ran.

    On a machine with as many busy threads as cores, OpenMP threads wait for each other at
    every op and a model can run many times slower (seen here: resnet18 at 2 threads went
    from 31 ms to 880 ms while one other process was busy). That is not the model's latency,
    so every measurement records what others took and says so when it was a lot.
    """

    WARN_PERCENT_OF_ONE_CORE = 25.0  # above it a measurement is "busy": no verdict is drawn from it

    def __init__(self):
        import psutil

        self._psutil = psutil
        self._own = psutil.Process()
        self._cpus = psutil.cpu_count() or 1
        psutil.cpu_percent(interval=None)  # the next call reports use since this one
        self._own.cpu_percent(interval=None)

    def stop(self) -> float:
        """Percent of one core that other processes used since construction."""
        system = self._psutil.cpu_percent(interval=None) * self._cpus
        own = self._own.cpu_percent(interval=None)
        return max(0.0, system - own)

    @classmethod
    def busy(cls, other_percent: float | None) -> bool:
        """Too much taken by others for the timing to carry a conclusion (a speed-up, native*)."""
        return other_percent is not None and other_percent >= cls.WARN_PERCENT_OF_ONE_CORE

    @classmethod
    def warning(cls, other_percent: float | None) -> str | None:
        if not cls.busy(other_percent):
            return None
        return (f"other processes used {other_percent:.0f}% of a core while this ran: with every core busy, "
                "threads wait on each other and times can be many times too slow; rerun on an idle machine "
                "or with fewer --threads")


def busy_cpu_warning(sample_s: float = 0.3) -> str | None:
    """Other processes using the CPU right now (sampled for `sample_s`), as a warning or None."""
    try:
        probe = OtherCpuUse()
    except Exception:  # noqa: BLE001 - psutil cannot read CPU times here
        return None
    import time

    time.sleep(sample_s)
    other = probe.stop()
    return OtherCpuUse.warning(other)
