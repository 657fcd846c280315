"""Peak memory of one precision's run: CUDA max allocated, or on the CPU the peak RSS growth.

ru_maxrss is the process's lifetime peak, so a second precision that needs less than the first shows
no growth at all; instead a thread samples the resident set (/proc/self/statm, psutil elsewhere)
every `period_s` and keeps the largest value above the RSS at the start.
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
        self.start_rss = self.peak_rss = read()

        def sample():
            while not self._stop.wait(self.period_s):
                value = read()
                self.samples += 1
                if value > self.peak_rss:
                    self.peak_rss = value

        if not self.cuda:  # on CUDA the allocator keeps the peak: no sampling beside the timed steps
            self._thread = threading.Thread(target=sample, name="calib-train-rss", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        import torch

        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak_rss = max(self.peak_rss, self._read())
        if self.cuda:
            self.peak_bytes = torch.cuda.max_memory_allocated(torch.device(self.device))

    @property
    def growth_bytes(self) -> int:
        """What the table shows as peak memory: CUDA max allocated, or peak RSS above the start."""
        return self.peak_bytes if self.cuda else max(0, self.peak_rss - self.start_rss)

    def to_dict(self) -> dict:
        return {"peak_bytes": self.growth_bytes,
                "peak_kind": "cuda max allocated" if self.cuda else f"peak RSS growth (sampled every "
                                                                    f"{1000 * self.period_s:g} ms)",
                "rss_start_bytes": self.start_rss, "rss_peak_bytes": self.peak_rss,
                "cuda_max_allocated_bytes": self.peak_bytes if self.cuda else None, "rss_samples": self.samples}
