"""The one place statistics are computed from raw samples (milliseconds)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

# Modified z-score threshold for outliers (Iglewicz and Hoaglin), as hyperfine uses.
OUTLIER_Z = 3.5


@dataclass(frozen=True)
class Summary:
    count: int
    min_ms: float
    mean_ms: float
    std_ms: float
    p25_ms: float  # the lower quartile: what calib check's paired rule compares per round
    median_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    iqr_ms: float
    ci95_low_ms: float
    ci95_high_ms: float
    outliers: int
    throughput_per_s: float

    @property
    def ci95_rel_width(self) -> float:
        return (self.ci95_high_ms - self.ci95_low_ms) / self.median_ms if self.median_ms else math.inf

    def to_dict(self) -> dict:
        return asdict(self)


def median_ci(samples, confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free CI of the median from order statistics (binomial, normal approx.)."""
    return median_ci_sorted(np.sort(np.asarray(samples, dtype=float)), confidence)


def median_ci_sorted(ordered, confidence: float = 0.95) -> tuple[float, float]:
    """median_ci for samples already in ascending order (the stopping rule sorts once)."""
    n = len(ordered)
    if n == 0:
        return math.nan, math.nan
    if n < 6:  # too few for the order-statistic interval to exclude the extremes
        return float(ordered[0]), float(ordered[-1])
    z = 1.959963984540054 if confidence == 0.95 else _z(confidence)
    half = z * math.sqrt(n) / 2
    low = max(0, int(math.floor(n / 2 - half)))
    high = min(n - 1, int(math.ceil(n / 2 + half)))
    return float(ordered[low]), float(ordered[high])


def _z(confidence: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2)


def count_outliers(samples) -> int:
    values = np.asarray(samples, dtype=float)
    if len(values) < 3:
        return 0
    median = np.median(values)
    mad = np.median(np.abs(values - median))
    if mad == 0:
        return 0
    modified_z = 0.6745 * (values - median) / mad
    return int(np.sum(np.abs(modified_z) > OUTLIER_Z))


def summarize(samples_ms, batch_size: int = 1) -> Summary:
    values = np.asarray(samples_ms, dtype=float)
    if len(values) == 0:
        raise ValueError("no samples to summarize")
    p25, p50, p75, p90, p95, p99 = np.percentile(values, [25, 50, 75, 90, 95, 99])
    low, high = median_ci(values)
    return Summary(
        count=len(values),
        min_ms=float(values.min()),
        mean_ms=float(values.mean()),
        std_ms=float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        p25_ms=float(p25),
        median_ms=float(p50),
        p90_ms=float(p90),
        p95_ms=float(p95),
        p99_ms=float(p99),
        iqr_ms=float(p75 - p25),
        ci95_low_ms=low,
        ci95_high_ms=high,
        outliers=count_outliers(values),
        throughput_per_s=float(batch_size * 1000.0 / p50) if p50 > 0 else math.inf,
    )
