"""Per-node tables from ONNX Runtime's profiler, in calib's layer-table format."""

import pytest

pytest.importorskip("onnxruntime")

from calib.backends.onnx_profile import layer_table, module_path  # noqa: E402
from calib.layers.table import ROW_KEYS  # noqa: E402
from run_configs import run_config


def _node(name, ts, dur, op="Conv", inputs=({"float": [1, 3, 8, 8]}, {"float": [4, 3, 3, 3]}, {"float": [4]}),
          output=({"float": [1, 4, 8, 8]},), parameter_size=448):
    return {"cat": "Node", "name": f"{name}_kernel_time", "ts": ts, "dur": dur,
            "args": {"op_name": op, "provider": "CPUExecutionProvider", "input_type_shape": list(inputs),
                     "output_type_shape": list(output), "activation_size": "768", "parameter_size": str(parameter_size),
                     "output_size": "1024"}}


def _run(ts, dur):
    return {"cat": "Session", "name": "model_run", "ts": ts, "dur": dur}


def test_parses_nodes_skips_warmup_and_computes_coverage():
    events = [_run(0, 100), _node("/conv/Conv", 10, 90),  # warm-up run: ignored
              _run(1000, 50), _node("/conv/Conv", 1010, 30), _node("/relu/Relu", 1045, 5, op="Relu"),
              _run(2000, 50), _node("/conv/Conv", 2010, 40), _node("/relu/Relu", 2045, 7, op="Relu")]
    table = layer_table(events, end_to_end_ms=0.05, storage_dtype="float32", compute_dtype="float32", skip_runs=1)
    assert table["method"] == "ort-profiler" and table["repeats"] == 2
    rows = {row["name"]: row for row in table["layers"]}
    assert set(rows) == {"/conv/Conv", "/relu/Relu"}
    assert rows["/conv/Conv"]["median_ms"] == pytest.approx(0.035)  # median of 30 and 40 us
    assert rows["/relu/Relu"]["median_ms"] == pytest.approx(0.006)
    assert table["sum_ms"] == pytest.approx(0.041)
    assert table["coverage"] == pytest.approx(0.041 / 0.05)
    conv = rows["/conv/Conv"]
    assert set(ROW_KEYS) <= set(conv)
    assert conv["op_kind"] == "conv" and conv["target"] == "Conv" and conv["module_path"] == "conv"
    assert conv["input_shapes"] == ["1x3x8x8", "4x3x3x3", "4"] and conv["output_shape"] == "1x4x8x8"
    assert conv["params"] == 4 * 3 * 3 * 3 + 4  # weight + bias: their bytes add up to parameter_size
    assert conv["flops"] == 2 * (4 * 8 * 8) * (3 * 3 * 3)
    assert conv["share"] == pytest.approx(0.035 / 0.041)
    assert {entry["op_kind"] for entry in table["by_kind"]} == {"conv", "activation"}


def test_quantized_ops_are_classified_and_int8():
    events = [_run(0, 50), _node("/q/QuantizeLinear", 1, 2, op="QuantizeLinear",
                                 inputs=({"float": [1, 4]}, {"float": []}, {"uint8": []}), output=({"uint8": [1, 4]},)),
              _node("/conv/Conv_token_1", 5, 20, op="QLinearConv",
                    inputs=({"uint8": [1, 8, 8, 3]}, {"float": []}, {"uint8": []}, {"int8": [4]}),
                    output=({"uint8": [1, 8, 8, 4]},))]
    rows = {row["name"]: row for row in layer_table(events, 0.03, "int8", "int8")["layers"]}
    assert rows["/q/QuantizeLinear"]["op_kind"] == "quantize"
    assert rows["/conv/Conv_token_1"]["op_kind"] == "conv"
    assert rows["/conv/Conv_token_1"]["compute_dtype"] == "int8" and rows["/conv/Conv_token_1"]["flag"] is None


def test_module_path_follows_the_exporter_scopes():
    assert module_path("/layer1/layer1.0/conv1/Conv") == "layer1.0.conv1"
    assert module_path("/fc/Gemm") == "fc"
    assert module_path("ReorderOutput") is None


def test_real_session_profile(onnx_cache):
    from calib.backends import get_backend
    from calib.models.loader import load_model

    model = load_model("tiny-cnn")
    prepared = get_backend("onnxruntime").prepare(model, run_config("fp32", "cpu", 1, 1))
    try:
        table = prepared.profile_layers(1.0, None)
    finally:
        prepared.close()
    assert table["method"] == "ort-profiler" and table["repeats"] >= 5 and table["pass_s"] > 0
    assert table["layers"] and all(row["median_ms"] >= 0 for row in table["layers"])
    assert table["coverage"] == pytest.approx(table["sum_ms"] / 1.0)
    assert any(row["op_kind"] == "conv" for row in table["layers"])
