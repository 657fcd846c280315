"""The training run of one precision: `steps` steps on the task's batches, the first `warmup` untimed.

A step is timed from zero_grad to the end of the optimizer step and split into forward (model and
loss), backward and optimizer (with GradScaler's unscale/step/update for amp-fp16): perf_counter on
the CPU, CUDA events on CUDA. Building the batch is outside the step. Per step the loss, the loss
scale and whether any gradient held NaN/Inf are kept; the step count is fixed (not the adaptive
loop of `calib run`) because every precision must see the same batches to compare loss curves.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from calib.train.dtypes import ComputeDtypeProbe, grad_dtypes, optimizer_state_dtypes, weight_dtypes
from calib.train.layers import profile_training
from calib.train.memory import PeakMemory
from calib.train.precisions import TrainPrecision
from calib.train.settings import TrainSettings
from calib.train.setup import build_setup


@dataclass
class TrainRun:
    precision: str
    step_ms: list[float] = field(default_factory=list)  # every step, warm-up included
    forward_ms: list[float] = field(default_factory=list)
    backward_ms: list[float] = field(default_factory=list)
    optimizer_ms: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    scale: list[float] | None = None
    skipped_steps: list[int] = field(default_factory=list)
    nonfinite_loss_steps: list[int] = field(default_factory=list)
    nonfinite_grad_steps: list[int] = field(default_factory=list)
    dtypes: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)
    conversion_s: float = 0.0
    compile_s: float | None = None
    eval: dict | None = None
    layers: dict | None = None
    info: dict = field(default_factory=dict)
    timer: str = "perf_counter"


class PhaseClock:
    """Marks at the phase boundaries of a step: perf_counter, or CUDA events on CUDA."""

    def __init__(self, device: str):
        import torch

        self.cuda = device.startswith("cuda")
        self.name = "cuda_event" if self.cuda else "perf_counter"
        self._marks: list = []
        self._torch = torch

    def mark(self) -> None:
        if self.cuda:
            event = self._torch.cuda.Event(enable_timing=True)
            event.record()
            self._marks.append(event)
        else:
            self._marks.append(time.perf_counter_ns())

    def phases_ms(self) -> list[float]:
        marks, self._marks = self._marks, []
        if self.cuda:
            marks[-1].synchronize()
            return [a.elapsed_time(b) for a, b in zip(marks, marks[1:])]
        return [(b - a) / 1e6 for a, b in zip(marks, marks[1:])]


def train_precision(task, precision: TrainPrecision, settings: TrainSettings, device: str,
                    verdict: dict | None = None) -> TrainRun:
    import torch

    torch.manual_seed(settings.seed)  # dropout and any other randomness: the same for every precision
    run = TrainRun(precision.name)
    with PeakMemory(device) as memory:
        setup = build_setup(task, precision, settings, device, verdict)
        run.conversion_s, run.info = setup.conversion_s, dict(setup.info)
        clock = PhaseClock(device)
        run.timer = clock.name
        run.scale = [] if setup.scaler is not None else None
        probe = ComputeDtypeProbe(setup.model, device)
        with setup.session():
            for step in range(settings.steps):
                train_step(task, setup, settings, device, clock, run, step)
                if step == 0:
                    probe.remove()
                    run.dtypes = {"weights": weight_dtypes(setup.model), "grads": grad_dtypes(setup.model),
                                  "optimizer_state": optimizer_state_dtypes(setup.optimizer),
                                  "compute": probe.compute_dtype(tf32=precision.name == "tf32"),
                                  "compute_source": "heavy modules' output dtype", "probe": probe.to_dict()}
                    if run.dtypes["compute"] is None and settings.compile:  # compiled graphs skip module hooks
                        run.dtypes.update(compute=precision.compute,
                                          compute_source="declared (torch.compile runs no module hooks)")
            if settings.compile:
                run.compile_s = run.step_ms[0] / 1000.0  # the first step compiles; it is a warm-up step
    run.memory = memory.to_dict()  # the training steps' peak: the eval's batch and the hooked steps are apart
    with setup.session():
        if settings.eval and task.evaluate is not None:
            run.eval = _evaluate(task, setup, device)
        if settings.layers:
            run.layers = _layers(task, setup, settings, device, run)
    return run


def train_step(task, setup, settings, device, clock, run: TrainRun, step: int, claim=None) -> float:
    import torch

    inputs, target = batch_on_device(task, setup, step, settings.batch_size, device)
    model, scaler = setup.model, setup.scaler
    loss, scale_before = one_step(task, setup, inputs, target, clock, claim)
    forward_ms, backward_ms, optimizer_ms = clock.phases_ms()
    if claim is not None:
        return forward_ms + backward_ms + optimizer_ms
    run.forward_ms.append(forward_ms)
    run.backward_ms.append(backward_ms)
    run.optimizer_ms.append(optimizer_ms)
    run.step_ms.append(forward_ms + backward_ms + optimizer_ms)
    value = float(loss.detach().float().item())
    run.loss.append(value)
    if not math.isfinite(value):
        run.nonfinite_loss_steps.append(step)
    with torch.no_grad():
        if any(p.grad is not None and not bool(torch.isfinite(p.grad).all()) for p in model.parameters()):
            run.nonfinite_grad_steps.append(step)
    if scaler is not None:
        scale_after = scaler.get_scale()
        run.scale = (run.scale or []) + [scale_after]
        if scale_after < scale_before:  # GradScaler lowers the scale exactly when it skipped the step
            run.skipped_steps.append(step)
    return run.step_ms[-1]


def batch_on_device(task, setup, step: int, batch_size: int, device: str) -> tuple:
    """The step's (inputs, target) as the setup feeds them: on the device, in its dtype and memory format."""
    inputs, target = task.make_batch(step, batch_size)
    inputs = setup.prepare_inputs(inputs, device)
    target = target.to(device)
    if target.is_floating_point():
        target = target.float()
    return inputs, target


class NoClock:
    """The phase marks of a step nobody splits into phases (the candidate race times whole steps)."""

    def mark(self) -> None:
        pass


def one_step(task, setup, inputs: tuple, target, clock, claim=None) -> tuple:
    """zero_grad, forward and loss, backward, optimizer step (GradScaler's for amp-fp16), with a clock
    mark between phases; (the loss tensor, the loss scale before the step). The one step that both the
    timed run and the candidate race (calib.train.candidates) take."""
    model, optimizer, scaler = setup.model, setup.optimizer, setup.scaler
    clock.mark()
    optimizer.zero_grad(set_to_none=True)
    with setup.forward_context():
        output = model(*inputs)
        output = output[0] if isinstance(output, (tuple, list)) else output
        output = getattr(output, "logits", output)  # a Hugging Face ModelOutput
        loss = task.loss_fn(output.float(), target)
    clock.mark()
    if claim is not None:
        claim(loss)
    (scaler.scale(loss) if scaler is not None else loss).backward()
    clock.mark()
    scale_before = scaler.get_scale() if scaler is not None else None
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    clock.mark()
    return loss, scale_before


def _evaluate(task, setup, device) -> dict:
    result = task.evaluate(setup.model, setup.forward_context, lambda t: setup.prepare_inputs((t,), device)[0])
    if setup.qat_engine is not None:
        from calib.train.qat import converted_eval

        result = {**result, **converted_eval(task, setup)}
    return result


def _layers(task, setup, settings, device, run: TrainRun) -> dict:
    """Hooked steps after the timed ones (batches continue the sequence; their losses are not kept)."""
    import statistics

    import torch

    clock = PhaseClock(device)
    timed = run.step_ms[settings.warmup:] or run.step_ms
    counter = iter(range(settings.steps, settings.steps + settings.layer_steps + 1))

    def run_step(claim):
        train_step(task, setup, settings, device, clock, run, next(counter), claim=claim)

    sync = (lambda: torch.cuda.synchronize(torch.device(device))) if device.startswith("cuda") else None
    return profile_training(setup.model, run_step, settings.layer_steps, statistics.median(timed), device, sync,
                            compute_dtype=run.dtypes.get("compute"))
