"""What each precision does to training speed, memory and the loss curve, measured side by side.

    python bench/train.py                      # digits-cnn, resnet18 112x112 b8, a small transformer encoder
    python bench/train.py --models digits-cnn --steps 100

Per model, every precision is set up from the same initial weights (calib.train.setup), then the
precisions take their steps in turn, step by step (round-robin: step i of every precision, then step
i+1), so a change in the machine's load falls on all of them alike. Each keeps its own loss curve on
the same batches. Printed per precision: median ms/step, samples/s (tokens/s for text), the ratio to
fp32 measured in the same rounds, peak memory of a step (CPU: RSS growth above the step's start,
sampled, freed memory returned to the OS with malloc_trim before each step; CUDA: max allocated), the final loss and the largest deviation from fp32's curve, and the
hardware verdict with its evidence. On a shared or busy machine read the ratios, not the times.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# model -> (load_any arguments, batch, steps, precisions); resnet18 at 112x112 batch 8 as the reference
MODELS = {
    "digits-cnn": ({}, 32, 30, ["fp32", "amp-bf16", "bf16", "amp-fp16", "int8-qat"]),
    "resnet18": ({"input_shape": (3, 112, 112)}, 8, 3, ["fp32", "amp-bf16"]),
    "tiny-bert": ({"seq_len": 64}, 16, 10, ["fp32", "amp-bf16", "bf16", "amp-fp16"]),
}
LR = {"digits-cnn": 0.05}


def bench_model(name: str, load_args: dict, batch: int, steps: int, precisions: list[str], device: str,
                report: dict) -> None:
    import torch

    from calib.hardware import verdict_for
    from calib.models.loader import load_any
    from calib.train import TrainSettings, build_task
    from calib.train.driver import release_memory
    from calib.train.loop import PhaseClock, TrainRun, train_step
    from calib.train.memory import PeakMemory
    from calib.train.precisions import get_train_precision, unsupported_reason
    from calib.train.setup import build_setup

    task = build_task(load_any(name, **load_args))
    settings = TrainSettings(steps=steps, batch_size=batch, lr=LR.get(name), warmup_steps=1)
    setups, runs, peaks, verdicts = {}, {}, {}, {}
    for precision in precisions:
        spec = get_train_precision(precision)
        reason = unsupported_reason(spec, device)
        verdicts[precision] = verdict_for(report, device, spec.verdict_precision) or {}
        if reason:
            print(f"  {precision}: skipped ({reason})")
            continue
        torch.manual_seed(settings.seed)
        setups[precision] = build_setup(task, spec, settings, device, verdicts[precision])
        runs[precision], peaks[precision] = TrainRun(precision), 0
    clock = PhaseClock(device)
    started = time.perf_counter()
    for step in range(steps):
        for precision, setup in setups.items():
            release_memory()  # freed memory back to the OS, so the step's RSS growth is its own
            with PeakMemory(device) as memory:
                train_step(task, setup, settings, device, clock, runs[precision], step)
            if step > 0:  # the warm-up step holds one-off allocations (kernels, the optimizer's first state)
                peaks[precision] = max(peaks[precision], memory.growth_bytes)
    took = time.perf_counter() - started
    tokens = task.items_per_sample()
    unit = "tok/s" if task.input_kind == "tokens" else "samples/s"
    base = runs.get("fp32")
    shape = "x".join(str(d) for d in task.item_shape)
    print(f"\n{name} [{shape}] batch {batch}, {steps} steps (1 warm-up), round-robin, {took:.0f} s")
    print(f"  {'precision':<10} {'hw':<9} {'ms/step':>9} {unit:>10} {'vs fp32':>8} {'peak mem':>10} "
          f"{'Δ mem':>7} {'final loss':>10} {'max |Δloss|':>11}")
    for precision, run in runs.items():
        median = statistics.median(run.step_ms[1:])
        rate = batch * tokens * 1000 / median
        ratio = statistics.median(b / r for b, r in zip(base.step_ms[1:], run.step_ms[1:])) if base else None
        deviation = max(abs(a - b) for a, b in zip(run.loss, base.loss)) if base else None
        memory = peaks[precision]
        delta = f"{100 * (memory / peaks['fp32'] - 1):+.0f}%" if base and peaks["fp32"] else "-"
        print(f"  {precision:<10} {verdicts[precision].get('status', '?'):<9} {median:>9.1f} {rate:>10.1f} "
              f"{ratio:>7.2f}x {memory / 2**20:>8.1f}Mi {delta:>7} {run.loss[-1]:>10.4f} {deviation:>11.4f}")
    for precision in runs:
        verdict = verdicts[precision]
        if verdict.get("status") == "emulated":
            print(f"  {precision} emulated: {verdict.get('evidence')}")
    print("  vs fp32: median over steps of fp32's step time / this precision's, same round; "
          "peak mem: largest RSS growth within one step, after malloc_trim (CUDA: max allocated)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--steps", type=int, help="steps per precision (default: per model)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    import torch

    from calib.hardware import device_report

    if args.threads:
        torch.set_num_threads(args.threads)
    report = device_report()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, "
          f"cpu capability {torch.backends.cpu.get_cpu_capability()}")
    for name in args.models.split(","):
        load_args, batch, steps, precisions = MODELS[name]
        bench_model(name, load_args, batch, args.steps or steps, precisions, args.device, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
