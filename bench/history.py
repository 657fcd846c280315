"""The results store and its change points: write and read throughput into SQLite and PostgreSQL, a
history query over a store of 100,000 records, and the detector's power and false alarms on series
built from real raw samples.

    python bench/history.py [--quick] [--records 100000] [--no-postgres] [--part all|store|detector]

The whole run takes about 4 minutes on 2 cores (filling the two 100,000-record stores is most of it).

Targets (issue 24): a history query over 100,000 records well under a second; a +5% and a +8% step
in 2% run-to-run noise found within 3 runs after it (here: in at least 90% of series); false alarms
on A/A series under 1% of series.

Records are real: one `calib run -m tiny-mlp -p fp32` gives the record (identity, verdict, fidelity,
environment); its raw samples are replaced by samples resampled from real timings of a torch matmul
measured here with perf_counter, so every stored record carries raw samples like a real one and the
store recomputes its statistics from them as it does for `calib push`. PostgreSQL is the throwaway
server of tests/store_servers.py (durability off: fsync and synchronous_commit, so its write figures
are an upper bound for a server that keeps its data).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
QUERY_TARGET_MS = 1000.0
POWER_TARGET = 0.90  # share of stepped series whose step is found within 3 runs
FALSE_ALARM_TARGET = 0.01  # share of A/A series with any change point
STEP_AT = 20  # runs before the step
NOISE = 0.02  # run-to-run noise (relative standard deviation of each run's level)
SAMPLES_PER_RUN = 200  # raw samples per run's median in the power study, and per stored record


def machine_line() -> str:
    from calib.hardware.cpu import detect_cpu

    cpu = detect_cpu()
    load = os.getloadavg()
    return (f"machine: {cpu.get('model')} ({cpu.get('arch')}), {os.cpu_count()} logical CPUs; load average "
            f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (other processes: a busy machine slows every figure)")


def real_samples(count: int) -> np.ndarray:
    """Per-call times (ms) of a 64x64 torch matmul, one perf_counter pair around each call."""
    import torch

    torch.set_num_threads(1)
    left, right = torch.randn(64, 64), torch.randn(64, 64)
    for _ in range(200):
        torch.mm(left, right)
    samples = np.empty(count)
    clock = time.perf_counter_ns
    for index in range(count):
        start = clock()
        torch.mm(left, right)
        samples[index] = (clock() - start) / 1e6
    return samples


def real_record(folder: Path) -> dict:
    """A results file from one real `calib run` of the tiny MLP (not filed in any store)."""
    out = folder / "tiny-mlp.json"
    subprocess.run([sys.executable, "-m", "calib", "run", "-m", "tiny-mlp", "-p", "fp32", "--max-time", "0.2",
                    "--no-tune", "-q", "--out", str(out), "--store", "none"], check=True, cwd=folder,
                   stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


class RunMaker:
    """Results payloads shaped like calib's, each record a configuration of the grid with fresh raw samples."""

    def __init__(self, template: dict, pool: np.ndarray, seed: int = 0):
        self.template = {key: value for key, value in template.items() if key != "records"}
        record = template["records"][0]
        # its own tens of thousands of samples are replaced below: not copied for every record
        self.record = dict(record, timing=dict(record["timing"], samples_ms=[], warmup_ms=[]))
        self.pool = pool
        self.rng = np.random.default_rng(seed)
        self.start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

    def payload(self, number: int, device_class: str, configurations: list[tuple[str, str]]) -> dict:
        run = copy.deepcopy(self.template)
        run.update(run_id=f"bench-{device_class}-{number:06d}", device_class=device_class,
                   created=(self.start + dt.timedelta(minutes=number)).isoformat(),
                   git={"commit": f"{number:040x}", "branch": "main"}, records=[])
        level = self.rng.normal(1.0, NOISE)
        for model, precision in configurations:
            record = copy.deepcopy(self.record)
            record["identity"] = dict(record["identity"], model=model, precision=precision)
            samples = self.rng.choice(self.pool, SAMPLES_PER_RUN) * level
            record["timing"]["samples_ms"] = [round(float(v), 6) for v in samples]
            run["records"].append(record)
        return run


def grid(configurations: int) -> list[tuple[str, str]]:
    precisions = ["fp32", "fp16", "bf16", "int8", "fp8"]
    return [(f"model-{n // len(precisions)}", precisions[n % len(precisions)]) for n in range(configurations)]


def write_throughput(store, maker: RunMaker, runs: int, per_run: int, label: str) -> None:
    """Records per second the way calib files them: live (one transaction per record, as `calib run`
    does while it measures) and push (one transaction per file, as `calib push`)."""
    configurations = grid(per_run)
    payloads = [maker.payload(n, f"live-{label}", configurations) for n in range(runs)]
    started = time.perf_counter()
    for payload in payloads:
        run_id, _ = store.add_run(payload)
        for seq, record in enumerate(payload["records"]):
            store.add_record(run_id, seq, record)
        store.finish_run(run_id)
    live = runs * per_run / (time.perf_counter() - started)
    payloads = [maker.payload(n, f"push-{label}", configurations) for n in range(runs)]
    started = time.perf_counter()
    for payload in payloads:
        store.push(payload)
    pushed = runs * per_run / (time.perf_counter() - started)
    print(f"  write {label:<10} live {live:8,.0f} records/s   push {pushed:8,.0f} records/s   "
          f"({runs} runs x {per_run} records, {SAMPLES_PER_RUN} raw samples each)")


def fill(store, maker: RunMaker, total: int, device_classes: int, configurations: int) -> float:
    """A store of `total` records: runs of `configurations` records on each of `device_classes` classes.
    Returns records per second."""
    configs = grid(configurations)
    runs_per_class = max(1, total // (device_classes * configurations))
    pushing = 0.0
    for number in range(runs_per_class):
        for device in range(device_classes):
            payload = maker.payload(number, f"device-{device}", configs)
            started = time.perf_counter()
            store.push(payload)
            pushing += time.perf_counter() - started
    return runs_per_class * device_classes * configurations / pushing


def timed_ms(action, repeat: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def query_figures(store, label: str, total: int) -> None:
    from calib.store.history import build_series

    counted, rows = timed_ms(lambda: store.select_records(), repeat=1)
    print(f"  read  {label:<10} all {len(rows):,} records (columns, no body) in {counted:,.0f} ms: "
          f"{len(rows) / counted * 1000:,.0f} records/s")
    body_ms, bodies = timed_ms(lambda: store.select_records(device_class="device-0", model="model-0", with_body=True),
                               repeat=1)
    print(f"  read  {label:<10} {len(bodies):,} records with their raw samples (body) in {body_ms:,.0f} ms: "
          f"{len(bodies) / max(body_ms, 1e-9) * 1000:,.0f} records/s")
    key = rows[0]["config_key"]
    checks = [
        ("build_series, one configuration on one device class",
         lambda: build_series(store, config_key=key, device_class="device-0")),
        ("build_series, one model at one precision (every device class)",
         lambda: build_series(store, model="model-3", precision="fp16")),
        ("select_records, model + precision + device class",
         lambda: store.select_records(model="model-3", precision="fp16", device_class="device-1")),
        ("select_records, the gate's window: last 20 of one series",
         lambda: store.select_records(config_key=key, device_class="device-0", newest_first=True, limit=20)),
        ("build_series, every series of one device class",
         lambda: build_series(store, device_class="device-2")),
    ]
    for name, action in checks:
        elapsed, found = timed_ms(action)
        size = (f"{len(found)} series, {sum(len(s.points) for s in found):,} points"
                if found and hasattr(found[0], "points") else f"{len(found):,} records")
        verdict = "PASS" if elapsed < QUERY_TARGET_MS else "FAIL"
        print(f"  query {label:<10} {name}: {elapsed:,.1f} ms ({size}) [{verdict}: target < {QUERY_TARGET_MS:.0f} ms "
              f"over {total:,} records]")


def stores(quick: bool, records: int, folder: Path, postgres: bool, maker: RunMaker) -> None:
    from calib.store import open_store

    targets = [("sqlite", f"sqlite:///{folder}/bench.db", None)]
    if postgres:
        sys.path.insert(0, str(ROOT / "tests"))
        try:
            from store_servers import start_postgres
        except ImportError:
            print("  postgresql: skipped (tests/store_servers.py has no start_postgres)")
        else:
            try:
                server = start_postgres(folder / "postgres")
            except RuntimeError as error:
                print(f"  postgresql: skipped ({str(error).splitlines()[0]})")
            else:
                targets.append(("postgresql", server.url, server))
    else:
        print("  postgresql: skipped (--no-postgres)")
    write_runs, per_run = (5, 10) if quick else (40, 25)
    for label, url, server in targets:
        store = open_store(url)
        try:
            write_throughput(store, maker, write_runs, per_run, label)
            rate = fill(store, maker, records, device_classes=4, configurations=50)
            print(f"  fill  {label:<10} {records:,} records pushed (50 per run) at {rate:,.0f} records/s")
            query_figures(store, label, records)
        finally:
            store.close()
            if server is not None:
                server.stop()


def run_medians(pool: np.ndarray, rng, series: int, runs: int) -> np.ndarray:
    """Per-run medians (series x runs) of SAMPLES_PER_RUN samples drawn from the real pool, each run's
    level multiplied by N(1, NOISE): what a history of a steady configuration looks like."""
    medians = np.median(rng.choice(pool, size=(series, runs, SAMPLES_PER_RUN)), axis=2)
    return medians * rng.normal(1.0, NOISE, size=(series, runs))


def detector(pool: np.ndarray, stepped: int, steady: int) -> None:
    from calib.store.changepoints import DEFAULT_MAX_PVALUE, find_change_points

    rng = np.random.default_rng(2024)
    steady_runs = run_medians(pool, rng, 2000, STEP_AT)
    spread = float(np.std(np.log(steady_runs), ddof=1))
    print(f"  series: {STEP_AT} runs before the step, each run the median of {SAMPLES_PER_RUN} real samples "
          f"x N(1, {NOISE}); run-to-run spread of the log medians {100 * spread:.2f}%; max_pvalue "
          f"{DEFAULT_MAX_PVALUE}, min_size 2; found = a change point within 2 runs of the step, slower after")
    for step in (0.05, 0.08):
        rates = []
        for after in (1, 2, 3, 4, 5):
            medians = run_medians(pool, rng, stepped, STEP_AT + after)
            medians[:, STEP_AT:] *= 1.0 + step
            found = sum(any(abs(c.index - STEP_AT) <= 2 and c.ratio > 1 for c in find_change_points(row))
                        for row in medians)
            rates.append(found / stepped)
        within_3 = rates[2]
        verdict = "PASS" if within_3 >= POWER_TARGET else "FAIL"
        shown = "  ".join(f"{after} run{'s' if after > 1 else ''}: {100 * rate:5.1f}%"
                          for after, rate in zip((1, 2, 3, 4, 5), rates))
        print(f"  +{100 * step:.0f}% step found after {shown}   [{verdict}: within 3 runs "
              f"{100 * within_3:.1f}%, target >= {100 * POWER_TARGET:.0f}% of {stepped} series]")
    for length in (STEP_AT + 3, 60):
        medians = run_medians(pool, rng, steady, length)
        alarms = sum(bool(find_change_points(row)) for row in medians) / steady
        verdict = "PASS" if alarms < FALSE_ALARM_TARGET else "FAIL"
        print(f"  A/A {length}-run series: false alarms in {100 * alarms:.2f}% of {steady} series "
              f"[{verdict}: target < {100 * FALSE_ALARM_TARGET:.0f}%]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run in seconds, figures meaningless")
    parser.add_argument("--records", type=int, default=None, help="records in the queried store (default 100,000)")
    parser.add_argument("--stepped", type=int, default=None, help="stepped series per step size (default 500)")
    parser.add_argument("--steady", type=int, default=None, help="A/A series per length (default 1000)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--part", choices=["all", "store", "detector"], default="all",
                        help="only the store's figures, or only the detector's")
    args = parser.parse_args()
    records = args.records or (2_000 if args.quick else 100_000)
    stepped = args.stepped or (40 if args.quick else 500)
    steady = args.steady or (80 if args.quick else 1000)
    started = time.perf_counter()
    print(machine_line())
    import sqlalchemy
    import torch

    print(f"torch {torch.__version__}, sqlalchemy {sqlalchemy.__version__}, numpy {np.__version__}"
          + ("; --quick: sizes too small for the figures to mean anything" if args.quick else ""))
    pool = real_samples(5_000 if args.quick else 50_000)
    print(f"real samples: {len(pool):,} calls of a 64x64 torch matmul, median {np.median(pool) * 1000:.2f} us, "
          f"p90/median {np.percentile(pool, 90) / np.median(pool):.2f}")
    if args.part in ("all", "store"):
        with tempfile.TemporaryDirectory(prefix="calib-bench-history-") as name:
            folder = Path(name)
            template = real_record(folder)
            print("store throughput and queries:")
            stores(args.quick, records, folder, not args.no_postgres, RunMaker(template, pool))
    if args.part in ("all", "detector"):
        print("change-point detector:")
        detector(pool, stepped, steady)
    print(f"done in {time.perf_counter() - started:.0f} s; load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
