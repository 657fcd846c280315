"""Does this machine run a model at one speed, or switch between several? Per fresh process (calib's forkserver,
as calib's truths and revisits are timed): the median of each of four 0.5 s blocks, /proc/stat's steal jiffies
meanwhile, and each busy thread's CPU affinity, last CPU and CPU time. Variants interleaved, process by process.

    python bench/speed_states.py --variants ov,ov-nopin,torch --model densenet121 --processes 5

ov: OpenVINO fp32 (latency hint, --threads threads, pinning as the plugin chooses); ov-nopin: the same with
ENABLE_CPU_PINNING off; torch: eager fp32 in inference mode. On the AMD Zen 4 machine kind (2026-12-07) DenseNet-121
b1 read 51-53 or 76-84 ms in torch and 30-32 or 38-40 ms in OpenVINO, by process and sometimes by block, with
steal at 0-6 jiffies (docs/predict.md, "What limits the accuracy here"). Run it alone: it prints the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repository root, not bench/ (its openvino.py)


def _stat() -> tuple[int, int]:
    with open("/proc/stat") as handle:
        parts = handle.readline().split()
    return int(parts[8]), int(parts[1]) + int(parts[3])  # steal, user + system


def _threads() -> str:
    found = []
    for task in os.listdir("/proc/self/task"):
        try:
            fields = open(f"/proc/self/task/{task}/stat").read().rsplit(")", 1)[1].split()
            cpu_ticks = int(fields[11]) + int(fields[12])
            if cpu_ticks >= 5:
                allowed = ",".join(map(str, sorted(os.sched_getaffinity(int(task)))))
                found.append(f"{allowed}@{fields[36]}:{cpu_ticks}")
        except (OSError, ValueError, IndexError):
            continue
    return " ".join(found)


def one_process(variant: str, name: str, threads: int, progress=None) -> dict:
    import torch

    from calib.predict.models import load_named

    torch.set_num_threads(threads)
    model = load_named(name)
    example = torch.randn(1, *model.item_shape)
    if variant.startswith("ov"):
        import openvino

        properties = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY",
                      "INFERENCE_NUM_THREADS": threads}
        if variant == "ov-nopin":
            properties["ENABLE_CPU_PINNING"] = False
        compiled = openvino.Core().compile_model(openvino.convert_model(model.module.eval(), example_input=example),
                                                 "CPU", properties)
        request, array = compiled.create_infer_request(), example.numpy()

        def run():
            request.infer([array])
    else:
        module = model.module.eval()

        def run():
            with torch.inference_mode():
                module(example)
    for _ in range(5):
        run()
    steal_before, busy_before = _stat()
    blocks = []
    for _ in range(4):
        samples, end = [], time.perf_counter() + 0.5
        while time.perf_counter() < end:
            started = time.perf_counter()
            run()
            samples.append((time.perf_counter() - started) * 1e3)
        blocks.append(statistics.median(samples))
    steal_after, busy_after = _stat()
    return {"blocks": blocks, "steal": steal_after - steal_before, "busy": busy_after - busy_before,
            "threads": _threads()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="ov,torch")
    parser.add_argument("--model", default="densenet121")
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    from calib.malloc import steady_malloc
    from calib.worker import call_in_child

    steady_malloc()
    print(f"load average {'/'.join(f'{v:.2f}' for v in os.getloadavg())}; {args.model} b1 fp32, {args.threads} "
          "threads; per process: median ms, its four 0.5 s blocks, steal / busy jiffies, threads (affinity@last "
          "CPU:CPU ticks)")
    for index in range(args.processes):
        for variant in args.variants.split(","):
            got = call_in_child(one_process, (variant, args.model, args.threads), name=f"speed states {variant}")
            print(f"{index} {variant:8s} {statistics.median(got['blocks']):8.3f}  blocks "
                  f"{' '.join(f'{b:.2f}' for b in got['blocks'])}  steal {got['steal']} busy {got['busy']} | "
                  f"{got['threads']}", flush=True)
    print(f"load average {'/'.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
