"""The clock every scenario loop reads and sleeps on, injectable (STYLE.md: the clock is injectable).

A scenario's numbers depend on when things happen: a server query's latency runs from its scheduled
arrival, not from when a worker picked it up. Tests swap in FakeClock, whose time moves only when the
loop sleeps or the fake service says a call took so long, so a queue's waits come out exact.
"""

from __future__ import annotations

import threading
import time


class RealClock:
    """perf_counter_ns, and a sleep that wakes a little early and spins the rest: time.sleep alone
    oversleeps by up to a scheduler tick, which would add its error to every server latency."""

    name = "perf_counter"
    SPIN_NS = 200_000  # the last 0.2 ms are spun

    def now_ns(self) -> int:
        return time.perf_counter_ns()

    def sleep_until(self, deadline_ns: int) -> None:
        remaining = deadline_ns - time.perf_counter_ns()
        if remaining > self.SPIN_NS:
            time.sleep((remaining - self.SPIN_NS) / 1e9)
        while time.perf_counter_ns() < deadline_ns:
            pass


class FakeClock:
    """A clock for tests: `advance(ns)` is a fake service time, `sleep_until` jumps. Thread-safe, but
    only a single worker makes the timeline deterministic."""

    name = "fake"

    def __init__(self, start_ns: int = 0):
        self.now = start_ns
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        return self.now

    def sleep_until(self, deadline_ns: int) -> None:
        with self._lock:
            self.now = max(self.now, deadline_ns)

    def advance(self, ns: int) -> None:
        with self._lock:
            self.now += ns


__all__ = ["RealClock", "FakeClock"]
