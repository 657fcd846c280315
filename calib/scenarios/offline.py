"""The offline scenario: the most items per second, found by measuring each way the engine can run.

benchmark_app's `-hint throughput` picks streams and requests by rule; on a 2-core AMX machine it
gave 70.8 frames/s on resnet18 fp32 where one stream at a time gave about 100 (ENVIRONMENT.md): the
best configuration is a measurement, not a hint. So calib measures the grid, as TensorRT times its
tactics: batch size x streams x threads per stream (streams x threads = the run's threads: every core
busy, split differently), each point prepared on its own and timed as `blocks` fixed-time blocks of
back-to-back calls on all its streams (calib.scenarios.streams). A block's sample is its time per item
(span / items), so lower is better as for every calib sample, and the point's throughput is 1000 / the
median. Every point is kept, with why one could not run; the best is the record's headline.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Callable, Iterable


@dataclass(frozen=True)
class OfflinePoint:
    batch_size: int
    streams: int
    threads_per_stream: int
    per_item_ms: tuple[float, ...] = ()  # one per block
    query_latencies_ms: tuple[float, ...] = ()  # every call's (one call = one batch)
    error: str | None = None  # why this point could not be measured

    @property
    def label(self) -> str:
        return f"b{self.batch_size} x{self.streams} streams x{self.threads_per_stream} threads"

    @property
    def throughput_per_s(self) -> float | None:
        if not self.per_item_ms:
            return None
        return 1000.0 / statistics.median(self.per_item_ms)

    def to_dict(self) -> dict:
        return {"batch_size": self.batch_size, "streams": self.streams, "threads_per_stream": self.threads_per_stream,
                "throughput_per_s": self.throughput_per_s, "per_item_ms": list(self.per_item_ms),
                "query_latencies_ms": list(self.query_latencies_ms), "error": self.error}


def grid(batch_sizes: Iterable[int], threads: int, device: str) -> list[tuple[int, int, int]]:
    """(batch, streams, threads per stream) to measure. CPU: every split of `threads` into streams x
    threads per stream; CUDA: 1, 2 and 4 streams (host threads only feed the device)."""
    if device.startswith("cuda"):
        splits = [(streams, threads) for streams in (1, 2, 4)]
    else:
        splits = [(streams, threads // streams) for streams in range(1, threads + 1) if threads % streams == 0]
    return [(batch, streams, per) for batch in batch_sizes for streams, per in splits]


@dataclass
class OfflineSearch:
    points: list[OfflinePoint] = field(default_factory=list)

    @property
    def best(self) -> OfflinePoint | None:
        measured = [point for point in self.points if point.throughput_per_s is not None]
        return max(measured, key=lambda point: point.throughput_per_s) if measured else None

    def to_dict(self) -> dict:
        best = self.best
        return {"best": _short(best) if best else None,
                "points": [point.to_dict() for point in self.points]}  # every point's raw call latencies kept


def _short(point: OfflinePoint) -> dict:
    """The best point named again without its latencies (they are in "points")."""
    return {key: value for key, value in point.to_dict().items() if key not in ("query_latencies_ms", "per_item_ms")}


def search(points: Iterable[tuple[int, int, int]], measure_point: Callable[[int, int, int], OfflinePoint],
           on_point: Callable[[OfflinePoint], None] | None = None) -> OfflineSearch:
    """Measure every point in order; one that raises is kept with its reason and the search goes on."""
    found = OfflineSearch()
    for batch, streams, per in points:
        try:
            point = measure_point(batch, streams, per)
        except Exception as exc:  # noqa: BLE001 - a batch an engine cannot take must not end the search
            from calib.errors import first_line

            point = OfflinePoint(batch, streams, per, error=first_line(exc, 200))
        found.points.append(point)
        if on_point:
            on_point(point)
    return found


def measure_blocks(calls, batch_size: int, streams: int, threads_per_stream: int, duration_s: float,
                   blocks: int, clock, thread_context=None) -> OfflinePoint:
    """One point: a warm-up block, then `blocks` blocks of duration_s / blocks on every stream."""
    from calib.scenarios.streams import run_streams

    block_ns = int(duration_s / blocks * 1e9)
    run_streams(calls, block_ns // 2, clock, thread_context)  # warm-up: caches, thread pools, allocator
    per_item, latencies = [], []
    for _ in range(blocks):
        run = run_streams(calls, block_ns, clock, thread_context)
        per_item.append(run.span_ns / 1e6 / (run.queries * batch_size))
        latencies.extend(v / 1e6 for v in run.latencies_ns)
    return OfflinePoint(batch_size, streams, threads_per_stream, tuple(per_item), tuple(latencies))


__all__ = ["OfflinePoint", "OfflineSearch", "grid", "search", "measure_blocks"]
