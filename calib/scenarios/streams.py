"""N streams back to back for a fixed time: the multi-stream scenario, and one block of an offline point.

Each stream issues its next query as soon as its previous one finished (MLPerf MultiStream's and
benchmark_app's throughput loop); every query's latency is kept. The block's span runs from the
common start to the last completion, so a stream's trailing call is counted with the time it took.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from calib.scenarios.workers import run_workers


@dataclass(frozen=True)
class StreamsRun:
    latencies_ns: tuple[int, ...]  # every query of every stream
    per_stream: tuple[int, ...]  # queries each stream completed
    span_ns: int  # common start to the last completion

    @property
    def queries(self) -> int:
        return len(self.latencies_ns)


def run_streams(calls: Sequence[Callable[[], object]], duration_ns: int, clock, thread_context=None,
                min_per_stream: int = 1) -> StreamsRun:
    """Every stream calls back to back until `duration_ns` has passed (and it made `min_per_stream` calls)."""
    latencies: list[list[int]] = [[] for _ in calls]
    ends = [0] * len(calls)
    start = [None]

    def body(index: int, call) -> None:
        now_ns = clock.now_ns
        if start[0] is None:
            start[0] = now_ns()  # the first worker past the barrier fixes the start for all
        deadline = start[0] + duration_ns
        own = latencies[index]
        append = own.append
        while True:
            began = now_ns()
            call()
            ended = now_ns()
            append(ended - began)
            if ended >= deadline and len(own) >= min_per_stream:
                break
        ends[index] = ended

    run_workers(calls, body, thread_context)
    return StreamsRun(tuple(v for stream in latencies for v in stream), tuple(len(s) for s in latencies),
                      max(1, max(ends) - start[0]))


__all__ = ["StreamsRun", "run_streams"]
