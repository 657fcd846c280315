"""Peak memory of one training run, meaning the same on every device: the most bytes the process had
allocated at once during the run, above what it had allocated when the run began.

- CUDA: torch.cuda.max_memory_allocated after reset_peak_memory_stats (the caching allocator's own
  peak of live tensor bytes; its cache is not counted).
- CPU: torch 2.14 keeps no statistics for its CPU allocator (torch.cpu has no memory_* functions, and
  the profiler's memory events slow the steps they watch), but that allocator takes its memory from
  malloc (posix_memalign), and glibc's mallinfo2() says how many bytes are allocated right now: in
  use in every arena (uordblks) plus the chunks mmapped for large blocks (hblkhd). A thread reads it
  every `period_s` (11 us a read on a Xeon: 0.2% of a core at 5 ms) and keeps the largest value; the
  run's peak is that above the start. This is the peak of the allocations, not of the resident set:
  glibc keeps freed pages resident (fragmentation, per-thread arenas), so resident-set growth hides
  what a change such as activation checkpointing does (a 6-layer transformer: 156 MB allocated after
  the forward without checkpointing, 12 MB with; the resident set grew 193 MB and 86 MB).
  The kernel's exact resident high-water mark (VmHWM, reset by writing "5" to /proc/self/clear_refs)
  is recorded beside it ("rss_peak_bytes").
- Where mallinfo2 is missing or reads nothing (not glibc, or jemalloc/tcmalloc preloaded): the
  resident set's growth, from VmHWM where it can be reset, else sampled. "peak_kind" says which.
"""

from __future__ import annotations

import ctypes
import os
import threading

PERIOD_S = 0.005  # activations live for most of a step; 11 us a read: 0.2% of a core


def release_memory() -> None:
    """Give freed memory back to the OS (glibc keeps it otherwise: malloc_trim releases the free pages of
    every arena), so that one run's resident set does not carry the pages a previous run freed."""
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def allocated_reader():
    """() -> bytes malloc has handed out and not had back (glibc >= 2.33), or None where it cannot say."""
    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2

    def read() -> int:
        info = mallinfo2()
        return int(info.uordblks + info.hblkhd)
    return read if read() > 0 else None


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


def _status_bytes(field: str) -> int | None:
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
    if _status_bytes("VmHWM") is None:
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
        self.peak_bytes = 0  # CUDA max allocated
        self.start_allocated = self.peak_allocated = None
        self.samples = 0
        self.kernel_hwm = False
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self) -> "PeakMemory":
        import torch

        if self.cuda:
            torch.cuda.synchronize(torch.device(self.device))
            torch.cuda.reset_peak_memory_stats(torch.device(self.device))
        else:
            release_memory()
        self._read_rss = _rss_reader()
        self.kernel_hwm = not self.cuda and reset_high_water_mark()
        self.start_rss = self.peak_rss = self._read_rss()
        allocated = None if self.cuda else allocated_reader()
        self._read_allocated = allocated
        if allocated is not None:
            self.start_allocated = self.peak_allocated = allocated()
        if not self.cuda and (allocated is not None or not self.kernel_hwm):
            read = allocated or self._read_rss
            self._thread = threading.Thread(target=self._sample, args=(read, allocated is not None),
                                             name="calib-train-memory", daemon=True)
            self._thread.start()
        return self

    def _sample(self, read, is_allocated: bool) -> None:
        while not self._stop.wait(self.period_s):
            value = read()
            self.samples += 1
            if is_allocated:
                self.peak_allocated = max(self.peak_allocated, value)
            elif value > self.peak_rss:
                self.peak_rss = value

    def __exit__(self, *exc) -> None:
        import torch

        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak_rss = max(self.peak_rss, self._read_rss())
        if self._read_allocated is not None:  # a run shorter than one period: what it still holds
            self.peak_allocated = max(self.peak_allocated, self._read_allocated())
        if self.kernel_hwm:
            self.peak_rss = max(self.peak_rss, _status_bytes("VmHWM") or 0)
        if self.cuda:
            self.peak_bytes = torch.cuda.max_memory_allocated(torch.device(self.device))

    @property
    def growth_bytes(self) -> int:
        """What the table shows as peak memory (see the module docstring)."""
        if self.cuda:
            return self.peak_bytes
        if self.start_allocated is not None:
            return max(0, self.peak_allocated - self.start_allocated)
        return max(0, self.peak_rss - self.start_rss)

    @property
    def kind(self) -> str:
        if self.cuda:
            return "cuda max allocated"
        if self.start_allocated is not None:
            return f"peak allocated above the start (glibc mallinfo2, sampled every {1000 * self.period_s:g} ms)"
        if self.kernel_hwm:
            return "peak resident set above the start (kernel VmHWM, reset per run)"
        return f"peak RSS growth (sampled every {1000 * self.period_s:g} ms)"

    def to_dict(self) -> dict:
        return {"peak_bytes": self.growth_bytes, "peak_kind": self.kind,
                "allocated_start_bytes": self.start_allocated, "allocated_peak_bytes": self.peak_allocated,
                "rss_start_bytes": self.start_rss, "rss_peak_bytes": self.peak_rss,
                "rss_peak_source": "kernel VmHWM" if self.kernel_hwm else "sampled",
                "cuda_max_allocated_bytes": self.peak_bytes if self.cuda else None, "samples": self.samples}
