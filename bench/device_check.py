"""Every CUDA path of calib in one call, for a lent GPU machine (and a clean skip without one).

    python bench/device_check.py            # from the source tree; calib need not be installed
    python bench/device_check.py --quick    # shorter timings

Under 8 minutes on an H100/H200 (--quick: about 4). Checks, each a real `python -m calib ...` run whose
results file is read back (all under --out DIR):
  device   `calib device --json --probe`: the GPU, its compute capability, a verdict per precision,
           and probe ratios measured with CUDA events
  floats   `calib run --device cuda -p fp32,tf32,fp16,bf16,amp-fp16,amp-bf16,fp8 --layers` on resnet18,
           vit_b_16 and bert-base: all measured with the CUDA event timer, storage/compute dtypes
           recorded, fidelity against fp32, per-layer coverage (fp8 skipped below 8.9)
  compile  `-b torch-compile` fp32 and bf16 on resnet18
  fp8      `calib run --device cuda -p fp8` on a Linear model: measured on 8.9+, skipped with the
           reason below it
  int8     `-p int8-static` on torch is refused on CUDA (skipped with the reason); on ONNX Runtime's
           CUDA provider it runs where onnxruntime-gpu is installed, else is skipped
  ab       `calib ab --device cuda` then `calib check`: an A/A pair passes
  train    `calib train --device cuda` on resnet18 (112x112, --layers) and tiny-bert at every training precision
           (check_train)
  split    trtexec's split (calib.timing.cuda_split): H2D, GPU compute, D2H and host latency apart on resnet18
           and tiny-cnn; compute beside calib's own CUDA-event median (check_split)
  graph    the CUDA graph candidate (calib.timing.cuda_graph) against the eager call, interleaved rounds, outputs
           compared, with the load average (check_graph)
  energy   NVML: `calib device` lists it, `calib run --device cuda` records joules per inference, average and
           idle power; without nvidia-ml-py, null with that reason (check_energy)
  busy     a child process computing on the GPU: NVML lists it, --busy error refuses with exit 3 (check_busy)
  scenarios `calib run --device cuda --scenario offline|server|multi-stream` on resnet18 (torch, and ONNX
           Runtime where its CUDA provider is installed): every offline point measured, server latencies from
           arrival never below their service times, multi-stream percentiles (check_scenarios)
It prints one line per check (ok / FAILED / skipped, with the figures) and exits 1 if any failed.
`--only split,graph,energy,busy,scenarios` runs just those (about 3 minutes); nvidia-ml-py is imported from
PYTHONPATH too, e.g. a wheel file: PYTHONPATH=nvidia_ml_py-*.whl python bench/device_check.py --only energy
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def calib(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.run([sys.executable, "-m", "calib", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=timeout)


def records(path: Path) -> list[dict]:
    return json.loads(path.read_text())["records"]


class Checks:
    def __init__(self):
        self.failed = 0

    def say(self, name: str, status: str, text: str) -> None:
        self.failed += status == "FAILED"
        print(f"{name:<8} {status:<8} {text}", flush=True)

    def expect(self, name: str, condition: bool, text: str, why: str = "") -> None:
        self.say(name, "ok" if condition else "FAILED", text if condition else f"{text} :: {why}")


def check_train(checks: Checks, folder: Path, quick: bool) -> None:
    """`calib train` on CUDA: CUDA-event phase timing, CUDA peak memory, dtypes read from the tensors,
    GradScaler on amp-fp16, tf32 compute, fp8 (torchao Float8Linear) on 8.9+ (skipped with the reason
    below), int8-qat refused on CUDA with the reason, and the forward/backward layer table."""
    import torch

    capability = torch.cuda.get_device_capability(0)
    steps = "10" if quick else "30"
    cases = [("resnet18", ["--input-shape", "3,112,112", "--batch-size", "8", "--layers", "--layer-steps", "2"]),
             ("tiny-bert", ["--batch-size", "16"])]
    for model, extra in cases:
        out = folder / f"train-{model}.json"
        trained = calib("train", "-m", model, "--device", "cuda", "-p", "fp32,tf32,amp-fp16,amp-bf16,bf16,fp8,int8-qat",
                        "--steps", steps, "--out", str(out), "-q", *extra)
        if not out.exists():
            checks.say("train", "FAILED", f"{model}: no results file: {trained.stderr.strip()[-300:]}")
            continue
        for record in records(out):
            precision, status = record["identity"]["precision"], record["status"]
            label = f"{model} {precision}: {status}"
            if precision == "int8-qat":
                checks.expect("train", status == "skipped", f"{label} ({record.get('reason')})", "expected a skip")
                continue
            if precision == "fp8" and capability < (8, 9):
                checks.expect("train", status == "skipped", f"{label} ({record.get('reason')})", "expected a skip")
                continue
            if status != "ok":
                checks.say("train", "FAILED", f"{label} {record.get('reason')}")
                continue
            training = record["training"]
            dtypes = training["dtypes"]
            want_compute = {"fp32": "float32", "tf32": "tf32", "amp-fp16": "float16", "amp-bf16": "bfloat16",
                            "bf16": "bfloat16", "fp8": "float8_e4m3fn"}[precision]
            want_weights = ["bfloat16"] if precision == "bf16" else ["float32"]
            problems = [what for what, bad in [
                ("timer", record["timing"]["timer"] != "cuda_event"),
                ("memory", not (training["memory"].get("cuda_max_allocated_bytes") or 0) > 0),
                ("compute", dtypes.get("compute") != want_compute),
                ("weights", dtypes.get("weights") != want_weights or dtypes.get("optimizer_state") != want_weights),
                ("scaler", (precision == "amp-fp16") != (training.get("grad_scaler") is not None)),
                ("loss", training["nonfinite"]["loss_steps"] != []),
                ("layers", model == "resnet18" and not (record.get("layers") or {}).get("layers")),
            ] if bad]
            checks.expect("train", not problems,
                          f"{label} {training['samples_per_s']:.0f} samples/s, peak "
                          f"{(training['memory'].get('cuda_max_allocated_bytes') or 0) / 2**20:.0f} MiB, "
                          f"compute {dtypes.get('compute')}, max |dloss| {training.get('loss_max_deviation')}",
                          f"wrong: {', '.join(problems)}")


def _calib_on_path() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def _prepared(model_name: str, batch_size: int = 1, precision: str = "fp32"):
    """A calib Prepared on cuda:0 (the torch backend), as the sweep prepares it."""
    _calib_on_path()
    from calib.backends import get_backend
    from calib.backends.base import RunConfig
    from calib.models.loader import load_any

    model = load_any(model_name)
    return get_backend("torch").prepare(model, RunConfig(precision=precision, device="cuda:0",
                                                         batch_size=batch_size, threads=1))


def check_split(checks: Checks, quick: bool) -> None:
    """H2D / compute / D2H / host apart; compute should sit near calib's timed median (same events)."""
    _calib_on_path()
    import torch

    from calib.timing.clock import CudaEventTimer
    from calib.timing.cuda_split import split_prepared
    from calib.timing.engine import FixedTime, Warmup, measure

    for model_name, batch_size in (("resnet18", 1), ("resnet18", 32), ("tiny-cnn", 1)):
        with _prepared(model_name, batch_size) as prepared, torch.inference_mode():
            split = split_prepared(prepared, "torch", iterations=20 if quick else 50)
            timed = measure(prepared.run, CudaEventTimer(torch.device("cuda:0")), batch_size=batch_size,
                            stop=FixedTime(0.5 if quick else 1.5), warmup=Warmup(3, 0.2))
        label = f"{model_name} b{batch_size}"
        if split.get("value", 0) is None:
            checks.say("split", "FAILED", f"{label}: {split['reason']}")
            continue
        parts = {name: split[f"{name}_median_ms"] for name in ("h2d", "compute", "d2h", "host", "enqueue")}
        timed_ms = timed.summary().median_ms
        sane = all(v > 0 for v in parts.values()) and parts["host"] >= parts["compute"]
        checks.expect("split", sane,
                      f"{label}: H2D {parts['h2d']:.3f} ms ({split['input_bytes'] / 2**20:.2f} MiB), compute "
                      f"{parts['compute']:.3f}, D2H {parts['d2h']:.3f} ({split['output_bytes'] / 2**10:.1f} KiB), "
                      f"host {parts['host']:.3f}, enqueue {parts['enqueue']:.3f}; calib's timed median "
                      f"{timed_ms:.3f} ms (compute/timed {parts['compute'] / timed_ms:.2f}); load "
                      f"{os.getloadavg()[0]:.2f}", "a part not positive, or host latency below compute")


def check_graph(checks: Checks, quick: bool) -> None:
    """Eager vs graph replay, interleaved rounds, CUDA events and the host clock; outputs must agree."""
    _calib_on_path()
    import torch

    from calib.timing.clock import CudaEventTimer, PerfCounterTimer
    from calib.timing.cuda_graph import capture_prepared
    from calib.timing.stats import summarize

    rounds, calls = (4, 30) if quick else (10, 50)
    cases = (("resnet18", 1, "fp32"), ("tiny-cnn", 1, "fp32"), ("resnet18", 32, "fp32"), ("resnet18", 1, "amp-fp16"))
    for model_name, batch_size, precision in cases:  # amp-fp16: captured with autocast's cache off
        with _prepared(model_name, batch_size, precision) as prepared, torch.inference_mode():
            replay, reason = capture_prepared(prepared, "torch")
            if replay is None:
                checks.say("graph", "FAILED", f"{model_name} b{batch_size} {precision}: {reason}")
                continue
            eager_out, graph_out = prepared.run(), replay()
            torch.cuda.synchronize()
            same = torch.allclose(eager_out.float(), graph_out.float(), rtol=1e-2, atol=1e-2)
            device_timer = CudaEventTimer(torch.device("cuda:0"))
            host_timer = PerfCounterTimer(torch.cuda.synchronize)
            times = {(name, clock): [] for name in ("eager", "graph") for clock in ("device", "host")}
            for index in range(rounds):  # ABBA: drift hits both alike
                order = [("eager", prepared.run), ("graph", replay)]
                for name, fn in order if index % 2 == 0 else order[::-1]:
                    for clock, timer in (("device", device_timer), ("host", host_timer)):
                        times[(name, clock)].extend(timer.time_call(fn) / 1e6 for _ in range(calls))
        median = {key: summarize(values, 1).median_ms for key, values in times.items()}
        gain = median[("eager", "host")] / median[("graph", "host")]
        checks.expect("graph", same,
                      f"{model_name} b{batch_size} {precision}: eager {median[('eager', 'device')]:.3f} ms device / "
                      f"{median[('eager', 'host')]:.3f} host, graph {median[('graph', 'device')]:.3f} / "
                      f"{median[('graph', 'host')]:.3f}: graph {gain:.2f}x on the host clock; load "
                      f"{os.getloadavg()[0]:.2f}", "graph outputs differ from eager")


def _nvml_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("pynvml") is not None


def check_energy(checks: Checks, folder: Path, timing: list[str]) -> None:
    """`calib device` lists NVML; a CUDA run records joules per item, average and idle power apart."""
    listed = calib("device", "--json")
    counters = {c["counter"]: c for c in json.loads(listed.stdout).get("energy_counters", [])} if \
        listed.returncode == 0 else {}
    nvml = counters.get("nvml") or {}
    if _nvml_installed():
        checks.expect("energy", bool(nvml.get("present")), f"calib device: nvml {nvml.get('name')}",
                      f"nvml absent: {nvml.get('reason')}")
    else:
        checks.expect("energy", nvml.get("reason") == "NVML not available (nvidia-ml-py not installed)",
                      f"calib device without nvidia-ml-py: {nvml.get('reason')}", "wrong reason")
    out = folder / "energy.json"
    calib("run", "-m", "resnet18", "--device", "cuda", "-b", "torch", "-p", "fp32,fp16", "--batch-size", "32",
          "--out", str(out), *timing)
    if not out.exists():
        checks.say("energy", "FAILED", "no results file")
        return
    for record in records(out):
        energy, label = record.get("energy") or {}, f"resnet18 b32 {record['identity']['precision']}"
        split = record.get("cuda_split") or {}
        checks.expect("split", (split.get("compute_median_ms") or 0) > 0,
                      f"{label} record's cuda_split: H2D {split.get('h2d_median_ms')} ms, compute "
                      f"{split.get('compute_median_ms')}, D2H {split.get('d2h_median_ms')}, host "
                      f"{split.get('host_median_ms')}", f"no split in the record: {split}")
        if not _nvml_installed():
            checks.expect("energy", energy.get("value", 0) is None and "nvidia-ml-py" in energy.get("reason", ""),
                          f"{label}: energy null: {energy.get('reason')}", "expected null with the NVML reason")
            continue
        checks.expect("energy", (energy.get("joules_per_item") or 0) > 0,
                      f"{label}: {energy.get('joules_per_item', 0) * 1e3:.2f} mJ/item "
                      f"({(energy.get('joules_per_item_above_idle') or 0) * 1e3:.2f} above idle), "
                      f"{energy.get('avg_power_w', 0):.0f} W average, idle {energy.get('idle_power_w') or 0:.0f} W, "
                      f"{energy.get('seconds', 0):.2f} s, {energy.get('counter')}; "
                      f"busy_check {record.get('busy_check')}",
                      f"energy {energy}")


def check_busy(checks: Checks, folder: Path) -> None:
    """A second process computing on the GPU: NVML lists it and --busy error refuses (exit 3)."""
    import subprocess
    import time

    if not _nvml_installed():
        checks.say("busy", "skipped", "nvidia-ml-py not installed: other GPU processes cannot be listed")
        return
    _calib_on_path()
    from calib.hardware.busy import gpu_processes

    quiet, reason = gpu_processes("cuda:0")
    checks.say("busy", "ok" if quiet == () else "FAILED", f"before: other GPU processes {quiet} {reason or ''}")
    hog = subprocess.Popen([sys.executable, "-c", "import torch, time\nx = torch.randn(2048, 2048, device='cuda')\n"
                            "while True:\n    x = (x @ x).tanh_()\n    torch.cuda.synchronize()"])
    try:
        time.sleep(8)  # CUDA context up
        seen, reason = gpu_processes("cuda:0")
        matched = "same pid" if any(p["pid"] == hog.pid for p in seen or ()) else "another pid namespace"
        checks.expect("busy", bool(seen), f"NVML sees the hog (pid {hog.pid} here, {matched}): {seen}",
                      f"not listed ({reason})")
        refused = calib("run", "-m", "tiny-cnn", "--device", "cuda", "-b", "torch", "--busy", "error",
                        "--out", str(folder / "busy.json"), "-q")
        checks.expect("busy", refused.returncode == 3 and "other process(es) on cuda:0" in refused.stderr,
                      f"--busy error refused: exit {refused.returncode}: {refused.stderr.strip()[-200:]}",
                      "expected exit 3")
    finally:
        hog.kill()
        hog.wait()


NEW_CHECKS = ("split", "graph", "energy", "busy", "scenarios")


def check_scenarios(checks: Checks, folder: Path) -> None:
    """Load scenarios on CUDA (calib.scenarios): each stream its own torch.cuda.Stream, a call finished when it
    returns; written on a CPU machine, first run here."""
    point = ["--scenario-time", "0.5", "--no-tune", "-q", "--timeout", "600"]
    out = folder / "offline.json"
    run = calib("run", "-m", "resnet18", "--device", "cuda", "-b", "torch", "-b", "onnxruntime", "-p", "fp32",
                "--scenario", "offline", "--batch-size", "1,8", "--out", str(out), *point, timeout=900)
    if not out.exists():
        checks.say("scenarios", "FAILED", f"offline: exit {run.returncode}: {run.stderr.strip()[-300:]}")
    for record in records(out) if out.exists() else []:
        backend = record["identity"]["backend"]
        if record["status"] != "ok":
            checks.say("scenarios", "skipped" if record["status"] == "skipped" else "FAILED",
                       f"offline {backend}: {record['status']}: {record.get('reason')}")
            continue
        section = record["scenario"]
        points = section["search"]["points"]
        failed = [p for p in points if p.get("error")]
        best = section["best"]
        checks.expect("scenarios", not failed and best["throughput_per_s"] > 0,
                      f"offline {backend}: best {best['throughput_per_s']:.1f} items/s at batch {best['batch_size']} "
                      f"x {best['streams']} streams, {len(points)} points",
                      f"{len(failed)} points failed: {[p['error'] for p in failed][:2]}")
    for name, extra in (("server", ["--scenario", "server", "--target-qps", "200", "--streams", "2"]),
                        ("multi-stream", ["--scenario", "multi-stream", "--streams", "2"])):
        out = folder / f"{name}.json"
        run = calib("run", "-m", "resnet18", "--device", "cuda", "-b", "torch", "-p", "fp32", "--out", str(out),
                    *extra, *point, timeout=600)
        rows = records(out) if out.exists() else []
        if not rows or rows[0]["status"] != "ok":
            reason = rows[0].get("reason") if rows else f"exit {run.returncode}: {run.stderr.strip()[-300:]}"
            checks.say("scenarios", "FAILED", f"{name}: {reason}")
            continue
        record = rows[0]
        latencies = record["timing"]["samples_ms"]
        headline = record["scenario"]["headline"]
        if name == "server":
            service = record["scenario"]["server"]["service_ms"]
            below = sum(1 for total, own in zip(latencies, service) if total < own - 1e-6)
            checks.expect("scenarios", below == 0 and len(latencies) == len(service) > 0,
                          f"server 200 qps x2: {len(latencies)} queries, {headline['metric']} {headline['value']} "
                          f"{headline['unit']}", f"{below} latencies shorter than their own service time")
        else:
            checks.expect("scenarios", len(latencies) > 0 and headline["value"] is not None,
                          f"multi-stream x2: {len(latencies)} queries, {headline['metric']} {headline['value']} "
                          f"{headline['unit']}", "no latencies or no headline")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings (about 3 minutes in all)")
    parser.add_argument("--out", type=Path, default=None, help="folder for every results file (default: a new temp dir)")
    parser.add_argument("--models", default="resnet18,vit_b_16,bert-base",
                        help="models for the float sweep with --layers")
    parser.add_argument("--only", default=None, help=f"run only these checks, comma-separated: {', '.join(NEW_CHECKS)}")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print(f"skipped: no CUDA device here (torch {torch.__version__}, built for CUDA {torch.version.cuda}); "
              "run this on the lent GPU machine")
        return 0
    timing = ["--max-time", "1" if args.quick else "3", "--min-time", "0.3", "--warmup-min-time", "0.2", "-q"]
    checks = Checks()
    folder = args.out or Path(tempfile.mkdtemp(prefix="calib-device-check-"))
    folder.mkdir(parents=True, exist_ok=True)
    capability = torch.cuda.get_device_capability(0)
    print(f"GPU {torch.cuda.get_device_name(0)}, compute capability {capability[0]}.{capability[1]}, "
          f"torch {torch.__version__}; results under {folder}")
    if args.only:
        return run_only(args.only.split(","), checks, folder, timing, args.quick)

    probed = calib("device", "--json", "--probe", "--probe-time", "2" if args.quick else "5")
    if probed.returncode != 0:
        checks.say("device", "FAILED", f"exit {probed.returncode}: {probed.stderr.strip()[-300:]}")
    else:
        gpus = [d for d in json.loads(probed.stdout)["devices"] if d["kind"] == "cuda"]
        for gpu in gpus:
            statuses = {name: (entry.get("status"), entry.get("measured") or entry.get("probe"))
                        for name, entry in gpu["precisions"].items()}
            checks.say("device", "ok", f"{gpu['id']} {gpu['name']} cc {gpu.get('compute_capability')}: {statuses}")
        if not gpus:
            checks.say("device", "FAILED", "no CUDA device in `calib device --json`")

    floats = "fp32,tf32,fp16,bf16,amp-fp16,amp-bf16,fp8"
    for model_name in args.models.split(","):
        out = folder / f"floats-{model_name}.json"
        run = calib("run", "-m", model_name, "--device", "cuda", "-p", floats, "-b", "torch", "--layers",
                    "--out", str(out), *timing)
        if not out.exists():
            checks.say("floats", "FAILED", f"{model_name}: exit {run.returncode}: {run.stderr.strip()[-400:]}")
            continue
        rows = records(out)
        fp32 = next((r for r in rows if r["identity"]["precision"] == "fp32" and r["status"] == "ok"), None)
        for record in rows:
            precision = record["identity"]["precision"]
            if record["status"] != "ok":
                expected = precision == "fp8" and capability < (8, 9) and record["status"] == "skipped"
                checks.say("floats", "skipped" if expected else "FAILED",
                           f"{model_name} {precision}: {record['status']}: {record.get('reason')}")
                continue
            median = record["summary"]["median_ms"]
            speedup = fp32["summary"]["median_ms"] / median if fp32 else float("nan")
            timer = record["timing"]["timer"]
            layers = record.get("layers") or {}
            checks.expect("floats", "cuda" in timer.lower() and record.get("fidelity") is not None,
                          f"{model_name} {precision}: {median:.3f} ms, {speedup:.2f}x fp32, {record['storage_dtype']}/"
                          f"{record['compute_dtype']}, {timer}, fidelity {record['fidelity'].get('compact')}, "
                          f"layers {layers.get('method')} coverage {layers.get('coverage')}",
                          "not timed with CUDA events, or no fidelity")

    out = folder / "compile.json"
    calib("run", "-m", "resnet18", "--device", "cuda", "-b", "torch-compile", "-p", "fp32,bf16", "--out", str(out),
          *timing, timeout=900)
    if out.exists():
        for record in records(out):
            checks.expect("compile", record["status"] == "ok",
                          f"torch-compile {record['identity']['precision']}: "
                          f"{(record.get('summary') or {}).get('median_ms')} ms, compile "
                          f"{(record.get('backend_info') or {}).get('compile_s')} s", str(record.get("reason")))
    else:
        checks.say("compile", "FAILED", "no results file")

    out = folder / "fp8.json"
    calib("run", "-m", "tiny-bert", "--device", "cuda", "-p", "bf16,fp8", "--out", str(out), *timing)
    if out.exists():
        fp8 = records(out)[-1]
        if capability >= (8, 9):
            checks.expect("fp8", fp8["status"] == "ok", f"fp8 on {capability}: {fp8['status']} "
                          f"{(fp8.get('summary') or {}).get('median_ms')} ms, {fp8.get('compute_dtype')}",
                          str(fp8.get("reason")))
        else:
            checks.expect("fp8", fp8["status"] == "skipped", f"fp8 skipped below 8.9: {fp8.get('reason')}", "")
    else:
        checks.say("fp8", "FAILED", "no results file")

    out = folder / "int8.json"
    calib("run", "-m", "tiny-cnn", "--device", "cuda", "-b", "torch", "-b", "onnxruntime", "-p", "fp32,int8-static",
          "--out", str(out), *timing)
    if out.exists():
        for record in records(out):
            ident = record["identity"]
            label = f"{ident['backend']} {ident['precision']}: {record['status']}"
            if ident["backend"] == "torch" and ident["precision"] == "int8-static":
                checks.expect("int8", record["status"] == "skipped", f"{label} ({record.get('reason')})", "")
            else:
                providers = (record.get("backend_info") or {}).get("providers")
                checks.say("int8", "ok" if record["status"] in ("ok", "skipped") else "FAILED",
                           f"{label} {providers or ''} {record.get('reason') or ''}")
    else:
        checks.say("int8", "FAILED", "no results file")

    base, cur = folder / "base.json", folder / "cur.json"
    ab = calib("ab", "--baseline-model", "resnet18", "--current-model", "resnet18", "--device", "cuda",
               "--rounds", "10", "--max-rounds", "20", "--round-time", "0.1", "--baseline-out", str(base),
               "--current-out", str(cur), "-q")
    gate = calib("check", "--baseline", str(base), "--current", str(cur)) if ab.returncode == 0 else ab
    checks.expect("ab", gate.returncode == 0, "A/A on CUDA passes the paired gate",
                  f"exit {gate.returncode}: {(gate.stdout + gate.stderr).strip()[-300:]}")

    check_train(checks, folder, args.quick)
    check_split(checks, args.quick)
    check_graph(checks, args.quick)
    check_energy(checks, folder, timing)
    check_busy(checks, folder)
    check_scenarios(checks, folder)
    print(f"{checks.failed} check(s) failed")
    return 1 if checks.failed else 0


def run_only(names: list[str], checks: Checks, folder: Path, timing: list[str], quick: bool) -> int:
    unknown = [name for name in names if name not in NEW_CHECKS]
    if unknown:
        print(f"--only {','.join(unknown)}: choose from {', '.join(NEW_CHECKS)}")
        return 2
    for name in names:
        try:
            if name == "split":
                check_split(checks, quick)
            elif name == "graph":
                check_graph(checks, quick)
            elif name == "energy":
                check_energy(checks, folder, timing)
            elif name == "scenarios":
                check_scenarios(checks, folder)
            else:
                check_busy(checks, folder)
        except Exception as exc:  # noqa: BLE001 - one check failing must not hide the others
            import traceback

            traceback.print_exc()
            checks.say(name, "FAILED", f"{type(exc).__name__}: {exc}")
    print(f"{checks.failed} check(s) failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
