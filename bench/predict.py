"""Latency prediction on unseen architectures, per engine and precision (issue 27): calibrate on one set of
torchvision models, predict a disjoint set of 16 at batch 1 and 4 from the table (never timed for it),
then measure that set with the same engine, interleaved, and print predicted against measured.

    python bench/predict.py                       # openvino fp32, openvino bf16 (where native), torch fp32:
                                                  # about 25 min on a quiet 2-core machine
    python bench/predict.py --runs openvino:int8-static,onnxruntime:fp32,torch:int8-static
    python bench/predict.py --full                # every engine and precision, 24 unseen models, longer budgets
    python bench/predict.py --quick               # smoke: 2 calibration and 2 unseen models, seconds of timing

Per (engine, precision): `calib calibrate --backend ENGINE` writes a table (torch: the op sweep, by default
`--sweep real`, plus the calibration models' per-layer tables; openvino / onnxruntime: the engine's own
kernels, profiled in the calibration models, chosen adaptively within the budget), every unseen model is
predicted from its kernel graph (compiled, not run), then all unseen configurations are prepared by calib's
backend for the engine (as `calib run -b ENGINE`) and timed in rounds (A B C ... then ... C B A, a FixedTime
block each), so drift hits them alike, each model in a fresh process every round, as `calib run` and `calib predict
--check` time one (calib.predict.truth: a process that has run other models runs the next one slower; until the
tenth session all of them were prepared in this one, which ran depthwise models 10-40% slower). Ground truth =
median of all samples. Printed per model: predicted, interval,
measured, error; per run: the share within +-5% and +-10%, the median |error|, the share of measured
medians inside the predicted interval (its coverage), calibration seconds, and the load average before
and after (other processes' work is in every figure: run it on a quiet machine).
The machine's speed is checked before predicting as `calib predict` checks it (calib.predict.pulse, `--speed
auto`: the pulse says whether the machine moved, two calibration models timed again say by how much), and the
figures unscaled and scaled by the pulse alone are printed below each run. Anchors: the
calibration models (--anchors: all, or the first N) are timed again among the unseen ones, their table median
against now printed beside what the pulse said, and summed up as the machine's repeatability: the share of
them within +-5% and +-10% of the table is the ceiling of any prediction from that table. `--reuse-tables`
predicts from an earlier run's tables.
Targets (issue 27): >= 95% within +-10% and >= 75% within +-5% for torch fp32 / int8-static and OpenVINO
fp32 / bf16 (where native); interval coverage >= 90%; calibration under 15 minutes per engine and precision.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

# the repository root in place of bench/, whose openvino.py would shadow the openvino package
sys.path[0] = str(Path(__file__).resolve().parents[1])

from calib.predict.pulse import MODES  # noqa: E402 - light (math, statistics, time): the speed check's modes

# engine calibration candidates: calib.predict.engines.ENGINE_MODELS["full"]; torch's: the same architectures and
# the grouped-conv grid, less the engines' streaming FullyConnected samples (calib.predict.models.KERNEL_SAMPLES)
TORCH_CALIBRATION = ("resnet18", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "regnet_x_400mf",
                     "regnet_y_400mf", "shufflenet_v2_x1_0", "mnasnet1_0", "squeezenet1_1", "densenet121", "googlenet",
                     "resnext50_32x4d", "convnext_tiny", "vit_b_32", "gconv-grid")
UNSEEN = ("resnet34", "resnet50", "mobilenet_v3_small", "efficientnet_b1", "regnet_x_800mf", "regnet_y_800mf",
          "regnet_x_1_6gf", "regnet_y_1_6gf", "shufflenet_v2_x0_5", "shufflenet_v2_x1_5", "mnasnet0_5",
          "mnasnet0_75", "squeezenet1_0", "densenet169", "alexnet", "mnasnet1_3")
FULL_UNSEEN = UNSEEN + ("efficientnet_b2", "wide_resnet50_2", "convnext_small", "vit_b_16", "inception_v3",
                        "regnet_y_3_2gf", "efficientnet_v2_s", "swin_t")
QUICK = {"calibration": ("resnet18", "mobilenet_v2"), "unseen": ("mnasnet0_5", "squeezenet1_0")}
DEFAULT_RUNS = "openvino:fp32,openvino:bf16,torch:fp32"
FULL_RUNS = ("openvino:fp32,openvino:bf16,openvino:int8-static,onnxruntime:fp32,onnxruntime:int8-static,"
             "torch:fp32,torch:int8-static")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=None, help=f"engine:precision list (default {DEFAULT_RUNS})")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batches", default="1,4")
    parser.add_argument("--budget", type=float, default=None,
                        help="calibration seconds per engine and precision (default: 240 of engine measurements; "
                             "torch: its op sweep, 60)")
    parser.add_argument("--torch-sweep", choices=("real", "full"), default="real",
                        help="torch's op sweep: real (torchvision layer shapes, adaptive) or full (the designed grid)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the ground truth, each model in a fresh "
                        "process every round")
    parser.add_argument("--block", type=float, default=0.5, help="seconds per configuration per round")
    parser.add_argument("--full", action="store_true", help="every engine and precision, 24 unseen models")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 calibration, 2 unseen models")
    parser.add_argument("--calibration", default=None, help="comma-separated calibration models (override)")
    parser.add_argument("--unseen", default=None, help="comma-separated unseen models (override)")
    parser.add_argument("--out-dir", default="results/bench-predict")
    parser.add_argument("--reuse-tables", action="store_true",
                        help="predict from the tables an earlier run left in --out-dir (no calibration): the "
                             "prediction days after calibrating that users make")
    parser.add_argument("--anchors", default="all",
                        help="calibration models timed again among the unseen ones (all, or the first N): "
                             "the machine's repeatability, the ceiling of any prediction")
    parser.add_argument("--speed", choices=MODES, default="auto",
                        help="scale predictions by the machine's speed now (calib.predict.pulse), as "
                             "`calib predict --speed` does (default auto, as its default); the other readings "
                             "(unscaled, by the pulse) are printed apart")
    parser.add_argument("--pulse", action="store_true", help="same as --speed pulse")
    args = parser.parse_args()

    from calib.environment import capture
    from calib.hardware import device_report
    from calib.malloc import steady_malloc

    malloc = steady_malloc()  # as the calib command sets it (calib.malloc): timings independent of history
    runs = [tuple(item.split(":", 1)) for item in (args.runs or (FULL_RUNS if args.full else DEFAULT_RUNS)).split(",")]
    batches = tuple(int(b) for b in args.batches.split(","))
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    environment = capture(args.threads, device_report())
    print(f"machine: {environment.get('cpu_model')} ({environment.get('torch_cpu_capability')}), "
          f"{environment.get('cpu_count_logical')} logical CPUs, {args.threads} thread(s), "
          f"torch {environment['torch']}; "
          f"load average {_load()} (above 0.3 another process shares the cores: every figure carries its noise); "
          f"malloc: {malloc['mode']} ({malloc['note']})")
    started = time.perf_counter()
    summaries = []
    for engine, precision in runs:
        skipped = _not_runnable(engine, precision)
        if skipped:
            print(f"\n=== {engine} {precision}: skipped: {skipped}")
            continue
        summaries.append(run_one(engine, precision, batches, args, out_dir))
    print(f"\nbench took {time.perf_counter() - started:.0f} s; load average {_load()}")
    print(f"\n{'engine':12s} {'precision':12s} {'n':>3s} {'<=5%':>6s} {'<=10%':>6s} {'med|err|':>9s} "
          f"{'coverage':>9s} {'calib s':>8s} {'kernels':>8s} {'incomplete':>10s} {'repeat<=5%':>10s} "
          f"{'repeat<=10%':>11s}")
    for s in summaries:
        print(f"{s['engine']:12s} {s['precision']:12s} {s['n']:3d} {_pct(s['within_5']):>6s} "
              f"{_pct(s['within_10']):>6s} "
              f"{_pct(s['median_abs_error']):>9s} {_pct(s['coverage']):>9s} {s['calibration_s']:8.0f} "
              f"{s['samples']:8d} {s['incomplete']:10d} {_pct(s['repeat_within_5']):>10s} "
              f"{_pct(s['repeat_within_10']):>11s}")
    (out_dir / "summary.json").write_text(json.dumps(summaries, indent=1))
    return 0


def _not_runnable(engine: str, precision: str) -> str | None:
    from calib.backends import get_backend
    from calib.errors import CalibError

    try:
        backend = get_backend(engine)
    except CalibError as exc:
        return str(exc)
    reason = backend.unsupported_reason(precision, "cpu") if hasattr(backend, "unsupported_reason") else None
    if reason:
        return reason
    if engine == "openvino" and precision == "bf16":
        native, why = backend.bf16_native()
        return None if native else f"bf16 is not native here ({why}): the issue's target is where native"
    return None


def _models(args, torch_engine: bool):
    from calib.predict.engines import ENGINE_MODELS

    if args.quick:
        calibration, unseen = QUICK["calibration"], QUICK["unseen"]
    else:
        calibration = TORCH_CALIBRATION if torch_engine else ENGINE_MODELS["full"]
        unseen = FULL_UNSEEN if args.full else UNSEEN
    calibration = tuple(args.calibration.split(",")) if args.calibration else calibration
    unseen = tuple(args.unseen.split(",")) if args.unseen else unseen
    assert not set(calibration) & set(unseen), "calibration and unseen models must be disjoint"
    return calibration, unseen


def calibrate_table(engine, precision, calibration, batches, args, path):
    from calib.predict.calibrate import CalibrationPlan, calibrate
    from calib.predict.engine_calibrate import calibrate_engine

    if path.exists():
        path.unlink()
    quick = args.quick
    budget = args.budget or (20.0 if quick else (60.0 if engine == "torch" else 240.0) * (3 if args.full else 1))
    plan = CalibrationPlan((precision,), threads=args.threads, sweep="quick" if quick else args.torch_sweep,
                           budget_s=budget,
                           models=tuple(calibration), batch_sizes=batches, model_max_time_s=0.3 if quick else 1.0,
                           layer_budget_s=0.3 if quick else 1.0, op_budget_s=0.05 if quick else 0.25)
    started = time.perf_counter()
    report = calibrate(plan, path) if engine == "torch" else calibrate_engine(plan, engine, path)
    figures = report.per_precision[precision]
    return time.perf_counter() - started, figures, budget


def run_one(engine, precision, batches, args, out_dir) -> dict:
    import math

    from calib.environment import capture
    from calib.hardware import device_report
    from calib.predict.models import KERNEL_SAMPLES, load_named
    from calib.predict.predictor import predict_record
    from calib.predict.pulse import speed_line, speed_scale
    from calib.predict.table import device_name, load_view, predictor_of
    from calib.results.store import load_result

    calibration, unseen = _models(args, engine == "torch")
    print(f"\n=== {engine} {precision}: calibrating on {len(calibration)} candidates at batch {batches} "
          f"(load average {_load()})")
    table_path = out_dir / f"table-{engine}-{precision}.json"
    unit = "ops" if engine == "torch" else "kernels"
    if args.reuse_tables and table_path.exists():  # a table measured earlier: what a user predicts from days later
        view = load_view(table_path, precision, "cpu", engine)
        calibration_section = (load_result(table_path).get("calibration") or {}).get("tables", {}).get(precision, {})
        seconds = float(calibration_section.get("elapsed_s") or 0.0)
        figures = {"ops": sum(len(m.rows) for m in view.models) + len(view.ops)}
        print(f"calibration: reused {table_path} (written {time.ctime(table_path.stat().st_mtime)}), "
              f"{len(view.models)} model records")
    else:
        seconds, figures, budget = calibrate_table(engine, precision, calibration, batches, args, table_path)
        print(f"calibration: {figures['ops']} {unit} timed, {figures['models']} model records, {figures['skipped']} "
              f"left out; {seconds:.0f} s (budget {budget:.0f} s)")
        view = load_view(table_path, precision, "cpu", engine)
    predictor = predictor_of(view)
    print(f"table: {view.description}; whole-model factor {predictor.factor:.3f} + {predictor.overhead_ms:.3f} ms "
          f"per inference, interval "
          f"{100 * (math.exp(predictor.log_low) - 1):+.0f}% / {100 * (math.exp(predictor.log_high) - 1):+.0f}% "
          f"(split-conformal on {sum(1 for h in predictor.validation if h.get('mapped', True))} held-out "
          f"configurations; kernel samples apart; with the machine's drift between fresh processes, "
          f"+-{100 * (math.exp(predictor.drift) - 1):.0f}%)")
    speed = speed_scale(view, device_name(capture(args.threads, device_report()), "cpu"),
                        mode="pulse" if args.pulse else args.speed)
    print(speed_line(speed))
    predicted, notes = {}, []
    walk_started = time.perf_counter()
    for name in unseen:
        model = load_named(name)  # only predicted here: the ground truth loads it again in fresh processes
        for batch in batches:
            try:
                record, _ = predict_record(model, view, predictor, batch, None, speed)
            except Exception as exc:  # noqa: BLE001 - said, and the others go on
                notes.append(f"{name} b{batch}: cannot predict ({type(exc).__name__}: {str(exc)[:100]})")
                continue
            predicted[(name, batch)] = record["prediction"]
    print(f"predicted {len(predicted)} configurations in {time.perf_counter() - walk_started:.0f} s "
          f"(their graphs as the engine runs them, nothing run)")
    # anchors: calibration models timed again among the unseen ones; their table median against now says how much
    # of the error is the machine or the measuring context (calibration's against the truth's), not the model
    order = list(dict.fromkeys(sample.model for sample in view.models if sample.model not in KERNEL_SAMPLES))
    first = set(order if args.anchors == "all" else order[:int(args.anchors)])
    anchors = [(m.model, m.batch_size, m.end_to_end_ms) for m in view.models if m.model in first]
    by_round: dict = {}
    measured = measure_interleaved(engine, precision, list(predicted) + [(n, b) for n, b, _ in anchors], args,
                                   by_round)
    apart = [each / measured[key] - 1 for key, rounds in by_round.items() if len(rounds) > 1 for each in rounds]
    if apart:  # the truth against itself: a round's process against the median of all of them
        print(f"the truth's own processes: each round's median against the configuration's: {_spread(apart)} "
              f"({len(by_round)} configurations x {args.rounds} rounds; what one fresh process can be off by)")
    changes = []
    for name, batch, then in anchors:
        now = measured.get((name, batch))
        if now:
            changes.append(now / then - 1)
            said = speed["pulse_ms"] / speed["table_pulse_ms"] if speed.get("pulse_ms") else None
            print(f"anchor {name} b{batch}: {then:.3f} ms in the table, {now:.3f} ms now ({now / then:.3f}x"
                  + (f"; the pulse said {said:.3f}x)" if said else ")"))
    if changes:  # the machine repeating itself: what no prediction from this table can beat
        print(f"repeatability: the table's own {len(changes)} configurations timed again now, against the table's "
              f"medians: {_spread(changes)} (the ceiling of a prediction from this table, minutes later)")
    rows = []
    for key, p in predicted.items():
        if key in measured:
            rows.append((key, p, measured[key]))
        else:
            notes.append(f"{key[0]} b{key[1]}: could not be measured")
    print(f"\n{'model':22s} {'batch':>5s} {'predicted':>10s} {'interval':>19s} {'measured':>10s} {'error':>7s}")
    errors, inside = [], 0
    for (name, batch), p, meas in rows:
        error = p["predicted_ms"] / meas - 1
        errors.append(error)
        covered = p["low_ms"] <= meas <= p["high_ms"]
        inside += covered
        flag = ("" if covered else "  outside") + ("" if p.get("complete", True) else
                                                   f"  incomplete ({100 * p['unpredictable_flop_share']:.0f}% FLOPs)")
        interval = f"[{p['low_ms']:.2f}, {p['high_ms']:.2f}]"
        print(f"{name:22s} {batch:5d} {p['predicted_ms']:10.3f} {interval:>19s} "
              f"{meas:10.3f} {100 * error:+6.1f}%{flag}")
    for note in notes:
        print(f"  note: {note}")
    n = len(errors)
    summary = {"engine": engine, "precision": precision, "n": n,
               "within_5": sum(abs(e) <= 0.05 for e in errors) / n if n else None,
               "within_10": sum(abs(e) <= 0.10 for e in errors) / n if n else None,
               "median_abs_error": statistics.median(abs(e) for e in errors) if n else None,
               "coverage": inside / n if n else None, "calibration_s": seconds, "samples": figures["ops"],
               "incomplete": sum(1 for _, p, _ in rows if not p.get("complete", True)), "load_average": _load(),
               "repeat_n": len(changes), "repeat_within_5": _share(changes, 0.05),
               "repeat_within_10": _share(changes, 0.10),
               "truth_rounds_within_5": _share(apart, 0.05), "truth_rounds_within_10": _share(apart, 0.10)}
    print(f"{engine} {precision}: n={n}, within +-5% {_pct(summary['within_5'])}, +-10% {_pct(summary['within_10'])}, "
          f"median |error| {_pct(summary['median_abs_error'])}, interval coverage {_pct(summary['coverage'])}, "
          f"calibration {seconds:.0f} s; load average {summary['load_average']}")
    if changes and errors:  # a diagnostic, not a prediction: what the predictor gets wrong beyond the machine's move
        moved = statistics.median(1 + c for c in changes)
        beyond = [(p["unscaled_ms"] * moved) / meas - 1 for _, p, meas in rows]
        print(f"beyond the machine's move (predictions x {moved:.3f}, the anchors' median now / table): "
              f"{_spread(beyond)}")
        summary.update(anchors_moved=moved, beyond_within_5=_share(beyond, 0.05),
                       beyond_within_10=_share(beyond, 0.10))
    readings = {"unscaled": 1.0}  # the other readings: what the speed check changed, or would have
    if speed.get("pulse_ms") and speed.get("table_pulse_ms"):
        readings["by the pulse"] = speed["pulse_ms"] / speed["table_pulse_ms"]
    for label, scale in readings.items() if rows else ():
        other = [(p["unscaled_ms"] * scale) / meas - 1 for _, p, meas in rows]
        print(f"{label} (scale {scale:.3f}): {_spread(other)} (headline: {speed.get('method') or 'unscaled'}, "
              f"scale {speed['scale']:.3f}, mean error {100 * statistics.mean(errors):+.1f}%)")
    unscaled = [p["unscaled_ms"] / meas - 1 for _, p, meas in rows]
    summary.update(speed_scale=speed["scale"], speed_method=speed.get("method"),
                   unscaled_within_5=_share(unscaled, 0.05), unscaled_within_10=_share(unscaled, 0.10))
    (out_dir / f"truth-{engine}-{precision}.json").write_text(json.dumps(
        [{"model": name, "batch_size": batch, "predicted_ms": p["predicted_ms"], "unscaled_ms": p["unscaled_ms"],
          "low_ms": p["low_ms"],
          "high_ms": p["high_ms"], "measured_ms": meas, "rounds_ms": by_round.get((name, batch))}
         for (name, batch), p, meas in rows]
        + [{"model": name, "batch_size": batch, "anchor": True, "table_ms": then,
            "measured_ms": measured.get((name, batch)), "rounds_ms": by_round.get((name, batch))}
           for name, batch, then in anchors], indent=1))
    return summary


def measure_interleaved(engine, precision, targets, args, by_round: dict | None = None) -> dict:
    """{(model, batch): median ms}: each model timed in a process of its own every round (calib.predict.truth
    .time_fresh: its batch sizes prepared there by calib's backend for the engine, as `calib run -b ENGINE`), the
    models in rounds, forward then backward order, a FixedTime block per configuration. `by_round`, when given,
    is filled with {(model, batch): [each round's median ms]}: how far the truth's own processes agree."""
    from calib.errors import CalibError
    from calib.predict.truth import time_fresh

    threads, rounds, block = args.threads, args.rounds, args.block
    batches = {}
    for name, batch in targets:
        batches.setdefault(name, []).append(batch)
    order = list(batches)
    samples = {key: [] for key in targets}
    started = time.perf_counter()
    load_before = _load()
    for round_index in range(rounds):
        for name in (order if round_index % 2 == 0 else reversed(order)):
            try:
                got = time_fresh(engine, precision, name, tuple(batches[name]), threads, block)
            except CalibError as exc:
                print(f"  cannot time {name} (round {round_index + 1}): {str(exc)[:160]}")
                continue
            for batch, why in got["failed"].items():
                if round_index == 0:
                    print(f"  cannot prepare {name} b{batch}: {why}")
            for batch, values in got["samples"].items():
                samples[(name, batch)].extend(values)
                if by_round is not None and values:
                    by_round.setdefault((name, batch), []).append(statistics.median(values))
    print(f"ground truth: {len(targets)} configurations x {rounds} rounds, each model in a fresh process every "
          f"round ({block:g} s a configuration), in {time.perf_counter() - started:.0f} s, nothing else of this "
          f"bench running; load average {load_before} before, {_load()} after")
    return {key: statistics.median(values) for key, values in samples.items() if values}


def _load() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def _share(errors, bound) -> float | None:
    return sum(abs(e) <= bound for e in errors) / len(errors) if errors else None


def _spread(errors) -> str:
    """Relative errors (or changes) in one phrase: the shares within +-5% and +-10%, median |error|, mean."""
    return (f"within +-5% {_pct(_share(errors, 0.05))}, +-10% {_pct(_share(errors, 0.10))}, median |error| "
            f"{_pct(statistics.median(abs(e) for e in errors))}, mean {100 * statistics.mean(errors):+.1f}%")


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


if __name__ == "__main__":
    sys.exit(main())
