"""ONNX Runtime against PyTorch eager, and ORT int8-static against ORT fp32, side by side.

    .venv/bin/python bench/ort.py                      # resnet18, batch 1, 8 rounds
    .venv/bin/python bench/ort.py --model mobilenet_v3_small --rounds 4

All configurations are prepared through calib's own backends (the same code `calib run`
uses), then timed in interleaved rounds in one process: round r runs a block of calls of
each configuration in turn, so drift on this shared machine falls on all of them alike.
Medians come from calib.timing.stats over every call. Target (issue 6): ORT int8-static
at least 1.8x faster than ORT fp32 on resnet18.
"""

from __future__ import annotations

import argparse
import time

TARGET_INT8_SPEEDUP = 1.8


def _parse():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--threads", type=int, help="intra-op threads (default: physical cores)")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds")
    parser.add_argument("--block-s", type=float, default=0.5, help="seconds of calls per configuration per round")
    parser.add_argument("--calib-samples", type=int, default=32)
    return parser.parse_args()


def main() -> None:
    import torch

    from calib.backends import RunConfig, get_backend
    from calib.hardware import physical_cores
    from calib.models.loader import load_model
    from calib.settings import CalibrationSettings
    from calib.timing.stats import summarize

    args = _parse()
    threads = args.threads or physical_cores()
    torch.set_num_threads(threads)
    model = load_model(args.model)
    calibration = CalibrationSettings(samples=args.calib_samples)
    configurations = [("torch", "fp32"), ("onnxruntime", "fp32"), ("onnxruntime", "int8-static")]
    prepared = {}
    for backend, precision in configurations:
        started = time.perf_counter()
        prepared[(backend, precision)] = get_backend(backend).prepare(
            model, RunConfig(precision, "cpu", args.batch_size, threads, calibration=calibration))
        print(f"prepared {backend:12s} {precision:12s} in {time.perf_counter() - started:6.1f} s", flush=True)

    samples = {key: [] for key in prepared}
    with torch.inference_mode():
        for key, item in prepared.items():  # warm-up, untimed
            for _ in range(3):
                item.run()
        for _ in range(args.rounds):
            for key, item in prepared.items():
                deadline = time.perf_counter() + args.block_s
                while time.perf_counter() < deadline:
                    started = time.perf_counter_ns()
                    item.run()
                    samples[key].append((time.perf_counter_ns() - started) / 1e6)
    for item in prepared.values():
        if item.close:
            item.close()

    medians = {key: summarize(values).median_ms for key, values in samples.items()}
    print(f"\n{args.model} batch {args.batch_size}, {threads} threads, {args.rounds} interleaved rounds")
    for (backend, precision), median in medians.items():
        print(f"  {backend:12s} {precision:12s} median {median:8.2f} ms  ({len(samples[(backend, precision)])} calls)")
    eager_vs_ort = medians[("torch", "fp32")] / medians[("onnxruntime", "fp32")]
    int8_vs_fp32 = medians[("onnxruntime", "fp32")] / medians[("onnxruntime", "int8-static")]
    info = prepared[("onnxruntime", "int8-static")].info
    print(f"  fp32: ORT is {eager_vs_ort:.2f}x the speed of torch eager")
    print(f"  ORT int8-static ({info.get('activation_type')}/{info.get('weight_type')} QDQ, "
          f"per_channel={info.get('per_channel')}) is {int8_vs_fp32:.2f}x ORT fp32 "
          f"(target >= {TARGET_INT8_SPEEDUP}x: {'met' if int8_vs_fp32 >= TARGET_INT8_SPEEDUP else 'NOT met'})")


if __name__ == "__main__":
    main()
