"""Does `calib check` cry wolf, and does it miss? False-alarm and detection rates, measured.

    .venv/bin/python bench/gate.py                      # 100 A/A + 40 slowed pairs, interleaved (~30 min)
    .venv/bin/python bench/gate.py --aa 40 --slowed 20  # a quicker look
    .venv/bin/python bench/gate.py --mode separate      # two separate runs per pair (the fallback path)
    .venv/bin/python bench/gate.py --reuse DIR          # re-judge the files a previous run kept
    .venv/bin/python bench/gate.py --noise              # with a bursty background load on one core

Every measurement is of models/slowed.py:build (a stack of Linear blocks). An A/A pair is the
same build on both sides (two separately loaded instances); a slowed pair sets CALIB_SLOWDOWN on
the current side (default +10% block work). --mode interleaved (default, what docs/ci.md
recommends) measures each pair as `calib ab` does: both instances in alternating ABBA rounds in
one process (calib.interleave: at least --rounds rounds, more up to --max-rounds while the
verdict is unsettled), judged by the paired rule. --mode separate measures each
side as its own `calib run` (random order within a pair), judged by the separate-runs rule.
The two kinds of pairs are shuffled over the session, so the machine's drift falls on both.
--noise adds a neighbour: a process that keeps one core busy for random spells (exponential,
mean 1 s) with random pauses between them (mean 1 s), the way a shared CI runner behaves.
Each pair is judged by the gate at its default settings (calib.check.gate).
Targets (issue 8): at most 1 false alarm in 100 A/A pairs; at least 95% of +10% caught.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = f"{ROOT / 'models' / 'slowed.py'}:build"
SLOWDOWN_ENV = "CALIB_SLOWDOWN"


def _parse():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--aa", type=int, default=100, help="A/A pairs (default 100)")
    parser.add_argument("--slowed", type=int, default=40, help="baseline/slowed pairs (default 40)")
    parser.add_argument("--slowdown", type=float, default=0.10, help="extra work of the slowed build (0.10 = +10%%)")
    parser.add_argument("--mode", choices=["interleaved", "separate"], default="interleaved",
                        help="interleaved: each pair as `calib ab` measures it (default); separate: two calib runs")
    parser.add_argument("--rounds", type=int, default=None,
                        help="interleaved: minimum rounds per pair (calib ab's default)")
    parser.add_argument("--max-rounds", type=int, default=None, help="interleaved: maximum rounds (calib ab's default)")
    parser.add_argument("--noise", action="store_true", help="a bursty busy loop on one core in the background")
    parser.add_argument("--round-time", type=float, default=None, help="interleaved: seconds per side per round")
    parser.add_argument("--max-time", type=float, default=1.0, help="separate: seconds per calib run (--max-time)")
    parser.add_argument("--min-time", type=float, default=None,
                        help="calib run --min-time (default: calib's default, capped at --max-time)")
    parser.add_argument("--threads", type=int, help="calib run --threads (default: calib's default)")
    parser.add_argument("--subprocess", action="store_true",
                        help="each measurement as its own `calib run` process (slower, closest to CI)")
    parser.add_argument("--keep", type=Path, help="keep the results files and a manifest in this folder")
    parser.add_argument("--reuse", type=Path, help="judge the files a previous --keep run left, measure nothing")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


class InProcessRunner:
    """calib run through the library: one sweep of one configuration per measurement."""

    def __init__(self, max_time: float, min_time: float, threads: int | None):
        from calib.environment import capture
        from calib.hardware import device_report, physical_cores
        from calib.timing.engine import TimingSettings

        self.report = device_report()
        self.threads = threads or physical_cores()
        self.environment = capture(self.threads, self.report)
        self.timing = TimingSettings(min_time_s=min_time, max_time_s=max_time)

    def __call__(self, path: Path, slowdown: float) -> None:
        from calib.models.loader import load_model
        from calib.results.store import ResultWriter
        from calib.spec import SweepSpec
        from calib.sweep import run_sweep

        os.environ[SLOWDOWN_ENV] = str(slowdown)
        spec = SweepSpec(model=MODEL, backends=["torch"], precisions=["fp32"], batch_sizes=[1], device="cpu",
                         threads=self.threads, timing=self.timing)
        model = load_model(MODEL)  # a fresh import of the file, as a new calib run would do
        writer = ResultWriter(path, self.environment, self.report, command=["bench/gate.py"])
        run_sweep(spec, model, writer, self.report)
        writer.finish()


class InterleavedRunner:
    """calib ab through the library: both sides of a pair in alternating rounds, one process."""

    def __init__(self, rounds: int | None, max_rounds: int | None, round_time: float | None, threads: int | None):
        from calib.interleave import InterleaveSettings
        from calib.environment import capture
        from calib.hardware import device_report, physical_cores

        self.report = device_report()
        self.threads = threads or physical_cores()
        self.environment = capture(self.threads, self.report)
        defaults = InterleaveSettings()
        rounds = rounds or defaults.rounds
        self.settings = InterleaveSettings(rounds=rounds,
                                           max_rounds=max(max_rounds or defaults.max_rounds, rounds),
                                           round_time_s=round_time or defaults.round_time_s)

    def measure_pair(self, baseline_path: Path, current_path: Path, current_slowdown: float) -> None:
        from calib.interleave import run_ab
        from calib.models.loader import load_model
        from calib.results.store import ResultWriter
        from calib.spec import SweepSpec

        models = []
        for slowdown in (0.0, current_slowdown):  # two separately built instances, even for A/A
            os.environ[SLOWDOWN_ENV] = str(slowdown)
            models.append(load_model(MODEL))
        spec = SweepSpec(model=MODEL, backends=["torch"], precisions=["fp32"], batch_sizes=[1], device="cpu",
                         threads=self.threads)
        writers = [ResultWriter(path, self.environment, self.report, command=["bench/gate.py"])
                   for path in (baseline_path, current_path)]
        run_ab(spec, *models, *writers, self.report, self.settings)
        for writer in writers:
            writer.finish()


class SubprocessRunner:
    def __init__(self, max_time: float, min_time: float, threads: int | None):
        self.options = ["--max-time", str(max_time), "--min-time", str(min_time), "-q"]
        if threads:
            self.options += ["--threads", str(threads)]

    def __call__(self, path: Path, slowdown: float) -> None:
        env = {**os.environ, SLOWDOWN_ENV: str(slowdown)}
        subprocess.run([sys.executable, "-m", "calib", "run", "--model", MODEL, "--device", "cpu",
                        "--out", str(path), *self.options], env=env, check=True, stdout=subprocess.DEVNULL)


def _min_time(args) -> float:
    from calib.timing.engine import TimingSettings

    return min(args.min_time if args.min_time is not None else TimingSettings().min_time_s, args.max_time)


def measure_pairs(args, folder: Path) -> list[dict]:
    if args.mode == "interleaved":
        runner = InterleavedRunner(args.rounds, args.max_rounds, args.round_time, args.threads)
    else:
        runner = (SubprocessRunner if args.subprocess else InProcessRunner)(args.max_time, _min_time(args),
                                                                           args.threads)
    rng = random.Random(args.seed)
    kinds = ["aa"] * args.aa + ["slowed"] * args.slowed
    rng.shuffle(kinds)  # interleave the two kinds over the whole session
    pairs = []
    for index, kind in enumerate(kinds):
        load = os.getloadavg()[0]  # other programs on this machine: the noise the gate must survive
        current_slowdown = args.slowdown if kind == "slowed" else 0.0
        baseline, current = folder / f"{index:03d}-{kind}-baseline.json", folder / f"{index:03d}-{kind}-current.json"
        if args.mode == "interleaved":
            runner.measure_pair(baseline, current, current_slowdown)  # ABBA rounds: no order to randomize
        else:
            jobs = [(baseline, 0.0), (current, current_slowdown)]
            rng.shuffle(jobs)  # which of the two runs first is random
            for path, slowdown in jobs:
                runner(path, slowdown)
        pairs.append({"kind": kind, "baseline": baseline.name, "current": current.name, "load": load})
        print(f"\r  measured {index + 1}/{len(kinds)} pairs", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    (folder / "manifest.json").write_text(json.dumps({"slowdown": args.slowdown, "max_time": args.max_time,
                                                      "threads": args.threads, "mode": args.mode,
                                                      "rounds": args.rounds, "max_rounds": args.max_rounds,
                                                      "round_time": args.round_time, "noise": args.noise,
                                                      "pairs": pairs}, indent=1))
    return pairs


def judge_pairs(folder: Path, pairs: list[dict]) -> dict[str, list]:
    from calib.check.gate import gate
    from calib.results.store import load_result

    judged: dict[str, list] = {"aa": [], "slowed": []}
    for pair in pairs:
        result = gate(load_result(folder / pair["baseline"]), load_result(folder / pair["current"]))
        outcome = result.outcomes[0]
        if outcome.ratio is None:  # a run failed: neither a pass nor a catch, so not counted
            print(f"  {pair['baseline']}: not judged ({outcome.outcome}: {outcome.note})", file=sys.stderr)
            continue
        timing = load_result(folder / pair["current"])["records"][0]["timing"]
        rounds = len(timing.get("rounds") or [])
        stop = (timing.get("interleave") or {}).get("stop")
        judged[pair["kind"]].append(Judged(outcome.outcome, outcome.ratio,
                                           "interleaved, paired" if rounds else outcome.method, rounds, stop))
    return judged


@dataclass
class Judged:
    outcome: str
    ratio: float
    method: str
    rounds: int  # 0 for separate runs
    stop: str | None  # why calib ab stopped adding rounds


def _rounds_line(name: str, pairs: list[Judged]) -> str:
    import numpy as np

    rounds = [p.rounds for p in pairs if p.rounds]
    if not rounds:
        return ""
    from calib.check.gate import STOP_MAX_ROUNDS

    unsettled = sum(1 for p in pairs if p.stop == STOP_MAX_ROUNDS)
    return (f"{name} rounds used: median {np.median(rounds):.0f}, max {max(rounds)}; "
            f"unsettled at the maximum: {unsettled}/{len(pairs)}")


def _rate_line(name: str, hits: int, total: int) -> str:
    from scipy.stats import binomtest

    if not total:
        return f"{name}: no pairs"
    interval = binomtest(hits, total).proportion_ci(0.95)
    return f"{name}: {hits}/{total} = {100 * hits / total:.1f}% (95% CI {100 * interval.low:.1f}-{100 * interval.high:.1f}%)"


def _ratio_line(name: str, ratios: list[float]) -> str:
    import numpy as np

    if not ratios:
        return f"{name}: -"
    p5, p50, p95 = np.percentile(ratios, [5, 50, 95])
    return f"{name} current/baseline as judged: p5 {p5:.3f}  median {p50:.3f}  p95 {p95:.3f}  max {max(ratios):.3f}"


def _settings_text(mode: str, options: dict) -> str:
    threads = f"threads {options.get('threads') or 'default'}"
    noise = ", bursty background load on one core" if options.get("noise") else ""
    if mode == "interleaved":
        from calib.interleave import DEFAULT_MAX_ROUNDS, DEFAULT_ROUND_TIME_S, DEFAULT_ROUNDS

        return (f"interleaved (calib ab): {options.get('rounds') or DEFAULT_ROUNDS}-"
                f"{options.get('max_rounds') or DEFAULT_MAX_ROUNDS} rounds x "
                f"{options.get('round_time') or DEFAULT_ROUND_TIME_S} s per side, {threads}{noise}")
    where = "one process per run" if options.get("subprocess") else "in-process runs"
    return f"separate runs: --max-time {options.get('max_time')}, {threads}, {where}{noise}"


NOISE = """
import random, time
rng = random.Random(0)
while True:
    end = time.perf_counter() + rng.expovariate(1.0)
    while time.perf_counter() < end:
        sum(range(1000))
    time.sleep(rng.expovariate(1.0))
"""


def _start_noise() -> subprocess.Popen:
    """The neighbour of --noise: busy spells and pauses of random length (mean 1 s each) on one core."""
    return subprocess.Popen([sys.executable, "-c", NOISE])


def main() -> int:
    args = _parse()
    sys.path.insert(0, str(ROOT))
    from calib.check.gate import DEFAULT_ALPHA, DEFAULT_TOLERANCE, REGRESSION

    started = time.perf_counter()
    if args.reuse:
        manifest = json.loads((args.reuse / "manifest.json").read_text())
        folder, pairs, slowdown = args.reuse, manifest["pairs"], manifest["slowdown"]
        settings_line = f"reused {folder}: {_settings_text(manifest.get('mode', 'separate'), manifest)}"
    else:
        folder = args.keep or Path(tempfile.mkdtemp(prefix="calib-gate-"))
        folder.mkdir(parents=True, exist_ok=True)
        settings_line = _settings_text(args.mode, vars(args))
        print(f"gate bench: {args.aa} A/A + {args.slowed} slowed (+{100 * args.slowdown:.0f}%) pairs, "
              f"{settings_line}", file=sys.stderr)
        neighbour = _start_noise() if args.noise else None
        try:
            pairs, slowdown = measure_pairs(args, folder), args.slowdown
        finally:
            if neighbour:
                neighbour.kill()
    measured_s = time.perf_counter() - started
    judged = judge_pairs(folder, pairs)
    false_alarms = sum(1 for pair in judged["aa"] if pair.outcome == REGRESSION)
    detections = sum(1 for pair in judged["slowed"] if pair.outcome == REGRESSION)
    methods = sorted({pair.method for kind in judged.values() for pair in kind})
    print(f"calib check at defaults (tolerance {100 * DEFAULT_TOLERANCE:.0f}%, alpha {DEFAULT_ALPHA}); {settings_line}; "
          f"judged by: {', '.join(methods) or '-'}")
    print(_rate_line("false alarms (A/A)", false_alarms, len(judged["aa"])) + "   target <= 1%")
    print(_rate_line(f"detected (+{100 * slowdown:.0f}% work)", detections, len(judged["slowed"])) + "   target >= 95%")
    print(_ratio_line("A/A", [pair.ratio for pair in judged["aa"]]))
    print(_ratio_line("slowed", [pair.ratio for pair in judged["slowed"]]))
    for name, kind in (("A/A", "aa"), ("slowed", "slowed")):
        line = _rounds_line(name, judged[kind])
        if line:
            print(line)
    loads = [pair["load"] for pair in pairs if "load" in pair]
    if loads:
        print(f"machine load (1-min load average, {os.cpu_count()} CPUs) during the pairs: "
              f"min {min(loads):.1f}, median {sorted(loads)[len(loads) // 2]:.1f}, max {max(loads):.1f}")
    print(f"took {measured_s:.0f} s measuring, {time.perf_counter() - started - measured_s:.1f} s judging"
          + ("" if args.keep or args.reuse else f"; files in {folder}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
