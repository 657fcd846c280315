"""Transfer (issue 27, item 5): how close `calib calibrate --from THEIR_TABLE` with a small budget gets to a full
calibration, and with how many measurements on this device.

    python bench/transfer.py                               # openvino fp32: about 20 min on a quiet 2-core machine
    python bench/transfer.py --engine onnxruntime --budget 30
    python bench/transfer.py --quick                       # smoke: 2 calibration and 2 unseen models

One machine stands in for two devices: the source table is calibrated here at --source-threads (default 1), the
target is this machine at --threads (default: every core). Kernels do not all speed up alike with a second thread
(a large convolution nearly 2x, a small reorder hardly), so the per-kind ratio transfer learns has work to do.
Another real device (another ISA, another engine version) differs more than this, so what this bench shows is
transfer between two similar devices, the case LitePred transfers for, not between any two.

On the target, four tables predict the same unseen models:
  full      calibrated from nothing with the full budget (what transfer is to match)
  transfer  --from the source table, --budget seconds of measurement here
  small     --budget seconds, no source (what the source table adds)
  source    the source table itself, unscaled (what the scaling adds)
Then the unseen models are measured at --threads, interleaved (bench/predict.py's measure_interleaved), with the
full table's first --anchors calibration models timed again among them (the machine's repeatability: the ceiling
of any prediction). Printed per table: within +-5% / +-10%, median |error|, the interval's coverage, the records
(model x batch) and kernel rows measured on the target, and calibration seconds; the load average beside.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

# the repository root in place of bench/ (whose openvino.py would shadow the openvino package), as bench/predict.py
sys.path[0] = str(Path(__file__).resolve().parents[1])


def _bench_predict():
    """bench/predict.py as a module (bench/ stays off sys.path): its model lists and interleaved ground truth."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_predict", Path(__file__).with_name("predict.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_predict_bench = _bench_predict()
QUICK, UNSEEN, _load, _pct, _share = (_predict_bench.QUICK, _predict_bench.UNSEEN, _predict_bench._load,
                                      _predict_bench._pct, _predict_bench._share)
measure_interleaved = _predict_bench.measure_interleaved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=("openvino", "onnxruntime"), default="openvino")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--source-threads", type=int, default=1, help="the stand-in source device's threads")
    parser.add_argument("--budget", type=float, default=45.0, help="seconds of measurement for transfer and small")
    parser.add_argument("--full-budget", type=float, default=240.0, help="seconds for the full and source tables")
    parser.add_argument("--batches", default="1,4")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each model in a fresh process every round")
    parser.add_argument("--block", type=float, default=0.5)
    parser.add_argument("--anchors", type=int, default=4)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out-dir", default="results/bench-transfer")
    args = parser.parse_args()
    if args.source_threads == args.threads:
        parser.error("--source-threads must differ from --threads: the stand-in source device is the other count")

    from calib.malloc import steady_malloc
    from calib.predict.engines import ENGINE_MODELS

    malloc = steady_malloc()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    batches = tuple(int(b) for b in args.batches.split(","))
    calibration = QUICK["calibration"] if args.quick else ENGINE_MODELS["full"]
    unseen = QUICK["unseen"] if args.quick else UNSEEN
    full_budget, budget = (20.0, 10.0) if args.quick else (args.full_budget, args.budget)
    print(f"{args.engine} {args.precision}: source = this machine at {args.source_threads} thread(s), target at "
          f"{args.threads}; {len(unseen)} unseen models at batch {batches}; load average {_load()}; malloc "
          f"{malloc['mode']}")
    started = time.perf_counter()
    paths = {name: out / f"table-{name}.json" for name in ("source", "full", "transfer", "small")}
    tables = {}
    for name, threads, seconds, source in (("source", args.source_threads, full_budget, None),
                                           ("full", args.threads, full_budget, None),
                                           ("transfer", args.threads, budget, paths["source"]),
                                           ("small", args.threads, budget, None)):
        tables[name] = _calibrate(args, calibration, batches, threads, seconds, source, paths[name], quick=args.quick)
        t = tables[name]
        print(f"{name:9s} {threads} thread(s), budget {seconds:.0f} s: {t['models']} records, {t['ops']} kernel rows "
              f"measured here, {t['seconds']:.0f} s; load average {_load()}"
              + (f"; scaled {t['transfer']['rows']} source rows (overall ratio {t['transfer']['overall_ratio']:.3f})"
                 if t.get("transfer") else ""))
    from calib.predict.models import load_named
    from calib.predict.table import load_view

    # built once, predicted from every table (measured in fresh processes)
    loaded = {name: load_named(name) for name in unseen}
    predicted = {name: _predict(args, paths[name], loaded, batches) for name in tables}
    view = load_view(paths["full"], args.precision, "cpu", args.engine)
    order = list(dict.fromkeys(m.model for m in view.models))[:args.anchors]
    anchors = [(m.model, m.batch_size, m.end_to_end_ms) for m in view.models if m.model in order]
    targets = [(name, batch) for name in unseen for batch in batches]
    measured = measure_interleaved(args.engine, args.precision, targets + [(n, b) for n, b, _ in anchors], args)
    changes = [measured[(n, b)] / then - 1 for n, b, then in anchors if (n, b) in measured]
    if changes:
        print(f"repeatability: the full table's {len(changes)} configurations timed again: within +-5% "
              f"{_pct(_share(changes, 0.05))}, +-10% {_pct(_share(changes, 0.10))} (the ceiling of any prediction)")
    print(f"\n{'model':22s} {'batch':>5s} {'measured':>9s} " + " ".join(f"{name:>9s}" for name in tables))
    errors = {name: [] for name in tables}
    inside = {name: 0 for name in tables}
    for key in targets:
        if key not in measured:
            continue
        cells = []
        for name in tables:
            p = predicted[name].get(key)
            if p is None:
                cells.append(f"{'-':>9s}")
                continue
            error = p["predicted_ms"] / measured[key] - 1
            errors[name].append(error)
            inside[name] += p["low_ms"] <= measured[key] <= p["high_ms"]
            cells.append(f"{100 * error:+8.1f}%")
        print(f"{key[0]:22s} {key[1]:5d} {measured[key]:9.3f} " + " ".join(cells))
    (out / "truth.json").write_text(json.dumps([{"model": n, "batch_size": b, "measured_ms": measured[(n, b)]}
                                                for n, b in targets if (n, b) in measured], indent=1))
    print(f"\nbench took {time.perf_counter() - started:.0f} s; load average {_load()}")
    print(f"{'table':9s} {'n':>3s} {'<=5%':>6s} {'<=10%':>6s} {'med|err|':>9s} {'coverage':>9s} {'records':>8s} "
          f"{'kernels':>8s} {'calib s':>8s}")
    for name, t in tables.items():
        e = errors[name]
        print(f"{name:9s} {len(e):3d} {_pct(_share(e, 0.05)):>6s} {_pct(_share(e, 0.10)):>6s} "
              f"{_pct(statistics.median(abs(x) for x in e) if e else None):>9s} "
              f"{_pct(inside[name] / len(e) if e else None):>9s} {t['models']:8d} {t['ops']:8d} {t['seconds']:8.0f}")
    print("records / kernels: measured on the target (the source's are its own device's); the source row predicts "
          f"the target from the {args.source_threads}-thread table unscaled")
    return 0


def _calibrate(args, calibration, batches, threads, budget, source, path, quick) -> dict:
    from calib.predict.calibrate import CalibrationPlan
    from calib.predict.engine_calibrate import calibrate_engine
    from calib.results.store import load_result

    if path.exists():
        path.unlink()
    plan = CalibrationPlan((args.precision,), threads=threads, budget_s=budget, models=tuple(calibration),
                           batch_sizes=batches, model_max_time_s=0.3 if quick else 1.0,
                           layer_budget_s=0.3 if quick else 1.0, from_table=str(source) if source else None)
    started = time.perf_counter()
    report = calibrate_engine(plan, args.engine, path)
    figures = report.per_precision[args.precision]
    section = load_result(path)["calibration"]["tables"][args.precision]
    return {"models": figures["models"], "ops": figures["ops"], "seconds": time.perf_counter() - started,
            "transfer": section.get("transfer")}


def _predict(args, path, loaded, batches) -> dict:
    from calib.predict.predictor import predict_record
    from calib.predict.table import load_view, predictor_of

    view = load_view(path, args.precision, "cpu", args.engine)
    predictor = predictor_of(view)
    out = {}
    for name, model in loaded.items():
        for batch in batches:
            try:
                record, _ = predict_record(model, view, predictor, batch, None)
            except Exception as exc:  # noqa: BLE001 - said, the others go on
                print(f"  {path.stem}: {name} b{batch}: cannot predict ({type(exc).__name__}: {str(exc)[:100]})")
                continue
            out[(name, batch)] = record["prediction"]
    return out


if __name__ == "__main__":
    sys.exit(main())
