"""calib fleet against calib run, on one machine; and what an idle Ray raylet beside a measurement costs it.

    python bench/fleet.py [--model resnet18] [--precisions fp32,bf16,int8-static] [--repeats 1] [--quick]

Run it alone on the machine (no tests, no other benches): it prints the load average beside every figure.

1. Fleet against local: the wall time of `calib fleet run` on a 2-node local cluster (each node one CPU of
   this machine, both nodes measuring at once) against the same sweep by `calib run` here, and the medians
   each measured. Two nodes on one machine share its cores: the fleet's per-node medians show that
   contention, not two devices.
2. Ray's own cost: `calib run -m MODEL -p fp32` with no Ray on the machine, with a 1-node cluster idle beside
   it, and with none again (A B A), each run's median and its records' other_cpu_percent (the CPU other
   processes took while it measured).

--quick: tiny-mlp, fp32 only, short timing (checks that the bench runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from fleet_cluster import LocalCluster  # noqa: E402

QUICK = ["--max-time", "0.2", "--min-time", "0.05", "--min-samples", "5", "--warmup-min-time", "0.01",
         "--warmup-min-count", "1", "--no-tune", "-b", "torch"]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def calib(args: list[str], env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "calib", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "160", **(env or {})})
    elapsed = time.monotonic() - started
    if done.returncode not in (0, 1):
        sys.exit(f"calib {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed, done


def records(paths) -> list[dict]:
    found = []
    for path in paths:
        payload = json.loads(Path(path).read_text())
        for record in payload["records"]:
            found.append({"file": Path(path).name, "class": payload.get("device_class"), **record})
    return found


def describe(record: dict) -> str:
    identity, summary = record["identity"], record.get("summary") or {}
    median = summary.get("median_ms")
    median_text = f"{median:9.3f} ms" if isinstance(median, (int, float)) else f"{record.get('status'):>12}"
    other = record.get("other_cpu_percent")
    other_text = f"{other:5.1f}%" if isinstance(other, (int, float)) else "    -"
    return f"{identity['backend']:>12} {identity['precision']:>12} {median_text}  other cpu {other_text}"


def fleet_against_local(model: str, precisions: str, extra: list[str], repeats: int, work: Path) -> None:
    print(f"\n== 1. fleet (2 nodes on this machine) against local: {model} -p {precisions} ==")
    sweep = ["-m", model, "-p", precisions, *extra]
    for repeat in range(repeats):
        local_out = work / f"local-{repeat}.json"
        print(f"[{load()}] calib run ...", flush=True)
        local_s, _ = calib(["run", *sweep, "--store", "none", "--out", str(local_out)])
        print(f"[{load()}] calib run: {local_s:.1f} s")
        for record in records([local_out]):
            print(f"    local   {describe(record)}")
        cluster = LocalCluster().start("fleet-a")
        try:
            cluster.add_node("fleet-b")
            results = work / f"fleet-{repeat}"
            print(f"[{load()}] calib fleet run ...", flush=True)
            fleet_s, done = calib(["fleet", "run", "--address", cluster.address, *sweep, "--store",
                                   f"sqlite:///{results}/calib.db", "--results-dir", str(results), "-q"])
        finally:
            cluster.stop()
        print(f"[{load()}] calib fleet run: {fleet_s:.1f} s (the fleet's own count: "
              f"{next((line for line in done.stdout.splitlines() if line.startswith('fleet: ')), '?')})")
        for record in records(sorted(results.glob("*-fleet-*.json"))):
            print(f"    {record['class']:7} {describe(record)}")
        print(f"    wall: fleet {fleet_s:.1f} s / local {local_s:.1f} s = {fleet_s / local_s:.2f}x")


def raylet_cost(model: str, extra: list[str], work: Path) -> None:
    print(f"\n== 2. an idle raylet beside a measurement: {model} -p fp32 (A: no Ray, B: a 1-node cluster idle) ==")
    for step, with_ray in enumerate((False, True, False)):
        cluster = LocalCluster().start("idle", calib=True) if with_ray else None
        try:
            if cluster is not None:
                time.sleep(5)  # let its start-up settle: what is measured is the idle cluster
            out = work / f"raylet-{step}.json"
            before = load()
            elapsed, _ = calib(["run", "-m", model, "-p", "fp32", *extra, "--store", "none", "--out", str(out)])
            label = "B raylet idle" if with_ray else "A no Ray     "
            for record in records([out]):
                print(f"[{before} -> {load()}] {label} {describe(record)}  ({elapsed:.1f} s)")
        finally:
            if cluster is not None:
                cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--precisions", default="fp32,bf16,int8-static")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    extra = QUICK if options.quick else []
    model, precisions = ("tiny-mlp", "fp32") if options.quick else (options.model, options.precisions)
    device = subprocess.run([sys.executable, "-m", "calib", "device", "--json"], capture_output=True, text=True)
    cpu = json.loads(device.stdout)["cpu"] if device.returncode == 0 else {}
    flags = sorted(set(cpu.get("flags") or []) & {"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16",
                                                  "amx_int8"})
    print(f"machine: {cpu.get('model')} ({os.cpu_count()} logical CPUs; {' '.join(flags)}); {load()}")
    with tempfile.TemporaryDirectory(prefix="calib-bench-fleet-") as folder:
        fleet_against_local(model, precisions, extra, options.repeats, Path(folder))
        raylet_cost(model, extra, Path(folder))
    print(f"\ndone; {load()}")


if __name__ == "__main__":
    main()
