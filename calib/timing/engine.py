"""The adaptive measurement loop: cold call, warm-up, then samples until the median is pinned.

The stopping rule is a parameter (a StopRule): `calib run` uses CiTarget (at least `min_count`
samples and `min_time_s`, then until the 95% CI of the median is narrower than `target_ci_rel`;
stop anyway at `max_time_s`), `calib ab`'s rounds and the device probe a FixedTime block.
Every raw sample is kept; statistics are derived from them (calib.timing.stats).
"""

from __future__ import annotations

import gc
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from calib.errors import UsageError
from calib.timing.stats import Summary, median_ci_sorted, summarize

NS_PER_MS = 1e6


@dataclass(frozen=True)
class Warmup:
    """Untimed calls before sampling: at least `min_count` and `min_time_s`, at most `max_time_s`."""
    min_count: int = 3
    min_time_s: float = 0.5
    max_time_s: float = 3.0


@dataclass(frozen=True)
class CiTarget:
    """`calib run`'s stopping rule: at least `min_count` samples and `min_time_s`, then stop once the
    95% CI of the median is narrower than `target_ci_rel` of it; at `max_time_s` stop anyway (once
    `hard_min_count` samples exist)."""
    min_count: int = 20
    min_time_s: float = 1.0
    max_time_s: float = 10.0
    target_ci_rel: float = 0.01
    hard_min_count: int = 3
    max_count: int = 1_000_000
    name = "ci_target"

    @classmethod
    def within(cls, max_time_s: float, **fields) -> "CiTarget":
        """The rule with at most `max_time_s`: its min_time_s (the default or the one given) gives way to a
        shorter max_time_s, so a short --max-time alone does not wait out the default minimum."""
        min_time_s = fields.pop("min_time_s", cls.min_time_s)
        return cls(min_time_s=min(min_time_s, max_time_s), max_time_s=max_time_s, **fields)

    def settled(self, samples_ns: list[int], elapsed_ns: int) -> str | None:
        if elapsed_ns / 1e9 < self.min_time_s:
            return None
        ordered = np.sort(np.asarray(samples_ns, dtype=np.int64))
        low, high = median_ci_sorted(ordered)
        middle = ordered[len(ordered) // 2]
        return "ci_target" if middle and (high - low) / middle <= self.target_ci_rel else None


@dataclass(frozen=True)
class FixedTime:
    """A fixed block of `time_s` (at least `min_count` calls): `calib ab`'s rounds, the device probe."""
    time_s: float
    min_count: int = 3
    max_count: int = 1_000_000
    name = "fixed_time"
    target_ci_rel = None

    @property
    def max_time_s(self) -> float:
        return self.time_s

    @property
    def hard_min_count(self) -> int:
        return self.min_count

    def settled(self, samples_ns: list[int], elapsed_ns: int) -> str | None:
        return None  # the block ends at its time, never on a statistic


StopRule = CiTarget | FixedTime


@dataclass(frozen=True)
class TimingSettings(CiTarget):
    """The timing options of `calib run` (one record's "timing.settings"): its CiTarget and a warm-up."""
    warmup_min_count: int = Warmup.min_count
    warmup_min_time_s: float = Warmup.min_time_s
    warmup_max_time_s: float = Warmup.max_time_s

    def __post_init__(self):
        import math

        for flag, value in (("--min-time", self.min_time_s), ("--max-time", self.max_time_s),
                            ("--target-ci", self.target_ci_rel), ("--warmup-min-time", self.warmup_min_time_s),
                            ("warm-up max time", self.warmup_max_time_s)):
            if not math.isfinite(value):
                raise UsageError(f"{flag} {value}: must be a finite number")
        if self.min_count <= 0 or self.warmup_min_count < 0 or self.hard_min_count <= 0:
            raise UsageError("--min-samples must be positive and --warmup-min-count not negative")
        if self.max_time_s <= 0 or self.min_time_s < 0 or self.warmup_min_time_s < 0:
            raise UsageError("--max-time must be positive; --min-time and --warmup-min-time not negative")
        if self.min_time_s > self.max_time_s:
            raise UsageError(f"--min-time {self.min_time_s:g} is above --max-time {self.max_time_s:g}")
        if self.target_ci_rel <= 0:
            raise UsageError(f"--target-ci {self.target_ci_rel:g}: must be positive")

    @property
    def warmup(self) -> Warmup:
        return Warmup(self.warmup_min_count, self.warmup_min_time_s, self.warmup_max_time_s)

    @property
    def stop_rule(self) -> CiTarget:
        return CiTarget(**{name: getattr(self, name) for name in CiTarget.__dataclass_fields__})

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TimingPlan:
    """A warm-up and a stopping rule, for measurements that are not `calib run`'s (rounds, probes)."""
    warmup: Warmup
    stop_rule: StopRule

    @classmethod
    def fixed(cls, time_s: float, *, min_count: int = 1, warmup_count: int = 1, warmup_time_s: float = 0.0,
              warmup_max_s: float | None = None) -> "TimingPlan":
        """A fixed block of `time_s` (at least `min_count` calls) after at least `warmup_count` untimed calls
        and `warmup_time_s`, at most `warmup_max_s` (default: the block's own length): `calib ab`'s rounds,
        the tuning race's blocks, the device probe, the sensitivity table's end-to-end median."""
        return cls(Warmup(warmup_count, warmup_time_s, time_s if warmup_max_s is None else warmup_max_s),
                   FixedTime(time_s, min_count=min_count))


def settings_dict(warmup: Warmup, stop: StopRule) -> dict:
    """What a record stores as timing["settings"]: the warm-up and the stopping rule that produced it
    (for a CiTarget, exactly TimingSettings.to_dict() plus the rule's name)."""
    return {**{f"warmup_{key}": value for key, value in asdict(warmup).items()}, **asdict(stop),
            "stop_rule": stop.name}


@dataclass
class Measurement:
    samples_ms: list[float]
    warmup_ms: list[float]
    cold_ms: float
    stop: StopRule
    warmup: Warmup
    timer: str
    stop_reason: str
    batch_size: int = 1
    warnings: list[str] = field(default_factory=list)
    page_faults_per_call: float | None = None  # minor page faults of the process per timed call (None: unknown)
    _summary: Summary | None = field(default=None, repr=False, compare=False)

    def summary(self) -> Summary:
        if self._summary is None:
            self._summary = summarize(self.samples_ms, self.batch_size)
        return self._summary

    def settings_dict(self) -> dict:
        return settings_dict(self.warmup, self.stop)


def measure(fn: Callable[[], object], timer, settings: TimingSettings | TimingPlan | None = None, batch_size: int = 1,
            now_ns: Callable[[], int] | None = None, *, stop: StopRule | None = None,
            warmup: Warmup | None = None) -> Measurement:
    """Time `fn` (one inference) with `timer` (see calib.timing.clock) until `stop` says so.

    `stop` and `warmup` default to those of `settings` (TimingSettings(): `calib run`'s defaults)."""
    settings = settings or TimingSettings()
    stop = stop or settings.stop_rule
    warmup = warmup or settings.warmup
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
            if len(warmup_ms) >= warmup.min_count and elapsed_s >= warmup.min_time_s:
                break
            if elapsed_s >= warmup.max_time_s:
                break

        samples_ns: list[int] = []
        append = samples_ns.append
        faults_before = minor_faults()
        start = now_ns()
        next_check = max(stop.min_count, stop.hard_min_count)
        stop_reason = "max_count"
        max_time_ns = stop.max_time_s * 1e9
        hard_min_count, max_count, settled = stop.hard_min_count, stop.max_count, stop.settled
        while len(samples_ns) < max_count:
            append(time_call(fn))
            n = len(samples_ns)
            elapsed_ns = now_ns() - start
            if elapsed_ns >= max_time_ns and n >= hard_min_count:
                stop_reason = "max_time"
                break
            if n < next_check:
                continue
            # A rule's check may sort every sample: space checks geometrically (every third more
            # samples) so its amortized cost stays well under a microsecond per call.
            next_check = n + max(1, n // 3)
            reason = settled(samples_ns, elapsed_ns)
            if reason:
                stop_reason = reason
                break
        faults_after = minor_faults()
    finally:
        if gc_was_enabled:
            gc.enable()

    samples_ms = [s / NS_PER_MS for s in samples_ns]
    per_call = ((faults_after - faults_before) / len(samples_ns)
                if faults_before is not None and faults_after is not None and samples_ns else None)
    result = Measurement(samples_ms=samples_ms, warmup_ms=warmup_ms, cold_ms=cold_ms, stop=stop, warmup=warmup,
                         timer=getattr(timer, "name", type(timer).__name__), stop_reason=stop_reason,
                         batch_size=batch_size, page_faults_per_call=per_call)
    result.warnings.extend(stability_warnings(result))
    return result


def minor_faults() -> int | None:
    """The process's minor page faults so far (getrusage), None where there is no such count."""
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    except (ImportError, OSError, AttributeError):
        return None


FAULTS_WORTH_SAYING = 32  # per call; 64 MB mapped afresh per call counted 543 here (transparent huge pages)
FAULT_US = 1.0  # at least what one minor fault costs (map and zero a 4 KB page; a 2 MB one far more)


def stability_warnings(measurement: Measurement) -> list[str]:
    """Warnings that say what to do, in the manner of pyperf and trtexec."""
    warnings = []
    summary = measurement.summary()
    stop = measurement.stop
    if summary.count < stop.min_count:
        warnings.append(
            f"only {summary.count} samples (wanted {stop.min_count}): each call is slow; "
            f"raise --max-time to get a tighter estimate"
        )
    if summary.median_ms and summary.iqr_ms / summary.median_ms > 0.10:
        warnings.append(
            f"unstable: IQR is {100 * summary.iqr_ms / summary.median_ms:.0f}% of the median; "
            "close other programs, pin threads (--threads) or set the CPU governor to performance"
        )
    target = stop.target_ci_rel
    if measurement.stop_reason == "max_time" and target is not None and summary.ci95_rel_width > target:
        warnings.append(
            f"95% CI of the median is {100 * summary.ci95_rel_width:.1f}% wide, above the "
            f"{100 * target:.1f}% target: raise --max-time or reduce noise"
        )
    if summary.count >= 20 and summary.outliers / summary.count > 0.10:
        warnings.append(
            f"{summary.outliers} outliers ({100 * summary.outliers / summary.count:.0f}% of samples, MAD rule): "
            "other processes may have disturbed the run; rerun on a quiet machine to confirm"
        )
    faults = measurement.page_faults_per_call
    if (faults is not None and faults >= FAULTS_WORTH_SAYING and summary.median_ms
            and faults * FAULT_US / 1e3 >= 0.02 * summary.median_ms):
        warnings.append(
            f"{faults:,.0f} page faults per call: the allocator gives freed memory back to the system and every "
            "call maps it again, which is in this time; "
            "another allocator setting changes it (glibc: MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_, or "
            "jemalloc / tcmalloc); compare runs under the same one"
        )
    return warnings
