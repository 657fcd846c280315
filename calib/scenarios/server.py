"""The server scenario: Poisson arrivals at a target rate, latency measured from each query's arrival.

A query that waits in the queue because the workers are busy counts its wait, as MLPerf's Server
scenario counts it: latency = completion - scheduled arrival, never completion - start of service.
(A loop that sleeps until the arrival and then times only the call reports the service time and
hides the queue: the number a server owner does not see.) Workers take queries in arrival order
(FIFO, one queue, k servers); each worker runs its own stream of the prepared model.

`find_qps` searches the highest arrival rate whose p99 (MLPerf's early-stopping estimate where the
point has enough queries, calib.scenarios.early_stopping) stays within the latency bound: grow or
shrink by doubling until one point passes and one fails, then bisect; every point is kept.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from calib.scenarios import early_stopping
from calib.scenarios.arrivals import poisson_schedule
from calib.scenarios.workers import run_workers

NS_PER_MS = 1e6
BISECTION_STOP = 1.05  # stop when the passing and failing rates are within 5%


@dataclass(frozen=True)
class ServerPoint:
    """One arrival rate, measured: every query's latency from arrival and its service time (ms)."""

    target_qps: float
    latencies_ms: tuple[float, ...]
    service_ms: tuple[float, ...]
    duration_s: float  # first arrival to last completion
    latency_bound_ms: float | None = None

    @property
    def queries(self) -> int:
        return len(self.latencies_ms)

    @property
    def achieved_qps(self) -> float:
        return self.queries / self.duration_s if self.duration_s > 0 else float("nan")

    @property
    def p99(self) -> tuple[float, str]:
        """(p99 in ms, where it comes from): the early-stopping estimate, or with too few queries for
        one, the empirical p99 and the reason."""
        estimate = early_stopping.estimate(self.latencies_ms, 99.0)
        if estimate.value is not None:
            return estimate.value, "early-stopping"
        return float(np.percentile(self.latencies_ms, 99)), f"empirical: {estimate.reason}"

    @property
    def passed(self) -> bool | None:
        """Within the bound (None: no bound to keep)."""
        if self.latency_bound_ms is None:
            return None
        return self.p99[0] <= self.latency_bound_ms

    def to_dict(self) -> dict:
        from calib.scenarios.percentiles import latency_percentiles

        p99, source = self.p99
        return {"target_qps": self.target_qps, "achieved_qps": self.achieved_qps, "queries": self.queries,
                "duration_s": self.duration_s, "p99_ms": p99, "p99_source": source, "passed": self.passed,
                "percentiles": latency_percentiles(self.latencies_ms),
                "latencies_ms": list(self.latencies_ms), "service_ms": list(self.service_ms)}


def serve(schedule_ns: np.ndarray, calls: Sequence[Callable[[], object]], clock,
          thread_context=None) -> tuple[list[int], list[int], int]:
    """Run every scheduled query on the first free worker; (latency ns from arrival, service ns,
    first arrival to last completion ns)."""
    count = len(schedule_ns)
    latency_ns, service_ns = [0] * count, [0] * count
    taken = itertools.count()  # next() is atomic under the GIL: each index goes to one worker
    start = clock.now_ns()
    last_end = [start]

    def body(_, call) -> None:
        now_ns, sleep_until = clock.now_ns, clock.sleep_until
        for index in taken:
            if index >= count:
                return
            arrival = start + int(schedule_ns[index])
            if now_ns() < arrival:
                sleep_until(arrival)
            began = now_ns()
            call()
            ended = now_ns()
            latency_ns[index], service_ns[index] = ended - arrival, ended - began
            last_end[0] = max(last_end[0], ended)

    run_workers(calls, body, thread_context)
    first_arrival = start + int(schedule_ns[0]) if count else start
    return latency_ns, service_ns, max(1, last_end[0] - first_arrival)


def run_point(qps: float, calls, clock, duration_s: float, seed: int, latency_bound_ms: float | None = None,
              thread_context=None) -> ServerPoint:
    schedule = poisson_schedule(qps, duration_s, seed)
    latency_ns, service_ns, span_ns = serve(schedule, calls, clock, thread_context)
    return ServerPoint(qps, tuple(v / NS_PER_MS for v in latency_ns), tuple(v / NS_PER_MS for v in service_ns),
                       span_ns / 1e9, latency_bound_ms)


@dataclass
class QpsSearch:
    """--find-qps: every point measured, in order, and the highest passing rate (None: none passed)."""

    latency_bound_ms: float
    points: list[ServerPoint] = field(default_factory=list)

    @property
    def best(self) -> ServerPoint | None:
        passing = [point for point in self.points if point.passed]
        return max(passing, key=lambda point: point.target_qps) if passing else None

    def to_dict(self) -> dict:
        best = self.best
        return {"latency_bound_ms": self.latency_bound_ms, "max_qps": best.target_qps if best else None,
                "points": [point.to_dict() for point in self.points]}  # every rate's raw latencies kept


def find_qps(measure_at: Callable[[float], ServerPoint], start_qps: float, latency_bound_ms: float,
             max_points: int) -> QpsSearch:
    """The highest rate whose p99 keeps the bound: double (or halve) from `start_qps` until one rate
    passes and one fails, then bisect until they are within BISECTION_STOP or `max_points` ran out."""
    search = QpsSearch(latency_bound_ms)

    def measured(qps: float) -> bool:
        point = measure_at(qps)
        search.points.append(point)
        return bool(point.passed)

    low = high = None
    qps = start_qps
    while len(search.points) < max_points and (low is None or high is None):
        if measured(qps):
            low = qps
            qps = qps * 2
        else:
            high = qps
            qps = qps / 2
    while (len(search.points) < max_points and low is not None and high is not None
           and high / low > BISECTION_STOP):
        middle = (low * high) ** 0.5  # geometric: rates span orders of magnitude
        if measured(middle):
            low = middle
        else:
            high = middle
    return search


__all__ = ["ServerPoint", "QpsSearch", "serve", "run_point", "find_qps"]
