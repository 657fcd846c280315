"""calib train's choices against every candidate measured by hand, and seed 002's activation-checkpointing rows.

    python bench/train.py              # resnet18 224x224, vit_b_16, bert-base 128 tokens; ~10 min on 2 AMX cores
    python bench/train.py --quick      # resnet18 64x64 b2, tiny-bert: a smoke run of every path (< 2 min)
    python bench/train.py --models resnet18 --steps 12 --batch 16

Per model and precision, one process:
1. calib's choice: calib.train.candidates.choose with calib train's defaults (the model's real input size,
   its default batch, the same race budget), as `calib train` makes it.
2. By hand: every candidate of every precision is set up from the same initial weights, then they take
   their steps round-robin (step i of each, then step i+1, the order reversed every round), so a change
   in the machine's load falls on all alike. Printed: median ms/step, samples/s (and tokens/s), the
   allocation growth within one more, untimed step (calib.train.memory: glibc mallinfo2 on a CPU, CUDA
   max allocated; its malloc_trim would make the next timed step pay page faults), and the 1-minute
   load average over the rounds beside each figure.
3. Ratios from the by-hand medians: calib's choice against the best candidate (target: within 5%), and
   amp-bf16 against fp32, each with calib's choice (target on the Intel AMX machine kind: resnet18 >= 1.6x).
4. Activation checkpointing (bert-base at batch 32, or tiny-bert with --quick): none / selective / full at
   amp-bf16 (seed 002's baseline), each trained as calib train trains it (calib.train.loop.train_precision):
   tokens/s, peak memory (calib's figure: allocations above the run's start) and both deltas against none.
   Target: full lowers bert-base's peak by at least 20%. The peak holds the model state too (bert-base with
   SGD momentum: 0.44 GB each of weights, gradients and momentum), and with zero_grad(set_to_none) the
   activations take the freed gradients' place. Measured on an Intel AMX CPU, full checkpointing lowered
   the peak by 1% at batch 8, 17% at 16 and 41% at 32, so the rows run at batch 32 (--ac-batch).
On a CPU without native bf16 (torch.ops.mkldnn._is_mkldnn_bf16_supported() false) the bf16 speed targets
do not apply and the script says so; the checkpointing target applies everywhere.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# model -> (load_any arguments, batch, by-hand steps); None: calib train's defaults (the real sizes)
MODELS = {"resnet18": ({}, None, 8), "vit_b_16": ({}, 4, 5), "bert-base": ({}, None, 5)}
QUICK = {"resnet18": ({"input_shape": (3, 64, 64)}, 2, 4), "tiny-bert": ({}, 4, 4)}
PRECISIONS = ["fp32", "amp-bf16"]
SPEEDUP_TARGET, CHOICE_TARGET, MEMORY_TARGET = 1.6, 0.95, 0.20


def _load() -> float:
    return os.getloadavg()[0]


def _task(name: str, load_args: dict):
    from calib.models.loader import load_any
    from calib.train import build_task

    return build_task(load_any(name, **load_args))


def calib_choices(task, settings, device: str) -> dict:
    """What `calib train` would pick per precision: (name, tuning dict or None, load average)."""
    from calib.train.candidates import choose, tune_settings
    from calib.train.precisions import get_train_precision

    chosen = {}
    for precision in PRECISIONS:
        name, _, tuning = choose(task, get_train_precision(precision), settings, device, tune_settings(True, None))
        chosen[precision] = (name, tuning, _load())
    return chosen


def by_hand(task, settings, steps: int, device: str) -> dict:
    """{(precision, candidate): {"ms": [...], "peak": bytes, "load": [...]}}, round-robin, order reversed per round."""
    import torch

    from calib.train.candidates import candidates
    from calib.train.loop import NoClock, batch_on_device, one_step
    from calib.train.memory import PeakMemory, release_memory
    from calib.train.precisions import get_train_precision
    from calib.train.setup import build_setup

    setups = {}
    for precision in PRECISIONS:
        spec = get_train_precision(precision)
        for name, candidate in candidates(task, spec, settings):
            with torch.random.fork_rng(devices=[]):
                setup = build_setup(task, spec, candidate, device)
            setups[(precision, name)] = (setup, batch_on_device(task, setup, 0, settings.batch_size, device))
    sync = (lambda: torch.cuda.synchronize()) if device.startswith("cuda") else (lambda: None)
    results = {key: {"ms": [], "peak": 0, "load": []} for key in setups}
    keys = list(setups)
    for step in range(steps + 1):  # step 0 warms every candidate up (one-off allocations, kernel choice)
        for key in (keys if step % 2 == 0 else keys[::-1]):
            setup, (inputs, target) = setups[key]
            with setup.session():
                sync()
                started = time.perf_counter()
                one_step(task, setup, inputs, target, NoClock())
                sync()
                took = (time.perf_counter() - started) * 1000
            if step > 0:
                results[key]["ms"].append(took)
                results[key]["load"].append(_load())
    for key in keys:  # one more step each for its memory: PeakMemory gives freed pages back first (untimed)
        setup, (inputs, target) = setups[key]
        with setup.session(), PeakMemory(device) as memory:
            one_step(task, setup, inputs, target, NoClock())
        results[key]["peak"] = memory.growth_bytes
    setups.clear()
    release_memory()
    return results


def report_model(name: str, task, settings, chosen: dict, hand: dict, native_bf16: bool, real_size: bool) -> None:
    tokens = task.items_per_sample() if task.input_kind == "tokens" else None
    shape = "x".join(str(d) for d in task.item_shape)
    print(f"\n{name} [{shape}] batch {settings.batch_size}: by hand, {len(next(iter(hand.values()))['ms'])} "
          "interleaved steps each")
    print(f"  {'precision':<9} {'candidate':<14} {'ms/step':>8} {'samples/s':>10} {'tok/s':>9} {'step peak':>10} "
          f"{'load':>5}  calib")
    medians = {key: statistics.median(value["ms"]) for key, value in hand.items()}
    for (precision, candidate), value in hand.items():
        rate = settings.batch_size * 1000 / medians[(precision, candidate)]
        mark = "<- calib's choice" if chosen[precision][0] == candidate else ""
        print(f"  {precision:<9} {candidate:<14} {medians[(precision, candidate)]:>8.1f} {rate:>10.2f} "
              f"{(f'{rate * tokens:,.0f}' if tokens else '-'):>9} {value['peak'] / 2 ** 20:>8.1f}Mi "
              f"{statistics.mean(value['load']):>5.2f}  {mark}")
    for precision in PRECISIONS:
        name_chosen, tuning, load = chosen[precision]
        best = min((key for key in medians if key[0] == precision), key=medians.get)
        ratio = medians[best] / medians[(precision, name_chosen)]
        raced = " | ".join(f"{c['name']} {c['median_ms']:.1f} ms" for c in (tuning or {}).get("candidates", [])
                           if c.get("median_ms") is not None) or "one candidate, nothing raced"
        verdict = "ok" if ratio >= CHOICE_TARGET else "MISSED"
        print(f"  {precision}: calib chose {name_chosen} (its race: {raced}; load {load:.2f}); best by hand "
              f"{best[1]}; best/choice {ratio:.2f} (target >= {CHOICE_TARGET}: {verdict})")
    fp32 = medians[("fp32", chosen["fp32"][0])]
    amp = medians[("amp-bf16", chosen["amp-bf16"][0])]
    speedup = fp32 / amp
    if name == "resnet18" and real_size:
        applies = "applies" if native_bf16 else "does not apply: bf16 is not native on this CPU"
        met = "ok" if speedup >= SPEEDUP_TARGET else "MISSED"
        print(f"  amp-bf16 vs fp32, calib's choices: {speedup:.2f}x (target >= {SPEEDUP_TARGET}x at 224x224 on "
              f"Intel AMX: {met if native_bf16 else '-'}; {applies})")
    else:
        print(f"  amp-bf16 vs fp32, calib's choices: {speedup:.2f}x")


def checkpointing_rows(name: str, load_args: dict, batch: int, steps: int, device: str) -> None:
    from dataclasses import replace

    from calib.train.loop import train_precision
    from calib.train.precisions import get_train_precision
    from calib.train.settings import TrainSettings

    task = _task(name, load_args)
    base = TrainSettings(steps=steps, warmup_steps=1, batch_size=batch, eval=False)
    precision = get_train_precision("amp-bf16")
    train_precision(task, get_train_precision("fp32"), replace(base, steps=2), device)  # torch's one-off allocations
    rows = {}
    for mode in ("none", "selective", "full"):
        run = train_precision(task, precision, replace(base, activation_checkpointing=mode), device)
        median = statistics.median(run.step_ms[1:])
        rows[mode] = (batch * task.items_per_sample() * 1000 / median, run.memory["peak_bytes"], _load())
    shape = "x".join(str(d) for d in task.item_shape)
    print(f"\n{name} [{shape}] batch {batch}, amp-bf16, activation checkpointing ({steps} steps, 1 warm-up, "
          f"as calib train runs them; peak: {run.memory['peak_kind']})")
    print(f"  {'checkpointing':<13} {'tok/s':>9} {'Δ tok/s':>8} {'peak mem':>10} {'Δ mem':>7} {'load':>5}")
    for mode, (rate, peak, load) in rows.items():
        first_rate, first_peak = rows["none"][0], rows["none"][1]
        print(f"  {mode:<13} {rate:>9,.0f} {100 * (rate / first_rate - 1):>+7.1f}% {peak / 2 ** 20:>8.1f}Mi "
              f"{100 * (peak / first_peak - 1) if first_peak else 0:>+6.1f}% {load:>5.2f}")
    drop = 1 - rows["full"][1] / rows["none"][1] if rows["none"][1] else 0.0
    met = "ok" if drop >= MEMORY_TARGET else "MISSED"
    print(f"  full checkpointing lowers peak memory by {100 * drop:.0f}% (target >= {100 * MEMORY_TARGET:.0f}% "
          f"for bert-base: {met if name == 'bert-base' else '-'})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of every path")
    parser.add_argument("--models", help="comma-separated (default: resnet18, vit_b_16, bert-base)")
    parser.add_argument("--steps", type=int, help="by-hand steps per candidate (default: per model)")
    parser.add_argument("--batch", type=int, help="batch for every model (default: calib train's, vit_b_16 4)")
    parser.add_argument("--ac-steps", type=int, default=3, help="steps per checkpointing setting (1 warm-up)")
    parser.add_argument("--ac-batch", type=int, help="batch of the checkpointing rows (default 32; --quick 4)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    import torch

    from calib.train.settings import TrainSettings
    from calib.train.task import train_defaults

    if args.threads:
        torch.set_num_threads(args.threads)
    table = QUICK if args.quick else MODELS
    names = args.models.split(",") if args.models else list(table)
    native_bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()) if args.device == "cpu" else True
    amx = bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, cpu capability "
          f"{torch.backends.cpu.get_cpu_capability()}, AMX tiles {amx}, native bf16 {native_bf16}, "
          f"load {_load():.2f}")
    if not native_bf16:
        print("bf16 is emulated here: the amp-bf16 speed targets do not apply on this CPU")
    started = time.perf_counter()
    for name in names:
        load_args, batch, steps = (table.get(name) or MODELS.get(name) or ({}, None, 5))
        defaults = train_defaults(name, args.device)
        settings = TrainSettings(steps=2, batch_size=args.batch or batch or defaults.get("batch_size", 8), eval=False)
        task = _task(name, load_args)
        chosen = calib_choices(task, settings, args.device)
        hand = by_hand(task, settings, args.steps or steps, args.device)
        report_model(name, task, settings, chosen, hand, native_bf16, real_size="input_shape" not in load_args)
        print(f"  ({time.perf_counter() - started:.0f} s so far)")
    text = "tiny-bert" if args.quick else "bert-base"
    if args.models is None or text in names:
        checkpointing_rows(text, {}, args.ac_batch or (4 if args.quick else 32), args.ac_steps, args.device)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
