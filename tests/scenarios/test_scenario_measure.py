"""measure_scenario with a fake clock and a fake service time: the record section and the samples agree."""

import contextlib
from types import SimpleNamespace

import numpy as np
import pytest

from calib.scenarios.clock import FakeClock
from calib.scenarios.measure import measure_scenario
from calib.scenarios.settings import ScenarioSettings


def _model(clock, service_ns_of_batch):
    """A stand-in for a Prepared: a call advances the fake clock by the batch's service time."""
    def at(batch):
        return SimpleNamespace(run=lambda: clock.advance(service_ns_of_batch(batch)), stream_runs=(), module=None,
                               sync=None, device="cpu", info={})

    @contextlib.contextmanager
    def reprepare(batch, streams, per):
        if streams != 1:
            raise RuntimeError("one stream only here")
        yield at(batch or 1)

    return at(1), reprepare


def test_server_samples_are_latencies_from_arrival_and_the_headline_their_p99():
    clock = FakeClock()
    prepared, reprepare = _model(clock, lambda batch: 4_000_000)  # 4 ms per query
    settings = ScenarioSettings(name="server", target_qps=200.0, duration_s=5.0)  # 80% busy: a queue forms
    measurement, section = measure_scenario(settings, prepared, 1, 2, "cpu", reprepare, clock=clock)
    samples = np.asarray(measurement.samples_ms)
    assert len(samples) == section["server"]["queries"] > 900
    assert samples.min() == pytest.approx(4.0) and np.median(samples) > 4.0  # queued queries wait
    assert section["headline"]["metric"] == "p99 latency" and section["headline"]["better"] == "lower"
    assert section["headline"]["value"] >= np.percentile(samples, 99)  # the early-stopping estimate is above
    assert section["percentiles"]["p99_es"]["value"] == section["headline"]["value"]


def test_offline_picks_the_batch_with_the_most_items_per_second_and_records_the_failures():
    clock = FakeClock()
    prepared, reprepare = _model(clock, lambda batch: 1_000_000 + 250_000 * batch)  # batching pays
    settings = ScenarioSettings(name="offline", duration_s=0.5, offline_batch_sizes=(1, 8))
    measurement, section = measure_scenario(settings, prepared, 1, 2, "cpu", reprepare, clock=clock)
    assert section["best"]["batch_size"] == 8 and section["best"]["streams"] == 1
    # 8 items per 3 ms
    assert section["headline"]["value"] == pytest.approx(8 / 3.0 * 1000, rel=1e-6)
    errors = [point for point in section["search"]["points"] if point["error"]]
    assert len(errors) == 2 and all("one stream only" in point["error"] for point in errors)  # the 2-stream points
    assert measurement.warnings and measurement.batch_size == 1
