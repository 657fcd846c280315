"""Repeated per-layer passes, interleaved with plain end-to-end runs.

The plain runs give an end-to-end median taken in the same minutes as the per-layer
passes: on a noisy machine (+-10% run to run) that is the fair denominator for coverage,
and it is stored beside the sweep's own end-to-end median.
"""

from __future__ import annotations

import gc
import time
from typing import Callable

DEFAULT_BUDGET_S = 2.0
MIN_REPEATS = 3
MAX_REPEATS = 50


def choose_repeats(end_to_end_ms: float | None, spec=None) -> int:
    """As many passes as fit the budget (the sweep's --max-time), at least 3, at most 50.

    `layers_repeats` in the spec's options overrides it (bench scripts pin it).
    """
    options = getattr(spec, "options", None) or {}
    if options.get("layers_repeats"):
        return max(1, int(options["layers_repeats"]))
    timing = getattr(spec, "timing", None)
    budget_s = timing.max_time_s if timing is not None else DEFAULT_BUDGET_S
    if not end_to_end_ms or end_to_end_ms <= 0:
        return MIN_REPEATS
    return max(MIN_REPEATS, min(MAX_REPEATS, int(budget_s * 1000 / end_to_end_ms)))


def run_passes(timed_pass: Callable[[], list[float]], plain_run: Callable[[], object] | None, repeats: int,
               warmup: int, sync: Callable[[], None] | None = None) -> tuple[list[list[float]], list[float]]:
    """(per-pass lists of per-layer ms, plain end-to-end ms samples), interleaved A/B."""
    for _ in range(warmup):
        timed_pass()
    per_pass: list[list[float]] = []
    plain_ms: list[float] = []
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()  # a collection inside one layer would be charged to that layer
    try:
        for _ in range(repeats):
            per_pass.append(timed_pass())
            if plain_run is not None:
                if sync:
                    sync()
                start = time.perf_counter_ns()
                plain_run()
                if sync:
                    sync()
                plain_ms.append((time.perf_counter_ns() - start) / 1e6)
    finally:
        if gc_was_enabled:
            gc.enable()
    return per_pass, plain_ms


def warmup_count(end_to_end_ms: float | None) -> int:
    """Slow configurations (emulated bf16: seconds per call) get one warm-up pass, others three."""
    return 1 if end_to_end_ms and end_to_end_ms > 300 else 3
