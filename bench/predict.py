"""Latency prediction on unseen architectures (issue 18): calibrate on one set of torchvision models
plus the op sweep, predict a disjoint set, measure that set interleaved, print predicted vs measured.

    python bench/predict.py                      # fp32 + int8-static on 12 unseen models, bf16 on 5
                                                 # (on a busy shared 2-core box: fp32 ~17 min, int8 ~40, bf16 ~25;
                                                 #  --precisions fp32 --sweep-budget 60 --rounds 3 is the short run)
    python bench/predict.py --precisions fp32 --sweep-budget 60
    python bench/predict.py --full               # the full sweep, every model at every precision

Per precision: `calib.predict.calibrate` writes a table (isolated op sweep + the calibration models'
per-layer tables at batch 1 and the larger batch), then every unseen model is walked and predicted
from the table (never timed for it), then all unseen configurations are measured in rounds
(A B C ... then C B A ...: a FixedTime block each, calib.timing.engine), so the machine's drift
hits them alike and does not count as prediction error. Ground truth = median of all samples.
The anchor (a calibration model) is measured in the same rounds: anchor now / anchor in the table
says how far the machine drifted between calibration and checking (printed, and a drift-adjusted
share beside the raw one).
Targets: fp32 >= 90% of unseen models within +-10%; bf16 and int8-static >= 80% within +-15%.
"""

from __future__ import annotations

import argparse
import os
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CALIBRATION_MODELS = ("resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0",
                      "shufflenet_v2_x1_0", "squeezenet1_0", "regnet_x_400mf")
UNSEEN_MODELS = ("resnet34", "resnext50_32x4d", "mobilenet_v3_large", "mnasnet1_0", "mnasnet0_5", "efficientnet_b1",
                 "regnet_y_400mf", "regnet_x_800mf", "shufflenet_v2_x0_5", "squeezenet1_1", "googlenet", "alexnet")
# emulated bf16 is 8-50x slower than fp32 here: the small models only, unless --full
BF16_CALIBRATION = ("mobilenet_v3_small", "shufflenet_v2_x1_0", "squeezenet1_0", "mobilenet_v2")
BF16_UNSEEN = ("mnasnet0_5", "shufflenet_v2_x0_5", "squeezenet1_1", "mobilenet_v3_large", "regnet_y_400mf")
TARGETS = {"fp32": 0.10, "bf16": 0.15, "int8-static": 0.15}
ANCHOR = "resnet18"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precisions", default="fp32,int8-static,bf16")
    parser.add_argument("--threads", type=int, default=1,
                        help="1 by default: on a shared 2-core machine two OpenMP threads wait on each other")
    parser.add_argument("--large-batch", type=int, default=4)
    parser.add_argument("--sweep-budget", type=float, default=None, help="seconds per precision for the op sweep")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--block", type=float, default=0.3, help="seconds per configuration per round")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="cpu (default): thread CPU time, 1 thread, so other helpers' load on this shared "
                             "machine does not count; wall: the host wall clock")
    parser.add_argument("--full", action="store_true", help="full sweep, all models at every precision")
    parser.add_argument("--out-dir", default="results/bench-predict")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    overall = {}
    started = time.perf_counter()
    from calib.environment import capture
    from calib.hardware import device_report

    environment = capture(args.threads, device_report())
    print(f"machine: {environment.get('cpu_model')} ({environment.get('torch_cpu_capability')}), "
          f"{environment.get('cpu_count_logical')} logical CPUs, {args.threads} thread(s), clock {args.clock}, "
          f"torch {environment['torch']}; load average {os.getloadavg()[0]:.1f} (other processes: above the "
          "threads used, the figures carry their noise)")
    for precision in [p.strip() for p in args.precisions.split(",") if p.strip()]:
        bf16 = precision == "bf16" and not args.full
        calibration = BF16_CALIBRATION if bf16 else CALIBRATION_MODELS
        unseen = BF16_UNSEEN if bf16 else UNSEEN_MODELS
        batches = (1, 2) if bf16 else (1, args.large_batch)
        assert not set(calibration) & set(unseen)
        overall[precision] = run_precision(precision, calibration, unseen, batches, args, out_dir)
    print(f"\nbench took {time.perf_counter() - started:.0f} s")
    print("\nsummary (unseen models, both batch sizes):")
    for precision, figures in overall.items():
        print(f"  {precision:12s} {figures}")
    return 0


def run_precision(precision, calibration, unseen, batches, args, out_dir) -> str:
    from calib.predict.calibrate import CalibrationPlan, calibrate
    from calib.predict.models import load_named
    from calib.predict.predictor import predict_record
    from calib.predict.table import load_view, predictor_of

    budget = args.sweep_budget or ({"fp32": 120.0, "int8-static": 180.0, "bf16": 60.0}.get(precision, 120.0)
                                   if not args.full else 900.0)
    print(f"\n=== {precision}: calibrating on {', '.join(calibration)} at batch {batches} "
          f"+ op sweep (budget {budget:.0f} s)")
    table_path = out_dir / f"table-{precision}.json"
    if table_path.exists():
        table_path.unlink()
    plan = CalibrationPlan((precision,), threads=args.threads, sweep="full", budget_s=budget,
                           models=tuple(calibration), batch_sizes=tuple(batches), model_max_time_s=1.5,
                           layer_budget_s=1.5, clock=args.clock)
    report = calibrate(plan, table_path)
    figures = report.per_precision[precision]
    print(f"calibration: {figures['ops']} ops in {figures['sweep_s']:.0f} s ({figures['skipped']} left out), "
          f"{figures['models']} model records in {figures['models_s']:.0f} s; total {report.elapsed_s:.0f} s")
    view = load_view(table_path, precision, "cpu")
    predictor = predictor_of(view)
    print(f"table: {view.description}; whole-model factor {predictor.factor:.3f}, "
          f"interval {100 * (math.exp(predictor.log_low) - 1):+.0f}% / "
          f"{100 * (math.exp(predictor.log_high) - 1):+.0f}%"
          " (leave-one-model-out)")
    anchor_ms = {m.batch_size: m.end_to_end_ms for m in view.models if m.model == ANCHOR}

    predicted, prepared, notes = {}, {}, []
    walk_started = time.perf_counter()
    for name in unseen:
        model = load_named(name)
        for batch in batches:
            try:
                record, prediction = predict_record(model, view, predictor, batch, None)
            except Exception as exc:  # noqa: BLE001
                notes.append(f"{name} b{batch}: cannot predict ({type(exc).__name__}: {str(exc)[:100]})")
                continue
            predicted[(name, batch)] = record["prediction"]
    print(f"predicted {len(predicted)} configurations in {time.perf_counter() - walk_started:.0f} s (graph walks)")
    targets = list(predicted)
    if anchor_ms:
        targets.append((ANCHOR, 1))
    measured = measure_interleaved(targets, precision, args)
    rows = []
    for key in predicted:
        if key not in measured:
            notes.append(f"{key[0]} b{key[1]}: could not be measured")
            continue
        p = predicted[key]
        rows.append((key, p["predicted_ms"], p["low_ms"], p["high_ms"], measured[key]))
    drift = measured.get((ANCHOR, 1)) / anchor_ms[1] if anchor_ms.get(1) and (ANCHOR, 1) in measured else None
    print(f"\n{'model':22s} {'batch':>5s} {'predicted':>10s} {'interval':>19s} {'measured':>10s} {'error':>7s}")
    errors, adjusted = [], []
    for (name, batch), pred, low, high, meas in rows:
        error = pred / meas - 1
        errors.append(error)
        if drift:
            adjusted.append(pred * drift / meas - 1)
        inside = "" if low <= meas <= high else "  (outside interval)"
        print(f"{name:22s} {batch:5d} {pred:10.2f} {f'[{low:.2f}, {high:.2f}]':>19s} {meas:10.2f} "
              f"{100 * error:+6.1f}%{inside}")
    for note in notes:
        print(f"  note: {note}")
    import json

    (out_dir / f"truth-{precision}.json").write_text(json.dumps(
        [{"model": name, "batch_size": batch, "predicted_ms": pred, "low_ms": low, "high_ms": high,
          "measured_ms": meas} for (name, batch), pred, low, high, meas in rows], indent=1))
    target = TARGETS.get(precision, 0.15)
    summary = shares(errors, target)
    print(f"{precision}: {summary}")
    if drift:
        print(f"anchor {ANCHOR} b1: table {anchor_ms[1]:.2f} ms, now {measured[(ANCHOR, 1)]:.2f} ms "
              f"(drift x{drift:.3f});"
              f" drift-adjusted: {shares(adjusted, target)}")
    inside = sum(1 for _, _, low, high, meas in rows if low <= meas <= high)
    print(f"measured inside the predicted interval: {inside}/{len(rows)}")
    return summary


def shares(errors: list[float], target: float) -> str:
    if not errors:
        return "no model predicted"
    n = len(errors)

    def within(limit):
        return sum(1 for e in errors if abs(e) <= limit) / n

    return (f"n={n}: within +-10% {100 * within(0.10):.0f}%, +-15% {100 * within(0.15):.0f}%, "
            f"+-20% {100 * within(0.20):.0f}%; median |error| {100 * statistics.median(abs(e) for e in errors):.1f}%"
            f" (target: {100 * target:.0f}% band)")


def measure_interleaved(targets, precision, args) -> dict:
    """{(model, batch): median ms}, every configuration prepared by calib's torch backend, then timed
    in rounds, forward then backward order, a FixedTime block each."""
    import torch

    from calib.backends.base import RunConfig
    from calib.backends.torch_eager import prepare
    from calib.predict.models import load_named
    from calib.settings import Int8Settings
    from calib.predict.clock import ThreadTimeTimer
    from calib.timing.clock import PerfCounterTimer
    from calib.timing.engine import FixedTime, Warmup, measure

    prepared, samples = {}, {}
    loaded = {}
    for name, batch in targets:
        try:
            model = loaded.get(name) or load_named(name)
            loaded[name] = model
            config = RunConfig(precision=precision, device="cpu", batch_size=batch, threads=args.threads,
                               int8=Int8Settings(path="fx"))
            prepared[(name, batch)] = prepare(model, config)
            samples[(name, batch)] = []
        except Exception as exc:  # noqa: BLE001
            print(f"  cannot prepare {name} b{batch}: {type(exc).__name__}: {str(exc)[:100]}")
    timer = ThreadTimeTimer() if args.clock == "cpu" else PerfCounterTimer()
    order = list(prepared)
    measure_started = time.perf_counter()
    with torch.inference_mode():
        for key in order:
            measure(prepared[key].run, timer, stop=FixedTime(0.05, min_count=1),
                    warmup=Warmup(min_count=2, min_time_s=0.1, max_time_s=1.0))
        for round_index in range(args.rounds):
            for key in (order if round_index % 2 == 0 else reversed(order)):
                result = measure(prepared[key].run, timer, stop=FixedTime(args.block, min_count=3),
                                 warmup=Warmup(min_count=1, min_time_s=0.0, max_time_s=0.5))
                samples[key].extend(result.samples_ms)
    for item in prepared.values():
        item.release()
    print(f"ground truth: {len(order)} configurations x {args.rounds} rounds in "
          f"{time.perf_counter() - measure_started:.0f} s")
    return {key: statistics.median(values) for key, values in samples.items() if values}


if __name__ == "__main__":
    sys.exit(main())
