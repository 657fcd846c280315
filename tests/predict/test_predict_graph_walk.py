"""The graph walk on tiny models: every node of the graph is a row, every row is costed or listed as
uncosted; int8-static walks the converted graph (fusion and quantize steps as the backend runs them)."""

import pytest

from calib.layers.graph import CALL_OPS, to_graph_module
from calib.models.loader import load_model
from calib.predict.cost_model import Sample, fit_predictor
from calib.predict.graph_walk import walk


@pytest.fixture(scope="module")
def tiny_cnn():
    return load_model("tiny-cnn")


def _call_nodes(module):
    return [node.name for node in to_graph_module(module).graph.nodes if node.op in CALL_OPS]


def test_fp32_walk_has_one_row_per_graph_node_with_shapes_and_flops(tiny_cnn):
    graph = walk(tiny_cnn, "fp32", 2)
    assert graph.method == "fx-fake"
    assert [row["name"] for row in graph.rows] == _call_nodes(tiny_cnn.module)
    convs = [row for row in graph.rows if row["op_kind"] == "conv"]
    assert len(convs) == 2 and all(row["flops"] > 0 and row["bytes"] > 0 for row in convs)
    assert convs[0]["output_shape"] == "2x8x32x32"


def test_every_node_is_costed_or_listed_uncosted(tiny_cnn):
    rows = walk(tiny_cnn, "fp32", 1).rows
    known = [row for row in rows if row["op_kind"] in ("conv", "norm")]
    samples = [Sample.of({**row, "median_ms": 0.01 * (i + 1)}, "isolated") for i, row in enumerate(known)]
    prediction = fit_predictor(samples, []).predict(rows)
    assert len(prediction.nodes) == len(rows)
    costed = {node.name for node in prediction.nodes if node.costed}
    uncosted = {node.name for node in prediction.uncosted}
    assert costed | uncosted == {row["name"] for row in rows} and not costed & uncosted
    assert {row["name"] for row in known} <= costed
    assert all("uncosted" in node.note for node in prediction.uncosted)


def test_bf16_walk_moves_half_the_bytes(tiny_cnn):
    fp32 = {row["name"]: row for row in walk(tiny_cnn, "fp32", 1).rows}
    bf16 = walk(tiny_cnn, "bf16", 1).rows
    conv = next(row for row in bf16 if row["op_kind"] == "conv")
    assert conv["input_dtypes"].startswith("bfloat16")
    assert conv["bytes"] == pytest.approx(fp32[conv["name"]]["bytes"] / 2, rel=0.01)


def test_int8_walk_is_the_converted_graph_with_fusion_and_quantize_steps(tiny_cnn):
    rows = walk(tiny_cnn, "int8-static", 1).rows
    targets = [row["target"] for row in rows]
    assert "BatchNorm2d" not in targets  # folded into the conv, as FX int8 runs it
    assert any("ConvReLU2d" in t for t in targets)
    assert any("quantize_per_tensor" in t for t in targets) and any("dequantize" in t for t in targets)


def test_onnx_graph_is_walked_by_shape_inference(tiny_cnn, tmp_path):
    import warnings

    import torch

    from calib.predict.onnx_walk import load_onnx_graph

    path = tmp_path / "tiny.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(tiny_cnn.module, tiny_cnn.make_inputs(1), str(path), input_names=["x"],
                          dynamic_axes={"x": {0: "batch"}}, dynamo=False)
    graph = load_onnx_graph(str(path))
    assert graph.item_shape == (3, 32, 32)
    rows = graph.walk("fp32", 4).rows
    convs = [row for row in rows if row["target"] == "Conv2d"]
    assert len(convs) == 2 and convs[0]["output_shape"] == "4x8x32x32" and convs[0]["flops"] > 0
    with pytest.raises(Exception, match="fp32 or bf16"):
        graph.walk("int8-static", 1)
