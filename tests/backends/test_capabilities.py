"""Each backend's one declared capability (`unsupported_reason`) and the readers of it."""

import pytest
import torch

from calib import backends
from calib.backends import auto, torch_eager
from calib.errors import PrecisionUnavailable, UsageError
from calib.precisions import PRECISIONS


def test_torch_runs_every_cpu_precision_except_the_cuda_only_ones():
    for name, precision in PRECISIONS.items():
        reason = torch_eager.unsupported_reason(name, "cpu")
        assert (reason is None) == (not precision.cuda_only), name
    assert "CUDA only" in torch_eager.unsupported_reason("tf32", "cpu")
    with pytest.raises(PrecisionUnavailable, match="CUDA only"):
        torch_eager.check_device_supports("fp8", "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the answer of a machine without CUDA")
def test_torch_without_cuda_says_so():
    assert "CUDA is not available" in torch_eager.unsupported_reason("fp16", "cuda:0")


def test_the_registry_asks_the_backend():
    assert backends.unsupported_reason("torch", "tf32", "cpu") == torch_eager.unsupported_reason("tf32", "cpu")
    assert backends.unsupported_reason("torch", "bf16", "cpu") is None
    with pytest.raises(UsageError, match="unknown backend"):
        backends.unsupported_reason("nope", "fp32", "cpu")


def test_tensorrt_answers_for_every_precision():
    # Not installed here: the install hint. Installed: "not built yet". Never None.
    for name in PRECISIONS:
        assert "tensorrt" in backends.unsupported_reason("tensorrt", name, "cuda:0").lower()


def test_onnxruntime_runs_what_onnx_convert_converts(monkeypatch):
    pytest.importorskip("onnxruntime")
    from calib.backends import onnx_convert, onnxruntime as ort_backend

    for name in PRECISIONS:
        reason = ort_backend.unsupported_reason(name, "cpu")
        assert (reason is None) == (name in onnx_convert.SUPPORTED_PRECISIONS), name
    # every precision it does not convert has its own reason, not the generic one
    assert set(ort_backend._NOT_CONVERTED) == set(PRECISIONS) - set(onnx_convert.SUPPORTED_PRECISIONS)
    monkeypatch.setattr(ort_backend.onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert "CUDAExecutionProvider" in ort_backend.unsupported_reason("fp32", "cuda:0")
    assert ort_backend.unsupported_reason("fp32", "cpu") is None


class _TorchModel:
    module = object()


def test_auto_picks_only_backends_that_say_they_can():
    pytest.importorskip("onnxruntime")
    for name in PRECISIONS:
        picked, why = auto.choose(_TorchModel(), name, "cpu")
        if picked == "onnxruntime":
            assert backends.unsupported_reason("onnxruntime", name, "cpu") is None
        assert name.split("-")[0] in why
        assert auto.unsupported_reason(name, "cpu") == backends.unsupported_reason(picked, name, "cpu")


def test_auto_falls_back_to_torch_when_onnxruntime_cannot(monkeypatch):
    real = backends.unsupported_reason

    def onnxruntime_missing(backend, precision, device):
        return "onnxruntime is not installed" if backend == "onnxruntime" else real(backend, precision, device)

    monkeypatch.setattr(backends, "unsupported_reason", onnxruntime_missing)
    for name in ("fp32", "int8-static"):
        picked, why = auto.choose(_TorchModel(), name, "cpu")
        assert picked == "torch" and "onnxruntime is not installed" in why
    picked, why = auto.choose(_TorchModel(), "int8-static", "cuda:0")
    assert picked == "torch" and "would need ONNX Runtime" in why
