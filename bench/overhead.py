"""How much does calib's harness add? calib's median against a bare perf_counter loop and
torch.utils.benchmark's blocked_autorange, same model, same process, interleaved rounds.

    python bench/overhead.py [--rounds 5] [--models resnet18,tiny-mlp]

Targets (issue 2): within 3% of torch.utils.benchmark on resnet18; harness overhead under
2 us per call on the tiny MLP.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import torch
import torch.utils.benchmark as tub

from calib.models.loader import load_model
from calib.timing.clock import PerfCounterTimer
from calib.timing.engine import TimingSettings, measure


def bare_loop_ms(fn, seconds: float) -> tuple[float, float]:
    """(median of per-call times, mean per call with no per-call timing), in ms."""
    per_call = []
    deadline = time.perf_counter() + seconds / 2
    while time.perf_counter() < deadline:
        start = time.perf_counter_ns()
        fn()
        per_call.append(time.perf_counter_ns() - start)
    count = max(10, len(per_call))
    start = time.perf_counter_ns()
    for _ in range(count):
        fn()
    mean_untimed = (time.perf_counter_ns() - start) / count
    return statistics.median(per_call) / 1e6, mean_untimed / 1e6


def calib_ms(fn, seconds: float) -> tuple[float, float]:
    """(calib's median, time spent outside the timed calls per call: the harness's bookkeeping), in ms."""
    settings = TimingSettings(warmup_min_count=3, warmup_min_time_s=0.1, min_count=20, min_time_s=seconds,
                              max_time_s=seconds, target_ci_rel=1e-9)
    # measure() starts with a full gc.collect(), a fixed cost (it walks every object torch made) that
    # is not per-call overhead: time one just before and subtract it.
    gc.collect()
    started = time.perf_counter_ns()
    gc.collect()
    collect_ms = (time.perf_counter_ns() - started) / 1e6
    started = time.perf_counter_ns()
    result = measure(fn, PerfCounterTimer(), settings)
    wall_ms = (time.perf_counter_ns() - started) / 1e6
    timed_ms = result.cold_ms + sum(result.warmup_ms) + sum(result.samples_ms)
    calls = 1 + len(result.warmup_ms) + len(result.samples_ms)
    return result.summary().median_ms, (wall_ms - timed_ms - collect_ms) / calls


def torch_benchmark_ms(fn, seconds: float) -> float:
    # Timer defaults to one thread; measure at the same thread count as the others.
    timer = tub.Timer(stmt="fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=seconds).median * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--models", default="resnet18,tiny-mlp")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.rounds} interleaved rounds")
    for name in args.models.split(","):
        model = load_model(name)
        module, inputs = model.module, model.make_inputs(1)

        def fn():
            return module(*inputs)

        rows = {"calib": [], "calib_wall": [], "bare": [], "bare_untimed": [], "torch.utils.benchmark": []}
        with torch.inference_mode():
            for _ in range(3):
                fn()
            for _ in range(args.rounds):
                median, wall = calib_ms(fn, args.seconds)
                rows["calib"].append(median)
                rows["calib_wall"].append(wall)
                per_call, untimed = bare_loop_ms(fn, args.seconds)
                rows["bare"].append(per_call)
                rows["bare_untimed"].append(untimed)
                rows["torch.utils.benchmark"].append(torch_benchmark_ms(fn, args.seconds))
        med = {key: statistics.median(values) for key, values in rows.items()}
        print(f"\n{name}: medians over rounds (ms)")
        for key in ("calib", "bare", "torch.utils.benchmark"):
            print(f"  {key:<24} {med[key]:10.4f}")
        print(f"  calib / torch.utils.benchmark = {med['calib'] / med['torch.utils.benchmark']:.3f}")
        print(f"  calib / bare perf_counter loop = {med['calib'] / med['bare']:.3f}")
        print(f"  harness bookkeeping per call (wall outside the timed calls / calls) = {med['calib_wall'] * 1e3:.2f} us")
        inside_us = (med["calib"] - med["bare_untimed"]) * 1e3
        print(f"  timer cost inside a sample (calib median - untimed loop mean) = {inside_us:+.2f} us")


if __name__ == "__main__":
    main()
