"""calib's load scenarios against the tools users know, on the same model file, in one session.

    .venv/bin/python bench/scenarios.py            # resnet18 + bert-base, about 10 minutes on 2 cores
    .venv/bin/python bench/scenarios.py --quick    # resnet18, OpenVINO only, short blocks: a smoke (< 2 min)

Offline (issue 28's target: calib's offline throughput >= benchmark_app's throughput mode):
- calib: `calib run -m MODEL --scenario offline -b openvino,onnxruntime,torch -p fp32 --batch-size 1,4`
  in a child process: for each engine calib's own search of batch x streams x threads per stream.
  OpenVINO and ONNX Runtime read calib's cached ONNX export of the catalog model, the file benchmark_app
  gets (the record's onnx_source is printed to show it).
- benchmark_app on that file at f32 (`-infer_precision f32`: its CPU default on AMX is bf16; `-ip f32` for
  images, as calib feeds f32): `-hint throughput`, and by hand every -nstreams {1, 2} x -nireq {n, 2n} x
  batch {1, 4} with `-hint none` (-nireq 2n at batch 1 only), the best kept. Figures are items/s
  (benchmark_app's "Throughput: N FPS" counts frames, batch x requests).
Each round runs the sides in turn, the order flipped every round; the verdict reads the median of the
rounds. ONNX Runtime and torch are shown beside OpenVINO, not judged: benchmark_app runs OpenVINO only.

Server (target: calib's percentiles within 5% of a hand-written loop's):
- the hand-written loop: OpenVINO alone on the same file (f32, latency hint, the same threads), arrivals from
  numpy's exponential gaps with the same seed and rate as calib's schedule, sleep-then-spin to each arrival,
  `request.infer()`, latency = completion - arrival. Written here, sharing no code with calib.scenarios.
- calib: `calib run --scenario server --target-qps Q -b openvino`, the same seed and length.
On resnet18 only by default (--server-models). Q is 30% and 60% of the rate one request serves back to
back (measured by the hand loop first). The p50/p90/p99 of both are the plain percentiles of the raw
latencies (np.percentile); calib's early-stopping p99 is printed beside. Every figure carries the load
average (os.getloadavg) when it was taken.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # run as a script: this folder's openvino.py must not shadow the package

SEED = 20261205  # calib.scenarios.settings.DEFAULT_SEED: both sides replay the same arrivals
_FPS = re.compile(r"Throughput:\s+([\d.]+)\s*FPS")
OFFLINE_TARGET = 1.0  # calib / benchmark_app -hint throughput, at least
SERVER_TOLERANCE = 0.05


def _parse():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="resnet18,bert-base")
    parser.add_argument("--engines", default="openvino,onnxruntime,torch")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=3, help="benchmark_app -t per setting (whole seconds)")
    parser.add_argument("--scenario-time", type=float, default=1.5, help="calib --scenario-time per point")
    parser.add_argument("--batch-sizes", default="1,4")
    parser.add_argument("--server-seconds", type=float, default=15.0,
                        help="per rate, side and round (percentiles pool the rounds: a p99 wants many hundreds)")
    parser.add_argument("--server-models", default="resnet18",
                        help="models the server comparison runs on (a p99 needs a few hundred queries: bert-base "
                             "serves a few per second here)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="resnet18, OpenVINO, one round, short blocks")
    args = parser.parse_args()
    if args.quick:
        args.models, args.engines, args.rounds, args.seconds = "resnet18", "openvino", 1, 1
        args.scenario_time, args.batch_sizes, args.server_seconds = 0.5, "1", 2.0
    return args


def load() -> str:
    return "load %.2f" % os.getloadavg()[0]


def benchmark_app() -> str:
    beside = Path(sys.executable).parent / "benchmark_app"
    found = str(beside) if beside.exists() else shutil.which("benchmark_app")
    if not found:
        sys.exit("benchmark_app not found: pip install 'calib-bench[openvino]' (the openvino wheel ships it)")
    return found


def exported(model_name: str) -> tuple[Path, object]:
    """calib's cached ONNX export of the catalog model: the file calib's OpenVINO and ONNX Runtime read."""
    from calib.backends.onnx_export import export_model
    from calib.models.loader import load_any

    model = load_any(model_name)
    return export_model(model).path, model


def benchmark_app_fps(path: Path, model, batch: int, seconds: float, threads: int, *, hint: str,
                      nstreams: int | None = None, nireq: int | None = None) -> float:
    shape = [batch, *model.item_shape]
    command = [benchmark_app(), "-m", str(path), "-d", "CPU", "-hint", hint, "-infer_precision", "f32",
               "-t", str(max(1, round(seconds))), "-shape", json.dumps(shape).replace(" ", "")]
    if hint == "none":  # benchmark_app takes -nthreads only without a hint; with one it uses every core
        command += ["-nthreads", str(threads)]
    if model.input_kind == "image":
        command += ["-ip", "f32"]
    if nstreams:
        command += ["-nstreams", str(nstreams)]
    if nireq:
        command += ["-nireq", str(nireq)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    found = _FPS.search(done.stdout)
    if done.returncode != 0 or not found:
        raise RuntimeError(f"benchmark_app failed: {(done.stdout + done.stderr)[-600:]}")
    return float(found.group(1))


def calib_run(model_name: str, engine: str, extra: list[str], threads: int) -> dict:
    """One `calib run` in a child process (engines comma-separated); its records by engine."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run.json"
        command = [sys.executable, "-m", "calib", "run", "-m", model_name, "-b", engine, "-p", "fp32", "--no-tune",
                   "-q", "--threads", str(threads), "--out", str(out), *extra]
        done = subprocess.run(command, capture_output=True, text=True, timeout=1200)
        if not out.exists():
            raise RuntimeError(f"calib run failed: {(done.stdout + done.stderr)[-600:]}")
        records = json.loads(out.read_text())["records"]
    for record in records:
        if record["status"] != "ok":
            raise RuntimeError(f"calib run {record['identity']['backend']}: {record['status']}: {record.get('reason')}")
    return {record["identity"]["backend"]: record for record in records}


def offline_round(model_name, path, model, engines, args, flip: bool) -> dict:
    """One round: calib offline per engine and benchmark_app (hint, then the hand search), order flipped."""
    figures = {}
    batches = [int(b) for b in args.batch_sizes.split(",")]

    def calib_side():
        records = calib_run(model_name, ",".join(engines), ["--scenario", "offline", "--batch-size",
                                                            args.batch_sizes, "--scenario-time",
                                                            str(args.scenario_time)], args.threads)
        for engine, record in records.items():
            section = record["scenario"]
            best = section["best"]
            figures[f"calib {engine}"] = (best["throughput_per_s"],
                                          f"b{best['batch_size']} x{best['streams']} streams "
                                          f"x{best['threads_per_stream']} thr", load())
            source = (record.get("backend_info") or {}).get("onnx_source")
            if source and Path(source) != path:
                print(f"  note: calib {engine} read {source}, not {path}")

    def app_side():
        figures["benchmark_app -hint throughput"] = (
            benchmark_app_fps(path, model, 1, args.seconds, args.threads, hint="throughput"), "b1, its streams",
            load())
        best = None
        for batch in batches:
            for nstreams in (1, 2):
                for nireq in ((nstreams, 2 * nstreams) if batch == 1 else (nstreams,)):
                    fps = benchmark_app_fps(path, model, batch, args.seconds, args.threads, hint="none",
                                            nstreams=nstreams, nireq=nireq)
                    if best is None or fps > best[0]:
                        best = (fps, f"b{batch} -nstreams {nstreams} -nireq {nireq}", load())
        figures["benchmark_app best by hand"] = best

    for side in ((app_side, calib_side) if flip else (calib_side, app_side)):
        side()
    return figures


def hand_server(path: Path, model, qps: float | None, seconds: float, threads: int, seed: int = SEED):
    """The hand-written Poisson loop (None qps: the back-to-back rate of one request, its service median)."""
    import openvino

    core = openvino.Core()
    ov_model = core.read_model(str(path))
    ov_model.reshape([1, *model.item_shape])
    compiled = core.compile_model(ov_model, "CPU", {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY",
                                                    "INFERENCE_NUM_THREADS": threads})
    request = compiled.create_infer_request()
    rng = np.random.default_rng(0)
    port = compiled.inputs[0]
    shape = list(port.get_shape())
    data = (rng.integers(0, 1000, shape).astype(np.int64) if model.input_kind == "tokens"
            else rng.standard_normal(shape).astype(np.float32))
    request.set_input_tensor(0, openvino.Tensor(data))
    for _ in range(10):
        request.infer()
    if qps is None:
        times = []
        for _ in range(30):
            began = time.perf_counter()
            request.infer()
            times.append(time.perf_counter() - began)
        return float(np.median(times))
    gaps = np.random.default_rng(seed).exponential(1.0 / qps, size=int(qps * seconds * 2) + 100)
    arrivals = np.cumsum(gaps)
    arrivals = arrivals[arrivals <= seconds]
    latencies = []
    start = time.perf_counter()
    for offset in arrivals:
        due = start + offset
        wait = due - time.perf_counter()
        if wait > 0.0002:
            time.sleep(wait - 0.0002)
        while time.perf_counter() < due:
            pass
        request.infer()
        latencies.append((time.perf_counter() - due) * 1000)
    return np.asarray(latencies)


def server_round(model_name, path, model, rates, args, flip: bool) -> dict:
    rows = {}
    for qps in rates:
        def calib_side():
            record = calib_run(model_name, "openvino", ["--scenario", "server", "--target-qps", f"{qps:.6g}",
                                                        "--scenario-time", str(args.server_seconds)],
                               args.threads)["openvino"]
            samples = np.asarray(record["timing"]["samples_ms"])
            es = record["scenario"]["percentiles"]["p99_es"].get("value")
            rows[("calib", qps)] = (samples, len(samples), es, load())

        def hand_side():
            samples = hand_server(path, model, qps, args.server_seconds, args.threads)
            rows[("hand", qps)] = (samples, len(samples), None, load())

        for side in ((hand_side, calib_side) if flip else (calib_side, hand_side)):
            side()
    return rows


def main() -> None:
    args = _parse()
    engines = args.engines.split(",")
    verdicts = []
    print(f"bench/scenarios.py: {args.threads} threads, {args.rounds} round(s), {load()}")
    for model_name in args.models.split(","):
        path, model = exported(model_name)
        print(f"\n== {model_name}: {path}")
        offline = [offline_round(model_name, path, model, engines, args, flip=r % 2 == 1) for r in range(args.rounds)]
        print("offline, items/s (per round: figure, configuration, load average):")
        medians = {}
        for side in offline[0]:
            values = [round_[side][0] for round_ in offline]
            medians[side] = float(np.median(values))
            print(f"  {side:32s} median {medians[side]:9.1f}  " + "  |  ".join(
                f"{round_[side][0]:.1f} ({round_[side][1]}, {round_[side][2]})" for round_ in offline))
        if "calib openvino" in medians:
            hint = medians["calib openvino"] / medians["benchmark_app -hint throughput"]
            by_hand = medians["calib openvino"] / medians["benchmark_app best by hand"]
            ok = hint >= OFFLINE_TARGET
            verdicts.append(ok)
            print(f"  calib openvino / benchmark_app -hint throughput: {hint:.3f} (target >= {OFFLINE_TARGET:g}: "
                  f"{'met' if ok else 'MISSED'}); / benchmark_app best by hand: {by_hand:.3f}")
        if model_name not in args.server_models.split(","):
            continue
        service_s = hand_server(path, model, None, 0, args.threads)
        rates = [0.3 / service_s, 0.6 / service_s]
        print(f"server, OpenVINO f32, one request serves {1 / service_s:.1f}/s back to back; rates "
              + ", ".join(f"{q:.1f}" for q in rates) + " qps:")
        rounds = [server_round(model_name, path, model, rates, args, flip=r % 2 == 1) for r in range(args.rounds)]
        for qps in rates:
            # every round replays one arrival schedule: the percentiles of the pooled latencies, and the
            # hand loop's own spread between rounds beside them (the noise floor the 5% target sits on)
            calib_p = np.percentile(np.concatenate([r[("calib", qps)][0] for r in rounds]), [50, 90, 99])
            hand_p = np.percentile(np.concatenate([r[("hand", qps)][0] for r in rounds]), [50, 90, 99])
            ratio = calib_p / hand_p
            hand_rounds = np.array([np.percentile(r[("hand", qps)][0], [50, 90, 99]) for r in rounds])
            spread = hand_rounds.max(axis=0) / hand_rounds.min(axis=0)
            ok = bool(np.all(np.abs(ratio - 1) <= SERVER_TOLERANCE))
            verdicts.append(ok)
            es = [r[("calib", qps)][2] for r in rounds]
            print(f"  {qps:8.1f} qps  calib p50/p90/p99 {'/'.join(f'{v:.3f}' for v in calib_p)} ms "
                  f"(p99 es {'/'.join('-' if v is None else f'{v:.3f}' for v in es)}; "
                  f"{[r[('calib', qps)][1] for r in rounds]} queries; {[r[('calib', qps)][3] for r in rounds]})")
            print(f"  {'':8s}      hand  p50/p90/p99 {'/'.join(f'{v:.3f}' for v in hand_p)} ms "
                  f"({[r[('hand', qps)][1] for r in rounds]} queries; {[r[('hand', qps)][3] for r in rounds]})")
            print(f"  {'':8s}      calib / hand: {'/'.join(f'{v:.3f}' for v in ratio)} (target within "
                  f"{100 * SERVER_TOLERANCE:.0f}%: {'met' if ok else 'MISSED'}); hand round to round (max/min): "
                  f"{'/'.join(f'{v:.3f}' for v in spread)}")
    print(f"\n{sum(verdicts)} of {len(verdicts)} targets met ({load()})")


if __name__ == "__main__":
    main()
