"""Activation observers for the three calibration methods, and the weight observer.

- minmax: MinMaxObserver, the full observed range (outliers widen it).
- percentile: a HistogramObserver whose range is the [100-p, p] percentiles of the
  collected histogram (2048 bins), clipping the rare outliers.
- entropy: a HistogramObserver whose range is the threshold minimising the KL divergence
  between the |x| histogram and its quantized version (the TensorRT "entropy" calibrator).
  torch's own HistogramObserver minimises an L2 error instead, so it is not used for this.

The two histogram methods only replace `_non_linear_param_search` (which returns the range
to quantize): histogram collection and qparams arithmetic stay torch's. They are built on
top of either torch.ao's observers (FX path) or torchao's copies (PT2E path), which PT2E requires.
"""

from __future__ import annotations

import functools

from calib.errors import UsageError
from calib.settings import CALIBRATION_METHODS as METHODS
from calib.settings import QSCHEMES, CalibrationSettings, check_percentile

HISTOGRAM_BINS = 2048


class _PercentileSearch:
    def __init__(self, *args, percentile: float = CalibrationSettings.percentile, **kwargs):
        super().__init__(*args, **kwargs)
        self.percentile = float(percentile)

    def _non_linear_param_search(self):
        import torch

        histogram = self.histogram.double()
        cdf = torch.cumsum(histogram, 0) / histogram.sum().clamp_min(1e-12)
        width = (self.max_val - self.min_val) / self.bins
        upper_bin = int(torch.searchsorted(cdf, torch.tensor(self.percentile / 100, dtype=cdf.dtype)))
        lower_bin = int(torch.searchsorted(cdf, torch.tensor(1 - self.percentile / 100, dtype=cdf.dtype)))
        new_min = self.min_val + width * lower_bin
        new_max = self.min_val + width * min(upper_bin + 1, self.bins)
        return new_min, new_max


class _EntropySearch:
    def _non_linear_param_search(self):
        import torch

        min_val, max_val = float(self.min_val), float(self.max_val)
        threshold = kl_threshold(self.histogram, min_val, max_val, self._levels(min_val))
        return (torch.tensor(max(min_val, -threshold), dtype=self.min_val.dtype),
                torch.tensor(min(max_val, threshold), dtype=self.max_val.dtype))

    def _levels(self, min_val: float) -> int:
        levels = int(self.quant_max) - int(self.quant_min) + 1
        return levels if min_val >= 0 else levels // 2  # signed data spends half the levels per side


def kl_threshold(histogram, min_val: float, max_val: float, levels: int) -> float:
    """|x| threshold minimising KL(P || Q), P the clipped |x| histogram, Q it quantized to `levels`."""
    import numpy as np

    counts = np.asarray(histogram, dtype=np.float64)
    edges = np.linspace(min_val, max_val, len(counts) + 1)
    centers = np.abs((edges[:-1] + edges[1:]) / 2)
    amax = max(abs(min_val), abs(max_val))
    if amax == 0 or counts.sum() == 0:
        return amax
    abs_counts, _ = np.histogram(centers, bins=HISTOGRAM_BINS, range=(0, amax), weights=counts)
    width = amax / HISTOGRAM_BINS
    best_kl, best_bins = np.inf, HISTOGRAM_BINS
    step = max(1, (HISTOGRAM_BINS - levels) // 256)  # ~256 candidates keep calibration fast
    for bins in range(levels, HISTOGRAM_BINS + 1, step):
        reference = abs_counts[:bins].copy()
        reference[-1] += abs_counts[bins:].sum()  # clipped outliers land in the last bin
        candidate = _quantize_histogram(abs_counts[:bins], levels)
        kl = _kl(reference, candidate)
        if kl < best_kl:
            best_kl, best_bins = kl, bins
    return best_bins * width


def _quantize_histogram(counts, levels: int):
    """Merge `counts` into `levels` equal groups, then spread each group evenly over its non-empty bins."""
    import numpy as np

    group = np.arange(len(counts)) * levels // len(counts)
    nonzero = counts > 0
    group_sums = np.bincount(group, weights=counts, minlength=levels)
    group_nonzero = np.bincount(group, weights=nonzero, minlength=levels)
    return np.where(nonzero, group_sums[group] / np.maximum(group_nonzero[group], 1), 0.0)


def _kl(reference, candidate) -> float:
    import numpy as np

    p = reference / reference.sum()
    q = candidate / max(candidate.sum(), 1e-12)
    mask = p > 0
    q = np.where(q[mask] > 0, q[mask], 1e-10)
    return float(np.sum(p[mask] * np.log(p[mask] / q)))


@functools.lru_cache(maxsize=None)
def _classes(flavor: str) -> dict:
    if flavor == "pt2e":
        from torchao.quantization.pt2e import HistogramObserver, MinMaxObserver
    else:
        from torch.ao.quantization.observer import HistogramObserver, MinMaxObserver
    return {
        "minmax": MinMaxObserver,
        "percentile": type("PercentileObserver", (_PercentileSearch, HistogramObserver), {}),
        "entropy": type("EntropyObserver", (_EntropySearch, HistogramObserver), {}),
    }


def activation_observer(method: str, qscheme: str, reduce_range: bool,
                        percentile: float = CalibrationSettings.percentile,
                        flavor: str = "ao", **extra):
    """(observer constructor, its class name) for quint8 activations; flavor "ao" (FX) or "pt2e"."""
    import torch

    if method not in METHODS:
        raise UsageError(f"--calib-method {method!r}: choose from {', '.join(METHODS)}")
    if method == "percentile":
        check_percentile(percentile)
    cls = _classes(flavor)[method]
    # an explicit 7-bit range rather than reduce_range=True, which torch now warns is deprecated;
    # PT2E specs use plain uint8 where torch.ao uses quint8
    kwargs = dict(dtype=torch.uint8 if flavor == "pt2e" else torch.quint8, quant_min=0,
                  quant_max=127 if reduce_range else 255, qscheme=_torch_qscheme(qscheme), **extra)
    if method != "minmax":
        kwargs["bins"] = HISTOGRAM_BINS
    if method == "percentile":
        kwargs["percentile"] = percentile
    return cls.with_args(**kwargs), cls.__name__


def weight_observer(granularity: str):
    """Symmetric qint8 weights, per output channel or per tensor (what fbgemm/x86 kernels take)."""
    import torch
    from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver

    if granularity == "per-tensor":
        return MinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric), "MinMaxObserver"
    return (PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric),
            "PerChannelMinMaxObserver")


def _torch_qscheme(qscheme: str):
    import torch

    if qscheme not in QSCHEMES:
        raise UsageError(f"--qscheme {qscheme!r}: choose from {', '.join(QSCHEMES)}")
    return torch.per_tensor_symmetric if qscheme == "symmetric" else torch.per_tensor_affine
