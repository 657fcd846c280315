"""Joules per inference: idle power first, then the energy of a timed region, each apart.

Idle first because a figure for "energy per inference" that includes what the machine burns doing
nothing says more about the machine than the model: the record keeps the total, the idle power and
the part above idle, and the reader chooses. The idle window comes right before the region, after the
model is prepared; on a GPU that may still be clocked up from the conversion, which the record's
`idle_power_w` shows rather than hides.

Counters come in two kinds (calib.energy.rapl, .nvml, .ina3221):
  - "energy": a cumulative counter, `joules()` since it was made; read at the start and end.
  - "power": an instantaneous reading, `watts()`; a PowerIntegrator samples it on a thread and
    integrates (trapezoids), so its figure is as good as the sampling interval is short.
The clock and sleep are injectable: the integrator and meter are tested with a fake clock.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Callable

IDLE_S = 1.0  # NVML's energy counter and the INA3221s update every few tens of ms: a shorter window is noise;
# a counter may say it needs less (`idle_s`: RAPL updates every millisecond)
SAMPLE_INTERVAL_S = 0.02


class PowerIntegrator:
    """A power reading turned into an energy counter: `sample()` adds the trapezoid since the last sample;
    `joules()` samples once more and returns the total since construction."""

    kind = "energy"

    def __init__(self, power, clock: Callable[[], float] = time.monotonic):
        self.name, self._power, self._clock = power.name, power, clock
        self._lock = threading.Lock()
        self._last_t, self._last_w = clock(), power.watts()
        self._joules = 0.0
        self.samples = 1

    def sample(self) -> None:
        watts, now = self._power.watts(), self._clock()
        with self._lock:
            self._joules += (watts + self._last_w) / 2 * (now - self._last_t)
            self._last_t, self._last_w = now, watts
            self.samples += 1

    def joules(self) -> float:
        self.sample()
        return self._joules


class _Sampler:
    """Calls `integrator.sample()` every `interval_s` on a daemon thread until stopped."""

    def __init__(self, integrator: PowerIntegrator, interval_s: float):
        self._integrator, self._interval = integrator, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="calib-power-sampler", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._integrator.sample()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


def as_energy(counter, clock: Callable[[], float] = time.monotonic):
    """A fresh energy counter from an "energy" or "power" source (a power source gets an integrator)."""
    return counter if counter.kind == "energy" else PowerIntegrator(counter, clock)


class EnergyMeter:
    """`idle()`, then `with meter.region(): ...timed work...`, then `result(items)`. With no counter
    (`counter` None) nothing waits and the result is null with `reason`."""

    def __init__(self, counter, reason: str | None = None, idle_s: float | None = None,
                 clock: Callable[[], float] = time.perf_counter, sleep: Callable[[float], None] = time.sleep,
                 interval_s: float = SAMPLE_INTERVAL_S, threaded: bool = True):
        self.counter, self.reason = counter, reason
        self._idle_s = idle_s if idle_s is not None else getattr(counter, "idle_s", IDLE_S)
        self._clock, self._sleep = clock, sleep
        self._interval, self._threaded = interval_s, threaded
        self.idle_power_w: float | None = None
        self._joules = self._seconds = None

    @contextmanager
    def _measuring(self):
        """Yields a function returning (joules, seconds) since the block started."""
        energy = as_energy(self.counter, self._clock)
        sampling = energy is not self.counter and self._threaded
        start_t, start_j = self._clock(), energy.joules()
        with _Sampler(energy, self._interval) if sampling else _nothing():
            yield lambda: (energy.joules() - start_j, self._clock() - start_t)

    def idle(self) -> float | None:
        """Average power over a quiet window of `idle_s` (W), or None without a counter."""
        if self.counter is None:
            return None
        with self._measuring() as so_far:
            self._sleep(self._idle_s)
            joules, seconds = so_far()
        self.idle_power_w = joules / seconds if seconds > 0 else None
        return self.idle_power_w

    @contextmanager
    def region(self):
        if self.counter is None:
            yield
            return
        with self._measuring() as so_far:
            yield
            self._joules, self._seconds = so_far()

    def result(self, items: int | None) -> dict:
        """The record's "energy": per item, average and idle power apart; or {"value": None, "reason"}.
        `items` None: the region's items were not counted (the per-item figures are None)."""
        if self.counter is None:
            return {"value": None, "reason": self.reason or "no energy counter"}
        if self._joules is None or not self._seconds or (items is not None and items <= 0):
            return {"value": None, "reason": "the timed region was not measured"}
        result = {"counter": self.counter.name, "method": "counter" if self.counter.kind == "energy" else
                  "sampled power", "joules": self._joules, "seconds": self._seconds, "items": items,
                  "joules_per_item": self._joules / items if items else None,
                  "avg_power_w": self._joules / self._seconds, "idle_power_w": self.idle_power_w,
                  "idle_window_s": self._idle_s if self.idle_power_w is not None else None,
                  "joules_per_item_above_idle": None}
        if self.idle_power_w is not None and items:
            result["joules_per_item_above_idle"] = (self._joules - self.idle_power_w * self._seconds) / items
        if self._joules <= 0:
            result["warning"] = (f"{self.counter.name} did not advance over {self._seconds:.2f} s: the counter "
                                 "updates less often than that; time for longer (--min-time)")
        return result


@contextmanager
def _nothing():
    yield None
