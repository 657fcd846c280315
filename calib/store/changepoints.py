"""Change points in a series of per-run medians: where the level moved, by how much, how surely.

The method is Apache Otava's (Hunter's): segment the series with the E-Divisive means statistic,
then keep a candidate only while a deterministic two-sample t-test between the segments on either
side of it says p <= max_pvalue (0.0005 here; Otava's 0.001 raised more false alarms than the
issue's 1% on short series, see DEFAULT_MAX_PVALUE), re-testing after every removal.

Why not the issue's named libraries: MongoDB's `signal-processing-algorithms` 2.1.6 pins numpy<2
(installing it downgrades numpy to 1.26 and torch with it) and `apache-otava` 0.8 pins numpy==2.2.0
and scipy<1.17; either would break the environment calib measures in. The segmentation comes from
`ruptures` instead (maintained, numpy 2): its l2 cost's best split maximises n1*n2/(n1+n2) *
|mean1 - mean2|^2, which is the E-Divisive energy statistic with alpha = 2, the form that sees a shift
in the mean (alpha < 1 would also see changes of spread, which run-to-run noise has plenty of).
E-Divisive's permutation test is random; Otava replaced it with the t-test for determinism, and so
does this module: same input, same change points.

Details that make it fit latency series:
  * the test runs on log(ms), so it is scale-free (a 1 ms and a 1 s configuration with the same
    relative noise behave alike) and a step is a ratio;
  * Student's pooled-variance t-test, not Welch's: right after a step the new level has 2 or 3 runs,
    too few to estimate their own spread, while run-to-run noise in log space is the same on both
    sides of a pure speed change;
  * splitting is greedy and recursive (binary segmentation): the best split of a segment is tested,
    kept when significant and its two halves searched again; then every kept point is re-tested
    between its neighbours and the weakest failing one dropped until all pass (Otava's merge);
  * non-finite and non-positive values are skipped (indices still refer to the input), a series
    with fewer than 2 * min_size usable points or no spread has no change points.

Reported levels (before_ms, after_ms) are the MEDIANS of the per-run medians in the segments either
side of the change; ratio = after_ms / before_ms (> 1: slower after). The p-value is the t-test's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

# Otava's default is 0.001; on 23-run series with 2% run-to-run noise that raised a false alarm on 1.4%
# of A/A series (the best of ~20 splits is tested), 0.0005 on 0.7% while still finding +8% steps three
# runs after they happen (bench/history.py measures both on series built from real samples).
DEFAULT_MAX_PVALUE = 0.0005


@dataclass
class ChangePoint:
    index: int  # position in the input of the first point at the new level
    before_ms: float  # median of the points from the previous change point (or the start) to this one
    after_ms: float  # median of the points from this one to the next change point (or the end)
    ratio: float  # after_ms / before_ms: > 1 is slower after the change
    p_value: float  # Student's t-test on log(ms) between those two segments


def find_change_points(values: Sequence[float], *, max_pvalue: float = DEFAULT_MAX_PVALUE,
                       min_magnitude: float = 0.0, min_size: int = 2) -> list[ChangePoint]:
    """Change points of `values` (per-run medians, oldest first), in order of index.

    max_pvalue: keep a change only when the t-test between its neighbouring segments gives p <= this.
    min_magnitude: and only when |ratio - 1| >= this (0.05: moves under 5% are not reported).
    min_size: the fewest points a segment may have (2: a step is seen after two runs at the new level).
    """
    if min_size < 2:
        raise ValueError("min_size must be at least 2 (a segment needs a spread)")
    positions = [i for i, v in enumerate(values) if _usable(v)]
    usable = np.asarray([float(values[i]) for i in positions], dtype=float)
    logs = np.log(usable)
    if len(logs) < 2 * min_size or float(np.ptp(logs)) == 0.0:
        return []
    splits: list[int] = []
    _split(logs, 0, len(logs), min_size, max_pvalue, min_magnitude, splits)
    splits = _merge(logs, sorted(splits), max_pvalue, min_magnitude)
    found = []
    for number, split in enumerate(splits):
        start = splits[number - 1] if number else 0
        end = splits[number + 1] if number + 1 < len(splits) else len(logs)
        before_ms, after_ms = float(np.median(usable[start:split])), float(np.median(usable[split:end]))
        found.append(ChangePoint(index=positions[split], before_ms=before_ms, after_ms=after_ms,
                                 ratio=after_ms / before_ms, p_value=_p_value(logs[start:split], logs[split:end])))
    return found


def _usable(value) -> bool:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) and number > 0


def _best_split(segment: np.ndarray, min_size: int) -> int | None:
    """Where E-Divisive (alpha = 2, ruptures' l2 cost) would cut this segment, relative to its start."""
    import ruptures

    if len(segment) < 2 * min_size or float(np.ptp(segment)) == 0.0:
        return None
    try:
        # the linear kernel's cost is the l2 cost; KernelCPD computes the exact best split in C (the same cut as
        # Binseg(model="l2"), about 20x faster on a 500-run series)
        cut = ruptures.KernelCPD(kernel="linear", min_size=min_size, jump=1).fit(segment).predict(n_bkps=1)
    except ruptures.exceptions.BadSegmentationParameters:
        return None
    return cut[0] if cut and cut[0] < len(segment) else None


def _split(logs: np.ndarray, start: int, end: int, min_size: int, max_pvalue: float, min_magnitude: float,
           splits: list[int]) -> None:
    cut = _best_split(logs[start:end], min_size)
    if cut is None:
        return
    split = start + cut
    if not _significant(logs[start:split], logs[split:end], max_pvalue, min_magnitude):
        return
    splits.append(split)
    _split(logs, start, split, min_size, max_pvalue, min_magnitude, splits)
    _split(logs, split, end, min_size, max_pvalue, min_magnitude, splits)


def _merge(logs: np.ndarray, splits: list[int], max_pvalue: float, min_magnitude: float) -> list[int]:
    """Re-test each split between its neighbours (a split found inside a half may make an earlier one
    pointless); drop the weakest failing one and test again, until every split passes."""
    while splits:
        bounds = [0, *splits, len(logs)]
        weakest, weakest_p = None, -1.0
        for number in range(1, len(bounds) - 1):
            before, after = logs[bounds[number - 1]:bounds[number]], logs[bounds[number]:bounds[number + 1]]
            if _significant(before, after, max_pvalue, min_magnitude):
                continue
            p_value = _p_value(before, after)
            if p_value > weakest_p:
                weakest, weakest_p = number - 1, p_value
        if weakest is None:
            break
        del splits[weakest]
    return splits


def _significant(before: np.ndarray, after: np.ndarray, max_pvalue: float, min_magnitude: float) -> bool:
    if _p_value(before, after) > max_pvalue:
        return False
    return abs(math.exp(float(np.median(after) - np.median(before))) - 1.0) >= min_magnitude


def _p_value(before: np.ndarray, after: np.ndarray) -> float:
    """Two-sided Student's t-test (pooled variance) between two segments of log values."""
    from scipy import stats

    n1, n2 = len(before), len(after)
    if n1 < 2 or n2 < 2:
        return 1.0
    difference = float(np.mean(after) - np.mean(before))
    pooled = (float(np.var(before, ddof=1)) * (n1 - 1) + float(np.var(after, ddof=1)) * (n2 - 1)) / (n1 + n2 - 2)
    if pooled <= 0.0:  # no spread on either side: any difference is certain, none is no change
        return 0.0 if difference != 0.0 else 1.0
    t_value = difference / math.sqrt(pooled * (1.0 / n1 + 1.0 / n2))
    return float(2.0 * stats.t.sf(abs(t_value), n1 + n2 - 2))
