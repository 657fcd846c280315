"""The adaptive measurement loop: cold call, warm-up, then samples until the median is pinned.

Stopping rule: keep sampling until at least `min_count` samples and `min_time_s` of timed
work exist AND the 95% CI of the median is narrower than `target_ci_rel` of the median;
stop anyway at `max_time_s` (once `hard_min_count` samples exist). Every raw sample is
kept; statistics are derived from them (calib.timing.stats).
"""

from __future__ import annotations

import gc
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from calib.timing.stats import Summary, median_ci_sorted, summarize

NS_PER_MS = 1e6


@dataclass(frozen=True)
class TimingSettings:
    warmup_min_count: int = 3
    warmup_min_time_s: float = 0.5
    warmup_max_time_s: float = 3.0
    min_count: int = 20
    min_time_s: float = 1.0
    max_time_s: float = 10.0
    target_ci_rel: float = 0.01
    hard_min_count: int = 3
    max_count: int = 1_000_000

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TimingSettings":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class Measurement:
    samples_ms: list[float]
    warmup_ms: list[float]
    cold_ms: float
    settings: TimingSettings
    timer: str
    stop_reason: str
    batch_size: int = 1
    warnings: list[str] = field(default_factory=list)
    _summary: Summary | None = field(default=None, repr=False, compare=False)

    def summary(self) -> Summary:
        if self._summary is None:
            self._summary = summarize(self.samples_ms, self.batch_size)
        return self._summary


def measure(fn: Callable[[], object], timer, settings: TimingSettings = TimingSettings(),
            batch_size: int = 1, now_ns: Callable[[], int] | None = None) -> Measurement:
    """Time `fn` (one inference) with `timer` (see calib.timing.clock)."""
    now_ns = now_ns or getattr(timer, "now_ns", time.perf_counter_ns)
    time_call = timer.time_call
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        cold_ms = time_call(fn) / NS_PER_MS

        warmup_ms: list[float] = []
        start = now_ns()
        while True:
            warmup_ms.append(time_call(fn) / NS_PER_MS)
            elapsed_s = (now_ns() - start) / 1e9
            if len(warmup_ms) >= settings.warmup_min_count and elapsed_s >= settings.warmup_min_time_s:
                break
            if elapsed_s >= settings.warmup_max_time_s:
                break

        samples_ns: list[int] = []
        append = samples_ns.append
        start = now_ns()
        next_check = max(settings.min_count, settings.hard_min_count)
        stop_reason = "max_count"
        max_time_ns = settings.max_time_s * 1e9
        while len(samples_ns) < settings.max_count:
            append(time_call(fn))
            n = len(samples_ns)
            elapsed_ns = now_ns() - start
            if elapsed_ns >= max_time_ns and n >= settings.hard_min_count:
                stop_reason = "max_time"
                break
            if n < next_check:
                continue
            # The CI check sorts every sample: space checks geometrically (every third more samples)
            # so its amortized cost stays well under a microsecond per call.
            next_check = n + max(1, n // 3)
            if elapsed_ns / 1e9 >= settings.min_time_s:
                ordered = np.sort(np.asarray(samples_ns, dtype=np.int64))
                low, high = median_ci_sorted(ordered)
                middle = ordered[n // 2]
                if middle and (high - low) / middle <= settings.target_ci_rel:
                    stop_reason = "ci_target"
                    break
    finally:
        if gc_was_enabled:
            gc.enable()

    samples_ms = [s / NS_PER_MS for s in samples_ns]
    result = Measurement(samples_ms=samples_ms, warmup_ms=warmup_ms, cold_ms=cold_ms, settings=settings,
                         timer=getattr(timer, "name", type(timer).__name__), stop_reason=stop_reason,
                         batch_size=batch_size)
    result.warnings.extend(stability_warnings(result))
    return result


def stability_warnings(measurement: Measurement) -> list[str]:
    """Warnings that say what to do, in the manner of pyperf and trtexec."""
    warnings = []
    summary = measurement.summary()
    settings = measurement.settings
    if summary.count < settings.min_count:
        warnings.append(
            f"only {summary.count} samples (wanted {settings.min_count}): each call is slow; "
            f"raise --max-time to get a tighter estimate"
        )
    if summary.median_ms and summary.iqr_ms / summary.median_ms > 0.10:
        warnings.append(
            f"unstable: IQR is {100 * summary.iqr_ms / summary.median_ms:.0f}% of the median; "
            "close other programs, pin threads (--threads) or set the CPU governor to performance"
        )
    if measurement.stop_reason == "max_time" and summary.ci95_rel_width > settings.target_ci_rel:
        warnings.append(
            f"95% CI of the median is {100 * summary.ci95_rel_width:.1f}% wide, above the "
            f"{100 * settings.target_ci_rel:.1f}% target: raise --max-time or reduce noise"
        )
    if summary.count >= 20 and summary.outliers / summary.count > 0.10:
        warnings.append(
            f"{summary.outliers} outliers ({100 * summary.outliers / summary.count:.0f}% of samples, MAD rule): "
            "other processes may have disturbed the run; rerun on a quiet machine to confirm"
        )
    return warnings
