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
It prints one line per check (ok / FAILED / skipped, with the figures) and exits 1 if any failed.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings (about 3 minutes in all)")
    parser.add_argument("--out", type=Path, default=None, help="folder for every results file (default: a new temp dir)")
    parser.add_argument("--models", default="resnet18,vit_b_16,bert-base",
                        help="models for the float sweep with --layers")
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
    print(f"{checks.failed} check(s) failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
