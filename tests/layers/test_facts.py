"""FLOPs, bytes and compute dtypes of single layers against hand-computed values."""

import torch
from torch import nn

from calib.layers.facts import compute_dtype_of, flag_for, formula_flops
from calib.layers.fx_profile import collect_facts
from calib.layers.graph import to_graph_module
from calib.layers.kinds import op_kind_of


class MatmulModel(nn.Module):
    def forward(self, a, b):
        return torch.matmul(a, b)


def _facts(module, *inputs):
    graph_module = to_graph_module(module.eval())
    return list(collect_facts(graph_module, inputs).values())


def test_conv_flops_match_hand_count():
    conv = nn.Conv2d(3, 8, kernel_size=3, padding=1)
    (row,) = _facts(nn.Sequential(conv), torch.randn(2, 3, 16, 16))
    # 2 FLOPs per multiply-add: batch * out_channels * H * W * in_channels * kh * kw
    assert row["flops"] == 2 * 2 * 8 * 16 * 16 * 3 * 3 * 3
    assert row["op_kind"] == "conv" and row["target"] == "Conv2d"
    assert row["params"] == 8 * 3 * 3 * 3 + 8
    assert row["output_shape"] == "2x8x16x16" and row["input_shapes"] == "2x3x16x16"
    assert row["bytes"] == 4 * (2 * 3 * 16 * 16 + 2 * 8 * 16 * 16 + 8 * 27 + 8)
    # the shape formula (used where the counter sees nothing, e.g. quantized kernels) agrees
    output = conv(torch.randn(2, 3, 16, 16))
    assert formula_flops("conv", conv, [torch.randn(2, 3, 16, 16)], [output]) == row["flops"]


def test_linear_flops_match_hand_count():
    linear = nn.Linear(64, 32)
    (row,) = _facts(nn.Sequential(linear), torch.randn(4, 64))
    assert row["flops"] == 2 * 4 * 64 * 32
    assert row["op_kind"] == "linear" and row["compute_dtype"] == "float32"
    assert formula_flops("linear", linear, [torch.randn(4, 64)], [torch.randn(4, 32)]) == row["flops"]


def test_matmul_flops_match_hand_count():
    (row,) = _facts(MatmulModel(), torch.randn(3, 5, 7), torch.randn(3, 7, 11))
    assert row["flops"] == 2 * 3 * 5 * 7 * 11
    assert row["op_kind"] == "matmul"
    assert row["input_shapes"] == "3x5x7, 3x7x11"


def test_op_kinds_of_common_targets():
    assert op_kind_of("Conv2d") == "conv"
    assert op_kind_of("quantized.conv2d") == "conv"
    assert op_kind_of("F.scaled_dot_product_attention") == "attention"
    assert op_kind_of("MultiheadAttention") == "attention"
    assert op_kind_of("BatchNorm2d") == "norm"
    assert op_kind_of("Hardswish") == "activation"
    assert op_kind_of("AdaptiveAvgPool2d") == "pooling"
    assert op_kind_of("operator.add") == "elementwise"
    assert op_kind_of("torch.quantize_per_tensor") == "quantize"
    assert op_kind_of(".dequantize") == "quantize"
    assert op_kind_of(".expand") == "other"
    assert op_kind_of("aten.mm.default") == "matmul"


def test_compute_dtype_and_flags():
    assert compute_dtype_of("linear", ["bfloat16"], "bfloat16", "bfloat16") == "bfloat16"
    assert compute_dtype_of("linear", ["float32"], "float32", "qint8") == "int8"
    assert flag_for("linear", "float32", "bfloat16", "amp-bf16") == "fp32 in amp-bf16"
    assert flag_for("norm", "float32", "bfloat16", "amp-bf16") is None  # only heavy ops are flagged
    assert flag_for("conv", "bfloat16", "float32", "fp32") is None
    assert flag_for("conv", "float32", "int8", "int8", fed_by_dequantize=True).startswith("reference kernel")
    assert flag_for("conv", "int8", "int8", "int8") is None
