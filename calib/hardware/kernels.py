"""The kernels the device probe times, and the sizes each may run at.

One builder per op (matmul, conv, the CPU int8 linear calib's int8-dynamic uses, CUDA's int8 and
fp8 matmuls); `kernel_ladders` lists, for one compute type on one device, each op's builder with
its sizes. calib.hardware.microbench picks the size and times the calls.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

from calib.dtypes import torch_dtype


@dataclass(frozen=True)
class ProbeShapes:
    """Candidate sizes per op, smallest first: matmul n (n x n x n), conv (batch, channels,
    height=width) with a 3x3 kernel in channels_last (the layout oneDNN's AMX/VNNI convolutions
    want), and the CPU linear n (fp32 nn.Linear against calib's int8 dynamic Linear)."""

    matmul: tuple[int, ...]
    conv: tuple[tuple[int, int, int], ...]
    linear: tuple[int, ...]


CPU_SHAPES = ProbeShapes(matmul=(256, 512, 1024), conv=((1, 32, 28), (1, 64, 56), (1, 128, 56)),
                         linear=(256, 512, 1024))
CUDA_SHAPES = ProbeShapes(matmul=(1024, 2048, 4096), conv=((2, 128, 56), (8, 128, 56), (16, 256, 56)),
                          linear=(1024, 2048, 4096))


@dataclass
class Kernel:
    op: str  # "matmul", "conv", "linear"
    flops: float  # per call
    call: object  # zero-argument callable
    shape: str


def _matmul_kernel(compute: str, device: str, n: int) -> Kernel:
    import torch

    dtype = torch_dtype(compute)
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    return Kernel("matmul", 2 * n**3, lambda: a @ b, f"{n}x{n}x{n}")


def _conv_kernel(compute: str, device: str, shape: tuple[int, int, int]) -> Kernel:
    import torch

    dtype = torch_dtype(compute)
    batch, channels, size = shape
    x = torch.randn(batch, channels, size, size, device=device).to(dtype).to(memory_format=torch.channels_last)
    w = torch.randn(channels, channels, 3, 3, device=device).to(dtype).to(memory_format=torch.channels_last)
    flops = 2 * batch * channels * channels * 9 * size * size
    return Kernel("conv", flops, lambda: torch.nn.functional.conv2d(x, w, padding=1),
                  f"{batch}x{channels}x{size}x{size} k3 nhwc")


def _cpu_linear_kernel(compute: str, n: int) -> Kernel:
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
    return Kernel("linear", 2 * n**3, lambda: module(x), f"{n}x{n}x{n}")


def _cuda_int_kernel(compute: str, device: str, n: int) -> Kernel:
    import torch

    if compute == "int8":
        a = torch.randint(-128, 127, (n, n), dtype=torch.int8, device=device)
        b = torch.randint(-128, 127, (n, n), dtype=torch.int8, device=device)
        return Kernel("matmul", 2 * n**3, lambda: torch._int_mm(a, b), f"{n}x{n}x{n} int8->int32")
    a = torch.randn(n, n, device=device).to(torch.float8_e4m3fn)
    b = torch.randn(n, n, device=device).to(torch.float8_e4m3fn).t()  # _scaled_mm wants column-major b
    one = torch.tensor(1.0, device=device)
    return Kernel("matmul", 2 * n**3, lambda: torch._scaled_mm(a, b, scale_a=one, scale_b=one,
                                                                 out_dtype=torch.bfloat16), f"{n}x{n}x{n} e4m3")


Ladder = tuple[Callable[[object], Kernel], tuple]  # (build one kernel from a size, the sizes, smallest first)


def kernel_ladders(device_id: str, compute: str, shapes: ProbeShapes | None = None) -> list[Ladder]:
    """The ops probed for one compute type on one device, each with the sizes it may run at."""
    on_cpu = device_id == "cpu"
    shapes = shapes or (CPU_SHAPES if on_cpu else CUDA_SHAPES)
    if on_cpu and compute == "int8":
        return [(lambda n: _cpu_linear_kernel("int8", n), shapes.linear)]
    if not on_cpu and compute in ("int8", "fp8"):
        return [(lambda n: _cuda_int_kernel(compute, device_id, n), shapes.matmul)]
    ladders = [(lambda n: _matmul_kernel(compute, device_id, n), shapes.matmul),
               (lambda shape: _conv_kernel(compute, device_id, shape), shapes.conv)]
    if on_cpu and compute == "fp32":  # the int8 linear's reference
        ladders.append((lambda n: _cpu_linear_kernel("fp32", n), shapes.linear))
    return ladders
