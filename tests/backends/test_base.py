"""What every backend receives: RunConfig checks its batch size and threads at construction (the one-place
rules), the default backends of `calib run`, and torch eager's compute-capability reason."""

import pytest

from calib.backends.auto import default_backends
from calib.backends.base import RunConfig
from calib.errors import UsageError


def test_run_config_checks_batch_size_and_threads():
    RunConfig("fp32", "cpu", 1, 1)
    RunConfig("fp32", "cpu", 4, None)  # threads not given
    with pytest.raises(UsageError, match="--batch-size 0: must be positive"):
        RunConfig("fp32", "cpu", 0, 1)
    with pytest.raises(UsageError, match="--threads -2: must be positive"):
        RunConfig("fp32", "cpu", 1, -2)


@pytest.mark.parametrize("model, backends", [("models/net.xml", ["openvino"]), ("net.onnx", ["auto"]),
                                             ("resnet18", ["auto"]), ("file.py:build", ["auto"])])
def test_default_backends(model, backends):
    assert default_backends(model) == backends


def test_torch_eager_names_the_capability_it_needs(monkeypatch):
    torch = pytest.importorskip("torch")
    from calib.backends import torch_eager

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 6))
    assert torch_eager.unsupported_reason("fp8", "cuda:0") == "fp8 needs CUDA compute capability 8.9+; cuda:0 is 8.6"
    assert torch_eager.unsupported_reason("bf16", "cuda:0") is None
