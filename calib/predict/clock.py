"""The clocks a calibration table can be measured with.

"wall": the host wall clock (calib.timing.clock.PerfCounterTimer, calib.layers' marks), what `calib run`
reports. "cpu": the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), single-threaded only. With one
intra-op thread every kernel runs on the calling thread, so its CPU time is the inference's latency
on a core of its own, and time the scheduler gave other processes is not counted: on a shared,
busy machine (load 4x the cores) wall-clock medians of the same model moved 2-3x between minutes,
which no table can predict. Both the table and --check then use the same clock.
"""

from __future__ import annotations

import time

from calib.errors import UsageError
from calib.layers import profile_module
from calib.lifecycle import timer_for as wall_timer
from calib.timing.engine import CiTarget, TimingPlan, Warmup

CLOCKS = ("wall", "cpu")


def model_plan(max_time_s: float, min_time_s: float = 1.0) -> TimingPlan:
    """How calib.predict times a whole model (calibrate's real models, predict --check): a short warm-up,
    then the median to 2% within max_time_s (min_time_s gives way to a shorter max_time_s)."""
    return TimingPlan(Warmup(min_count=2, min_time_s=0.2, max_time_s=2.0),
                      CiTarget.within(max_time_s, min_time_s=min_time_s, min_count=10, target_ci_rel=0.02))


def check_clock(clock: str, threads: int) -> None:
    if clock not in CLOCKS:
        raise UsageError(f"--clock {clock!r}: choose from {', '.join(CLOCKS)}")
    if clock == "cpu" and threads != 1:
        raise UsageError(f"--clock cpu measures one thread's CPU time: it needs --threads 1 (not {threads})")


class ThreadTimeTimer:
    """calib.timing.engine's timer interface on the calling thread's CPU time; budgets stay wall time."""

    name = "thread_time"

    def time_call(self, fn) -> int:
        clock = time.thread_time_ns
        start = clock()
        fn()
        return clock() - start


def timer_for(clock: str, prepared):
    if clock == "cpu":
        return ThreadTimeTimer()
    return wall_timer(prepared)


def profile_layers(module, inputs: tuple, end_to_end_ms: float | None, settings, call_context, clock: str,
                   device: str = "cpu") -> dict:
    """calib.layers.profile_module on `clock`: for "cpu" the marks and the plain runs between passes
    read the thread's CPU time."""
    return profile_module(module, inputs, end_to_end_ms, settings=settings, device=device,
                          call_context=call_context, host_clock=time.thread_time_ns if clock == "cpu" else None)
