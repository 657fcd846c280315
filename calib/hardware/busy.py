"""The busy-device guard: before measuring, are other processes using the GPU or the CPU?

A timing taken while another process computes on the same GPU, or takes the cores our threads need,
describes the contention, not the model (optimum-benchmark checks device isolation for the same
reason). `--busy` says what to do when the machine is busy:
  warn   measure anyway; the records say so (the default: a shared CI runner must still get numbers)
  wait   re-check every few seconds until quiet, up to WAIT_LIMIT_S, then measure with the warning
  error  refuse in one line (calib.errors.DeviceBusy, exit 3), before anything is measured

Other processes' CPU use is calib.environment.OtherCpuUse over a short window (the same measure every
record's `other_cpu_percent` takes during its timing, and its 25%-of-a-core threshold); other GPU
processes come from NVML (calib.energy.nvml), where it is installed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from calib.environment import OtherCpuUse
from calib.errors import DeviceBusy, UsageError

BUSY_MODES = ("warn", "wait", "error")
WINDOW_S = 0.3  # long enough for psutil's tick counts (10 ms) to resolve 25% of a core
WAIT_LIMIT_S = 120.0
POLL_S = 2.0


@dataclass(frozen=True)
class BusyCheck:
    """What the guard saw. None means "could not be asked", with the reason for the GPU."""

    mode: str
    device: str
    other_cpu_percent: float | None
    gpu_processes: tuple[dict, ...] | None
    gpu_reason: str | None = None
    waited_s: float = 0.0

    @property
    def cpu_busy(self) -> bool:
        return OtherCpuUse.busy(self.other_cpu_percent)

    @property
    def busy(self) -> bool:
        return self.cpu_busy or bool(self.gpu_processes)

    def describe(self) -> str:
        parts = []
        if self.cpu_busy:
            parts.append(f"other processes used {self.other_cpu_percent:.0f}% of a core")
        if self.gpu_processes:
            listed = ", ".join(f"pid {p['pid']}" + (f" {p['name']}" if p.get("name") else "")
                               for p in self.gpu_processes)
            parts.append(f"{len(self.gpu_processes)} other process(es) on {self.device} ({listed})")
        return "; ".join(parts) or "quiet"

    def warning(self) -> str | None:
        if not self.busy:
            return None
        waited = f" after waiting {self.waited_s:.0f} s" if self.waited_s else ""
        return (f"busy before measuring{waited}: {self.describe()}; times may describe the contention, not the "
                "model (--busy wait waits for quiet, --busy error refuses)")

    def to_json(self) -> dict:
        return {"mode": self.mode, "busy": self.busy, "other_cpu_percent": self.other_cpu_percent,
                "gpu_processes": list(self.gpu_processes) if self.gpu_processes is not None else None,
                "gpu_reason": self.gpu_reason, "waited_s": self.waited_s}


def check_mode(mode: str) -> str:
    if mode not in BUSY_MODES:
        raise UsageError(f"--busy {mode!r}: choose {', '.join(BUSY_MODES)}")
    return mode


def sample(device: str, mode: str = "warn", window_s: float = WINDOW_S,
           sleep: Callable[[float], None] = time.sleep) -> BusyCheck:
    """One look: other processes' CPU use over `window_s`, and the GPU's other processes."""
    try:
        probe = OtherCpuUse()
    except Exception:  # noqa: BLE001 - psutil cannot read CPU times here
        probe = None
    sleep(window_s)
    other = probe.stop() if probe else None
    processes, reason = gpu_processes(device)
    return BusyCheck(mode, device, other, processes, reason)


def gpu_processes(device: str) -> tuple[tuple[dict, ...] | None, str | None]:
    """Other processes on a CUDA device (NVML), instantly; (None, reason) elsewhere."""
    if not device.startswith("cuda"):
        return None, f"{device} is not a GPU"
    from calib.energy.nvml import other_gpu_processes

    processes, reason = other_gpu_processes(device)
    return (tuple(processes) if processes is not None else None), reason


def guard(mode: str, device: str, window_s: float = WINDOW_S, wait_limit_s: float = WAIT_LIMIT_S,
          poll_s: float = POLL_S, look: Callable[[], BusyCheck] | None = None,
          on_wait: Callable[[BusyCheck], None] | None = None,
          clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> BusyCheck:
    """Look, then act on `mode`; returns what was seen (the caller warns with `.warning()`).
    `on_wait(check)` once when wait mode starts waiting. `look`, `clock` and `sleep` are injectable so the
    waiting is tested with a fake clock."""
    check_mode(mode)
    look = look or (lambda: sample(device, mode, window_s))
    seen = look()
    if mode == "error" and seen.busy:
        raise DeviceBusy(f"--busy error: {seen.describe()}: nothing measured; rerun on a quiet machine, or with "
                         "--busy wait or --busy warn")
    if mode != "wait":
        return seen
    start = clock()
    if seen.busy and on_wait:
        on_wait(seen)
    while seen.busy and clock() - start < wait_limit_s:
        sleep(poll_s)
        seen = look()
    waited = clock() - start
    return BusyCheck(mode, seen.device, seen.other_cpu_percent, seen.gpu_processes, seen.gpu_reason, waited)
