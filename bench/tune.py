"""Measured, not assumed: every candidate of each configuration, calib's pick, and what the pick gains.

For each model and precision, calib.tuning prepares every candidate the backend lists (torch: memory
format for 4-D inputs, the int8-static path; ONNX Runtime: int8 activation/weight types), races them
in interleaved rounds in this one process, and keeps the fastest whose outputs are as close to fp32.
Printed per configuration: each candidate's median, the pick, and the pick's speed-up over the rule's
first candidate (the old default), from the same interleaved rounds.

    python bench/tune.py                                  # resnet18, mobilenet_v3_small, efficientnet_b0, vit_b_16
    python bench/tune.py --models resnet18 --budget 6

bf16 is included only where `calib device` says it is native here (emulated bf16 takes seconds a call).
Targets (Intel AMX machine kind, issue 14): torch bf16 >= 1.7x torch fp32 on resnet18 with the tuned
choice on both sides; ORT int8-static >= 1.8x ORT fp32.
"""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="resnet18,mobilenet_v3_small,efficientnet_b0,vit_b_16")
    parser.add_argument("--budget", type=float, default=4.0, help="seconds of timed rounds per configuration")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--backends", default="torch,onnxruntime")
    args = parser.parse_args()

    import torch

    from calib.configuration import Configuration
    from calib.hardware import device_report, physical_cores, verdict_for
    from calib.models.loader import load_model
    from calib.settings import CalibrationSettings, TuneSettings
    from calib.spec import SweepSpec
    from calib.tuning import prepare_tuned

    threads = args.threads or physical_cores()
    torch.set_num_threads(threads)
    report = device_report()
    native_bf16 = (verdict_for(report, "cpu", "bf16") or {}).get("status") == "native"
    print(f"{threads} threads, bf16 {'native' if native_bf16 else 'not native: left out'}, budget {args.budget:g} s, "
          f"{args.rounds} rounds; flags: {' '.join(report['cpu'].get('precision_flags') or [])}")
    print(f"{'configuration':<40} {'candidates (median ms)':<44} {'pick':<14} {'pick vs rule':>12}")
    settings = TuneSettings(budget_s=args.budget, rounds=args.rounds)
    fp32_ms: dict = {}
    for model_name in args.models.split(","):
        model = load_model(model_name)
        for backend in args.backends.split(","):
            precisions = ["fp32"] + (["bf16"] if native_bf16 and backend == "torch" else []) + ["int8-static"]
            for precision in precisions:
                spec = SweepSpec(model=model_name, backends=[backend], precisions=[precision], batch_sizes=[1],
                                 device="cpu", threads=threads, calibration=CalibrationSettings(samples=16))
                configuration = Configuration(model.name, backend, precision, 1, (1, *model.item_shape), "cpu")
                label = configuration.short_label
                try:
                    prepared, tuning = prepare_tuned(model, configuration, spec.run_config(precision, 1), settings)
                except Exception as exc:  # noqa: BLE001 - a bench row says why it could not run
                    print(f"{label:<40} failed: {type(exc).__name__}: {str(exc).splitlines()[0][:70]}")
                    continue
                with prepared:
                    if not tuning:
                        print(f"{label:<40} {'(one candidate)':<44}")
                        continue
                    timed = {c["name"]: c["median_ms"] for c in tuning["candidates"] if c.get("median_ms")}
                    text = ", ".join(f"{name} {ms:.2f}" for name, ms in timed.items()) or "not raced"
                    first, picked = tuning["rule_first"], tuning["picked"]
                    gain = timed[first] / timed[picked] if first in timed and picked in timed else None
                    if picked in timed:
                        fp32_ms.setdefault((model_name, backend), {})[precision] = timed[picked]
                    print(f"{label:<40} {text:<44} {picked:<14} {'-' if gain is None else f'{gain:.2f}x':>12}",
                          flush=True)
    print("\nspeed-up over fp32 with the picked candidates (separate races; this machine drifts +-10%):")
    for (model_name, backend), medians in fp32_ms.items():
        base = medians.get("fp32")
        others = ", ".join(f"{p} {base / ms:.2f}x" for p, ms in medians.items() if p != "fp32" and base)
        print(f"  {model_name} {backend}: {others or '-'}")


if __name__ == "__main__":
    main()
