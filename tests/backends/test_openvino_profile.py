"""What an OpenVINO runtime graph ran, and its performance counters as a layer table: plain data, no OpenVINO."""

import sys

import pytest

from calib.backends.openvino_profile import (executed_dtype, fallback_warning, kernel_dtype, layer_table,
                                             provenance)
from calib.layers.table import ROW_KEYS


def _layer(name, layer_type, precision, kernel, inputs=(), output=(1, 8, 4, 4)):
    return {"name": name, "type": layer_type, "precision": precision, "kernel": kernel,
            "input_shapes": [list(shape) for shape in inputs], "output_shape": list(output)}


# What OpenVINO 2026.4 reported for the tiny CNN at the bf16 hint on an AVX2 CPU (no bf16): all f32.
AVX2_BF16 = [_layer("input", "Input", "f32", "unknown_f32"), _layer("reorder", "Reorder", "f32", "reorder_f32"),
             _layer("w", "Const", "f32", "unknown_f32"), _layer("axes", "Const", "i32", "unknown_i32"),
             _layer("/0/Conv", "Convolution", "f32", "brgconv_avx2_f32", [(1, 3, 8, 8), (8, 3, 3, 3)]),
             _layer("/3/Conv", "Convolution", "f32", "brgconv_avx2_f32"),
             _layer("/5/Pool", "Reduce", "f32", "jit_avx2_f32"),
             _layer("output", "FullyConnected", "f32", "gemm_mlas_f32", [(1, 16), (10, 16)], (1, 10)),
             _layer("output/sink", "Output", "f32", "unknown_f32")]


def test_a_bf16_hint_that_fell_back_is_counted_and_warned():
    summary = provenance(AVX2_BF16, "bf16")
    assert summary["executed_precisions"] == {"f32": 4}  # no inputs, outputs, constants or reorders
    assert summary["layers_checked"] == 4 and summary["layers_in_requested_precision"] == 0
    assert summary["heavy_layers"] == 3 and summary["heavy_kernels"] == {"brgconv_avx2_f32": 2, "gemm_mlas_f32": 1}
    assert summary["fallback_count"] == 4 and summary["fallback"][0]["name"] == "/0/Conv"
    assert executed_dtype(summary) == "float32"
    warning = fallback_warning(summary, "f32", ["FP32", "INT8"])
    assert "0 of 3" in warning and "fell back" in warning and "fp32's" in warning and "FP32, INT8" in warning


def test_a_bf16_cpu_runs_bf16_and_keeps_quiet():
    layers = [dict(layer, precision="bf16", kernel=layer["kernel"].replace("avx2_f32", "avx512_amx_bf16"))
              if layer["type"] in ("Convolution", "FullyConnected") else layer for layer in AVX2_BF16]
    summary = provenance(layers, "bf16")
    assert summary["heavy_in_requested_precision"] == 3 and summary["fallback_count"] == 1  # the pooling stayed f32
    assert executed_dtype(summary) == "bfloat16"
    assert fallback_warning(summary, "bf16", ["FP32", "BF16"]) is None


def test_fp32_that_silently_ran_bf16_is_warned():
    layers = [dict(layer, precision="bf16") if layer["type"] == "Convolution" else layer for layer in AVX2_BF16]
    warning = fallback_warning(provenance(layers, "fp32"), "bf16", ["FP32", "BF16"])
    assert warning.startswith("fp32 requested, yet OpenVINO ran 2 layers in bf16")


def test_int8_checks_the_heavy_layers_only():
    layers = [dict(layer, precision="u8", kernel="jit_avx2_I8") if layer["type"] == "Convolution" else layer
              for layer in AVX2_BF16]
    summary = provenance(layers, "int8-static")
    assert summary["layers_checked"] == 3 and summary["layers_in_requested_precision"] == 2
    assert [layer["name"] for layer in summary["fallback"]] == ["output"]
    assert "1 of 3 conv/matmul layers did not run int8" in fallback_warning(summary, "f32", [])


@pytest.mark.parametrize("kernel, dtype", [("brgconv_avx2_f32", "float32"), ("jit_avx2_I8", "int8"),
                                           ("brgconv_avx512_amx_bf16", "bfloat16"), ("gemm_f16", "float16"),
                                           ("undef", None), ("", None)])
def test_kernel_names_say_their_dtype(kernel, dtype):
    assert kernel_dtype(kernel) == dtype


def _entry(name, layer_type, kernel, real_ms, executed=True):
    return {"name": name, "type": layer_type, "kernel": kernel, "executed": executed, "real_ms": real_ms}


def test_performance_counters_become_a_layer_table():
    runs = [[_entry("/0/Conv", "Convolution", "brgconv_avx2_f32", ms), _entry("/2/Relu", "Relu", "undef", 0.0, False),
             _entry("output", "FullyConnected", "gemm_mlas_f32", 0.1)] for ms in (0.3, 0.5, 0.4)]
    table = layer_table(runs, 1.0, AVX2_BF16, "bfloat16", "bfloat16", run_ms=[0.9, 1.1, 1.0])
    assert table["method"] == "openvino-perf-count" and table["repeats"] == 3
    rows = {row["name"]: row for row in table["layers"]}
    assert set(rows) == {"/0/Conv", "output"}  # fused (not run) layers have no row
    conv = rows["/0/Conv"]
    assert set(ROW_KEYS) <= set(conv) and conv["median_ms"] == pytest.approx(0.4)
    assert conv["op_kind"] == "conv" and conv["provider"] == "brgconv_avx2_f32" and conv["compute_dtype"] == "float32"
    assert conv["flops"] == 2 * 8 * 4 * 4 * 3 * 3 * 3 and conv["output_shape"] == "1x8x4x4"
    assert conv["flag"] == "fp32 in bf16"  # the layer table shows the fallback too
    assert rows["output"]["op_kind"] == "linear" and rows["output"]["flops"] == 2 * 10 * 16
    assert table["sum_ms"] == pytest.approx(0.5) and table["coverage"] == pytest.approx(0.5)
    assert table["executed_dtypes"] == {"float32": 2} and table["profiled_run_ms"] == pytest.approx(1.0)


def test_a_missing_openvino_is_one_line_with_the_install_hint(monkeypatch):
    from calib.backends import get_backend
    from calib.errors import BackendUnavailable

    monkeypatch.setitem(sys.modules, "openvino", None)  # makes `import openvino` fail as if not installed
    monkeypatch.delitem(sys.modules, "calib.backends.openvino", raising=False)
    with pytest.raises(BackendUnavailable, match=r"calib-bench\[openvino\]"):
        get_backend("openvino")


def test_cumulative_counters_give_the_mean_over_the_profiled_calls_alone():
    """PERF_COUNT's real_time is floor(total since compile / calls) in whole microseconds: a kernel that took
    10 us on each of 3 warm-up calls, then 2.4 us on each of 50 (each truncated to 2 us), reads 30/3 = 10 us after
    the warm-up and floor(130 / 53) = 2 us after all; the steady mean is what the 50 calls took."""
    from calib.backends.openvino_profile import steady_entries

    before = [_entry("k", "Convolution", "brgconv", 0.010), _entry("tiny", "Reorder", "ref", 0.0, False)]
    after = [_entry("k", "Convolution", "brgconv", 0.002), _entry("tiny", "Reorder", "ref", 0.0, False)]
    steady = {e["name"]: e for e in steady_entries(before, after, 3, 53)}
    assert steady["k"]["real_ms"] == pytest.approx(0.0024, abs=0.0006)  # not 0.002 (truncated) nor 0.010 (warm-up)
    assert not steady["tiny"]["executed"]
    assert steady_entries(after, after, 53, 53)[0]["real_ms"] == 0.002  # no calls between: as read
    # under 1 us a call: above 0 only while the warm-up weighs; it ran, so it keeps a time under 1 us
    fast = steady_entries([_entry("f", "Reduce", "jit", 0.001)], [_entry("f", "Reduce", "jit", 0.0, False)], 3, 53)
    assert fast[0]["executed"] and 0.0005 <= fast[0]["real_ms"] < 0.001
