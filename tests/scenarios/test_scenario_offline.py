"""Offline's search and the streams runner: every point kept, the best chosen, a failing point recorded."""

import threading
import time

import pytest

from calib.scenarios.clock import FakeClock, RealClock
from calib.scenarios.offline import OfflinePoint, grid, measure_blocks, search
from calib.scenarios.streams import run_streams
from calib.scenarios.workers import run_workers


def test_grid_splits_the_threads_every_way():
    assert grid((1, 8), 2, "cpu") == [(1, 1, 2), (1, 2, 1), (8, 1, 2), (8, 2, 1)]
    assert grid((1,), 4, "cpu") == [(1, 1, 4), (1, 2, 2), (1, 4, 1)]
    assert [streams for _, streams, _ in grid((1,), 8, "cuda:0")] == [1, 2, 4]


def _fake_point(batch, streams, per):
    """A fake engine: per-item time falls with batch, two streams help, batch 16 cannot be built."""
    if batch == 16:
        raise RuntimeError("batch 16 does not fit")
    clock = FakeClock()
    service_ns = int((2e6 + 0.5e6 * batch) / (1.6 if streams == 2 else 1.0))
    return measure_blocks([lambda: clock.advance(service_ns)], batch, streams, per, 0.1, 3, clock)


def test_search_measures_every_point_and_keeps_the_best():
    seen = []
    found = search(grid((1, 4, 16), 2, "cpu"), _fake_point, on_point=seen.append)
    assert len(found.points) == len(seen) == 6
    best = found.best
    assert (best.batch_size, best.streams) == (4, 2)
    # b4 at (2 + 2) ms / 1.6 per call of 4 items: 1600 items/s
    assert best.throughput_per_s == pytest.approx(4 * 1000 / (4.0 / 1.6), rel=1e-6)
    failed = [p for p in found.points if p.error]
    assert len(failed) == 2 and "does not fit" in failed[0].error
    record = found.to_dict()
    assert record["best"]["batch_size"] == 4 and len(record["points"]) == 6
    measured = [point for point in record["points"] if not point["error"]]
    assert all(point["query_latencies_ms"] and point["per_item_ms"] for point in measured)  # raw latencies kept


def test_a_search_with_nothing_measured_has_no_best():
    found = search([(16, 1, 2)], _fake_point)
    assert found.best is None and found.points[0].error


def test_streams_run_concurrently_and_keep_every_query():
    in_flight, most = [0], [0]
    lock = threading.Lock()

    def call():
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.002)  # releases the GIL, as an engine's call does
        with lock:
            in_flight[0] -= 1

    run = run_streams([call, call, call], int(0.05e9), RealClock())
    assert most[0] == 3  # all three streams had a call in flight at once
    assert len(run.per_stream) == 3 and all(count >= 1 for count in run.per_stream)
    assert run.queries == sum(run.per_stream) and all(v > 0 for v in run.latencies_ns)
    assert run.span_ns >= 0.05e9


def test_a_stream_that_raises_reaches_the_caller():
    def broken():
        raise ValueError("engine failed")

    with pytest.raises(ValueError, match="engine failed"):
        run_workers([lambda: None, broken], lambda index, call: call())


def test_offline_point_throughput_is_from_the_median_block():
    point = OfflinePoint(8, 2, 1, per_item_ms=(1.0, 2.0, 4.0))
    assert point.throughput_per_s == pytest.approx(500.0)
    assert OfflinePoint(1, 1, 2).throughput_per_s is None
