"""Textbook uniform quantization, written out so the error analysis does not hide behind torch.

affine:    scale = (x_max - x_min) / (q_max - q_min)
           zero_point = q_min - round(x_min / scale)
symmetric: scale = max(|x_min|, |x_max|) / ((q_max - q_min) / 2), zero_point 0, range [-127, 127]
q     = clamp(round(x / scale) + zero_point, q_min, q_max)   (zero_point added after rounding,
        as torch does: round-half-to-even is not shift-invariant, so the order matters at ties)
x_hat = (q - zero_point) * scale

As in torch, the range is first widened to include 0 (so that 0 is exactly representable)
and the scale floored at float32 eps. Per-channel versions reduce over every axis but `axis`.
tests/quant/test_formulas.py checks these against torch.quantize_per_tensor/_per_channel.
"""

from __future__ import annotations

from dataclasses import dataclass

EPS = 1.1920928955078125e-07  # torch.finfo(torch.float32).eps, torch's scale floor
INT8_AFFINE = (-128, 127)
INT8_SYMMETRIC = (-127, 127)  # restricted: keeps the grid symmetric around 0
UINT8 = (0, 255)


@dataclass(frozen=True)
class QParams:
    scale: object  # float tensor: scalar, or one per channel
    zero_point: object  # int tensor of the same shape
    q_min: int
    q_max: int
    axis: int | None = None


def _range(x, axis):
    import torch

    if axis is None:
        return x.min(), x.max()
    dims = [d for d in range(x.dim()) if d != axis]
    return torch.amin(x, dim=dims), torch.amax(x, dim=dims)


def qparams(x, scheme: str, axis: int | None = None, bounds: tuple[int, int] | None = None) -> QParams:
    """Scale and zero point covering the min/max range of `x` (per tensor or along `axis`)."""
    import torch

    q_min, q_max = bounds or (INT8_SYMMETRIC if scheme == "symmetric" else INT8_AFFINE)
    x_min, x_max = _range(x.float(), axis)
    x_min = torch.clamp(x_min, max=0.0)
    x_max = torch.clamp(x_max, min=0.0)
    if scheme == "symmetric":
        amax = torch.maximum(-x_min, x_max)
        scale = torch.clamp(amax / ((q_max - q_min) / 2), min=EPS)
        # unsigned grids put symmetric zero in the middle (torch: 128 for quint8)
        zero_value = 0 if q_min < 0 else (q_min + q_max + 1) // 2
        zero_point = torch.full_like(scale, zero_value, dtype=torch.int64)
    elif scheme == "affine":
        scale = torch.clamp((x_max - x_min) / (q_max - q_min), min=EPS)
        zero_point = torch.clamp(q_min - torch.round(x_min / scale), q_min, q_max).to(torch.int64)
    else:
        raise ValueError(f"scheme must be symmetric or affine, not {scheme!r}")
    return QParams(scale, zero_point, q_min, q_max, axis)


def _broadcast(values, x, axis):
    if axis is None:
        return values
    shape = [1] * x.dim()
    shape[axis] = -1
    return values.reshape(shape)


def quantize(x, params: QParams):
    """Integer codes (int64 tensor) of `x`."""
    import torch

    scale = _broadcast(params.scale, x, params.axis)
    zero_point = _broadcast(params.zero_point, x, params.axis)
    # x * (1/scale), not x / scale: torch's kernels multiply by the float32 inverse, and the two
    # differ in the last bit often enough to move a value across a rounding tie
    inverse_scale = 1.0 / scale
    return torch.clamp(torch.round(x * inverse_scale) + zero_point, params.q_min, params.q_max).to(torch.int64)


def dequantize(q, params: QParams, like=None):
    like = q if like is None else like
    scale = _broadcast(params.scale, like, params.axis)
    zero_point = _broadcast(params.zero_point, like, params.axis)
    return (q - zero_point).float() * scale


def fake_quantize(x, params: QParams):
    """x_hat: `x` quantized and back, the value the int8 model effectively computes with."""
    return dequantize(quantize(x, params), params, like=x)


def mse(x, x_hat) -> float:
    return float(((x.float() - x_hat.float()) ** 2).mean())


def sqnr_db(x, x_hat) -> float:
    """Signal-to-quantization-noise ratio, 10 log10(sum x^2 / sum (x - x_hat)^2); inf when exact."""
    import math

    signal = float((x.float() ** 2).sum())
    noise = float(((x.float() - x_hat.float()) ** 2).sum())
    if noise == 0:
        return math.inf
    if signal == 0:
        return -math.inf
    return 10 * math.log10(signal / noise)
