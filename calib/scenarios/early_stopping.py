"""MLPerf LoadGen's early-stopping percentile estimate: a conservative high percentile from a finite run.

Why: the empirical p99 of 300 queries rests on its 3 slowest; a run cannot claim a p99 (or p99.9) it
did not observe often enough. LoadGen (mlcommons/inference, loadgen/early_stopping.cc and
loadgen/results.cc, PerformanceSummary::EarlyStopping) answers with a binomial bound, which calib
follows exactly:

  * odds(h, t, p) = P(at most t of h + t queries are over the true p-th percentile), each query over
    it with probability 1 - p: the binomial CDF, BetaRegularized(p, h, 1 + t) in LoadGen's code;
  * h(t) = the fewest under-latency queries with odds(h, t, p) < 1 - c (confidence c = 0.99,
    tolerance 0), LoadGen's MinPassingQueriesFinder;
  * with n queries, t is the largest count with h(t) + t <= n (LoadGen walks i = 2, 3, ... until
    n < h(i) + i and keeps t = i - 1), and the estimate is the t-th slowest latency,
    sorted[n - t]: LoadGen "would discard t - 1 highest latency queries";
  * below h(1) + 1 queries there is no estimate ("Need to process at least h(1) + 1 queries").

Checked against LoadGen's own summaries: p90 needs at least 64 queries, and 2048 queries discard 172.
h(t) + t grows with t, so calib bisects on t instead of walking it (same answer, log n steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CONFIDENCE = 0.99  # LoadGen's, fixed in PerformanceSummary::EarlyStopping
TOLERANCE = 0.0


@dataclass(frozen=True)
class EarlyStoppingEstimate:
    percentile: float  # e.g. 99.0
    value: float | None  # the estimate in the samples' unit; None: too few queries
    queries: int
    min_queries: int  # h(1) + 1: the fewest queries that give an estimate at all
    discarded: int | None  # t - 1 slowest queries set aside; None without an estimate

    @property
    def reason(self) -> str | None:
        if self.value is not None:
            return None
        return (f"p{self.percentile:g} early-stopping estimate needs at least {self.min_queries} queries "
                f"(MLPerf LoadGen's rule); the run had {self.queries}")

    def to_dict(self) -> dict:
        return {"percentile": self.percentile, "value": self.value, "queries": self.queries,
                "min_queries": self.min_queries, "discarded": self.discarded, "rule": "mlperf-loadgen",
                "confidence": CONFIDENCE, **({"reason": self.reason} if self.reason else {})}


def _odds(h: int, t: int, p: float) -> float:
    from scipy.stats import binom

    return float(binom.cdf(t, h + t, 1 - (p - TOLERANCE)))


def min_passing(t: int, p: float, confidence: float = CONFIDENCE) -> int:
    """h(t): the fewest under-latency queries beside t over-latency ones for the p-th fraction to hold."""
    low = max(1, math.ceil(math.log(1 - confidence) / math.log(p)) if t == 0 else 1)
    high = low
    while _odds(high, t, p) >= 1 - confidence:
        low, high = high + 1, high * 2
    while low < high:  # the smallest h in [low, high] with odds < 1 - c (odds falls as h grows)
        middle = (low + high) // 2
        if _odds(middle, t, p) < 1 - confidence:
            high = middle
        else:
            low = middle + 1
    return low


def overlatency_allowed(queries: int, p: float) -> int:
    """The largest t with h(t) + t <= queries (0: not even one query over may be set aside)."""
    if queries < min_passing(1, p) + 1:
        return 0
    low, high = 1, queries  # h(low) + low <= queries holds; find the last t where it does
    while low < high:
        middle = (low + high + 1) // 2
        if min_passing(middle, p) + middle <= queries:
            low = middle
        else:
            high = middle - 1
    return low


def estimate(samples, percentile: float) -> EarlyStoppingEstimate:
    """The early-stopping estimate of the `percentile`-th latency of `samples` (any unit)."""
    fraction = percentile / 100
    ordered = sorted(samples)
    count = len(ordered)
    needed = min_passing(1, fraction) + 1
    t = overlatency_allowed(count, fraction)
    if t == 0:
        return EarlyStoppingEstimate(percentile, None, count, needed, None)
    return EarlyStoppingEstimate(percentile, float(ordered[count - t]), count, needed, t - 1)


def server_passes(samples, bound: float, percentile: float = 99.0) -> bool:
    """LoadGen's server rule: with t queries over the bound, the run holds the percentile when
    queries >= h(t) + t (t = 0 needs h(0) queries: with few queries a perfect run still cannot tell)."""
    over = sum(1 for value in samples if value > bound)
    return len(samples) >= min_passing(over, percentile / 100) + over


__all__ = ["EarlyStoppingEstimate", "estimate", "min_passing", "overlatency_allowed", "server_passes",
           "CONFIDENCE"]
