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

CLOCKS = ("wall", "cpu")


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


class ThreadTimeRecorder:
    """calib.layers.graph's recorder interface (mark(i), durations_ms()) on thread CPU time."""

    def __init__(self, count: int):
        self.marks = [0] * count
        self._clock = time.thread_time_ns

    def mark(self, index: int) -> None:
        self.marks[index] = self._clock()

    def durations_ms(self) -> list[float]:
        marks = self.marks
        return [(marks[i + 1] - marks[i]) / 1e6 for i in range(len(marks) - 1)]


def timer_for(clock: str, prepared):
    if clock == "cpu":
        return ThreadTimeTimer()
    from calib.lifecycle import timer_for as wall_timer

    return wall_timer(prepared)


def profile_layers(module, inputs: tuple, end_to_end_ms: float | None, settings, call_context, clock: str,
                   device: str = "cpu") -> dict:
    """calib.layers.profile_module on `clock`: the same graph marks, facts and table (calib.layers.graph,
    passes), the marks and the plain runs between passes read on thread CPU time for "cpu"."""
    if clock != "cpu":
        from calib.layers import profile_module

        return profile_module(module, inputs, end_to_end_ms, settings=settings, device=device,
                              call_context=call_context)
    import contextlib
    import gc

    import torch

    from calib.layers.fx_profile import METHOD, collect_facts
    from calib.layers.graph import calibrate_mark_cost, instrument, to_graph_module
    from calib.layers.passes import build_table, choose_repeats, warmup_count

    def run_context():
        stack = contextlib.ExitStack()
        stack.enter_context(torch.inference_mode())
        if call_context is not None:
            stack.enter_context(call_context())
        return stack

    started = time.perf_counter()
    graph_module = to_graph_module(module)
    with run_context():
        node_facts = collect_facts(graph_module, inputs)
    timed, recorder, names = instrument(graph_module, ThreadTimeRecorder)
    mark_cost_ms = calibrate_mark_cost(ThreadTimeRecorder, run_context)
    repeats = choose_repeats(end_to_end_ms, settings)
    per_pass, plain_ms = [], []
    with run_context():
        for _ in range(warmup_count(end_to_end_ms)):
            timed(*inputs)
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            for _ in range(repeats):
                timed(*inputs)
                per_pass.append(recorder.durations_ms())
                start = time.thread_time_ns()
                module(*inputs)
                plain_ms.append((time.thread_time_ns() - start) / 1e6)
        finally:
            if gc_was_enabled:
                gc.enable()
    return build_table([(name, node_facts.get(name, {})) for name in names], per_pass, mark_cost_ms, plain_ms,
                       method=METHOD, end_to_end_ms=end_to_end_ms, expected_compute=None, configuration="",
                       started=started, repeats=repeats, overhead_ms_per_node=mark_cost_ms, timer="thread_time")
