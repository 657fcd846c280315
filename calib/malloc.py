"""glibc malloc's thresholds, fixed so that a timing does not depend on what the process allocated before.

PyTorch's CPU tensors come from malloc. glibc serves a block above its mmap threshold with a fresh mmap, whose
pages fault in on first touch, and returns free memory at the heap's top to the system past its trim threshold,
so the next call faults those pages in again. Both thresholds move by themselves (glibc raises them as mmapped
blocks are freed), so how many pages a model faults in per inference depends on everything the process did
before. Measured on the Intel AMX machine kind (2 threads, torch fp32 eager, batch 4): mobilenet_v2 faulted in
14,000 pages per call and took 52 ms in a fresh process, 37 ms with no page fault once a calibration had run
before it; resnet18 82 ms against 70, squeezenet1_0 78 against 64. A table measured in one state and a check in
the other disagreed by up to 39% with the machine's speed unchanged.

So calib fixes them, as Intel's `torch.backends.xeon.run_cpu` launcher swaps in jemalloc or TCMalloc for the
same reason: blocks up to 32 MiB (glibc's largest mmap threshold) come from the heap and the heap is never
trimmed, so after the warm-up no inference faults pages in. Every results file says so (environment "malloc").
`CALIB_MALLOC=system` leaves glibc's own moving thresholds (what a plain Python process gets); an allocator in
LD_PRELOAD (jemalloc, TCMalloc) is left alone and named.
"""

from __future__ import annotations

import os
import platform

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 2**20  # HEAP_MAX_SIZE / 2 on 64-bit: the largest glibc accepts
ENV = "CALIB_MALLOC"

_state: dict | None = None


def steady_malloc() -> dict:
    """Fix glibc's thresholds in this process (once; later calls return what the first did) and say what holds."""
    global _state
    if _state is None:
        _state = _apply()
    return dict(_state)


def malloc_state() -> dict:
    """What holds in this process: for the results' environment."""
    return dict(_state) if _state is not None else _describe("system", "glibc's own thresholds, moving as the "
                                                              "process allocates (calib did not set them here)")


def _apply() -> dict:
    preloaded = _preloaded()
    if preloaded:
        return {**_describe(f"preloaded {preloaded}", "LD_PRELOAD names another allocator: left alone"),
                "library": preloaded}
    if os.environ.get(ENV, "").strip().lower() == "system":
        return _describe("system", f"{ENV}=system: glibc's own thresholds, moving as the process allocates")
    library, version = platform.libc_ver()
    if library != "glibc":
        return _describe("system", f"not glibc ({library or 'unknown C library'}): nothing to set")
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        done = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1 and libc.mallopt(M_TRIM_THRESHOLD, -1) == 1
    except (OSError, AttributeError) as exc:
        return _describe("system", f"mallopt unavailable ({type(exc).__name__}): glibc's own thresholds")
    if not done:
        return _describe("system", "mallopt refused the thresholds: glibc's own thresholds")
    return {"library": f"glibc {version}", "mode": "steady", "mmap_threshold_bytes": MMAP_THRESHOLD_BYTES,
            "trim": "off", "note": f"set by calib: blocks up to 32 MiB from the heap, never trimmed ({ENV}=system "
                                   "leaves glibc's own)"}


def _describe(mode: str, note: str) -> dict:
    library, version = platform.libc_ver()
    return {"library": f"{library} {version}".strip() or None, "mode": mode, "mmap_threshold_bytes": None,
            "trim": None, "note": note}


def _preloaded() -> str | None:
    for item in os.environ.get("LD_PRELOAD", "").replace(":", " ").split():
        name = os.path.basename(item)
        for allocator in ("jemalloc", "tcmalloc", "mimalloc"):
            if allocator in name:
                return allocator
    return None


__all__ = ["steady_malloc", "malloc_state", "ENV"]
