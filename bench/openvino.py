"""calib's OpenVINO backend against OpenVINO's own benchmark_app, on the same file, alternating.

    .venv/bin/python bench/openvino.py                        # resnet18, batch 1, 3 rounds of 5 s
    .venv/bin/python bench/openvino.py --rounds 5 --seconds 8 --no-peers

Per precision (fp32, bf16, int8) each round runs three sides, in turn:
- `benchmark_app -m FILE -d CPU -hint latency -api sync -infer_precision P -ip f32 -shape input[1,3,224,224]
  -t SECONDS` in a child process (its median parsed from stdout: the median of `request.latency`, the
  C++ time of each infer() call). FILE is calib's cached ONNX export for fp32 and bf16, and for int8 the
  NNCF-quantized IR of it, made by calib's own quantize() with the same calibration settings. `-ip f32`
  because benchmark_app otherwise feeds image inputs as u8 and adds a u8->f32 conversion layer that
  calib's f32 inputs do not have. int8 runs at -infer_precision f32, as calib does: the layers NNCF
  leaves float compute f32.
- the bare loop: benchmark_app's sync loop (input tensor set once, `request.infer()`, `request.latency`)
  on the same FILE compiled with calib's properties, in a fresh OpenVINO-only child process kept for
  the whole run (no torch, no NNCF). It separates what calib's harness and process add from what
  benchmark_app's compile settings do.
- calib: the same prepare() `calib run -b openvino` uses, timed by calib's own engine
  (calib.timing.engine.measure, its perf_counter timer around prepared.run: infer() and the outputs
  wrapped as torch tensors) for SECONDS, in this process (which also ran NNCF and holds torch).
The order of the precisions flips every round and so does the order of the three sides, so drift on
this shared machine falls on all alike. Reported: the medians (median of the per-round medians), calib /
benchmark_app as the ratio of those medians and paired (the median of each round's ratio, which the
verdict reads; target: within 10%), and the paired ratios calib / bare loop and bare loop / benchmark_app,
which say where a gap comes from; the per-layer executed precisions (`benchmark_app -pc`
against calib's PERF_COUNT table); unless --no-peers, calib's torch and ONNX Runtime at the same precision
(each backend's fastest candidate). On a CPU without bf16 all run bf16 as f32: the hint falls back
silently, which the executed columns show.
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
from collections import Counter
from pathlib import Path

# Run as a script, this file's folder is sys.path[0], where "import openvino" would find this very file.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

PRECISIONS = {"fp32": ("fp32", "f32"), "bf16": ("bf16", "bf16"), "int8": ("int8-static", "f32")}
TARGET_RATIO = 0.10
_MEDIAN = re.compile(r"Median:\s+([\d.]+)\s*(ms|us)")
_THREADS = re.compile(r"INFERENCE_NUM_THREADS:\s+(\d+)")
_COUNTER = re.compile(r"Status\.EXECUTED\s+layerType:\s+(\S+)\s+execType:\s+(\S+)")


def _parse():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="per side, per precision, per round")
    parser.add_argument("--calib-samples", type=int, default=32)
    parser.add_argument("--no-peers", action="store_true", help="skip calib's torch and ONNX Runtime backends")
    return parser.parse_args()


def benchmark_app() -> str:
    beside = Path(sys.executable).parent / "benchmark_app"
    found = str(beside) if beside.exists() else shutil.which("benchmark_app")
    if not found:
        sys.exit("benchmark_app not found: pip install 'calib-bench[openvino]' (the openvino wheel ships it)")
    return found


def run_benchmark_app(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark_app failed ({done.returncode}): {(done.stdout + done.stderr)[-800:]}")
    return done.stdout


def median_ms(stdout: str) -> float:
    value, unit = _MEDIAN.search(stdout).groups()
    return float(value) / (1000.0 if unit == "us" else 1.0)


def executed_counts(stdout: str) -> Counter:
    """`benchmark_app -pc`: executed layers per dtype of their kernel (execType), as calib's table counts them."""
    from calib.backends.openvino_profile import kernel_dtype

    return Counter(kernel_dtype(kernel) or "?" for _, kernel in _COUNTER.findall(stdout))


def calib_block(prepared, seconds: float) -> list[float]:
    """`seconds` of prepared.run timed as `calib run` times it (calib's engine and timer), at least 3 calls."""
    from calib import lifecycle
    from calib.timing.engine import FixedTime, TimingPlan, Warmup, measure

    plan = TimingPlan(Warmup(min_count=1, min_time_s=0.0, max_time_s=1.0), FixedTime(seconds, min_count=3))
    return measure(prepared.run, lifecycle.timer_for(prepared), plan).samples_ms


# benchmark_app's sync loop (openvino/tools/benchmark/benchmark.py sync_inference) in a fresh process that
# imports OpenVINO only: argv = model path, compile properties (JSON); each stdin line is a block's seconds.
_BARE_LOOP = """
import json, statistics, sys, time
import numpy as np, openvino
core = openvino.Core()
model = core.read_model(sys.argv[1])
model.reshape({i: openvino.PartialShape(s) for i, s in enumerate(json.loads(sys.argv[3]))})
compiled = core.compile_model(model, 'CPU', json.loads(sys.argv[2]))
request = compiled.create_infer_request()
rng = np.random.default_rng(0)
for i, port in enumerate(compiled.inputs):
    request.set_input_tensor(i, openvino.Tensor(rng.standard_normal(list(port.get_shape())).astype(
        port.get_element_type().to_dtype())))
request.infer()
print('ready', flush=True)
for line in sys.stdin:
    times, end = [], time.perf_counter() + float(line)
    while time.perf_counter() < end or len(times) < 3:
        request.infer()
        times.append(request.latency)
    print(statistics.median(times), flush=True)
"""


class BareLoop:
    """The bare loop's child process for one model file."""

    def __init__(self, path: Path, properties: dict, shapes: list[list[int]]):
        self.process = subprocess.Popen([sys.executable, "-c", _BARE_LOOP, str(path), json.dumps(properties),
                                         json.dumps(shapes)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the bare loop on {path} did not start")

    def median_ms(self, seconds: float) -> float:
        self.process.stdin.write(f"{seconds}\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def _median(values):
    from calib.timing.stats import summarize

    return summarize(values).median_ms if values else None


def _fastest_candidate(backend_name: str, model, config, seconds: float):
    """(candidate name, Prepared) of a backend's fastest candidate (calib.tuning's list), timed briefly here."""
    from calib.backends import get_backend

    backend = get_backend(backend_name)
    reason = backend.unsupported_reason(config.precision, config.device)
    if reason:
        return reason, None
    listed = backend.candidates(model, config) if hasattr(backend, "candidates") else [("default", config)]
    best = None
    for name, candidate_config in listed:
        prepared = backend.prepare(model, candidate_config)
        for _ in range(2):
            prepared.run()
        median = _median(calib_block(prepared, min(seconds, 2.0)))
        if best is None or median < best[0]:
            if best is not None:
                best[2].release()
            best = (median, name, prepared)
        else:
            prepared.release()
    return best[1], best[2]


def main() -> None:
    import openvino
    import torch

    from calib.backends import RunConfig, get_backend
    from calib.backends import openvino as ov_backend
    from calib.models.loader import load_model
    from calib.settings import CalibrationSettings

    args = _parse()
    model = load_model(args.model)
    core = openvino.Core()
    calibration = CalibrationSettings(samples=args.calib_samples)
    fp32_model, _ = ov_backend.read_model(core, model, args.batch_size)
    # benchmark_app's thread count under the latency hint: calib runs with the same
    latency = core.compile_model(fp32_model, "CPU", {"PERFORMANCE_HINT": "LATENCY"})
    threads = latency.get_property("INFERENCE_NUM_THREADS")
    torch.set_num_threads(threads)
    source, _ = ov_backend.source_model(model)
    work = Path(tempfile.mkdtemp(prefix="calib-bench-openvino-"))
    files = {"fp32": source, "bf16": source}
    started = time.perf_counter()
    int8_model = ov_backend.quantize(fp32_model, model, RunConfig("int8-static", "cpu", args.batch_size, threads,
                                                                 calibration=calibration), {})
    openvino.save_model(int8_model, str(work / "int8.xml"))
    files["int8"] = work / "int8.xml"
    print(f"NNCF int8 IR for benchmark_app in {time.perf_counter() - started:.1f} s", flush=True)
    shapes = ",".join(f"{port.get_any_name()}[{','.join(str(d) for d in port.get_shape())}]"
                      for port in fp32_model.inputs)

    def command(label: str, extra: list[str]) -> list[str]:
        return [benchmark_app(), "-m", str(files[label]), "-d", "CPU", "-hint", "latency", "-api", "sync",
                "-infer_precision", PRECISIONS[label][1], "-ip", "f32", "-shape", shapes, *extra]

    prepared, peers = {}, {}
    for label, (precision, _) in PRECISIONS.items():
        config = RunConfig(precision, "cpu", args.batch_size, threads, calibration=calibration)
        started = time.perf_counter()
        prepared[label] = get_backend("openvino").prepare(model, config)
        print(f"prepared openvino {precision:12s} in {time.perf_counter() - started:6.1f} s", flush=True)
        if not args.no_peers:
            for backend_name in ("torch", "onnxruntime"):
                started = time.perf_counter()
                peers[(label, backend_name)] = _fastest_candidate(backend_name, model, config, args.seconds)
                print(f"prepared {backend_name:8s} {precision:12s} in {time.perf_counter() - started:6.1f} s "
                      f"({peers[(label, backend_name)][0][:60]})", flush=True)

    shape_lists = [list(port.get_shape()) for port in fp32_model.inputs]
    bare = {label: BareLoop(files[label], ov_backend.compile_properties(PRECISIONS[label][1], threads), shape_lists)
            for label in PRECISIONS}
    sides = {"benchmark_app": lambda label: median_ms(run_benchmark_app(command(label, ["-t", f"{args.seconds:g}"]))),
             "bare loop": lambda label: bare[label].median_ms(args.seconds),
             "calib": lambda label: _median(calib_block(prepared[label], args.seconds))}
    rounds = {side: {label: [] for label in PRECISIONS} for side in sides}
    load_before = os.getloadavg()[0]  # other processes on this machine: a busy one widens every figure
    bench_rounds, calib_rounds = rounds["benchmark_app"], rounds["calib"]
    peer_samples = {key: [] for key, (_, item) in peers.items() if item is not None}
    with torch.inference_mode():
        for item in prepared.values():
            for _ in range(3):
                item.run()
        for index in range(args.rounds):
            order = list(PRECISIONS) if index % 2 == 0 else list(PRECISIONS)[::-1]
            for label in order:
                for side in (list(sides) if index % 2 == 0 else list(sides)[::-1]):
                    rounds[side][label].append(sides[side](label))
                for key in [key for key in peer_samples if key[0] == label]:
                    peer_samples[key].extend(calib_block(peers[key][1], args.seconds))
                print(f"round {index + 1} {label:5s} " + "  ".join(f"{side} {rounds[side][label][-1]:8.2f} ms"
                                                                  for side in sides), flush=True)
    for loop in bare.values():
        loop.close()

    counted = {}
    for label in PRECISIONS:
        table = prepared[label].profile_layers(_median(calib_rounds[label]), None)
        counted[label] = (Counter(table["executed_dtypes"]),
                          executed_counts(run_benchmark_app(command(label, ["-niter", "20", "-pc"]))))

    from calib.hardware import device_report

    cpu = device_report(live_gpu=False)["cpu"]
    print(f"\n{args.model} batch {args.batch_size}, {threads} threads (benchmark_app's under the latency hint), "
          f"{args.rounds} alternating rounds of {args.seconds:g} s per side; OpenVINO {openvino.get_version()}, "
          f"CPU capabilities {', '.join(ov_backend.capabilities(core))}; CPU {cpu.get('model')} "
          f"({cpu.get('logical_cores')} logical cores, precision flags {' '.join(cpu.get('precision_flags') or [])}); "
          f"load average {load_before:.1f} before the rounds, {os.getloadavg()[0]:.1f} after")
    print(f"{'precision':9s} {'benchmark_app':>13s} {'bare loop':>10s} {'calib':>9s} {'calib/bench':>11s} "
          f"{'paired':>7s} {'calib/bare':>10s} {'bare/bench':>10s}  {'what ran (calib)':34s} "
          "executed layers: calib PERF_COUNT | benchmark_app -pc")
    for label in PRECISIONS:
        bench, loop, ours = (_median(rounds[side][label]) for side in sides)

        def paired(top: str, bottom: str) -> float:
            return _median([a / b for a, b in zip(rounds[top][label], rounds[bottom][label])])

        # The verdict reads the paired ratio (the median of each round's calib / benchmark_app, sides
        # adjacent in time): drift between rounds on a busy machine cancels in it, not in the ratio of
        # the two medians, which is printed beside it.
        ratio = paired("calib", "benchmark_app")
        executed = prepared[label].info["executed"]
        ran = (f"{executed['heavy_in_requested_precision']}/{executed['heavy_layers']} heavy in {label}, "
               f"{'/'.join(executed['executed_precisions'])}")
        ours_counts, theirs = counted[label]
        agree = "agree" if ours_counts == theirs else "DIFFER"
        print(f"{label:9s} {bench:10.2f} ms {loop:7.2f} ms {ours:6.2f} ms {ours / bench:10.2f}x {ratio:6.2f}x "
              f"{paired('calib', 'bare loop'):9.2f}x {paired('bare loop', 'benchmark_app'):9.2f}x  {ran:34s} "
              f"{dict(ours_counts)} | {dict(theirs)} ({agree}); "
              f"paired {'within' if abs(ratio - 1) <= TARGET_RATIO else 'OUTSIDE'} {TARGET_RATIO:.0%}")
    if peers:
        print("\nengines at each precision (calib medians over the same rounds; each backend's fastest candidate)")
        for label in PRECISIONS:
            ours = _median(calib_rounds[label])
            cells = [f"openvino {ours:8.2f} ms"]
            for backend_name in ("torch", "onnxruntime"):
                name, item = peers[(label, backend_name)]
                if item is None:
                    cells.append(f"{backend_name}: n/a ({name.split(':', 1)[-1].strip()[:50]})")
                else:
                    median = _median(peer_samples[(label, backend_name)])
                    cells.append(f"{backend_name} [{name}] {median:8.2f} ms ({median / ours:.2f}x openvino's time)")
            print(f"  {label:5s} " + " | ".join(cells))
    for item in [*prepared.values(), *(item for _, item in peers.values() if item is not None)]:
        item.release()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
