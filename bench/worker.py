"""Does measuring in a worker process (calib.worker, the default of `calib run`) change the figures?

Runs the same sweep in this process (`--timeout 0`) and in a worker (the default), alternating
A B B A over --rounds, and prints per model: each side's median of medians, their ratio
(worker / in-process; 1.00 means the worker costs nothing in what is measured) and the wall time
each sweep took beyond its timed work (the worker's start: a fork from the forkserver plus
loading the model). Target: ratio within 0.95-1.05 (this machine's noise is about +-10% run to
run; interleaving is what makes the ratio meaningful).

    python bench/worker.py --models tiny-cnn,resnet18 --rounds 6
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny-cnn,resnet18")
    parser.add_argument("--rounds", type=int, default=6, help="rounds of (in-process, worker) pairs, ABBA order")
    parser.add_argument("--max-time", type=float, default=2.0, help="seconds of timing per sweep")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    from calib.environment import capture
    from calib.hardware import device_report, physical_cores
    from calib.models.loader import load_any
    from calib.results.schema import summary_of
    from calib.results.store import ResultWriter
    from calib.spec import SweepSpec
    from calib.sweep import InProcessSweep
    from calib.timing.engine import TimingSettings
    from calib.worker import IsolatedSweep

    threads = args.threads or physical_cores()
    report = device_report()
    environment = capture(threads, report)
    timing = TimingSettings(min_time_s=min(1.0, args.max_time), max_time_s=args.max_time, warmup_min_time_s=0.3)
    folder = Path(tempfile.mkdtemp(prefix="calib-bench-worker-"))
    print(f"{threads} threads, {args.rounds} rounds, --max-time {args.max_time:g}; results under {folder}")
    print(f"{'model':<14} {'in-process ms':>13} {'worker ms':>10} {'worker/in':>9} {'extra s in':>10} "
          f"{'extra s worker':>14}")
    for model_name in args.models.split(","):
        spec = SweepSpec(model=model_name, backends=["torch"], precisions=["fp32"], batch_sizes=[1], device="cpu",
                         threads=threads, timing=timing)
        medians = {"in": [], "worker": []}
        extra = {"in": [], "worker": []}
        for index in range(2 * args.rounds):
            order = ("in", "worker") if (index // 2) % 2 == 0 else ("worker", "in")  # ABBA
            side = order[index % 2]
            started = time.perf_counter()
            if side == "in":
                sweep = InProcessSweep(spec, load_any(model_name))
            else:
                sweep = IsolatedSweep(spec)
            with sweep:
                writer = ResultWriter(folder / f"{model_name}-{index}-{side}.json", environment, report,
                                      command=["bench/worker.py"])
                record = sweep.run(writer, report)[0]
            writer.finish()
            wall = time.perf_counter() - started
            timed = sum(record["timing"]["samples_ms"]) + sum(record["timing"]["warmup_ms"])
            medians[side].append(summary_of(record).median_ms)
            extra[side].append(wall - timed / 1000)
        inside, worker = statistics.median(medians["in"]), statistics.median(medians["worker"])
        print(f"{model_name:<14} {inside:13.3f} {worker:10.3f} {worker / inside:9.3f} "
              f"{statistics.median(extra['in']):10.2f} {statistics.median(extra['worker']):14.2f}", flush=True)


if __name__ == "__main__":
    main()
