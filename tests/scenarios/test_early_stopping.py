"""MLPerf LoadGen's early-stopping estimate, checked against numbers LoadGen itself printed."""

import numpy as np
import pytest

from calib.scenarios.early_stopping import estimate, min_passing, overlatency_allowed, server_passes
from calib.scenarios.percentiles import latency_percentiles, value_of


def test_minimum_queries_match_loadgen():
    # LoadGen's summaries: "Processed at least 64 queries" for the 90th; 662 for the 99th
    assert min_passing(1, 0.90) + 1 == 64
    assert min_passing(1, 0.99) + 1 == 662


@pytest.mark.parametrize("queries, discarded", [(2048, 172), (2116, 178), (2145, 181), (7469, 685)])
def test_discarded_queries_match_loadgen_summaries(queries, discarded):
    # "Would discard N highest latency queries" from LoadGen SingleStream p90 summaries
    assert overlatency_allowed(queries, 0.90) - 1 == discarded


def test_estimate_is_a_conservative_order_statistic():
    samples = np.arange(1, 2049, dtype=float)[::-1]  # any order
    result = estimate(samples, 90.0)
    assert result.discarded == 172
    assert result.value == 2048 - 172  # the 173rd slowest
    assert result.value > np.percentile(samples, 90)  # above the plain percentile


def test_too_few_queries_give_no_estimate_and_say_why():
    result = estimate(np.ones(100), 99.9)
    assert result.value is None and "queries" in result.reason
    table = latency_percentiles(np.linspace(1, 2, 100))
    assert value_of(table, "p99.9") is None and table["p99.9"]["rule"] == "mlperf-loadgen"
    assert value_of(table, "p50") == pytest.approx(1.5)


def test_server_rule_counts_queries_over_the_bound():
    good = np.full(1000, 5.0)
    assert server_passes(good, bound=10.0)
    bad = good.copy()
    bad[:20] = 50.0  # 2% over a p99 bound
    assert not server_passes(bad, bound=10.0)
    assert not server_passes(np.full(100, 5.0), bound=10.0)  # a perfect but short run cannot tell
