"""fp32 vs int8 on this CPU, batch 1, same process, interleaved: the issue-5 speed targets.

    python bench/int8.py                 # resnet18 + mobilenet_v2 static, bert-base dynamic
    python bench/int8.py --paths         # also FX vs PT2E and fbgemm vs x86 engine for resnet18

Every variant is prepared by calib's own torch backend (what `calib run` times), then the
variants are timed in rounds, A B C A B C ..., so load changes on a shared machine hit all of
them alike. Printed: per-variant median (calib.timing.stats) and the median of the per-round
ratios fp32/int8, which is the figure to compare with the targets.
Targets (set on a 2-core AMD EPYC Zen 3, AVX2): int8-static resnet18 >= 1.8x, int8-dynamic encoder >= 1.2x.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

TARGETS = {("resnet18", "int8-static"): 1.8, ("bert-base", "int8-dynamic"): 1.2}


def prepare(model, precision: str, threads: int, int8_path: str = "auto", int8_engine: str | None = None):
    from calib.backends import RunConfig, torch_eager
    from calib.settings import CalibrationSettings, Int8Settings

    config = RunConfig(precision=precision, device="cpu", batch_size=1, threads=threads,
                       calibration=CalibrationSettings(samples=16), int8=Int8Settings(int8_path, int8_engine))
    return torch_eager.prepare(model, config)


def interleaved(variants: dict, rounds: int, calls: int) -> dict:
    """{name: [samples_ms]} plus per-round medians, timing each variant `calls` times per round."""
    import torch

    from calib.timing.clock import PerfCounterTimer

    timer = PerfCounterTimer()
    samples = {name: [] for name in variants}
    round_medians = {name: [] for name in variants}
    with torch.inference_mode():
        for run in variants.values():  # warm-up: first calls pay allocation and packing
            for _ in range(3):
                run()
        for _ in range(rounds):
            for name, run in variants.items():
                times = [timer.time_call(run) / 1e6 for _ in range(calls)]
                samples[name].extend(times)
                round_medians[name].append(statistics.median(times))
    return samples, round_medians


def report(model_name: str, variants: dict, infos: dict, rounds: int, calls: int) -> list[tuple]:
    from calib.timing.stats import summarize

    samples, round_medians = interleaved(variants, rounds, calls)
    reference = round_medians["fp32"]
    rows = []
    for name in variants:
        summary = summarize(samples[name])
        ratio = statistics.median(r / v for r, v in zip(reference, round_medians[name]))
        detail = infos.get(name, "")
        print(f"  {model_name:<12} {name:<28} median {summary.median_ms:8.2f} ms   fp32/this {ratio:5.2f}x  {detail}")
        rows.append((model_name, name, ratio))
    return rows


def describe(prepared) -> str:
    info = prepared.info
    if "path" not in info:
        return ""
    flag = "  REFERENCE Q/DQ (not int8 kernels)" if info.get("reference_qdq") else ""
    return (f"[{info['path']}, engine {info['engine']}, {info.get('quantized_layers')} int8 layers, "
            f"{prepared.model_size_bytes / 1e6:.1f} MB]{flag}")


def bench_model(name: str, precision: str, args, extra_variants: dict | None = None) -> list[tuple]:
    from calib.models.loader import load_model

    model = load_model(name, seq_len=args.seq_len if name == "bert-base" else None)
    started = time.perf_counter()
    fp32 = prepare(model, "fp32", args.threads)
    int8 = prepare(model, precision, args.threads)
    variants = {"fp32": fp32.run, precision: int8.run}
    infos = {"fp32": f"[{fp32.model_size_bytes / 1e6:.1f} MB]", precision: describe(int8)}
    for label, options in (extra_variants or {}).items():
        prepared = prepare(model, precision, args.threads, **options)
        variants[label] = prepared.run
        infos[label] = describe(prepared)
    print(f"{name}: prepared in {time.perf_counter() - started:.0f} s")
    return report(name, variants, infos, args.rounds, args.calls)


def main(argv=None) -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=5, help="calls per variant per round")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seq-len", type=int, default=128, help="bert-base sequence length")
    parser.add_argument("--paths", action="store_true", help="also compare FX/PT2E paths and x86/fbgemm engines")
    parser.add_argument("--only", choices=["resnet18", "mobilenet_v2", "bert-base"], action="append")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, batch 1, {args.rounds} rounds x {args.calls} calls, "
          f"engine chosen by calib.quant.engine")
    wanted = args.only or ["resnet18", "mobilenet_v2", "bert-base"]
    rows = []
    if "resnet18" in wanted:
        extra = {"int8-static pt2e": {"int8_path": "pt2e"},
                 "int8-static fx x86-engine": {"int8_engine": "x86"}} if args.paths else None
        rows += bench_model("resnet18", "int8-static", args, extra)
    if "mobilenet_v2" in wanted:
        rows += bench_model("mobilenet_v2", "int8-static", args)
    if "bert-base" in wanted:
        rows += bench_model("bert-base", "int8-dynamic", args)
    failed = False
    for (model_name, precision), target in TARGETS.items():
        for row_model, row_name, ratio in rows:
            if row_model == model_name and row_name == precision:
                verdict = "meets" if ratio >= target else "MISSES"
                failed |= ratio < target
                print(f"target {model_name} {precision} >= {target}x: {ratio:.2f}x {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
