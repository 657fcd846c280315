"""This machine's CPU (or a captured one under `root`): /proc/cpuinfo plus what /sys adds."""

from __future__ import annotations

import glob
import os
import platform

from calib.errors import UsageError
from calib.hardware.cpuinfo import parse_cpu_text
from calib.hardware.system_files import read_text, system_path

_GOVERNOR = "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"


def _sys_topology(root) -> tuple[int | None, int | None]:
    """(logical, physical) from /sys/devices/system/cpu/cpu*/topology; (None, None) when absent."""
    pattern = str(system_path(root, "/sys/devices/system/cpu")) + "/cpu[0-9]*/topology"
    cores = set()
    topologies = glob.glob(pattern)
    for topology in topologies:
        package = read_text(None, os.path.join(topology, "physical_package_id"))
        core = read_text(None, os.path.join(topology, "core_id"))
        if core is None:
            return None, None
        cores.add(((package or "").strip(), core.strip()))
    return (len(topologies) or None), (len(cores) or None)


def physical_cores() -> int:
    """This machine's physical cores (calib's default thread count)."""
    try:
        import psutil

        return psutil.cpu_count(logical=False) or os.cpu_count() or 1
    except Exception:
        return os.cpu_count() or 1


def check_threads(threads: int | None) -> int | None:
    """The one --threads rule: not given (None), or positive."""
    if threads is not None and threads <= 0:
        raise UsageError(f"--threads {threads}: must be positive")
    return threads


def resolve_threads(threads: int | None) -> int:
    """--threads as given (checked), or this machine's physical cores when not given."""
    return physical_cores() if check_threads(threads) is None else threads


def detect_cpu(root=None) -> dict:
    text = read_text(root, "/proc/cpuinfo") or ""
    info = parse_cpu_text(text)
    if info.arch == "unknown" and root is None:
        info.arch = platform.machine()
    logical, physical = _sys_topology(root)
    if root is None:
        logical = os.cpu_count() or logical
    info.logical_cores = logical or info.logical_cores
    info.physical_cores = physical or info.physical_cores
    governor = read_text(root, _GOVERNOR)
    return {**info.as_dict(), "governor": governor.strip() if governor else None,
            "source": str(system_path(root, "/proc/cpuinfo"))}
