"""A prepared model under a load scenario: the sweep's one entry point (calib.sweep.measure_prepared).

Returns what the single-stream path returns, a calib.timing.engine.Measurement, so the record is
filled by the one lifecycle (calib.lifecycle.fill_measured), plus the record's "scenario" section.
The Measurement's samples are each scenario's own lower-is-better times, which is what lets
`calib check` and `calib compare` judge every scenario with their one rule:
  multi-stream: every query's latency;  server: every query's latency from its arrival;
  offline: the best point's time per item, one per block (throughput = 1000 / median).
`reprepare(batch, streams, threads per stream)` opens the model again for another point (offline's
grid; N streams for multi-stream and server); it is a context manager (calib.backends.base.Prepared).
"""

from __future__ import annotations

import contextlib
import statistics
from typing import Callable

from calib.scenarios import offline, server
from calib.scenarios.clock import RealClock
from calib.scenarios.engine_calls import engine_threads, stream_calls
from calib.scenarios.percentiles import latency_percentiles
from calib.scenarios.settings import MULTI_STREAM, OFFLINE, ScenarioSettings
from calib.scenarios.streams import run_streams
from calib.timing.engine import FixedTime, Measurement, Warmup

QUERY_WARMUP_S = 0.2  # untimed back-to-back calls before a multi-stream or server run


def measure_scenario(settings: ScenarioSettings, prepared, batch_size: int, threads: int, device: str,
                     reprepare: Callable[[int, int, int], object], clock=None,
                     on_phase: Callable[[str], None] | None = None) -> tuple[Measurement, dict]:
    clock = clock or RealClock()
    section: dict = {"name": settings.name, "settings": settings.to_dict()}
    if settings.name == OFFLINE:
        samples, query_batch, warnings = _offline(settings, prepared, batch_size, threads, device, reprepare,
                                                  clock, section, on_phase)
    else:
        with _streams_of(prepared, settings.streams, threads, reprepare) as (streamed, per):
            section["threads_per_stream"] = per
            if streamed is not prepared:  # what the streams ran on: the record's backend_info is the sweep's
                section["streams_backend_info"] = dict(streamed.info or {})
            with engine_threads(streamed, per) as context:
                calls = stream_calls(streamed, settings.streams)
                run_streams(calls, int(QUERY_WARMUP_S * 1e9), clock, context)
                if settings.name == MULTI_STREAM:
                    samples, warnings = _multi_stream(settings, calls, clock, context, section)
                else:
                    samples, warnings = _server(settings, calls, clock, context, section, on_phase)
        query_batch = batch_size
    section["percentiles"] = latency_percentiles(samples) if settings.name != OFFLINE else None
    measurement = Measurement(samples_ms=list(samples), warmup_ms=[], cold_ms=float(samples[0]) if samples else 0.0,
                              stop=FixedTime(settings.duration_s, min_count=1), warmup=Warmup(0, QUERY_WARMUP_S),
                              timer=clock.name, stop_reason=settings.name, batch_size=query_batch)
    measurement.warnings.extend(warnings)
    from calib.scenarios.headline import headline_of_section

    section["headline"] = headline_of_section(section, samples).to_dict()
    return measurement, section


@contextlib.contextmanager
def _streams_of(prepared, streams: int, threads: int, reprepare):
    """The sweep's prepared model for one stream; N streams need the model prepared for them."""
    if streams == 1:
        yield prepared, threads
        return
    per = max(1, threads // streams)
    with reprepare(None, streams, per) as streamed:
        yield streamed, per


def _multi_stream(settings, calls, clock, context, section) -> tuple[list[float], list[str]]:
    run = run_streams(calls, int(settings.duration_s * 1e9), clock, context)
    section.update(streams=settings.streams, queries=run.queries, per_stream=list(run.per_stream),
                   span_s=run.span_ns / 1e9, queries_per_s=run.queries / (run.span_ns / 1e9))
    samples = [v / 1e6 for v in run.latencies_ns]
    return samples, _short_run_warnings(section["name"], samples)


def _server(settings, calls, clock, context, section, on_phase) -> tuple[list[float], list[str]]:
    def at(qps: float) -> server.ServerPoint:
        if on_phase:
            on_phase(f"server {qps:.4g} qps")
        return server.run_point(qps, calls, clock, settings.duration_s, settings.seed, settings.latency_bound_ms,
                                context)

    section["streams"] = settings.streams
    if not settings.find_qps:
        point = at(settings.target_qps)
        section["server"] = {key: value for key, value in point.to_dict().items() if key != "latencies_ms"}
        return list(point.latencies_ms), _short_run_warnings(section["name"], point.latencies_ms)
    start = settings.target_qps or _start_qps(calls, settings.streams, clock)
    search = server.find_qps(at, start, settings.latency_bound_ms, settings.max_search_points)
    section["search"] = search.to_dict()
    best = search.best
    if best is None:  # not even the slowest rate kept the bound: its latencies say by how much
        best = min(search.points, key=lambda point: point.target_qps)
        return list(best.latencies_ms), [f"server: no rate tried (down to {best.target_qps:.4g} qps) kept p99 within "
                                         f"{settings.latency_bound_ms:g} ms; raise --latency-bound-ms"]
    section["server"] = {key: value for key, value in best.to_dict().items() if key != "latencies_ms"}
    return list(best.latencies_ms), []


def _start_qps(calls, streams: int, clock) -> float:
    """Where --find-qps starts without --target-qps: half the rate the workers could serve back to back."""
    times = []
    for _ in range(5):
        began = clock.now_ns()
        calls[0]()
        times.append(clock.now_ns() - began)
    return 0.5 * streams * 1e9 / max(1, statistics.median(times))


def _offline(settings, prepared, batch_size, threads, device, reprepare, clock, section, on_phase):
    def measure_point(batch: int, streams: int, per: int) -> offline.OfflinePoint:
        if on_phase:
            on_phase(f"offline b{batch} x{streams}")
        with reprepare(batch, streams, per) as point_prepared:
            with engine_threads(point_prepared, per) as context:
                return offline.measure_blocks(stream_calls(point_prepared, streams), batch, streams, per,
                                              settings.duration_s, settings.blocks, clock, context)

    found = offline.search(offline.grid(settings.offline_batch_sizes, threads, device), measure_point)
    section["search"] = found.to_dict()
    best = found.best
    warnings = [f"offline: {point.label} not measured: {point.error}" for point in found.points if point.error]
    if best is None:
        raise RuntimeError("offline: no point of the search could be measured: " + "; ".join(warnings))
    section["best"] = {"batch_size": best.batch_size, "streams": best.streams,
                       "threads_per_stream": best.threads_per_stream, "throughput_per_s": best.throughput_per_s}
    section["query_percentiles"] = latency_percentiles(best.query_latencies_ms)
    return list(best.per_item_ms), 1, warnings


def _short_run_warnings(name: str, samples) -> list[str]:
    estimate = latency_percentiles(samples).get("p99_es") or {}
    if estimate.get("value") is None and estimate.get("reason"):
        return [f"{name}: {estimate['reason']}; the p99 shown is the empirical one: run longer for the estimate"]
    return []


__all__ = ["measure_scenario"]
