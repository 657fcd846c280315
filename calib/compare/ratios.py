"""Ratio of two medians with a bootstrap confidence interval, computed on the raw samples.

The point estimate is the ratio of the medians Record.summary reports (calib.results.record). The
interval comes from a percentile bootstrap. Resampling tens of thousands of microsecond
samples a thousand times is slow, so each bootstrap median is drawn directly: the k-th order
statistic of a resample of sorted data x is x[j] with P(j <= i) = P(Binomial(n, (i+1)/n) >= k),
which gives the same distribution as resampling and sorting, in O(n + B log n).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 4000
BOOTSTRAP_SEED = 20240611  # fixed, so the same files always give the same interval


@dataclass(frozen=True)
class RatioEstimate:
    """current / baseline median time: > 1 is slower, < 1 is faster."""

    ratio: float
    low: float
    high: float
    confidence: float

    @property
    def crosses_one(self) -> bool:
        """The interval holds 1: no speed-up or slowdown can be called from it (n.s.)."""
        return self.low <= 1.0 <= self.high

    def to_dict(self) -> dict:
        return {"ratio": self.ratio, "low": self.low, "high": self.high, "confidence": self.confidence}


def bootstrap_medians(samples, resamples: int = BOOTSTRAP_RESAMPLES, rng: np.random.Generator | None = None):
    """Medians of `resamples` bootstrap resamples of `samples` (the middle order statistic;
    for an even count the upper of the two middle values, which differs from np.median by at
    most half a gap between neighbouring samples)."""
    from scipy.stats import binom

    rng = rng or np.random.default_rng(BOOTSTRAP_SEED)
    ordered = np.sort(np.asarray(samples, dtype=float))
    n = len(ordered)
    if n == 0:
        raise ValueError("no samples")
    k = n // 2 + 1
    # cdf[i] = P(k-th order statistic of a resample <= ordered[i]).
    cdf = binom.sf(k - 1, n, np.arange(1, n + 1) / n)
    indices = np.searchsorted(cdf, rng.random(resamples), side="left")
    return ordered[np.minimum(indices, n - 1)]


def median_ratio(baseline_ms, current_ms, baseline_median: float, current_median: float,
                 confidence: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES) -> RatioEstimate:
    """Ratio current/baseline of the medians with a two-sided percentile-bootstrap interval.
    The medians come from the caller (Record.summary), the one place they are computed."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    base = bootstrap_medians(baseline_ms, resamples, rng)
    cur = bootstrap_medians(current_ms, resamples, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = cur / base
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(ratios, [tail, 100 - tail])
    point = current_median / baseline_median if baseline_median else math.inf
    return RatioEstimate(ratio=float(point), low=float(low), high=float(high), confidence=confidence)


def fp32_peers(records) -> list[tuple]:
    """(record, its fp32 peer or None) for each record, in order: fp32 on the same model, backend, batch
    and device. Under --backend auto the backend is "auto": fp32 on the backend auto picked for it is
    the reference. `records`: calib.results.record.Record (or stored dicts)."""
    from calib.results.record import as_records

    def key(record) -> tuple:
        peer = record.identity.peer_key
        return (peer[0], record.requested_backend or peer[1], *peer[2:])

    records = as_records(records)
    fp32 = {}
    for record in records:  # a variant (fp32+ac-full) is the peer only where no plain fp32 ran
        if record.precision == "fp32" and record.summary and not (record.identity.variant and key(record) in fp32):
            fp32[key(record)] = record
    return [(record, fp32.get(key(record)) if record.summary else None) for record in records]


def speedups(records) -> dict[int, float]:
    """Speed-up over fp32 on the same model, backend, batch and device (record index -> ratio of medians)."""
    return {index: peer.summary.median_ms / record.summary.median_ms
            for index, (record, peer) in enumerate(fp32_peers(records))
            if peer is not None and peer.summary.median_ms and record.summary.median_ms}


def speedup_estimates(records) -> dict[int, RatioEstimate]:
    """speedups() with each ratio's bootstrap interval from the two records' raw samples (fp32's median
    time / this one's: > 1 is faster). The fp32 records themselves are left out: 1x by definition."""
    estimates = {}
    for index, (record, peer) in enumerate(fp32_peers(records)):
        if peer is None or peer is record or not peer.summary.median_ms or not record.summary.median_ms:
            continue
        # median_ratio gives current/baseline: with this record as the baseline that is fp32 / this
        estimates[index] = median_ratio(record.samples_ms, peer.samples_ms, record.summary.median_ms,
                                        peer.summary.median_ms)
    return estimates


def ratio_to_reference(row, column_index: int) -> tuple[int, RatioEstimate] | None:
    """Time ratio of this cell to the row's first measured cell (reference column, estimate)."""
    measured = [index for index in sorted(row.cells) if row.cells[index].summary is not None]
    cell = row.cells.get(column_index)
    if not measured or cell is None or cell.summary is None or measured[0] == column_index:
        return None
    reference = row.cells[measured[0]]
    estimate = median_ratio(reference.record.samples_ms, cell.record.samples_ms,
                            reference.summary.median_ms, cell.summary.median_ms)
    return measured[0], estimate
