"""When the server scenario's queries arrive: a Poisson process from a seeded generator.

MLPerf's Server scenario issues queries with exponentially distributed gaps at the target rate
(LoadGen's ScheduleDistribution for Server: std::exponential_distribution at target_qps); so does
calib, from numpy's PCG64 seeded with the scenario's seed, so one command replays one schedule and
two builds are measured against the same arrivals.
"""

from __future__ import annotations

import numpy as np


def poisson_schedule(qps: float, duration_s: float, seed: int, min_queries: int = 1) -> np.ndarray:
    """Arrival offsets in nanoseconds from the start (ascending, the first after one gap): every
    arrival within `duration_s`, and at least `min_queries` of them."""
    if qps <= 0 or duration_s <= 0:
        raise ValueError("qps and duration must be positive")
    rng = np.random.default_rng(seed)
    expected = int(qps * duration_s)
    count = max(min_queries, expected + 6 * int(np.sqrt(expected + 1)) + 8)  # past the duration almost surely
    gaps_s = rng.exponential(1.0 / qps, size=count)
    offsets = np.cumsum(gaps_s)
    within = offsets[offsets <= duration_s]
    if len(within) < min_queries:
        within = offsets[:min_queries]
    return np.round(within * 1e9).astype(np.int64)


__all__ = ["poisson_schedule"]
