"""The textbook formulas in calib.quant.formulas agree with torch's own quantizers."""

import math

import pytest
import torch

from calib.quant import formulas

pytestmark = pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")


@pytest.fixture
def tensor():
    generator = torch.Generator().manual_seed(0)
    return torch.randn(16, 8, 3, 3, generator=generator) * torch.linspace(0.1, 3.0, 16).reshape(16, 1, 1, 1) + 0.2


def test_affine_per_tensor_matches_torch(tensor):
    params = formulas.qparams(tensor, "affine")
    observer = torch.ao.quantization.MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_affine)
    observer(tensor)
    scale, zero_point = observer.calculate_qparams()
    assert float(params.scale) == pytest.approx(float(scale), rel=1e-6)
    assert int(params.zero_point) == int(zero_point)
    reference = torch.quantize_per_tensor(tensor, float(params.scale), int(params.zero_point), torch.qint8)
    assert torch.equal(formulas.quantize(tensor, params), reference.int_repr().long())
    assert torch.allclose(formulas.fake_quantize(tensor, params), reference.dequantize())


def test_symmetric_per_tensor_is_restricted_and_matches_torch(tensor):
    params = formulas.qparams(tensor, "symmetric")
    assert (params.q_min, params.q_max, int(params.zero_point)) == (-127, 127, 0)
    assert float(params.scale) == pytest.approx(float(tensor.abs().max()) / 127, rel=1e-6)
    observer = torch.ao.quantization.MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric,
                                                    quant_min=-127, quant_max=127)
    observer(tensor)
    scale, _ = observer.calculate_qparams()
    assert float(params.scale) == pytest.approx(float(scale), rel=1e-6)
    reference = torch.quantize_per_tensor(tensor, float(params.scale), 0, torch.qint8)
    codes = formulas.quantize(tensor, params)
    assert torch.equal(codes, reference.int_repr().long())
    assert codes.min() >= -127


@pytest.mark.parametrize("scheme", ["symmetric", "affine"])
def test_per_channel_matches_torch(tensor, scheme):
    params = formulas.qparams(tensor, scheme, axis=0)
    assert params.scale.shape == (16,)
    reference = torch.quantize_per_channel(tensor, params.scale.double(), params.zero_point, 0, torch.qint8)
    assert torch.equal(formulas.quantize(tensor, params), reference.int_repr().long())
    assert torch.allclose(formulas.fake_quantize(tensor, params), reference.dequantize())
    torch_scheme = torch.per_channel_symmetric if scheme == "symmetric" else torch.per_channel_affine
    bounds = {"quant_min": -127, "quant_max": 127} if scheme == "symmetric" else {}
    observer = torch.ao.quantization.PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=torch_scheme,
                                                              **bounds)
    observer(tensor)
    scale, zero_point = observer.calculate_qparams()
    assert torch.allclose(params.scale, scale.float(), rtol=1e-6)
    assert torch.equal(params.zero_point, zero_point.long())


def test_unsigned_affine_matches_quint8():
    activations = torch.relu(torch.randn(1000, generator=torch.Generator().manual_seed(1))) * 4
    params = formulas.qparams(activations, "affine", bounds=formulas.UINT8)
    assert int(params.zero_point) == 0  # non-negative data: zero maps to q_min
    reference = torch.quantize_per_tensor(activations, float(params.scale), int(params.zero_point), torch.quint8)
    assert torch.equal(formulas.quantize(activations, params), reference.int_repr().long())


def test_per_channel_beats_per_tensor_on_uneven_channels(tensor):
    def sqnr(scheme, axis):
        return formulas.sqnr_db(tensor, formulas.fake_quantize(tensor, formulas.qparams(tensor, scheme, axis)))

    assert sqnr("symmetric", 0) > sqnr("symmetric", None)
    assert sqnr("affine", 0) >= sqnr("symmetric", 0) - 0.5


def test_error_metrics():
    x = torch.tensor([1.0, -2.0, 3.0])
    assert formulas.mse(x, x) == 0
    assert formulas.sqnr_db(x, x) == math.inf
    noisy = x + torch.tensor([0.1, 0.0, -0.1])
    assert formulas.mse(x, noisy) == pytest.approx(0.02 / 3, rel=1e-5)
    assert formulas.sqnr_db(x, noisy) == pytest.approx(10 * math.log10(14 / 0.02), rel=1e-4)


def test_rounding_uses_torch_half_to_even():
    params = formulas.QParams(torch.tensor(1.0), torch.tensor(1), -128, 127)
    x = torch.tensor([0.5, 1.5, 2.5, -0.5])
    reference = torch.quantize_per_tensor(x, 1.0, 1, torch.qint8).int_repr().long()
    assert torch.equal(formulas.quantize(x, params), reference)
