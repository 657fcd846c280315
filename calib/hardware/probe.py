"""Microbenchmarks that check the flag-based verdicts: achieved GFLOP/s per compute type.

Each (device, compute type) gets a time budget; its kernels (matmul, conv, or the quantized
linear calib's int8 path uses) are repeated until the budget is spent, and every call time
is kept. Throughput comes from the median call. Sizes are small on CPU because emulated
bf16/fp16 run 10-100x slower than fp32 there and must still fit the budget.
"""

from __future__ import annotations

import statistics
import time
import warnings
from dataclasses import dataclass, field

DEFAULT_TIME_PER_COMPUTE_S = 2.0
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
    samples_s: list[float] = field(default_factory=list)

    @property
    def gflops(self) -> float:
        return self.flops_per_call / statistics.median(self.samples_s) / 1e9

    def as_dict(self) -> dict:
        return {"op": self.op, "shape": self.shape, "gflops": round(self.gflops, 3), "calls": len(self.samples_s),
                "median_ms": round(statistics.median(self.samples_s) * 1e3, 4), "samples_s": self.samples_s}


def measure(call, budget_s: float, clock=time.perf_counter, sync=lambda: None, max_calls: int = 10_000) -> list[float]:
    """Call times, repeating until `budget_s` is spent (at least one call, after one warm-up)."""
    call()
    sync()  # warm-up: first calls pay allocation, kernel selection, oneDNN primitive creation
    samples: list[float] = []
    started = clock()
    while not samples or (clock() - started < budget_s and len(samples) < max_calls):
        before = clock()
        call()
        sync()
        samples.append(clock() - before)
    return samples


def _dtype(compute: str):
    import torch

    return {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[compute]


def _float_kernels(compute: str, device: str, matmul_n: int, conv: tuple[int, int, int]) -> list[Kernel]:
    import torch

    dtype = _dtype(compute)
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


def _cuda_int_kernels(compute: str, n: int) -> list[Kernel]:
    import torch

    if compute == "int8":
        a = torch.randint(-128, 127, (n, n), dtype=torch.int8, device="cuda")
        b = torch.randint(-128, 127, (n, n), dtype=torch.int8, device="cuda")
        return [Kernel("matmul", 2 * n**3, lambda: torch._int_mm(a, b), f"{n}x{n}x{n} int8->int32")]
    a = torch.randn(n, n, device="cuda").to(torch.float8_e4m3fn)
    b = torch.randn(n, n, device="cuda").to(torch.float8_e4m3fn).t()  # _scaled_mm wants column-major b
    one = torch.tensor(1.0, device="cuda")
    return [Kernel("matmul", 2 * n**3, lambda: torch._scaled_mm(a, b, scale_a=one, scale_b=one,
                                                                 out_dtype=torch.bfloat16), f"{n}x{n}x{n} e4m3")]


def kernels_for(device_id: str, compute: str) -> list[Kernel]:
    if device_id == "cpu":
        if compute == "int8":
            return _cpu_linear_kernels("int8", _CPU_MATMUL_N * 2)
        kernels = _float_kernels(compute, "cpu", _CPU_MATMUL_N, _CPU_CONV)
        return kernels + (_cpu_linear_kernels("fp32", _CPU_MATMUL_N * 2) if compute == "fp32" else [])
    if compute in ("int8", "fp8"):
        return _cuda_int_kernels(compute, _CUDA_MATMUL_N)
    return _float_kernels(compute, device_id, _CUDA_MATMUL_N, _CUDA_CONV)


def _probe_one(device_id: str, compute: str, budget_s: float, clock) -> dict:
    import torch

    try:
        kernels = kernels_for(device_id, compute)
    except Exception as exc:  # an op this torch build or device lacks: report, don't crash
        return {"probed": False, "reason": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    sync = (lambda: torch.cuda.synchronize(device_id)) if device_id.startswith("cuda") else (lambda: None)
    ops = {}
    tf32_before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        if device_id.startswith("cuda"):
            # fp32 must be plain fp32 to serve as the reference; tf32 is the same tensors with TF32 on.
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = compute == "tf32"
        for kernel in kernels:
            samples = measure(kernel.call, budget_s / len(kernels), clock=clock, sync=sync)
            ops[kernel.op] = OpMeasurement(kernel.op, kernel.shape, kernel.flops, samples).as_dict()
    except Exception as exc:
        return {"probed": False, "reason": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32_before
    return {"probed": True, "ops": ops}


def _add_ratios(results: dict) -> None:
    reference = results.get("fp32", {}).get("ops", {})
    for compute, result in results.items():
        for op, measured in result.get("ops", {}).items():
            if op in reference:
                measured["ratio_to_fp32"] = round(measured["gflops"] / reference[op]["gflops"], 4)


def run_probe(device_ids=None, time_per_compute_s: float = DEFAULT_TIME_PER_COMPUTE_S, threads: int | None = None,
              computes=None, clock=time.perf_counter) -> dict:
    """{"settings": ..., "devices": {device_id: {compute: {"probed", "ops": {op: {gflops, ratio_to_fp32, ...}}}}}}"""
    import torch

    from calib.hardware import physical_cores

    if device_ids is None:
        device_ids = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0)]
    threads_before = torch.get_num_threads()
    threads = threads or physical_cores()
    torch.set_num_threads(threads)  # explicit: the default may count SMT siblings or a cgroup's quota wrongly
    try:
        devices = {}
        for device_id in device_ids:
            wanted = list(computes or (CPU_COMPUTES if device_id == "cpu" else CUDA_COMPUTES))
            wanted = wanted if "fp32" in wanted else ["fp32", *wanted]  # every ratio needs the reference
            results = {compute: _probe_one(device_id, compute, time_per_compute_s, clock) for compute in wanted}
            _add_ratios(results)
            devices[device_id] = results
    finally:
        torch.set_num_threads(threads_before)
    return {"settings": {"time_per_compute_s": time_per_compute_s, "threads": threads,
                         "torch": torch.__version__}, "devices": devices}
