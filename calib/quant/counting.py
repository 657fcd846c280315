"""How much of a converted model runs int8: shared by the torch int8 paths (calib.quant.torch_int8,
calib.quant.static_int8) without an import between them."""

from __future__ import annotations

from torch import nn

QUANTIZED_KINDS = ("Conv", "Linear", "LSTM", "GRU", "RNN", "Embedding")


def layer_counts(module) -> dict:
    """How many layers run int8 kernels and how many heavy (Conv/Linear) layers stayed float."""
    quantized = floating = 0
    for sub in module.modules():
        origin, name = type(sub).__module__, type(sub).__name__
        if ".quantized" in origin and name.startswith(QUANTIZED_KINDS) and not name.endswith("PackedParams"):
            quantized += 1
        elif isinstance(sub, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)) and not origin.startswith("torch.ao"):
            floating += 1
    quantized += _lowered_op_count(module)
    return {"quantized_layers": quantized, "float_layers": floating}


def _lowered_op_count(module) -> int:
    """PT2E-lowered graphs hold no quantized modules, only calls to onednn/quantized ops."""
    graph = getattr(module, "graph", None)
    if graph is None:
        return 0
    count = 0
    for node in graph.nodes:
        if node.op == "call_function":
            name = str(node.target)
            if ("qconv" in name or "qlinear" in name) and "onednn" in name:
                count += 1
    return count
