"""The latency percentiles a scenario reports, from its raw latencies (calib keeps every one).

p50, p90 and p99 are the empirical percentiles (numpy's linear interpolation, as calib.timing.stats);
above p99 a run rarely observes enough slow queries to pin the tail, so p99.9 is MLPerf LoadGen's
early-stopping estimate (calib.scenarios.early_stopping), and so is the "p99_es" beside p99. Each
estimate says it is one, and says why it is missing when the run was too short.
"""

from __future__ import annotations

import numpy as np

from calib.scenarios import early_stopping
from calib.scenarios.settings import PERCENTILES

EMPIRICAL_UP_TO = 99.0  # percentiles at or below this are read off the samples


def latency_percentiles(latencies_ms) -> dict:
    """{"p50": ms, "p90": ms, "p99": ms, "p99_es": {...}, "p99.9": {...}}: plain numbers for the
    empirical percentiles, the early-stopping estimates as dicts (value, rule, queries, reason)."""
    values = np.asarray(latencies_ms, dtype=float)
    if len(values) == 0:
        return {}
    out: dict = {}
    for percentile in PERCENTILES:
        name = f"p{percentile:g}"
        if percentile <= EMPIRICAL_UP_TO:
            out[name] = float(np.percentile(values, percentile))
        else:
            out[name] = early_stopping.estimate(values, percentile).to_dict()
    out["p99_es"] = early_stopping.estimate(values, 99.0).to_dict()
    out["mean"] = float(values.mean())
    out["max"] = float(values.max())
    return out


def value_of(percentiles: dict, name: str) -> float | None:
    """A percentile's number whether it is empirical or an estimate (None: too few queries)."""
    value = percentiles.get(name)
    return value.get("value") if isinstance(value, dict) else value


__all__ = ["latency_percentiles", "value_of"]
