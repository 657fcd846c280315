"""Repeated per-layer passes, interleaved with plain end-to-end runs.

The plain runs give an end-to-end median taken in the same minutes as the per-layer
passes: on a noisy machine (+-10% run to run) that is the fair denominator for coverage,
and it is stored beside the sweep's own end-to-end median.
"""

from __future__ import annotations

import gc
import time
from typing import Callable

from calib.layers.facts import flag_for
from calib.layers.table import finish_table
from calib.settings import LayerSettings

MIN_REPEATS = 3
MAX_REPEATS = 50


def choose_repeats(end_to_end_ms: float | None, settings: LayerSettings | None = None) -> int:
    """As many passes as fit the budget (`calib run` gives its --max-time), at least 3, at most 50;
    `settings.repeats` pins the count (bench scripts do)."""
    settings = settings or LayerSettings()
    if settings.repeats:
        return settings.repeats
    budget_s = settings.budget_s
    if not end_to_end_ms or end_to_end_ms <= 0:
        return MIN_REPEATS
    return max(MIN_REPEATS, min(MAX_REPEATS, int(budget_s * 1000 / end_to_end_ms)))


def run_passes(timed_pass: Callable[[], list[float]], plain_run: Callable[[], object] | None, repeats: int,
               warmup: int, sync: Callable[[], None] | None = None,
               probe_pass: Callable[[], list[float]] | None = None, probe_passes: list | None = None,
               host_clock: Callable[[], int] | None = None) -> tuple[list[list[float]], list[float]]:
    """(per-pass lists of per-layer ms, plain end-to-end ms samples), interleaved A/B; with
    `probe_pass` (the doubled-mark pass, calib.layers.graph.in_situ_mark_cost) interleaved A/B/C,
    its per-layer lists appended to `probe_passes`."""
    clock = host_clock or time.perf_counter_ns
    for _ in range(warmup):
        timed_pass()
        if probe_pass is not None:
            probe_pass()
    per_pass: list[list[float]] = []
    plain_ms: list[float] = []
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()  # a collection inside one layer would be charged to that layer
    try:
        for _ in range(repeats):
            per_pass.append(timed_pass())
            if probe_pass is not None and probe_passes is not None:
                probe_passes.append(probe_pass())
            if plain_run is not None:
                if sync:
                    sync()
                start = clock()
                plain_run()
                if sync:
                    sync()
                plain_ms.append((clock() - start) / 1e6)
    finally:
        if gc_was_enabled:
            gc.enable()
    return per_pass, plain_ms


def warmup_count(end_to_end_ms: float | None) -> int:
    """Slow configurations (emulated bf16: seconds per call) get one warm-up pass, others three."""
    return 1 if end_to_end_ms and end_to_end_ms > 300 else 3


def build_table(entries: list[tuple[str, dict]], per_pass: list[list[float]], correction_ms, plain_ms: list[float],
                *, method: str, end_to_end_ms: float | None, expected_compute: str | None, configuration: str,
                started: float, repeats: int, overhead_ms_per_node: float, **extra) -> dict:
    """Rows (name, facts) with each layer's time over the passes, each sample less `correction_ms`.

    A row's median_ms is its mean over the middle fifth of the passes ranked by pass total
    (the median pass alone when there are 3), so the rows decompose the median pass and
    sum to it. Per-layer medians taken independently sum to less on a loaded machine:
    each layer's median drops the preemption stalls that every pass has somewhere. That
    plain per-layer median is kept as layer_median_ms.
    """
    import numpy as np

    samples = np.asarray(per_pass, dtype=float)  # passes x layers
    corrected = np.clip(samples - correction_ms, 0.0, None)
    middle = middle_passes(corrected.sum(axis=1))
    typical = corrected[middle].mean(axis=0)
    medians, p90s = np.median(corrected, axis=0), np.percentile(corrected, 90, axis=0)
    rows = []
    for index, (name, layer_facts) in enumerate(entries):
        row = {"name": name, **layer_facts, "median_ms": float(typical[index]), "p90_ms": float(p90s[index]),
               "layer_median_ms": float(medians[index])}
        row["flag"] = flag_for(row.get("op_kind") or "other", row.get("compute_dtype"), expected_compute,
                               configuration, row.pop("fed_by_dequantize", False))
        rows.append(row)
    plain_median = float(np.median(plain_ms)) if plain_ms else None
    return finish_table(
        rows, end_to_end_ms, method, overhead_correction_ms_per_node=overhead_ms_per_node,
        pass_s=time.perf_counter() - started, repeats=repeats,
        instrumented_ms=float(np.median(samples.sum(axis=1))),  # a whole timed pass, timer cost included
        interleaved_end_to_end_ms=plain_median,
        coverage_interleaved=float(typical.sum()) / plain_median if plain_median else None,
        statistic="mean over the middle fifth of passes by pass total", **extra)


def middle_passes(totals):
    """Indices of the middle fifth of passes by total (at least one): the median pass of 3, 4 of 20.

    Narrow on purpose: on a loaded machine pass totals spread widely (IQR several times
    the median) and a wide window's mean drifts far above the median.
    """
    import numpy as np

    count = len(totals)
    keep = max(1, int(round(count / 5)))
    start = (count - keep) // 2
    return np.argsort(totals, kind="stable")[start:start + keep]
