"""Kernels that stream their weights from memory (calib.predict.openvino_kernels.STREAM_WEIGHT_BYTES): their
own keys, the model's weight total on each row, and a cache size learnt from samples (cost_model)."""

import math

from calib.predict.cost_model import ModelSample, Sample, fit_cache_bytes, fit_predictor, missed_bytes
from calib.predict.engines import ENGINE_MODELS
from calib.predict.models import KERNEL_SAMPLES
from calib.predict.openvino_kernels import kernel_rows


def _fc(name, rows, cols, precision="f32"):
    return {"name": name, "type": "FullyConnected", "precision": precision, "kernel": "brgemm_avx512_f32",
            "input_shapes": [[1, cols], [rows, cols]], "output_shape": [1, rows], "fused": (name, f"{name}_relu")}


def test_a_kernel_with_large_weights_gets_streaming_keys_and_its_model_weight_total():
    layers = [_fc("big", 4096, 9000), _fc("small", 1000, 4096)]
    types = {"big": "FullyConnected", "big_relu": "Relu", "small": "FullyConnected", "small_relu": "Relu"}
    big, small = kernel_rows(layers, types)
    assert big["cost_keys"] == ["ov:FullyConnected:brgemm_avx512_f32+Relu@stream", "kind:ov:FullyConnected:f32@stream"]
    assert big["weight_bytes"] == 4 * 4096 * 9000
    assert big["model_weight_bytes"] == 4 * (4096 * 9000 + 1000 * 4096)
    assert not any(key.endswith("@stream") for key in small["cost_keys"])
    assert small["weight_bytes"] == 4 * 1000 * 4096 and small["model_weight_bytes"] == big["model_weight_bytes"]
    relu = kernel_rows([{"name": "r", "type": "Eltwise", "precision": "f32", "kernel": "jit_avx512",
                         "input_shapes": [[1, 8]], "output_shape": [1, 8]}], {"r": "Relu"})[0]
    assert "weight_bytes" not in relu  # no weights: nothing to miss
    # at bf16 the same layer holds half the bytes: 1000x4096 stays below the streaming size either way
    assert kernel_rows([_fc("big", 4096, 9000, "bf16")], types)[0]["weight_bytes"] == 2 * 4096 * 9000


def _stream_sample(weights_mb, model_mb, cache_mb, ms_per_mb=0.02):
    """A streaming kernel's time from a known cache: cache-speed bytes plus missed bytes once more."""
    weights, total = weights_mb * 1e6, model_mb * 1e6
    ms = ms_per_mb * (weights + missed_bytes(weights, total, cache_mb * 1e6)) / 1e6
    return Sample("ov:FC@stream", ("kind:ov:FC@stream",), (math.log(weights),), 0.0, weights, ms, "model:x",
                  weights, total)


def test_the_cache_size_is_learnt_from_streaming_samples_and_absent_without_them():
    samples = [_stream_sample(w, t, 100) for w, t in ((100, 110), (400, 490), (200, 215), (60, 490), (20, 215))]
    assert 70e6 <= fit_cache_bytes(samples) <= 140e6
    assert fit_cache_bytes(samples[:1]) == math.inf  # one model's weight total cannot tell a cache size
    assert missed_bytes(10.0, 50.0, math.inf) == 0.0 and missed_bytes(10.0, 200.0, 100.0) == 5.0


def _model(name, ms):
    row = {"name": "c", "op_kind": "conv", "target": "Convolution", "flops": ms * 1e9, "bytes": 1e4, "median_ms": ms,
           "cost_keys": ["ov:Convolution:k", "kind:ov:Convolution:f32"]}
    return ModelSample(name, 1, ms * 1.1, (row,))


def test_kernel_samples_stay_out_of_the_whole_model_map_and_are_calibration_candidates():
    assert set(KERNEL_SAMPLES) <= set(ENGINE_MODELS["full"])
    models = [_model(name, ms) for name, ms in (("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0))]
    sample = next(iter(KERNEL_SAMPLES))
    odd = ModelSample(sample, 1, 100.0, models[0].rows)  # end to end 100x its kernels: would pull the factor
    predictor = fit_predictor([], models + [odd])
    assert abs(predictor.factor - fit_predictor([], models).factor) < 1e-6
    assert abs(predictor.factor * 4.0 + predictor.overhead_ms - 4.4) < 0.1
    assert {h["model"] for h in predictor.validation if not h["mapped"]} == {sample}


def test_the_grouped_grid_holds_group_widths_and_sizes_the_families_hardly_have():
    import torch

    from calib.predict.models import load_named

    model = load_named("gconv-grid")
    grouped = [m for m in model.module.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1]
    assert {m.in_channels // m.groups for m in grouped} >= {16, 24, 32, 40, 48, 56, 64}
    with torch.inference_mode():
        assert tuple(model.module(*model.make_inputs(1)).shape) == (1, 720, 7, 7)
