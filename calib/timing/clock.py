"""Timers that measure one call. The engine takes any object with `time_call(fn) -> ns`.

Injecting a timer is how the statistics and stopping rules are tested with a seeded fake
clock, and how CUDA work is timed with events instead of the host clock.
"""

from __future__ import annotations

import random
import time
from typing import Callable


class PerfCounterTimer:
    """Host wall clock around the call; `sync` waits for the device (CUDA) before stopping."""

    name = "perf_counter"

    def __init__(self, sync: Callable[[], None] | None = None):
        self._sync = sync

    def time_call(self, fn: Callable[[], object]) -> int:
        clock = time.perf_counter_ns
        sync = self._sync
        if sync is None:
            start = clock()
            fn()
            return clock() - start
        sync()
        start = clock()
        fn()
        sync()
        return clock() - start


class CudaEventTimer:
    """CUDA events around the call: device time of the work the call enqueued."""

    name = "cuda_event"

    def __init__(self, device):
        import torch

        self._torch = torch
        self._device = device
        self._start = torch.cuda.Event(enable_timing=True)
        self._end = torch.cuda.Event(enable_timing=True)

    def time_call(self, fn: Callable[[], object]) -> int:
        stream = self._torch.cuda.current_stream(self._device)
        self._start.record(stream)
        fn()
        self._end.record(stream)
        self._end.synchronize()
        return int(self._start.elapsed_time(self._end) * 1e6)


class FakeTimer:
    """Seeded fake clock for tests: each call 'takes' a drawn duration; `now_ns` advances with it."""

    name = "fake"

    def __init__(self, median_ns: float = 1e6, rel_noise: float = 0.02, seed: int = 0,
                 durations: list[int] | None = None):
        self._rng = random.Random(seed)
        self._median = median_ns
        self._noise = rel_noise
        self._durations = list(durations) if durations else None
        self.now = 0
        self.calls = 0

    def now_ns(self) -> int:
        return self.now

    def time_call(self, fn: Callable[[], object]) -> int:
        fn()
        if self._durations is not None:
            took = self._durations[self.calls % len(self._durations)]
        else:
            took = max(1, int(self._median * (1 + self._rng.gauss(0, self._noise))))
        self.calls += 1
        self.now += took
        return took
