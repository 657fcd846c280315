"""The machine's speed now against its speed when the table was measured: a short fixed workload (the "pulse"),
timed during calibration and again at prediction, says whether the machine moved, and the table's own quickest
calibration models, timed again, say by how much; the prediction is scaled by it.

Why: a table is measured once and used later, and these machines' speed moves by more than the prediction's
error. On the Intel AMX machine kind (a 2-core VM) ResNet-34 under OpenVINO fp32 ran a 24.6-29.9 ms median on
one day, and one bench's unseen models came out 4% low on average in one run and 8% high in another, the
same code. A fixed compute-bound workload follows that drift: over 9 minutes (11 windows of 20 cycles) the pulse
below and six OpenVINO models' medians moved together (correlation 0.78-0.89), and divided by the pulse the
models' spread fell from 5-8% to 2-5%. A memory copy followed them worse (0.36-0.76).

The workload: a 384x384 fp32 matrix product and a 3x3 convolution on 64 channels at 28x28, with the table's
thread count, on torch (always installed; any engine's kernels share the cores, caches and clock it measures).
Its median over PULSE_S seconds, in blocks between which the threads rest, is one pulse. Calibration takes one
before each calibration model and one at the end; their median is the table's reference.

`calib predict` checks the speed by default (mode "auto"), on the same device (by name) only: it takes a pulse,
and if the pulse moved past MOVED either way it times the table's ANCHORS quickest calibration models again
(fresh processes, the table's engine and precision, each at its calibrated batch sizes, seconds). The pulse and
the anchors' median now / table are two readings of one move: the prediction and its interval are scaled by the
smaller of the two, and not at all when they disagree on its direction (the interval then widened by the
larger); the anchors' spread around the scale widens the interval. On another device, or when the table has no
pulses (older tables), nothing is scaled and the record says why.

Why the anchors and not the pulse alone: the pulse is fp32 torch, and the models' move depends on the engine and
precision. Hours after calibrating (Intel AMX machine kind, 2026-12-07, tables 1-13 hours old, four calibration
models timed again at batch 1 and 4): the models ran 1.16-1.48x their table medians; the pulse said 1.09-1.42x,
off the models' median by -10% to +11% (int8 tables undershot most), and ResNet-18 at both batch sizes, timed again,
was within 2.5% of it on the six tables timed so. Predicting unseen models from a 4-hour-old torch int8-static table with
--check: unscaled 0 of 10 within +-10% (-15% to -28%), scaled by the anchors 6 of 10 (every one within +-15%, all
inside the interval); from a 7-hour-old OpenVINO fp32 table: 2 of 10 unscaled, 8 of 10 scaled (9 by the pulse).
A check scales for its moment: in a bench whose ground truth took the 13 minutes after it, the machine came back
10% meanwhile and the anchors' 1.51x over-shot the models' 1.32x (the pulse's 1.39x less so; docs/predict.md).

Why the smaller of the two: each reading is off by 10-20% at times, and the quickest models, which the anchors
are, moved most. On the AMD Zen 5 machine kind (2026-12-07, bench/predict.py minutes after calibrating) the two
quickest anchors read 0.756x (OpenVINO bf16) and 0.825x (torch int8-static) while their pulses read 0.926x and
0.943x and every calibration model timed beside the unseen ones read 0.940x and 0.978x in median: scaled by the
anchors 12% / 22% within 5% / 10% both times, by the pulse 38% / 53% and 31% / 53%, unscaled 19% / 44% and 38% /
62%. On the Intel AMX machine kind the anchors' 1.51x over-shot too (the pulse 1.39x, the models 1.32x), and in
one bench an hour after calibrating the pulse's 1.085x did (the anchors 1.005x, the models 1.036x). The smaller
reading did better than the larger, or as well, in every case recorded (not always better than no scale); that the
machine moved at least so far is what both say.

Why the pulse only decides, and within 5% nothing is scaled: minutes after calibrating (the bench's case) the
drift is mostly 1-3%, and the pulse's reading of it was off by up to 4% against the calibration models timed
again beside the unseen ones (nine bench runs, docs/predict.md): applied, it lost 16 points within 10% at OpenVINO
fp32 in one run and 31 at torch fp32 in another. In one bench an hour after calibrating, the pulse said 1.085x
while the calibration models' median had moved 1.036x (single models 0.88-1.19x); the two quickest anchors said
1.005x.
"""

from __future__ import annotations

import math
import statistics
import time

PULSE_S = 0.6  # seconds of pulse: about 1000 calls, a median good to about 1%
BLOCKS = 3
MAX_SCALE = 2.0  # past 2x either way the machine is busy, not drifting: said, not corrected
MOVED = 0.05  # auto: a pulse past 5% either way says the machine moved (its own error minutes apart: up to 4%)
ANCHORS = 2  # calibration models timed again when it moved
ANCHOR_BLOCK_S = 1.0  # seconds of timing per anchor configuration
MODES = ("auto", "pulse", "anchors", "off")


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


def speed_scale(view, here: str | None, measure=pulse_ms, mode: str = "auto", anchors=None) -> dict:
    """{"applied", "scale", "method", "table_pulse_ms", "pulse_ms", "anchors", "anchors_s", "spread", "reason"} for
    predictions from `view` on this machine (`here`: its device name). The scale multiplies predicted
    milliseconds; "spread" (log units) is how far the anchors' ratios lie from it.

    mode "pulse": scaled by the pulse. "anchors": scaled by the table's anchors timed again (anchor_ratios).
    "auto" (calib predict's default): the pulse decides whether the machine moved (beyond MOVED either way); if
    it did, the anchors are timed and the smaller of the two moves scales (none when they disagree on the
    direction); if it did not, nothing is scaled. `anchors` times them (default anchor_ratios; tests pass their
    own)."""
    if mode not in MODES:
        raise ValueError(f"speed mode {mode!r}: one of {', '.join(MODES)}")
    table_pulse = reference(getattr(view, "pulses", None))
    out = {"applied": False, "scale": 1.0, "method": None, "table_pulse_ms": table_pulse, "pulse_ms": None,
           "anchors": [], "anchors_s": None, "spread": 0.0, "reason": None}
    if mode == "off":
        out["reason"] = "not scaled (--speed off)"
        return out
    if view.device != "cpu" or getattr(view, "clock", "wall") != "wall":
        out["reason"] = "the pulse is the CPU's wall-clock speed; a table of another device or clock is not scaled"
        return out
    if view.device_name and here != view.device_name:
        out["reason"] = (f"the table describes {view.device_name}, this machine is {here}: their speeds compare "
                         "two CPUs, not one CPU's drift; not scaled")
        return out
    if table_pulse is None and mode != "anchors":
        out["reason"] = "the table has no speed pulses (calibrated by an older calib): not scaled"
        return out
    pulse = None  # the pulse's now / table
    if table_pulse is not None:
        now = measure(view.threads)
        pulse = now / table_pulse
        out.update(pulse_ms=now)
        if not 1 / MAX_SCALE <= pulse <= MAX_SCALE:
            out["reason"] = (f"the machine runs the pulse {pulse:.2f}x the table's time: something else is "
                             "running; not scaled (predict on a quiet machine)")
            return out
        if mode == "pulse":
            out.update(applied=True, scale=pulse, method="pulse")
            return out
        if mode == "auto" and abs(math.log(pulse)) <= math.log(1 + MOVED):
            out["reason"] = (f"the pulse took {now:.3f} ms now, {table_pulse:.3f} ms during calibration "
                             f"({pulse:.3f}x, within {100 * MOVED:.0f}%: the machine runs as it did): not scaled")
            return out
    started = time.perf_counter()
    timed = (anchors or anchor_ratios)(view)
    out.update(anchors=timed, anchors_s=time.perf_counter() - started)
    ratios = [a["now_ms"] / a["table_ms"] for a in timed]
    if not ratios:
        if mode == "auto" and pulse:  # no anchor could be timed: the pulse, said so
            out.update(applied=True, scale=pulse, method="pulse")
            out["reason"] = "no calibration model of the table could be timed again: scaled by the pulse"
            return out
        out["reason"] = "no calibration model of the table could be timed again: not scaled"
        return out
    scale = statistics.median(ratios)
    method = "anchors"
    if mode == "auto" and pulse:  # two readings of one move: the smaller, and none if they disagree
        if math.log(pulse) * math.log(scale) <= 0:
            out.update(spread=max(abs(math.log(pulse)), abs(math.log(scale))), reason=(
                "the pulse and the table's models disagree on which way the machine moved: not scaled, the "
                "interval widened by the larger move"))
            return out
        if abs(math.log(pulse)) < abs(math.log(scale)):
            out["reason"] = f"the smaller of the two moves; the table's models said {scale:.3f}x"
            scale, method = pulse, "pulse"
    # how differently they moved: the interval holds it (calib.predict.predictor), as models moved unequally
    out.update(applied=True, scale=scale, method=method, spread=max(abs(math.log(r / scale)) for r in ratios))
    return out


def anchor_ratios(view, count: int = ANCHORS, block_s: float = ANCHOR_BLOCK_S, names: list[str] | None = None,
                  rounds: int = 1) -> list[dict]:
    """The table's anchors timed again now: [{"model", "batch_size", "now_ms", "table_ms"}]. The anchors are
    the `count` calibration models of the table with the smallest summed end-to-end time (the quickest to time
    again), or those `names` (all of them that the table holds), each at the batch sizes it was calibrated at,
    timed in a fresh process by the table's engine as its ground truth is (calib.predict.truth.time_fresh: `rounds`
    blocks of `block_s` seconds); a model that cannot be loaded or prepared here is passed over for the next."""
    from calib.predict.models import KERNEL_SAMPLES
    from calib.predict.truth import time_fresh

    by_model: dict[str, dict[int, float]] = {}
    for sample in view.models:
        if sample.model not in KERNEL_SAMPLES and sample.end_to_end_ms:
            by_model.setdefault(sample.model, {})[sample.batch_size] = float(sample.end_to_end_ms)
    if names is not None:
        order, count = [name for name in names if name in by_model], len(names)
    else:
        order = sorted(by_model, key=lambda n: sum(by_model[n].values()))[:count + 2]  # two may fail here
    out = []
    for name in order:
        if len({a["model"] for a in out}) >= count:
            break
        try:
            timed = time_fresh(view.backend, view.precision, name, tuple(sorted(by_model[name])), view.threads,
                               block_s, rounds)
        except Exception:  # noqa: BLE001 - a model this machine cannot build or run: the next one
            continue
        for batch, samples in sorted(timed["samples"].items()):
            if samples:
                out.append({"model": name, "batch_size": batch, "now_ms": statistics.median(samples),
                            "table_ms": by_model[name][batch]})
    return out


def speed_line(speed: dict) -> str:
    """One line on what the speed check did to a prediction."""
    if speed.get("anchors"):
        shown = ", ".join(f"{a['model']} b{a['batch_size']} {a['now_ms'] / a['table_ms']:.3f}x"
                          for a in speed["anchors"])
        pulse = (f"the pulse took {speed['pulse_ms']:.3f} ms now, {speed['table_pulse_ms']:.3f} ms during "
                 f"calibration ({speed['pulse_ms'] / speed['table_pulse_ms']:.3f}x); "
                 if speed.get("pulse_ms") and speed.get("table_pulse_ms") else "")
        told = (f"predictions scaled by {speed['scale']:.3f}" + (f", the pulse's: {speed['reason']}"
                                                                 if speed.get("method") == "pulse" else "")
                if speed.get("applied") else speed.get("reason") or "not scaled")
        return (f"speed: {pulse}the table's models timed again ({speed.get('anchors_s') or 0:.0f} s) run at {shown}: "
                f"{told}")
    if speed.get("applied"):
        return (f"speed: the pulse took {speed['pulse_ms']:.3f} ms now, {speed['table_pulse_ms']:.3f} ms during "
                f"calibration: predictions scaled by {speed['scale']:.3f}"
                + (f" ({speed['reason']})" if speed.get("reason") else ""))
    return f"speed: {speed.get('reason')}"
