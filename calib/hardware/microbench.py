"""Microbenchmarks that check the flag-based verdicts: achieved GFLOP/s per compute type.

Each (device, compute type) gets a time budget; its kernels (matmul, conv, or the quantized
linear calib's int8 path uses) are timed by calib's timing engine (calib.timing: the same
timers as `calib run`, CUDA events on GPUs, every raw sample kept) with that budget as the
time limit. Throughput comes from the median call.

Shapes: small kernels cannot reach a fast unit's real rate (a 256^3 matmul does not saturate
AMX tiles), so each op climbs a ladder of sizes (calib.hardware.kernels.ProbeShapes) and keeps
the largest whose one call fits its share of the budget. Emulated bf16/fp16 run 10-100x slower
than fp32 on a CPU and stop lower on the ladder; the shape each op ran at is recorded, and so is
the larger one it gave up. Every ratio is against fp32 at the same shape (fp32 is measured again
at a shape it did not reach itself).
"""

from __future__ import annotations

import gc
import time
from contextlib import nullcontext
from dataclasses import dataclass, field

from calib.dtypes import tf32_enabled
from calib.environment import busy_cpu_warning
from calib.errors import first_line
from calib.hardware.cpu import resolve_threads
from calib.hardware.kernels import Kernel, Ladder, ProbeShapes, kernel_ladders
from calib.timing.clock import CudaEventTimer, PerfCounterTimer
from calib.timing.engine import TimingPlan
from calib.timing.engine import measure as time_kernel
from calib.timing.stats import summarize

DEFAULT_TOTAL_S = 10.0  # without an explicit per-compute budget, the whole probe takes about this long
ROUNDS = 4  # each compute type's budget is spread over up to this many interleaved rounds
_MIN_ROUND_S = 0.25  # below this per round, interleaving costs more warm-up calls than it saves
_CALLS_PER_ROUND = 3  # the engine's cold call, one warm-up call and at least one sample
CPU_COMPUTES = ("fp32", "fp16", "bf16", "int8")
CUDA_COMPUTES = ("fp32", "tf32", "fp16", "bf16", "int8", "fp8")


@dataclass
class OpMeasurement:
    op: str
    shape: str
    flops_per_call: float
    scaled_from: str | None = None  # the larger shape given up because one call would not fit
    samples_ms: list[float] = field(default_factory=list)

    def as_dict(self) -> dict:
        median_ms = summarize(self.samples_ms).median_ms
        return {"op": self.op, "shape": self.shape, "gflops": round(self.flops_per_call / median_ms / 1e6, 3),
                "calls": len(self.samples_ms), "median_ms": round(median_ms, 5), "scaled_from": self.scaled_from,
                "samples_ms": self.samples_ms}


def budget_settings(budget_s: float) -> TimingPlan:
    """A plan that spends about `budget_s`: one warm-up call, then samples until the time is up."""
    return TimingPlan.fixed(budget_s)


def _fastest_call_s(kernel: Kernel, timer, limit_s: float, calls: int = 8) -> float:
    """The fastest of up to `calls` calls, fewer once they add up to `calls` x `limit_s` (a size far
    over the limit is not tried eight times): on a shared machine one call can be many times too
    slow, the fastest is what the kernel costs."""
    kernel.call()  # the first call pays for allocation and kernel selection (oneDNN primitives, cuBLAS)
    times = []
    while len(times) < calls and sum(times) < calls * limit_s:
        times.append(timer.time_call(kernel.call) / 1e9)
    return min(times)


def fit_kernel(ladder: Ladder, timer, max_call_s: float) -> tuple[Kernel, object, str | None]:
    """(kernel, its size, the next size's shape or None): climbing from the smallest size (kept even
    if it is slower), the largest whose one call is predicted to take at most `max_call_s` at the best
    rate (FLOP/s) seen on the way. The best rate, not the last: a burst of load on a shared machine
    can slow every call of one size, and must not make the probe give up a size it can afford."""
    build, sizes = ladder
    kernel, chosen = build(sizes[0]), sizes[0]
    best_rate = kernel.flops / max(_fastest_call_s(kernel, timer, max_call_s), 1e-9)
    for size in sizes[1:]:
        bigger = build(size)
        if bigger.flops / best_rate > max_call_s:
            return kernel, chosen, bigger.shape
        best_rate = max(best_rate, bigger.flops / max(_fastest_call_s(bigger, timer, max_call_s), 1e-9))
        kernel, chosen = bigger, size
    return kernel, chosen, None


@dataclass
class _Slot:
    """One kernel in the interleaved rounds; `reference_for` marks an fp32 kernel measured at another
    compute type's shape, so that every ratio compares like with like."""
    compute: str
    kernel: Kernel
    measurement: OpMeasurement
    budget_s: float
    reference_for: str | None = None


def _not_probed(exc: Exception) -> dict:
    return {"probed": False, "reason": f"{type(exc).__name__}: {first_line(exc)}"}


def _default_timer(device_id: str):
    return CudaEventTimer(device_id) if device_id.startswith("cuda") else PerfCounterTimer()


def _fitted_slots(device_id: str, computes: list[str], budget_s: float, timer, rounds: int,
                  shapes: ProbeShapes | None, on_cuda: bool) -> tuple[dict, list[_Slot]]:
    """Size every compute type's kernels, then add an fp32 reference wherever one ran at a shape
    fp32 itself did not (emulated types stop lower on the ladder, fast ones may climb higher)."""
    results, slots, fp32 = {}, [], {}  # fp32: op -> (ladder, its budget, {size: kernel})
    for compute in computes:
        try:
            ladders = kernel_ladders(device_id, compute, shapes)
            op_budget = budget_s / len(ladders)
            with tf32_enabled(compute == "tf32") if on_cuda else nullcontext():
                fitted = [(ladder, *fit_kernel(ladder, timer, op_budget / rounds / _CALLS_PER_ROUND))
                          for ladder in ladders]
        except Exception as exc:  # an op this torch build or device lacks: report, don't crash
            results[compute] = _not_probed(exc)
            continue
        results[compute] = {"probed": True, "ops": {}}
        for ladder, kernel, size, scaled_from in fitted:
            slots.append(_Slot(compute, kernel, OpMeasurement(kernel.op, kernel.shape, kernel.flops, scaled_from),
                               op_budget))
            if compute == "fp32":
                fp32[kernel.op] = (ladder, op_budget, {size: kernel})
            elif kernel.op in fp32 and size not in fp32[kernel.op][2]:
                fp32_ladder, reference_budget, sized = fp32[kernel.op]
                try:
                    sized[size] = fp32_ladder[0](size)
                except Exception:  # noqa: BLE001 - no reference at this shape: the ratio is left out
                    continue
                slots.append(_Slot("fp32", sized[size], OpMeasurement(kernel.op, sized[size].shape,
                                                                      sized[size].flops), reference_budget,
                                   reference_for=sized[size].shape))
    return results, slots


def _probe_device(device_id: str, computes: list[str], budget_s: float, timer, rounds: int,
                  shapes: ProbeShapes | None) -> dict:
    import torch

    on_cuda = device_id.startswith("cuda")
    with torch.cuda.device(device_id) if on_cuda else nullcontext():
        timer = timer or _default_timer(device_id)
        clock = getattr(timer, "now_ns", time.perf_counter_ns)
        started, total_ns = clock(), budget_s * len(computes) * 1e9
        results, slots = _fitted_slots(device_id, computes, budget_s, timer, rounds, shapes, on_cuda)
        nominal_round_s = sum(slot.budget_s for slot in slots) / rounds
        # Interleaved rounds: on a shared machine a burst of load then slows every compute type
        # alike, instead of skewing the ratio of whichever type happened to run during it.
        for round_index in range(rounds):
            # The sizing, the fp32 references at other shapes and each measurement's cold and warm-up
            # calls come out of the same total: the slots shrink (never grow) to keep the probe on time.
            left_s = max(0.0, (total_ns - (clock() - started)) / 1e9)
            scale = min(1.0, left_s / ((rounds - round_index) * nominal_round_s)) if nominal_round_s else 1.0
            for slot in slots:
                if not results[slot.compute]["probed"]:
                    continue
                try:
                    with tf32_enabled(slot.compute == "tf32") if on_cuda else nullcontext():
                        timed = time_kernel(slot.kernel.call, timer, budget_settings(slot.budget_s / rounds * scale))
                    slot.measurement.samples_ms += timed.samples_ms
                except Exception as exc:
                    results[slot.compute] = _not_probed(exc)
    references = {}  # (op, shape) -> the fp32 measurement at that shape
    for slot in slots:
        if results[slot.compute]["probed"]:
            measured = slot.measurement.as_dict()
            if slot.compute == "fp32":
                references[(slot.kernel.op, slot.kernel.shape)] = measured
            if slot.reference_for is None:
                results[slot.compute]["ops"][slot.kernel.op] = measured
    _add_ratios(results, references)
    return results


def _add_ratios(results: dict, references: dict) -> None:
    """Each op's GFLOP/s over fp32's at the same shape; `fp32_reference` holds that fp32 measurement
    when it is not fp32's own row (the shapes differ)."""
    own = {op: measured["shape"] for op, measured in results.get("fp32", {}).get("ops", {}).items()}
    for result in results.values():
        for op, measured in result.get("ops", {}).items():
            reference = references.get((op, measured["shape"]))
            if reference is None:
                continue
            measured["ratio_to_fp32"] = round(measured["gflops"] / reference["gflops"], 4)
            if own.get(op) != measured["shape"]:
                measured["fp32_reference"] = {key: reference[key] for key in ("shape", "gflops", "median_ms",
                                                                              "calls")}


def run_probe(device_ids=None, time_per_compute_s: float | None = None, threads: int | None = None,
              computes=None, timer=None, quantized_engine: str | None = None,
              shapes: ProbeShapes | None = None) -> dict:
    """{"settings", "warnings", "devices": {device_id: {compute: {"probed", "ops": {op: {gflops, ratio_to_fp32}}}}}}

    `timer` replaces the default timers (perf_counter on CPU, CUDA events on GPUs), e.g. with
    calib.timing.clock.FakeTimer in tests. `quantized_engine` is the torch quantized engine for
    the CPU int8 probe (the verdict's engine, so the probe measures what calib would run).
    `shapes` replaces the size ladders (CPU_SHAPES, CUDA_SHAPES), e.g. with tiny ones in tests.
    """
    import torch


    if device_ids is None:
        device_ids = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0)]
    warnings_found = [w for w in [busy_cpu_warning()] if w] if "cpu" in device_ids else []
    plan = {}
    for device_id in device_ids:
        wanted = list(computes or (CPU_COMPUTES if device_id == "cpu" else CUDA_COMPUTES))
        plan[device_id] = ["fp32", *[c for c in wanted if c != "fp32"]]  # the reference first: every ratio needs it
    time_per_compute_s = time_per_compute_s or DEFAULT_TOTAL_S / sum(len(c) for c in plan.values())
    rounds = max(1, min(ROUNDS, int(time_per_compute_s / _MIN_ROUND_S)))
    threads_before, engine_before = torch.get_num_threads(), torch.backends.quantized.engine
    threads = resolve_threads(threads)
    torch.set_num_threads(threads)  # explicit: the default may count SMT siblings or a cgroup's quota wrongly
    if quantized_engine in torch.backends.quantized.supported_engines:
        torch.backends.quantized.engine = quantized_engine
    engine_used = torch.backends.quantized.engine
    # The timing engine collects garbage before every measurement; with torch imported a full
    # collection takes 0.1-0.3 s, times slots x rounds. Frozen objects are not scanned again.
    gc.collect()
    gc.freeze()
    try:
        devices = {device_id: _probe_device(device_id, wanted, time_per_compute_s, timer, rounds, shapes)
                   for device_id, wanted in plan.items()}
    finally:
        gc.unfreeze()
        torch.set_num_threads(threads_before)
        torch.backends.quantized.engine = engine_before
    return {"settings": {"time_per_compute_s": round(time_per_compute_s, 3), "threads": threads, "rounds": rounds,
                         "quantized_engine": engine_used,
                         "torch": torch.__version__}, "warnings": warnings_found, "devices": devices}
