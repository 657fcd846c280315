"""The machine's speed now against its speed when the table was measured: a short fixed workload (the "pulse"),
timed during calibration and again at prediction, scales a prediction by how much faster or slower the machine
runs at this moment.

Why: a table is measured once and used later, and these machines' speed moves by more than the prediction's
error. On the Intel AMX machine kind (a 2-core VM) ResNet-34 under OpenVINO fp32 ran a 24.6-29.9 ms median on
one day, and one bench's unseen models came out 4% low on average in one run and 8% high in another, the
same code. A fixed compute-bound workload follows that drift: over 9 minutes (11 windows of 20 cycles) the pulse
below and six OpenVINO models' medians moved together (correlation 0.78-0.89), and divided by the pulse the
models' spread fell from 5-8% to 2-5%. A memory copy followed them worse (0.36-0.76).

The workload: a 384x384 fp32 matrix product and a 3x3 convolution on 64 channels at 28x28, with the table's
thread count, on torch (always installed; any engine's kernels share the cores, caches and clock it measures).
Its median over PULSE_S seconds, in blocks between which the threads rest, is one pulse. Calibration takes one
before each calibration model and one at the end; their median is the table's reference. A prediction on the
same device (by name), asked with `calib predict --pulse`, takes one and scales the prediction and its interval
by now / reference; on another device, or when the table has no pulses (older tables), nothing is scaled and
the record says why.

Why it is opt-in: minutes after calibrating (the bench's case) the drift is mostly 1-3%, and the pulse's
reading of it was off by up to 4% against the calibration models timed again beside the unseen ones (nine
bench runs, docs/predict.md): applied, it lost 16 points within 10% at OpenVINO fp32 in one run and 31 at torch
fp32 in another, and gained 9 to 22 in three, two of them where the machine had moved 4-5%.
"""

from __future__ import annotations

import statistics
import time

PULSE_S = 0.6  # seconds of pulse: about 1000 calls, a median good to about 1%
BLOCKS = 3
MAX_SCALE = 2.0  # past 2x either way the machine is busy, not drifting: said, not corrected


def pulse_ms(threads: int, seconds: float = PULSE_S) -> float:
    """The median milliseconds of one call of the fixed workload, on `threads` torch threads."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        generator = torch.Generator().manual_seed(0)
        a = torch.randn(384, 384, generator=generator)
        b = torch.randn(384, 384, generator=generator)
        image = torch.randn(1, 64, 28, 28, generator=generator).contiguous(memory_format=torch.channels_last)
        weight = torch.randn(64, 64, 3, 3, generator=generator).contiguous(memory_format=torch.channels_last)

        def call():
            torch.mm(a, b)
            torch.nn.functional.conv2d(image, weight, padding=1)

        samples = []
        with torch.inference_mode():
            for _ in range(20):  # warm-up: first calls pick kernels and fault pages
                call()
            for _ in range(BLOCKS):
                ends = time.perf_counter() + seconds / BLOCKS
                while time.perf_counter() < ends:
                    started = time.perf_counter_ns()
                    call()
                    samples.append((time.perf_counter_ns() - started) / 1e6)
                time.sleep(0.01)  # let the pool's spinning threads park before whatever is timed next
        return statistics.median(samples)
    finally:
        torch.set_num_threads(previous)


def reference(pulses: list[float] | None) -> float | None:
    """A table's reference pulse: the median of those taken during its calibration."""
    values = [p for p in pulses or () if p and p > 0]
    return statistics.median(values) if values else None


def speed_scale(view, here: str | None, measure=pulse_ms) -> dict:
    """{"applied", "scale", "table_pulse_ms", "pulse_ms", "reason"} for predictions from `view` on this machine
    (`here`: its device name). The scale multiplies predicted milliseconds."""
    table_pulse = reference(getattr(view, "pulses", None))
    out = {"applied": False, "scale": 1.0, "table_pulse_ms": table_pulse, "pulse_ms": None, "reason": None}
    if table_pulse is None:
        out["reason"] = "the table has no speed pulses (calibrated by an older calib): not scaled"
        return out
    if view.device != "cpu" or getattr(view, "clock", "wall") != "wall":
        out["reason"] = "the pulse is the CPU's wall-clock speed; a table of another device or clock is not scaled"
        return out
    if view.device_name and here != view.device_name:
        out["reason"] = (f"the table describes {view.device_name}, this machine is {here}: their pulses compare "
                         "two CPUs, not one CPU's drift; not scaled")
        return out
    now = measure(view.threads)
    scale = now / table_pulse
    out.update(pulse_ms=now, scale=scale)
    if not 1 / MAX_SCALE <= scale <= MAX_SCALE:
        out["reason"] = (f"the machine runs the pulse {scale:.2f}x the table's time: something else is running; "
                         "not scaled (predict on a quiet machine)")
        out["scale"] = 1.0
        return out
    out["applied"] = True
    return out


def speed_line(speed: dict) -> str:
    """One line on what the pulse did to a prediction."""
    if speed.get("applied"):
        return (f"speed: the pulse took {speed['pulse_ms']:.3f} ms now, {speed['table_pulse_ms']:.3f} ms during "
                f"calibration: predictions scaled by {speed['scale']:.3f}")
    return f"speed: {speed.get('reason')}"
