"""Bootstrap interval of a ratio of medians."""

import numpy as np
import pytest

from calib.compare.ratios import bootstrap_medians, median_ratio


def test_order_statistic_bootstrap_matches_resampling():
    rng = np.random.default_rng(3)
    samples = rng.lognormal(0, 0.3, 301)
    direct = bootstrap_medians(samples, 20000)
    resampled = np.median(samples[rng.integers(0, len(samples), (20000, len(samples)))], axis=1)
    assert np.percentile(direct, [2.5, 50, 97.5]) == pytest.approx(np.percentile(resampled, [2.5, 50, 97.5]), rel=0.01)


def test_interval_covers_the_true_ratio_about_95_percent_of_the_time():
    rng = np.random.default_rng(4)
    covered = 0
    for _ in range(200):
        baseline, current = rng.lognormal(0, 0.2, 150), 1.3 * rng.lognormal(0, 0.2, 150)
        estimate = median_ratio(baseline, current, np.median(baseline), np.median(current))
        covered += estimate.low <= 1.3 <= estimate.high
    assert 180 <= covered <= 199


def test_same_input_gives_the_same_interval():
    samples = np.arange(1.0, 50.0)
    first = median_ratio(samples, samples * 2, 25.0, 50.0)
    assert first == median_ratio(samples, samples * 2, 25.0, 50.0)
    assert first.ratio == 2.0 and first.low <= 2.0 <= first.high
