"""Peak memory of one precision's run, meaning the same on every device: the most memory the
training process held for its tensors at once, above what it held before the run began.

- CUDA: torch.cuda.max_memory_allocated after reset_peak_memory_stats (the caching allocator's own
  peak of live tensor bytes; its cache is not counted).
- CPU: torch 2.14 keeps no statistics for its CPU allocator (torch.cpu has no memory_* functions;
  the profiler's memory events slow the steps they watch), so the peak is read from the kernel:
  writing "5" to /proc/self/clear_refs resets the process's high-water mark (VmHWM in
  /proc/self/status) to its current resident set, and VmHWM after the run is the exact peak, with no
  sampling gap (a 5 ms sampler misses an activation spike shorter than that). Freed memory is given
  back first (calib.train.driver.release_memory: malloc_trim), so the start is the live set and the
  growth is the run's own: its model copy, gradients, optimizer state and activations.
  ru_maxrss is not used: it is the process's lifetime peak, so a second precision that needs less
  than the first would show no growth at all.
- Elsewhere (no writable clear_refs): a thread samples the resident set every `period_s`; the record
  says which method gave the figure ("peak_kind").
"""

from __future__ import annotations

import os
import threading

PERIOD_S = 0.005


def _rss_reader():
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    try:
        handle = open("/proc/self/statm", "rb", buffering=0)
    except OSError:
        import psutil

        process = psutil.Process()
        return lambda: process.memory_info().rss

    def read():
        handle.seek(0)
        return int(handle.read().split()[1]) * page
    return read


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status", "rb") as handle:
            for line in handle:
                if line.startswith(field.encode() + b":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def reset_high_water_mark() -> bool:
    """Reset VmHWM to the current resident set (Linux >= 4.0); False where that is not possible."""
    if _status_kb("VmHWM") is None:
        return False
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


class PeakMemory:
    def __init__(self, device: str, period_s: float = PERIOD_S):
        self.device = device
        self.cuda = device.startswith("cuda")
        self.period_s = period_s
        self.start_bytes = 0
        self.peak_bytes = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self) -> "PeakMemory":
        import torch

        if self.cuda:
            torch.cuda.synchronize(torch.device(self.device))
            torch.cuda.reset_peak_memory_stats(torch.device(self.device))
            self.start_bytes = torch.cuda.memory_allocated(torch.device(self.device))
        read = _rss_reader()
        self._read = read
        self.kernel_hwm = not self.cuda and reset_high_water_mark()
        self.start_rss = self.peak_rss = read()

        def sample():
            while not self._stop.wait(self.period_s):
                value = read()
                self.samples += 1
                if value > self.peak_rss:
                    self.peak_rss = value

        if not self.cuda and not self.kernel_hwm:  # on CUDA the allocator keeps the peak: no sampling beside the timed steps
            self._thread = threading.Thread(target=sample, name="calib-train-rss", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        import torch

        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak_rss = max(self.peak_rss, self._read())
        if self.kernel_hwm:
            self.peak_rss = max(self.peak_rss, _status_kb("VmHWM") or 0)
        if self.cuda:
            self.peak_bytes = torch.cuda.max_memory_allocated(torch.device(self.device))

    @property
    def growth_bytes(self) -> int:
        """What the table shows as peak memory: CUDA max allocated, or the peak resident set above the start."""
        return self.peak_bytes if self.cuda else max(0, self.peak_rss - self.start_rss)

    @property
    def kind(self) -> str:
        if self.cuda:
            return "cuda max allocated"
        if self.kernel_hwm:
            return "peak resident set above the start (kernel VmHWM, reset per run)"
        return f"peak RSS growth (sampled every {1000 * self.period_s:g} ms)"

    def to_dict(self) -> dict:
        return {"peak_bytes": self.growth_bytes,
                "peak_kind": self.kind,
                "rss_start_bytes": self.start_rss, "rss_peak_bytes": self.peak_rss,
                "cuda_max_allocated_bytes": self.peak_bytes if self.cuda else None, "rss_samples": self.samples}
