"""What a key's law misses, learnt across keys: a gradient-boosted regressor on the laws' log residuals.

Why: a law per kernel key (calib.predict.cost_model.fit_law: overhead + FLOPs + bytes) follows how a kernel
scales, not how a library's choices and the caches bend it. Seen on the OpenVINO fp32 kernels of 33
torchvision architectures (Intel AMX machine kind): the small 1x1 and depthwise kernels of MnasNet 0.5 and
ShuffleNet 0.5 at batch 4 ran 20-50% under their keys' laws (their data stays in cache), grouped 3x3 convs
(RegNet 1.6GF, ResNeXt) 25-40% over. The nearest measured shapes of the same key (cost_model's neighbour
correction) correct only where that key was measured near by; what bends the laws is shared across keys
(kernel size over groups, stride, the model's working set), so one regressor over every sample learns it where
any key showed it, as nn-Meter's and LitePred's learnt per-kernel predictors do.

The regressor: scikit-learn's HistGradientBoostingRegressor (absolute error) on rich_features plus the key as a
category, target log(measured / law). Shallow trees, 20 samples per leaf at least, shrinkage; its correction is
clipped to +-CLIP in log units and the law still sets the scale (trees cannot extrapolate; a law can). The
neighbours then correct what it leaves. Chosen offline on that pool (fit on the bench's 17 calibration models,
predict its 16 unseen at batch 1 and 4, and leave-one-model-out over all 33): within 10% of the measured
median, OpenVINO fp32 66% -> 78% (split) and 73% -> 77% (all), bf16 62% -> 72% and 56% -> 58%, torch fp32
62% -> 66% and 58% -> 62%. Without scikit-learn (a machine with only torch): no learnt correction, the
neighbours alone. Those pools' OpenVINO kernel times were PERF_COUNT's running means (see
calib.backends.openvino_profile.steady_entries). Against the bench's ground truth, read right, OpenVINO tables did
better without it at bf16 and no worse at fp32 (within 10%, four runs each: bf16 47/78/69/66% with it, 66/78/88/72%
without), so for a while they did without it. With the channel alignment and strided-view features, re-predicted on
the four OpenVINO tables left with their truth (Intel AMX machine kind, 2026-12-06; unseen within 5% / 10%, then
leave-one-model-out within 10%): fp32 72/100% -> 69/100% and 72/94% -> 72/97% (LOMO 50% -> 60% and 50% -> 55%),
bf16 50/81% -> 59/81% (LOMO 22% -> 28%), int8-static 44/69% -> 53/69%; so every engine uses it again.
"""

from __future__ import annotations

import math

from calib.predict.features import parse_shapes

CLIP = 0.7  # log units: a learnt correction never moves a law's price by more than 2x
MIN_SAMPLES = 60  # fewer samples than this: no regressor (the neighbours correct alone)


def rich_features(row: dict) -> tuple[float, ...]:
    """Shape features of one node: log FLOPs, bytes, out channels, out spatial size, in channels, batch, weights,
    kernel size over groups, stride, the model's weights, FLOPs per byte, the model's bytes, and the in and out
    channels' alignment (alignment). Read from the row as every source writes it (input_shapes with the weight
    shape for engine kernels, params for torch modules): the kernel size over the groups is the weight count
    (Cout * Cin / groups * k * k) over Cin * Cout, the stride the input over the output spatial size."""
    inputs, outputs = parse_shapes(row.get("input_shapes")), parse_shapes(row.get("output_shape"))
    first_in = inputs[0] if inputs else ()
    first_out = outputs[0] if outputs else ()
    cin = first_in[1] if len(first_in) >= 2 else 1
    cout = first_out[1] if len(first_out) >= 2 else 1
    spatial_in = math.prod(first_in[2:]) if len(first_in) >= 3 else 1
    spatial_out = math.prod(first_out[2:]) if len(first_out) >= 3 else 1
    batch = first_out[0] if first_out else 1
    weights = float(row.get("params") or 0)
    if not weights and len(inputs) >= 2 and row.get("weight_bytes"):
        weights = float(math.prod(inputs[1]))
    flops, size = float(row.get("flops") or 0), float(row.get("bytes") or 0)
    per_pair = weights / max(cin * cout, 1) if weights else 0.0
    return (math.log1p(flops), math.log1p(size), math.log1p(cout), math.log1p(spatial_out), math.log1p(cin),
            math.log1p(batch), math.log1p(weights), math.log1p(per_pair),
            math.log(max(spatial_in, 1) / max(spatial_out, 1)) if spatial_in and spatial_out else 0.0,
            math.log1p(float(row.get("model_weight_bytes") or 0)),
            math.log1p(flops) - math.log1p(size), math.log1p(float(row.get("model_bytes") or 0)),
            float(alignment(cin)), float(alignment(cout)))


def alignment(channels: int) -> int:
    """The power of two that divides a channel count, as its exponent, at most 6 (64): kernels block channels by
    8, 16, 32 or 64, and a count off the block runs a tail. Seen on the Intel AMX machine kind: torch int8 3x3
    depthwise convs at 72/184/232 channels (8 mod 16) ran 3-4x slower per tap than at 16/144/480; 5x5 ones at 624
    and 1488 (16 mod 32) 1.5-3x slower than at 480/1152; quantized broadcast multiplies (squeeze-excitation) at
    48 channels 4x slower than at 64; an fp32 1x1 conv to 72 channels (RegNetX-1.6GF) at 2.2x its price."""
    if channels <= 0:
        return 0
    return min((channels & -channels).bit_length() - 1, 6)


class Residuals:
    """A fitted correction: log factor for (features, key)."""

    def __init__(self, regressor, codes: dict[str, int], samples: int):
        self.regressor, self.codes, self.samples = regressor, codes, samples

    def corrections(self, items: list[tuple[tuple[float, ...], str]]) -> list[float]:
        import numpy as np

        if not items:
            return []
        design = np.array([[*features, self.codes.get(key, -1)] for features, key in items], dtype=float)
        design[design[:, -1] < 0, -1] = np.nan  # a key never seen: the trees' missing-value branch
        return [float(v) for v in np.clip(self.regressor.predict(design), -CLIP, CLIP)]

    def correction(self, features: tuple[float, ...], key: str) -> float:
        return self.corrections([(features, key)])[0]


def fit_residuals(items: list[tuple[tuple[float, ...], str, float]]) -> Residuals | None:
    """items: (rich features, key, log residual of its law). None without scikit-learn or with too few. Every
    kernel counts alike: weighted by time share, the big kernels set the trees and the many small ones of
    small models (MnasNet 0.5, MobileNetV3-Small) stayed 15-25% off (offline, the bench's split of the OpenVINO
    fp32 pool: within 10% 66% by time share, 78% alike)."""
    if len(items) < MIN_SAMPLES:
        return None
    try:
        from sklearn.ensemble import HistGradientBoostingRegressor
    except ImportError:
        return None
    import numpy as np

    counts: dict[str, int] = {}
    for _, key, _ in items:
        counts[key] = counts.get(key, 0) + 1
    # the most sampled keys get categories of their own (the trees take at most 254); the rest share "missing"
    common = sorted(counts, key=lambda k: -counts[k])[:250]
    codes = {key: index for index, key in enumerate(sorted(common))}
    design = np.array([[*features, codes.get(key, np.nan)] for features, key, _ in items], dtype=float)
    target = np.clip(np.array([residual for _, _, residual in items]), -1.5, 1.5)

    mask = np.zeros(design.shape[1], dtype=bool)
    mask[-1] = True
    regressor = HistGradientBoostingRegressor(
        loss="absolute_error", learning_rate=0.05, max_iter=250, max_depth=4, min_samples_leaf=20,
        l2_regularization=1.0, categorical_features=mask, early_stopping=False, random_state=0)
    _single_thread(lambda: regressor.fit(design, target))
    return Residuals(regressor, codes, len(items))


def _single_thread(call):
    """Fit on one OpenMP thread: the trees are small, and a pool of spinning OpenMP threads left behind would
    share the cores with the next timed kernel (calibration fits between its measurements)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return call()
    with threadpool_limits(limits=1, user_api="openmp"):
        return call()
