"""Per-layer timing vs end-to-end: does the sum of the layers match the whole?

For each model and precision (CPU by default) this prints the end-to-end median (the
sweep's own measurement), the per-layer sum, coverage = sum / end-to-end, the same ratio
against plain runs interleaved with the per-layer passes (fairer on a noisy machine), and
how long the per-layer pass took. Target: coverage within 0.90-1.10.

Then, per configuration, calib's per-kind times against torch.profiler's on the same model
(the top-level aten ops of each profiled call, classified by calib's op-kind rules): the
agreement of two independent methods, per kind and in total.

    python bench/layers.py
    python bench/layers.py --models resnet18 --precisions fp32 --threads 2
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="resnet18,mobilenet_v3_small,vit_b_16")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (default: physical cores)")
    parser.add_argument("--max-time", type=float, default=3.0, help="seconds for each end-to-end measurement")
    parser.add_argument("--repeats", type=int, default=None,
                        help="per-layer passes (default: 20 for fast configurations, 3 for slow ones)")
    parser.add_argument("--no-profiler", action="store_true", help="skip the torch.profiler cross-check")
    args = parser.parse_args()

    import torch

    from calib import layers
    from calib.backends import RunConfig, get_backend
    from calib.hardware import physical_cores
    from calib.models.loader import load_model
    from calib.settings import LayerSettings
    from calib.timing.clock import PerfCounterTimer
    from calib.timing.engine import TimingSettings, measure

    threads = args.threads or physical_cores()
    torch.set_num_threads(threads)
    print(f"torch {torch.__version__}, {threads} threads, device {args.device}")
    header = (f"{'model':<20} {'prec':<6} {'e2e ms':>9} {'sum ms':>9} {'coverage':>8} {'e2e* ms':>9} "
              f"{'cov*':>6} {'instr ms':>9} {'pass s':>7} {'reps':>4} {'rows':>4}  method")
    print(header)
    print("-" * len(header))
    cross_checks = []
    for model_name in args.models.split(","):
        model = load_model(model_name)
        for precision in args.precisions.split(","):
            config = RunConfig(precision=precision, device=args.device, batch_size=1, threads=threads)
            prepared = get_backend("torch").prepare(model, config)
            # One probe call sizes the measurement: emulated bf16 takes seconds per call.
            probe_start = time.perf_counter()
            with torch.inference_mode():
                prepared.run()
            probe_ms = (time.perf_counter() - probe_start) * 1000
            slow = probe_ms > 500
            settings = TimingSettings(warmup_min_count=1 if slow else 3, warmup_min_time_s=0 if slow else 0.3,
                                      min_count=3 if slow else 20, min_time_s=0 if slow else min(1.0, args.max_time),
                                      max_time_s=args.max_time)
            with torch.inference_mode():
                measurement = measure(prepared.run, PerfCounterTimer(prepared.sync), settings)
            e2e_ms = measurement.summary().median_ms
            repeats = args.repeats or (3 if e2e_ms > 300 else 20)
            table = layers.profile(prepared, e2e_ms, LayerSettings(budget_s=args.max_time, repeats=repeats))
            print(f"{model_name:<20} {precision:<6} {e2e_ms:9.2f} {table['sum_ms']:9.2f} {table['coverage']:8.3f} "
                  f"{_num(table.get('interleaved_end_to_end_ms')):>9} {_num(table.get('coverage_interleaved'), 3):>6} "
                  f"{_num(table.get('instrumented_ms')):>9} {table['pass_s']:7.1f} {table['repeats']:4d} "
                  f"{len(table['layers']):4d}  {table['method']}  mark {_us(table.get('mark_cost_empty_graph_ms'))}"
                  f"/{_us(table.get('mark_cost_in_situ_ms'))} us", flush=True)
            if not args.no_profiler and table.get("layers"):
                cross_checks.append((f"{model_name} {precision}", table,
                                     profiler_by_kind(prepared, 3 if e2e_ms > 300 else 20)))
    for label, table, (profiled, profiled_e2e_ms) in cross_checks:
        _print_cross_check(label, table, profiled, profiled_e2e_ms)


def profiler_by_kind(prepared, iterations: int) -> tuple[dict[str, float], float]:
    """({op kind: ms per call}, ms per profiled call) from torch.profiler over the prepared model's
    calls: each call's top-level aten ops (what the model called, not what those call inside),
    classified by calib's op-kind rules."""
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    from calib.layers.kinds import op_kind_of

    call = "calib_bench_call"
    with torch.inference_mode():
        prepared.run()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(iterations):
                with record_function(call):
                    prepared.run()
    totals: dict[str, float] = {}
    call_us = 0.0
    for event in prof.events():
        if event.name == call:
            call_us += event.cpu_time_total
            continue
        parent = event.cpu_parent
        if parent is None or parent.name != call:
            continue
        name = event.name.split("::")[-1]
        kind = op_kind_of(name)
        totals[kind] = totals.get(kind, 0.0) + event.cpu_time_total
    return {kind: us / 1000 / iterations for kind, us in totals.items()}, call_us / 1000 / iterations


def _print_cross_check(label: str, table: dict, profiled: dict[str, float], profiled_call_ms: float) -> None:
    calib_kinds = {group["op_kind"]: group["median_ms"] for group in table["by_kind"]}
    kinds = sorted(set(calib_kinds) | set(profiled), key=lambda kind: -max(calib_kinds.get(kind, 0), profiled.get(kind, 0)))
    calib_sum, profiled_sum = sum(calib_kinds.values()), sum(profiled.values())
    print(f"\ntorch.profiler cross-check, {label}: calib layers sum {calib_sum:.2f} ms, profiler top-level ops "
          f"{profiled_sum:.2f} ms (ratio {_ratio(calib_sum, profiled_sum)}), profiled call {profiled_call_ms:.2f} ms")
    print(f"  {'kind':<12} {'calib ms':>9} {'profiler ms':>11} {'calib/prof':>10}")
    for kind in kinds:
        print(f"  {kind:<12} {calib_kinds.get(kind, 0):9.3f} {profiled.get(kind, 0):11.3f} "
              f"{_ratio(calib_kinds.get(kind, 0), profiled.get(kind, 0)):>10}")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "-"


def _us(ms) -> str:
    return "-" if ms is None else f"{1000 * ms:.2f}"


def _num(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


if __name__ == "__main__":
    main()
