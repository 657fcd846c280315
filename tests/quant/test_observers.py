"""Calibration methods give different, valid activation ranges on skewed data."""

import math

import pytest
import torch

from calib.errors import UsageError
from calib.quant.observers import activation_observer, kl_threshold


@pytest.fixture(scope="module")
def skewed():
    """Mostly |N(0,1)| with a few large outliers, like a post-ReLU activation with spikes."""
    generator = torch.Generator().manual_seed(0)
    bulk = torch.randn(20000, generator=generator).abs()
    bulk[:10] = torch.linspace(10, 20, 10)
    return bulk


def _range(method, data, qscheme="affine", flavor="ao", **kwargs):
    constructor, name = activation_observer(method, qscheme, reduce_range=False, flavor=flavor, **kwargs)
    observer = constructor()
    for chunk in data.chunk(4):
        observer(chunk)
    scale, zero_point = observer.calculate_qparams()
    scale, zero_point = float(scale), int(zero_point)
    return (0 - zero_point) * scale, (255 - zero_point) * scale, scale, name


@pytest.mark.parametrize("flavor", ["ao", "pt2e"])
def test_methods_give_different_valid_ranges(skewed, flavor):
    ranges = {method: _range(method, skewed, flavor=flavor, **({"percentile": 99.0} if method == "percentile" else {}))
              for method in ("minmax", "percentile", "entropy")}
    for method, (low, high, scale, _) in ranges.items():
        assert math.isfinite(scale) and scale > 0, method
        assert low <= 0 < high, method  # zero stays representable
    assert ranges["minmax"][1] == pytest.approx(20, rel=0.01)
    # clipping methods ignore the 10 outliers in 20000 values; the 99th percentile of |N(0,1)| is 2.58
    assert ranges["percentile"][1] == pytest.approx(2.58, rel=0.1)
    assert ranges["percentile"][1] < ranges["entropy"][1] < 6
    assert [r[3] for r in ranges.values()] == ["MinMaxObserver", "PercentileObserver", "EntropyObserver"]


def test_percentile_value_moves_the_range(skewed):
    loose = _range("percentile", skewed, percentile=99.99)[1]
    tight = _range("percentile", skewed, percentile=99.0)[1]
    assert tight < loose
    assert tight == pytest.approx(float(torch.quantile(skewed, 0.99)), rel=0.1)


def test_symmetric_activation_range_is_centred(skewed):
    low, high, _, _ = _range("minmax", skewed - 0.5, qscheme="symmetric")
    assert low == pytest.approx(-high, rel=0.02)


def test_kl_threshold_clips_long_tail_but_keeps_uniform_data():
    uniform_counts = torch.ones(2048)
    assert kl_threshold(uniform_counts, 0.0, 1.0, 128) == pytest.approx(1.0, rel=0.02)
    tail = torch.exp(-torch.linspace(0, 40, 2048))  # nearly everything near 0
    assert kl_threshold(tail, 0.0, 1.0, 128) < 0.5


def test_bad_method_and_percentile_are_usage_errors():
    with pytest.raises(UsageError):
        activation_observer("mse", "affine", False)
    with pytest.raises(UsageError):
        activation_observer("percentile", "affine", False, percentile=30)
