import math
import random

import numpy as np
import pytest

from calib.timing.stats import count_outliers, median_ci, summarize


def test_summary_matches_numpy_on_known_samples():
    samples = [float(x) for x in range(1, 101)]
    summary = summarize(samples, batch_size=4)
    assert summary.count == 100
    assert summary.median_ms == pytest.approx(np.median(samples))
    assert summary.p90_ms == pytest.approx(np.percentile(samples, 90))
    assert summary.min_ms == 1.0
    assert summary.iqr_ms == pytest.approx(np.percentile(samples, 75) - np.percentile(samples, 25))
    assert summary.throughput_per_s == pytest.approx(4 * 1000 / summary.median_ms)


def test_median_ci_contains_median_and_shrinks_with_more_samples():
    rng = random.Random(1)
    small = [rng.gauss(10, 1) for _ in range(30)]
    large = [rng.gauss(10, 1) for _ in range(3000)]
    low_s, high_s = median_ci(small)
    low_l, high_l = median_ci(large)
    assert low_s <= np.median(small) <= high_s
    assert low_l <= np.median(large) <= high_l
    assert (high_l - low_l) < (high_s - low_s)


def test_median_ci_coverage_is_about_95_percent():
    rng = random.Random(7)
    hits = 0
    for _ in range(400):
        samples = [rng.expovariate(1.0) for _ in range(60)]
        low, high = median_ci(samples)
        hits += low <= math.log(2) <= high
    assert 0.90 <= hits / 400 <= 0.99


def test_outliers_by_modified_z_score():
    samples = [10.0 + 0.01 * (i % 5) for i in range(100)] + [50.0, 60.0]
    assert count_outliers(samples) == 2
    assert count_outliers([1.0] * 10) == 0


def test_summarize_refuses_empty():
    with pytest.raises(ValueError):
        summarize([])

