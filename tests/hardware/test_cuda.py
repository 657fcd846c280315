import pytest

from calib.hardware.cuda import live_gpus, soc_gpu, tensor_core_types


def test_tensor_core_types_by_compute_capability():
    assert tensor_core_types("5.3") == []
    assert tensor_core_types("7.2") == ["fp16", "int8"]
    assert tensor_core_types("8.7") == ["fp16", "int8", "tf32", "bf16"]
    assert tensor_core_types("10.0") == ["fp16", "int8", "tf32", "bf16", "fp8", "fp4"]


def test_soc_gpu_says_where_its_capability_came_from():
    gpu = soc_gpu({"soc": "tegra234", "family": "Jetson Orin", "gpu_architecture": "Ampere",
                   "gpu_compute_capability": "8.7"}, "no CUDA device")
    assert gpu["id"] == "cuda:0" and gpu["source"] == "soc-table"
    assert "SoC table" in gpu["capability_source"] and "no CUDA device" in gpu["capability_source"]


def test_live_gpus_never_raises():
    devices, reason = live_gpus()
    if not devices:
        assert reason  # e.g. "no CUDA device (...)"
        pytest.skip(f"no CUDA device: {reason}")
    assert devices[0]["id"] == "cuda:0" and devices[0]["compute_capability"]
