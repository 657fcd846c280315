"""The server loop with a fake clock and a fake service time: latency runs from the scheduled arrival."""

import numpy as np
import pytest

from calib.scenarios.arrivals import poisson_schedule
from calib.scenarios.clock import FakeClock
from calib.scenarios.server import ServerPoint, find_qps, run_point, serve


def _service(clock, ns):
    return lambda: clock.advance(ns)


def test_poisson_schedule_is_seeded_and_has_the_rate():
    first = poisson_schedule(200.0, 50.0, seed=7)
    again = poisson_schedule(200.0, 50.0, seed=7)
    other = poisson_schedule(200.0, 50.0, seed=8)
    assert np.array_equal(first, again) and not np.array_equal(first[:50], other[:50])
    assert np.all(np.diff(first) >= 0) and first[-1] <= 50e9
    assert len(first) / 50.0 == pytest.approx(200.0, rel=0.05)
    gaps = np.diff(first) / 1e9
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, rel=0.1)  # exponential gaps: CV 1


def test_a_query_that_waits_counts_its_wait():
    clock = FakeClock()
    schedule = np.array([0, 1_000_000, 2_000_000], dtype=np.int64)  # every 1 ms
    latency, service, span = serve(schedule, [_service(clock, 3_000_000)], clock)  # each takes 3 ms
    assert service == [3_000_000] * 3
    # the second arrives at 1 ms, starts at 3 ms, ends at 6 ms: 5 ms from its arrival; the third 7 ms
    assert latency == [3_000_000, 5_000_000, 7_000_000]
    assert span == 9_000_000


def test_an_idle_server_waits_for_the_arrival():
    clock = FakeClock()
    schedule = np.array([5_000_000, 20_000_000], dtype=np.int64)
    latency, _, _ = serve(schedule, [_service(clock, 1_000_000)], clock)
    assert latency == [1_000_000, 1_000_000]
    assert clock.now == 21_000_000


def test_below_capacity_latency_is_near_service_above_it_grows():
    light_clock, heavy_clock = FakeClock(), FakeClock()
    light = run_point(100.0, [_service(light_clock, 1_000_000)], light_clock, 10.0, seed=1)  # 10% busy
    heavy = run_point(1500.0, [_service(heavy_clock, 1_000_000)], heavy_clock, 2.0, seed=1)  # over capacity
    assert np.median(light.latencies_ms) == pytest.approx(1.0, abs=0.01)
    assert np.median(heavy.latencies_ms) > 50  # the queue grows for the whole run
    assert set(np.round(heavy.service_ms, 6)) == {1.0}


def _fake_server(capacity_qps: float):
    """measure_at for find_qps: an M/D/1 queue on a fake clock whose service time is 1/capacity."""
    def measure_at(qps):
        clock = FakeClock()
        return run_point(qps, [_service(clock, int(1e9 / capacity_qps))], clock, 4.0, seed=3, latency_bound_ms=20.0)
    return measure_at


def test_find_qps_brackets_then_bisects_and_keeps_every_point():
    search = find_qps(_fake_server(500.0), start_qps=50.0, latency_bound_ms=20.0, max_points=12)
    rates = [point.target_qps for point in search.points]
    assert rates[:4] == [50.0, 100.0, 200.0, 400.0]  # doubling while it passes
    best = search.best
    assert best is not None and best.passed
    assert 300 < best.target_qps < 500  # under capacity: an M/D/1 queue at 1 ms service keeps 20 ms below ~490
    failing = [p.target_qps for p in search.points if not p.passed]
    assert failing and min(failing) > best.target_qps
    stored = search.to_dict()
    assert stored["max_qps"] == best.target_qps and len(stored["points"]) == len(rates)
    assert all(len(point["latencies_ms"]) == point["queries"] > 0 for point in stored["points"])  # raw, every rate


def test_find_qps_halves_when_the_start_fails():
    search = find_qps(_fake_server(100.0), start_qps=800.0, latency_bound_ms=20.0, max_points=10)
    assert [p.target_qps for p in search.points][:3] == [800.0, 400.0, 200.0]
    assert search.best is not None and search.best.target_qps < 100


def test_point_p99_says_when_it_is_not_the_estimate():
    few = ServerPoint(10.0, tuple(float(v) for v in range(1, 101)), (1.0,) * 100, 10.0, latency_bound_ms=50)
    value, source = few.p99
    assert source.startswith("empirical") and "662" in source
    assert few.passed is False  # empirical p99 of 1..100 is ~99 ms
