"""Microbenchmarks that check the flag-based verdicts: achieved GFLOP/s per compute type.

Each (device, compute type) gets a time budget; its kernels (matmul, conv, or the quantized
linear calib's int8 path uses) are timed by calib's timing engine (calib.timing: the same
timers as `calib run`, CUDA events on GPUs, every raw sample kept) with that budget as the
time limit. Throughput comes from the median call. Sizes are small on CPU because emulated
bf16/fp16 run 10-100x slower than fp32 there and must still fit the budget.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field

from calib.dtypes import tf32_enabled, torch_dtype
from calib.errors import first_line
from calib.timing.engine import FixedTime, TimingPlan, Warmup
from calib.timing.engine import measure as time_kernel
from calib.timing.stats import summarize

DEFAULT_TOTAL_S = 10.0  # without an explicit per-compute budget, the whole probe takes about this long
ROUNDS = 4  # each compute type's budget is spread over up to this many interleaved rounds
_MIN_ROUND_S = 0.25  # below this per round, interleaving costs more warm-up calls than it saves
CPU_COMPUTES = ("fp32", "fp16", "bf16", "int8")
CUDA_COMPUTES = ("fp32", "tf32", "fp16", "bf16", "int8", "fp8")
_CPU_MATMUL_N, _CUDA_MATMUL_N = 256, 4096
_CPU_CONV, _CUDA_CONV = (1, 32, 28), (8, 128, 56)  # (batch, channels, height=width), 3x3 kernel


@dataclass
class Kernel:
    op: str  # "matmul", "conv", "linear"
    flops: float  # per call
    call: object  # zero-argument callable
    shape: str


@dataclass
class OpMeasurement:
    op: str
    shape: str
    flops_per_call: float
    samples_ms: list[float] = field(default_factory=list)

    def as_dict(self) -> dict:
        median_ms = summarize(self.samples_ms).median_ms
        return {"op": self.op, "shape": self.shape, "gflops": round(self.flops_per_call / median_ms / 1e6, 3),
                "calls": len(self.samples_ms), "median_ms": round(median_ms, 5), "samples_ms": self.samples_ms}


def budget_settings(budget_s: float) -> TimingPlan:
    """A plan that spends about `budget_s`: one warm-up call, then samples until the time is up."""
    return TimingPlan(Warmup(min_count=1, min_time_s=0.0, max_time_s=budget_s), FixedTime(budget_s, min_count=1))


def _float_kernels(compute: str, device: str, matmul_n: int, conv: tuple[int, int, int]) -> list[Kernel]:
    import torch

    dtype = torch_dtype(compute)
    a = torch.randn(matmul_n, matmul_n, device=device).to(dtype)
    b = torch.randn(matmul_n, matmul_n, device=device).to(dtype)
    batch, channels, size = conv
    x = torch.randn(batch, channels, size, size, device=device).to(dtype)
    w = torch.randn(channels, channels, 3, 3, device=device).to(dtype)
    conv_flops = 2 * batch * channels * channels * 9 * size * size
    return [Kernel("matmul", 2 * matmul_n**3, lambda: a @ b, f"{matmul_n}x{matmul_n}x{matmul_n}"),
            Kernel("conv", conv_flops, lambda: torch.nn.functional.conv2d(x, w, padding=1),
                   f"{batch}x{channels}x{size}x{size} k3")]


def _cpu_linear_kernels(compute: str, n: int) -> list[Kernel]:
    """fp32 nn.Linear against the dynamic-quantized Linear that calib's int8-dynamic uses."""
    import torch

    linear = torch.nn.Linear(n, n, bias=False)
    x = torch.randn(n, n)
    if compute == "int8":
        from torch.ao.nn.quantized import dynamic as quantized_dynamic

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao deprecation notices, not our business here
            quantized = quantized_dynamic.Linear(n, n, bias_=False)
            scale = float(linear.weight.detach().abs().max()) / 127
            quantized.set_weight_bias(torch.quantize_per_tensor(linear.weight.detach(), scale, 0, torch.qint8), None)
        module = quantized
    else:
        module = linear
    return [Kernel("linear", 2 * n**3, lambda: module(x), f"{n}x{n}x{n}")]


def _cuda_int_kernels(compute: str, device: str, n: int) -> list[Kernel]:
    import torch

    if compute == "int8":
        a = torch.randint(-128, 127, (n, n), dtype=torch.int8, device=device)
        b = torch.randint(-128, 127, (n, n), dtype=torch.int8, device=device)
        return [Kernel("matmul", 2 * n**3, lambda: torch._int_mm(a, b), f"{n}x{n}x{n} int8->int32")]
    a = torch.randn(n, n, device=device).to(torch.float8_e4m3fn)
    b = torch.randn(n, n, device=device).to(torch.float8_e4m3fn).t()  # _scaled_mm wants column-major b
    one = torch.tensor(1.0, device=device)
    return [Kernel("matmul", 2 * n**3, lambda: torch._scaled_mm(a, b, scale_a=one, scale_b=one,
                                                                 out_dtype=torch.bfloat16), f"{n}x{n}x{n} e4m3")]


def kernels_for(device_id: str, compute: str) -> list[Kernel]:
    if device_id == "cpu":
        if compute == "int8":
            return _cpu_linear_kernels("int8", _CPU_MATMUL_N * 2)
        kernels = _float_kernels(compute, "cpu", _CPU_MATMUL_N, _CPU_CONV)
        return kernels + (_cpu_linear_kernels("fp32", _CPU_MATMUL_N * 2) if compute == "fp32" else [])
    if compute in ("int8", "fp8"):
        return _cuda_int_kernels(compute, device_id, _CUDA_MATMUL_N)
    return _float_kernels(compute, device_id, _CUDA_MATMUL_N, _CUDA_CONV)


def _not_probed(exc: Exception) -> dict:
    return {"probed": False, "reason": f"{type(exc).__name__}: {first_line(exc)}"}


def _default_timer(device_id: str):
    from calib.timing.clock import CudaEventTimer, PerfCounterTimer

    return CudaEventTimer(device_id) if device_id.startswith("cuda") else PerfCounterTimer()


def _probe_device(device_id: str, computes: list[str], budget_s: float, timer, rounds: int) -> dict:
    import torch

    on_cuda = device_id.startswith("cuda")
    with torch.cuda.device(device_id) if on_cuda else nullcontext():
        timer = timer or _default_timer(device_id)
        results, plan = {}, []
        for compute in computes:
            try:
                kernels = kernels_for(device_id, compute)
            except Exception as exc:  # an op this torch build or device lacks: report, don't crash
                results[compute] = _not_probed(exc)
                continue
            results[compute] = {"probed": True, "ops": {}}
            plan += [(compute, k, OpMeasurement(k.op, k.shape, k.flops), budget_s / len(kernels)) for k in kernels]
        # Interleaved rounds: on a shared machine a burst of load then slows every compute type
        # alike, instead of skewing the ratio of whichever type happened to run during it.
        for _ in range(rounds):
            for compute, kernel, measurement, op_budget in plan:
                if not results[compute]["probed"]:
                    continue
                try:
                    with tf32_enabled(compute == "tf32") if on_cuda else nullcontext():
                        timed = time_kernel(kernel.call, timer, budget_settings(op_budget / rounds))
                    measurement.samples_ms += timed.samples_ms
                except Exception as exc:
                    results[compute] = _not_probed(exc)
    for compute, kernel, measurement, _ in plan:
        if results[compute]["probed"]:
            results[compute]["ops"][kernel.op] = measurement.as_dict()
    _add_ratios(results)
    return results


def _add_ratios(results: dict) -> None:
    reference = results.get("fp32", {}).get("ops", {})
    for result in results.values():
        for op, measured in result.get("ops", {}).items():
            if op in reference:
                measured["ratio_to_fp32"] = round(measured["gflops"] / reference[op]["gflops"], 4)


def run_probe(device_ids=None, time_per_compute_s: float | None = None, threads: int | None = None,
              computes=None, timer=None, quantized_engine: str | None = None) -> dict:
    """{"settings", "warnings", "devices": {device_id: {compute: {"probed", "ops": {op: {gflops, ratio_to_fp32}}}}}}

    `timer` replaces the default timers (perf_counter on CPU, CUDA events on GPUs), e.g. with
    calib.timing.clock.FakeTimer in tests. `quantized_engine` is the torch quantized engine for
    the CPU int8 probe (the verdict's engine, so the probe measures what calib would run).
    """
    import torch

    from calib.hardware import physical_cores

    if device_ids is None:
        device_ids = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0)]
    from calib.environment import busy_cpu_warning

    warnings_found = [w for w in [busy_cpu_warning()] if w] if "cpu" in device_ids else []
    plan = {}
    for device_id in device_ids:
        wanted = list(computes or (CPU_COMPUTES if device_id == "cpu" else CUDA_COMPUTES))
        plan[device_id] = wanted if "fp32" in wanted else ["fp32", *wanted]  # every ratio needs the reference
    time_per_compute_s = time_per_compute_s or DEFAULT_TOTAL_S / sum(len(c) for c in plan.values())
    rounds = max(1, min(ROUNDS, int(time_per_compute_s / _MIN_ROUND_S)))
    threads_before, engine_before = torch.get_num_threads(), torch.backends.quantized.engine
    threads = threads or physical_cores()
    torch.set_num_threads(threads)  # explicit: the default may count SMT siblings or a cgroup's quota wrongly
    if quantized_engine in torch.backends.quantized.supported_engines:
        torch.backends.quantized.engine = quantized_engine
    engine_used = torch.backends.quantized.engine
    try:
        devices = {device_id: _probe_device(device_id, wanted, time_per_compute_s, timer, rounds)
                   for device_id, wanted in plan.items()}
    finally:
        torch.set_num_threads(threads_before)
        torch.backends.quantized.engine = engine_before
    return {"settings": {"time_per_compute_s": round(time_per_compute_s, 3), "threads": threads, "rounds": rounds,
                         "quantized_engine": engine_used,
                         "torch": torch.__version__}, "warnings": warnings_found, "devices": devices}
