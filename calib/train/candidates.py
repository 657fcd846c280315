"""Training candidates: the ways one training configuration can run, raced here as `calib run` races its own.

A configuration (model, precision, activation checkpointing, batch) can run with the model and its 4-D
inputs contiguous (NCHW) or channels_last, and, with --compile, eager or torch.compile'd. Which is
fastest is a property of the machine, not a rule: on an Intel AMX CPU, amp-bf16 resnet18 at 224x224
trained 1.34x faster channels_last than NCHW, while fp32 gained nothing, and at 64x64 fp32 lost 23%.
So every candidate gets its own copy of the model and optimizer, and calib.tuning.race times their
whole training steps (zero_grad to optimizer step, on one fixed batch) in short interleaved rounds in
this process; calib.tuning.pick keeps the fastest (the rule's first unless another is at least
MIN_GAIN faster). The race's copies are thrown away: the timed run starts again from the initial
weights with the winner's settings, so every precision's loss curve starts from the same weights.

Autocast versus cast is not a candidate in training: amp-bf16 (fp32 master weights, autocast) and
bf16 (a cast model: bf16 weights, gradients and optimizer state) keep different state, so they are
two precisions, each in the table, not two ways of computing one.

`--no-tune`: the rule's first candidate; `--candidate NAME`: that one wherever it exists (a name, or
one part of it: "channels_last" pins "channels_last+compiled" too when nothing else matches).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from calib.settings import TuneSettings
from calib.train.memory import release_memory
from calib.train.precisions import TrainPrecision
from calib.train.settings import TrainSettings
from calib.tuning import Entry, pick, race

# Precisions whose float arithmetic a memory format applies to (int8-qat's FX graph is traced as built).
_FORMAT_PRECISIONS = ("fp32", "tf32", "amp-fp16", "amp-bf16", "bf16", "fp8")
RACE_BUDGET_S = 3.0  # of timed steps, all candidates together; at least 3 interleaved rounds whatever it costs


def candidates(task, precision: TrainPrecision, settings: TrainSettings) -> list[tuple[str, TrainSettings]]:
    """[(name, settings)] the rule's choice first: contiguous before channels_last (the layout the model
    is built in), compiled before eager where --compile asks for torch.compile."""
    formats = ["contiguous"]
    if task.input_kind == "image" and len(task.item_shape) == 3 and precision.name in _FORMAT_PRECISIONS:
        formats.append("channels_last")
    compiled = [True, False] if settings.compile else [False]
    listed = []
    for use_compile in compiled:
        for memory_format in formats:
            parts = [memory_format if len(formats) > 1 else ("eager" if not use_compile else "")]
            if use_compile:
                parts.append("compiled")
            name = "+".join(p for p in parts if p)
            listed.append((name, replace(settings, memory_format=memory_format, compile=use_compile)))
    return listed


def pinned(names: list[str], pin: str | None) -> str | None:
    """The candidate `--candidate PIN` names: that name, else the first with PIN as one of its parts."""
    if pin is None:
        return None
    if pin in names:
        return pin
    return next((name for name in names if pin in name.split("+")), None)


def choose(task, precision: TrainPrecision, settings: TrainSettings, device: str, tune: TuneSettings,
           verdict: dict | None = None, timer_for: Callable | None = None) -> tuple[str, TrainSettings, dict | None]:
    """(the candidate's name, its settings, the record's "tuning" dict or None where nothing was raced).
    `timer_for(name)`: the timer each candidate's steps are timed with (a seeded fake clock in tests)."""
    listed = candidates(task, precision, settings)
    names = [name for name, _ in listed]
    chosen = pinned(names, tune.pin)
    if chosen is not None:
        tuning = {"picked": chosen, "why": f"{chosen}: pinned with --candidate", "rule_first": names[0],
                  "candidates": [{"name": n} for n in names]}
        return chosen, dict(listed)[chosen], tuning if len(listed) > 1 else None
    if len(listed) == 1 or not tune.enabled:
        return names[0], listed[0][1], None
    entries, setups, errors = _entries(task, precision, listed, device, verdict, timer_for)
    try:
        running = [e for e in entries if e.failed is None]
        if not running:
            raise errors[names[0]]  # none can be built: the rule's choice says why
        race(running, tune, settings.batch_size)
        winner, why = pick(entries)
        # pick() words a win as for inference, where outputs are compared to fp32; here nothing was compared
        # (the winner's loss curve is, against the baseline's, after its timed run)
        why = why.replace(", outputs as close to fp32", "")
    finally:
        setups.clear()
        release_memory()
    tuning = {"picked": winner.name, "why": why, "rule_first": names[0], "budget_s": tune.budget_s,
              "timed": "whole training steps on one batch, interleaved rounds",
              "candidates": [{"name": e.name, "median_ms": e.median_ms, "rounds": len(e.rounds_ms),
                              "cosine_vs_fp32": None, "finite": e.finite, "failed": e.failed} for e in entries]}
    return winner.name, dict(listed)[winner.name], tuning


def _entries(task, precision, listed, device, verdict, timer_for) -> tuple[list[Entry], dict, dict]:
    import torch

    from calib.errors import first_line
    from calib.train.loop import NoClock, batch_on_device, one_step
    from calib.train.setup import build_setup

    timer_for = timer_for or _timer(device)
    entries, setups, errors = [], {}, {}
    for name, candidate in listed:
        try:
            with torch.random.fork_rng(devices=[]):
                setup = build_setup(task, precision, candidate, device, verdict)
            inputs, target = batch_on_device(task, setup, 0, candidate.batch_size, device)
        except Exception as exc:  # noqa: BLE001 - a candidate that cannot be built is out of the race
            errors[name] = exc
            entries.append(Entry(name, lambda: None, None, failed=f"{type(exc).__name__}: {first_line(exc, 200)}"))
            continue
        setups[name] = setup
        entries.append(Entry(name, _step(task, setup, inputs, target, one_step, NoClock()), timer_for(name)))
    return entries, setups, errors


def _step(task, setup, inputs, target, one_step, clock):
    def run():
        with setup.session():
            return one_step(task, setup, inputs, target, clock)[0]
    return run


def _timer(device: str):
    import torch

    from calib.timing.clock import CudaEventTimer, PerfCounterTimer

    if device.startswith("cuda"):
        return lambda name: CudaEventTimer(torch.device(device))
    return lambda name: PerfCounterTimer()


def tune_settings(enabled: bool, pin: str | None) -> TuneSettings:
    """calib.settings.TuneSettings for training: the same rounds, a budget for steps, not single calls."""
    return TuneSettings(enabled=enabled, budget_s=RACE_BUDGET_S, pin=pin)
