"""How far this machine moved since a table was calibrated, and how well the speed check reads it
(calib.predict.pulse): the pulse now against the table's, and every calibration model (or those named) timed
again in fresh processes, as the ground truth is timed, against its table median.

    python bench/speed_drift.py TABLE [TABLE ...]            # every calibration model, at its batch sizes
    python bench/speed_drift.py TABLE --models resnet18,mobilenet_v2

Printed per table: each model's now / table, the pulse's now / table (taken before and after), the models'
median move, the table's two quickest calibration models timed again as the check times them, and what the
default check (`calib predict --speed auto`: the pulse decides whether the machine moved, then the smaller of
the two readings scales, none if they disagree) would scale by, each against the models' median.
Run it alone on a quiet machine (the load average is printed): another process's work is in every figure.
"""

from __future__ import annotations

import argparse
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
    from calib.predict.pulse import anchor_ratios, pulse_ms, reference, speed_scale
    from calib.predict.table import load_view
    from calib.results.store import load_result

    steady_malloc()
    for path in args.tables:
        precision = args.precision or next(iter(load_result(path)["calibration"]["tables"]))
        view = load_view(path, precision)
        print(f"\n{path}: {view.description}, {view.backend}; load average {_load()}")
        before = pulse_ms(view.threads)
        names = (args.models.split(",") if args.models else
                 list(dict.fromkeys(m.model for m in view.models if m.model not in KERNEL_SAMPLES)))
        timed = anchor_ratios(view, block_s=args.block, names=names, rounds=args.rounds)
        ratios = {}
        for item in timed:
            ratios[(item["model"], item["batch_size"])] = item["now_ms"] / item["table_ms"]
            print(f"  {item['model']} b{item['batch_size']}: {item['table_ms']:.3f} ms in the table, "
                  f"{item['now_ms']:.3f} ms now ({item['now_ms'] / item['table_ms']:.3f}x)")
        missing = sorted(set(names) - {item["model"] for item in timed})
        if missing:
            print(f"  not timed (no calibration model of this table, or it could not run here): {', '.join(missing)}")
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
        check = speed_scale(view, view.device_name, mode="anchors")  # what `calib predict --speed anchors` scales by
        if check["method"] == "anchors":
            print(f"  the default check's anchors ({', '.join(sorted({a['model'] for a in check['anchors']}))}) timed "
                  f"again: {check['scale']:.3f}x ({100 * (check['scale'] / moved - 1):+.1f}% off the models; "
                  f"log spread {check['spread']:.3f})")
            # the default (auto) rule on those same readings, the pulse taken before the models, nothing timed again
            auto = speed_scale(view, view.device_name, measure=lambda threads: before,
                               anchors=lambda table: check["anchors"])
            said = (f"{auto['scale']:.3f}x by the {auto['method']} ({100 * (auto['scale'] / moved - 1):+.1f}% off "
                    "the models)" if auto["applied"] else f"nothing: {auto['reason']}")
            print(f"  `calib predict --speed auto` would scale by {said}")
        print(f"  load average {_load()}")
    return 0


def _load() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
