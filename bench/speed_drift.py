"""How far this machine moved since a table was calibrated, and how well the speed check reads it
(calib.predict.pulse): the pulse now against the table's, and every calibration model (or those named) timed
again in fresh processes, as the ground truth is timed, against its table median.

    python bench/speed_drift.py TABLE [TABLE ...]            # every calibration model, at its batch sizes
    python bench/speed_drift.py TABLE --models resnet18,mobilenet_v2

Printed per table: each model's now / table, the pulse's now / table (taken before and after), the models'
median move, and what the default check (`calib predict --speed auto`: the pulse decides, the table's two
quickest calibration models measure) would scale by, with each reading's error against the models' median.
Run it alone on a quiet machine (the load average is printed): another process's work is in every figure.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
from pathlib import Path

# the repository root in place of bench/, whose openvino.py would shadow the openvino package
sys.path[0] = str(Path(__file__).resolve().parents[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tables", nargs="+", help="`calib calibrate` files (one precision each, or --precision)")
    parser.add_argument("--precision", default=None, help="the table's precision (default: its only one)")
    parser.add_argument("--models", default=None, help="comma-separated calibration models (default: all)")
    parser.add_argument("--block", type=float, default=1.5, help="seconds per configuration per round")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from calib.malloc import steady_malloc
    from calib.predict.models import KERNEL_SAMPLES
    from calib.predict.pulse import ANCHORS, anchor_ratios, pulse_ms, reference
    from calib.predict.table import load_view
    from calib.predict.truth import time_fresh
    from calib.results.store import load_result

    steady_malloc()
    for path in args.tables:
        precision = args.precision or next(iter(load_result(path)["calibration"]["tables"]))
        view = load_view(path, precision)
        table = {}
        for sample in view.models:
            if sample.model not in KERNEL_SAMPLES and sample.end_to_end_ms:
                table.setdefault(sample.model, {})[sample.batch_size] = float(sample.end_to_end_ms)
        names = args.models.split(",") if args.models else list(table)
        print(f"\n{path}: {view.description}, {view.backend}; load average {_load()}")
        before = pulse_ms(view.threads)
        ratios = {}
        for name in names:
            if name not in table:
                print(f"  {name}: not a calibration model of this table")
                continue
            timed = time_fresh(view.backend, precision, name, tuple(sorted(table[name])), view.threads, args.block,
                               rounds=args.rounds)
            for batch, samples in sorted(timed["samples"].items()):
                if samples:
                    now = statistics.median(samples)
                    ratios[(name, batch)] = now / table[name][batch]
                    print(f"  {name} b{batch}: {table[name][batch]:.3f} ms in the table, {now:.3f} ms now "
                          f"({ratios[(name, batch)]:.3f}x)")
        after = pulse_ms(view.threads)
        if not ratios:
            continue
        moved = statistics.median(ratios.values())
        spread = sorted(ratios.values())
        print(f"  the models moved {moved:.3f}x (median of {len(ratios)}; each {spread[0]:.3f}-{spread[-1]:.3f}x)")
        ref = reference(view.pulses)
        if ref:
            for label, pulse in (("before", before), ("after", after)):
                print(f"  the pulse {label}: {pulse:.4f} ms now, {ref:.4f} ms in the table: {pulse / ref:.3f}x "
                      f"({100 * (pulse / ref / moved - 1):+.1f}% off the models)")
        anchors = anchor_ratios(view, ANCHORS)
        if anchors:
            scale = statistics.median(a["now_ms"] / a["table_ms"] for a in anchors)
            print(f"  the default check's anchors ({', '.join(sorted({a['model'] for a in anchors}))}) timed "
                  f"again: {scale:.3f}x ({100 * (scale / moved - 1):+.1f}% off the models; "
                  f"log spread {max(abs(math.log(a['now_ms'] / a['table_ms'] / scale)) for a in anchors):.3f})")
        print(f"  load average {_load()}")
    return 0


def _load() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
