"""The CUDA split and the CUDA graph candidate import and say why they cannot run on a CPU machine;
bench/device_check.py runs them on a GPU."""

import pytest
import torch

from calib.timing import cuda_graph, cuda_split

CPU_ONLY = not torch.cuda.is_available()


def test_split_says_why_on_the_cpu():
    assert "needs a CUDA device, not cpu" in cuda_split.unavailable_reason("cpu")
    with pytest.raises(RuntimeError):
        cuda_split.split_times(lambda x: x, (torch.ones(2),), "cpu")


@pytest.mark.skipif(not CPU_ONLY, reason="a CUDA machine runs the split for real (bench/device_check.py)")
def test_split_and_capture_skip_cleanly_without_cuda():
    assert "CUDA is not available" in cuda_split.unavailable_reason("cuda:0")
    replay, reason = cuda_graph.capture(lambda x: x * 2, (torch.ones(2),))
    assert replay is None and "CUDA graphs need a CUDA device" in reason


def test_split_of_a_cpu_prepared_model_is_null_with_the_reason():
    from calib.backends import get_backend
    from calib.backends.base import RunConfig
    from calib.models.loader import load_any

    model = load_any("tiny-cnn", None, None, False)
    with get_backend("torch").prepare(model, RunConfig(precision="fp32", device="cpu", batch_size=1,
                                                        threads=1)) as prepared:
        assert cuda_split.split_prepared(prepared)["value"] is None
        replay, reason = cuda_graph.capture_prepared(prepared, "torch")
        assert replay is None and "not cpu" in reason


def test_which_engines_capture_graphs():
    assert cuda_graph.supported("torch", "cuda:0")[0]
    assert not cuda_graph.supported("onnxruntime", "cuda:0")[0]
    assert "reduce-overhead" in cuda_graph.supported("torch-compile", "cuda:0")[1]


def test_split_json_uses_medians_of_the_raw_times():
    split = cuda_split.CudaSplit((1.0, 3.0, 2.0), (5.0, 5.0, 5.0), (0.5, 0.5, 0.7), (9.0, 8.0, 10.0),
                                 (0.1, 0.2, 0.3), input_bytes=12, output_bytes=4)
    data = split.to_json()
    assert data["h2d_median_ms"] == 2.0 and data["host_median_ms"] == 9.0 and data["iterations"] == 3
    assert data["samples_ms"]["d2h"] == [0.5, 0.5, 0.7]
