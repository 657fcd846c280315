"""What the cost model knows about one graph node: its cost key and its shape features.

Every source of samples has the same row shape, calib.layers' per-layer row (op_kind, target,
input_shapes, output_shape, params, flops, bytes): the isolated op sweep, the per-layer tables of
real models (`calib run --layers` files) and the graph walk of a model to predict. So one function
turns each into a key and a feature vector, and a `calib run --layers` file feeds a table as is.
"""

from __future__ import annotations

import math
import re

QUANTIZED = ("qint8", "quint8", "qint32")
# targets that only relabel a tensor (views, getattr, shape reads): Python dispatch costs only. Not
# .contiguous: after a transpose (ShuffleNet's channel shuffle) it copies, and on int8 tensors slowly
VIEW_TARGETS = {".view", ".reshape", ".flatten", "torch.flatten", ".size", ".permute",
                ".transpose", ".unsqueeze", ".squeeze", ".expand", ".chunk", "torch.chunk", "operator.getitem",
                ".split", "getattr", "Dropout", "Identity", ".dim", "torch.transpose", "torch.permute",
                "torch.reshape", "torch.unsqueeze", "torch.squeeze", "torch.split", "torch.narrow", ".narrow",
                "F.dropout", "torch.unbind", ".unbind", "Flatten"}
_QUANT_PREFIX = re.compile(r"^torch\._ops\.quantized\.|^torch\.ops\.quantized\.")


def parse_shapes(text: str | None) -> list[tuple[int, ...]]:
    """'1x16x56x56, 1x16x1x1' -> [(1, 16, 56, 56), (1, 16, 1, 1)]; 'scalar' -> ()."""
    shapes = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            shapes.append(tuple(int(d) for d in part.split("x")) if part != "scalar" else ())
        except ValueError:
            continue
    return shapes


def is_quantized(row: dict) -> bool:
    dtypes = (row.get("input_dtypes") or "").split(",")
    return bool(dtypes) and dtypes[0].strip() in QUANTIZED


def _grouped(row: dict) -> bool:
    """A quantized conv of 2 or more groups that is not depthwise (RegNet, ResNeXt): torch's x86 int8 kernels run
    it near a fixed time per output, whatever its FLOPs (Intel AMX machine kind, 3x3 at 28x28, b1: 0.08-0.14 ms at
    group widths 8 to 64 of 160-192 channels, 0.57 to 6.4 ms per GFLOP; a dense 3x3 0.28), so the dense convs'
    law priced RegNetX-1.6GF's grouped convs at half their time (the model -15%). Float convs keep one key (torch
    fp32 met its targets with it; not checked apart)."""
    return is_quantized(row) and int(row.get("groups") or 1) > 1


GROUP_BLOCK = 16
# torch's x86 int8 grouped convs run a group width off a multiple of 16 on slower kernels. Measured on the Intel AMX
# machine kind (FX int8, 3x3, channels-last, 2 threads), per output element against group width 16 / 32 / 64 of the
# same channels and size: group width 8 1.4-3.5x, 24 1.6-2.3x, 56 1.3-1.8x (48 1.2x, 4 1.3-3.3x); RegNet 1.6GF (24
# per group) -8% to -10% and 800MF (16) +10% to +16% under one law. Such a conv is keyed q:conv-g/odd, priced by the
# aligned law offset by its own samples (regnet_y_400mf, resnext50's first stages, the grouped grid's 24 / 40 / 56)


def _group_width(row: dict) -> int:
    inputs = parse_shapes(row.get("input_shapes"))
    groups = int(row.get("groups") or 1)
    return inputs[0][1] // groups if inputs and len(inputs[0]) >= 2 else 0


def is_depthwise(row: dict) -> bool:
    """A conv whose every output channel reads one input channel: Cin == Cout and the weight holds
    about k*k values per output channel (a dense conv holds Cin*k*k)."""
    inputs, outputs = parse_shapes(row.get("input_shapes")), parse_shapes(row.get("output_shape"))
    if not inputs or not outputs or len(inputs[0]) < 3 or len(outputs[0]) < 3:
        return False
    cin, cout = inputs[0][1], outputs[0][1]
    params = row.get("params") or 0
    return cin == cout and cin > 1 and params <= cout * 50 and params < cin * cout


def cost_key(row: dict) -> str:
    """The finest key: conv / conv-dw, else the op's target (Conv2d, BatchNorm2d, operator.add, q.add),
    prefixed 'q:' when it computes on quantized tensors."""
    kind = row.get("op_kind") or "other"
    target = _QUANT_PREFIX.sub("q.", str(row.get("target") or ""))
    prefix = "q:" if is_quantized(row) else ""
    if target in VIEW_TARGETS:
        return "view"
    if kind == "conv":
        base = prefix + ("conv-dw" if is_depthwise(row) else "conv-g" if _grouped(row) else "conv")
        if base == "q:conv-dw" and _functional(row):
            return base + "/functional"
        if _odd_channels(row) or (base == "q:conv-g" and _group_width(row) % GROUP_BLOCK):
            return base + "/odd"
        return base + OFF_BLOCK if base == "q:conv-dw" and _odd_channels(row, QUANTIZED_DEPTHWISE_BLOCK) else base
    if kind in ("linear", "matmul", "attention"):
        return prefix + kind
    if _quantized_cat(row) and any(len(shape) != 4 for shape in parse_shapes(row.get("output_shape"))[:1]):
        return prefix + target + RANK_APART
    return prefix + target


def fallback_keys(row: dict) -> list[str]:
    """From finest to coarsest; the cost model uses the first one the table has. A row read from an engine's
    kernel graph (calib.predict.openvino_kernels, onnxruntime_kernels) carries its own chain, read from the
    engine (layer type, kernel, fused ops), in "cost_keys"."""
    if row.get("cost_keys"):
        return list(row["cost_keys"])
    kind = row.get("op_kind") or "other"
    prefix = "q:" if is_quantized(row) else ""
    key = cost_key(row)
    if key.endswith("/functional"):  # its own kernel or none: no law of module convs prices it
        return [key]
    # channel counts that are not a multiple of 8 take slower kernels (int8 depthwise: 10x seen on
    # ShuffleNet's 116/232 channels); such a conv has its own key, its aligned cousins next
    keys = [key, key.removesuffix("/odd").removesuffix(OFF_BLOCK).removesuffix(RANK_APART), prefix + "kind:" + kind,
            "kind:" + kind]
    if row.get("strided_input"):  # a strided view read (calib.layers.facts.strided): a key of its own first
        keys.insert(0, key + "/strided")
    return list(dict.fromkeys(keys))


def _functional(row: dict) -> bool:
    """A quantized conv called as a function on packed weights (F.conv2d in the model's forward, as
    EfficientNet-Lite's static-same-padding convs do), not a module: torch's FX int8 ran EfficientNet-Lite0's
    depthwise ones 70-150x slower than torchvision's module depthwise convs of the same shape (144 channels
    at 56x56: 22.9 ms against 0.2 ms, Intel AMX machine kind), so no module conv's law may price one. The cause
    is the padding, not the call: Lite pads the input itself (ZeroPad2d) and convolves with padding 0, and torch's
    x86 quantized depthwise conv runs its fast kernel only at "same" padding (3x3, 144 channels: 0.45 ms at
    padding 1 on 56x56, 23.5 ms at padding 0 on 58x58)."""
    return "quantized.conv2d" in str(row.get("target") or "") and not row.get("params")


VECTOR_CHANNELS = 64  # int8 channels in one AVX-512 register: a broadcast multiply runs a channel tail off it


def law_flops(row: dict) -> float:
    """The compute term of a node's law (calib.predict.cost_model.fit_law): its FLOPs, but for a channels-last
    quantized cat the channel segments it copies (_cat_segments), and for a quantized broadcast multiply
    (squeeze-excitation's scale, ConvNeXt's layer scale; FLOPs 0) the elements in its channels off a block of
    VECTOR_CHANNELS, which torch's x86 kernel runs one at a time. Measured on the Intel AMX machine
    kind (FX int8, 2 threads, 56x56, b1): 0.042 / 0.077 / 0.107 ms at 64 / 128 / 192 channels, 0.132 / 0.184 ms at
    32 / 48, and 96 / 144 / 160 channels cost their block of 64 plus 32 / 16 / 32 channels at the 32-channel price
    (0.177 / 0.143 / 0.208 ms): a tail element costs about 7x a vector one. Priced by bytes alone, RegNetY-400MF's
    48-channel scales made RegNetY-800MF's 64-channel ones 3.4x their time (the model +20% at b4). Off AVX-512 the
    block is smaller; the law's coefficient is fitted per table either way."""
    flops = float(row.get("flops") or 0)
    if _quantized_cat(row) and not row.get("strided_input"):
        return _cat_segments(row, flops)
    if flops or not is_quantized(row) or "quantized.mul" not in str(row.get("target") or ""):
        return flops
    shapes = [shape for shape in parse_shapes(row.get("input_shapes")) if len(shape) == 4][:2]
    if len(shapes) < 2 or shapes[0] == shapes[1]:
        return flops
    big = max(shapes, key=math.prod)
    return float(math.prod(big) // big[1] * (big[1] % VECTOR_CHANNELS))


def _quantized_cat(row: dict) -> bool:
    return is_quantized(row) and str(row.get("target") or "").endswith("cat")


def _cat_segments(row: dict, flops: float) -> float:
    """A channels-last quantized cat's compute term: the channel segments it copies, one per input per pixel
    (batch x height x width x inputs). Measured on the Intel AMX machine kind (FX int8, 2 threads, channels-last):
    256 channels out at 54x54, b4, took 0.111 / 0.158 / 0.268 / 0.558 / 1.041 ms from 2 / 4 / 8 / 16 / 32 inputs,
    the same bytes each time (about 2.7 ns a segment); priced by bytes alone, DenseNet-121's many-input cats set
    the law and SqueezeNet 1.0's two-input ones came out at 1.8x their time (the model +18% at b4). Fitted on the
    table's cats (overhead + segments + bytes): 3.6 ns a segment and 0.012 ms per MB. A cat of other than 4-D
    tensors (ViT's class token) runs another kernel, keyed apart (RANK_APART)."""
    inputs, outputs = parse_shapes(row.get("input_shapes")), parse_shapes(row.get("output_shape"))
    if not inputs or not outputs or len(outputs[0]) != 4:
        return flops
    out = outputs[0]
    return float(out[0] * out[2] * out[3] * len(inputs))


RANK_APART = "/rank"  # a quantized cat of other than 4-D tensors: 7x the 4-D cats' law (ViT-B/32's class token)


OFF_BLOCK = "/off32"  # a quantized depthwise conv on a multiple of 8 channels but off QUANTIZED_DEPTHWISE_BLOCK
# torch's x86 int8 depthwise convs run channels in blocks of 32: measured on the Intel AMX machine kind (FX int8,
# 2 threads), per channel 1.4-2.7x slower at 144 / 176 / 240 / 272 / 624 / 720 / 1488 channels than at the
# multiples of 32 beside them (3x3 at 56x56 b1: 144 ch 1.51 us/ch, 128 and 160 ch 1.05-1.10; 5x5 at 14x14 b4: 624 ch
# 1.10 us/ch, 608 and 640 ch 0.45-0.48); MnasNet 1.3 (624 and 1488) came out -19% / -21% priced as aligned
QUANTIZED_DEPTHWISE_BLOCK = 32


def _odd_channels(row: dict, block: int | None = None) -> bool:
    """Channels off the kernel's block: 8 for a quantized conv, 16 for a float one (oneDNN's fp32 convs block
    channels by 16 under AVX-512). Measured on the Intel AMX machine kind, torch fp32, b1, 2 threads: a 3x3
    depthwise conv at 112x112 took 0.36 / 0.24 / 0.52 / 0.37 ms at 24 / 32 / 40 / 48 channels, a 1x1 conv 0.44 /
    0.25 / 0.58 / 0.47 ms, and at 56x56 72 channels took longer than 80 or 96; MnasNet 1.3's 40- and 24-channel
    layers at 112x112 ran 1.5-1.9x their price from a table whose only such shapes were aligned. Offline on three
    fp32 tables, leave-one-model-out within 10% went 79 -> 82%, 75 -> 79%, 75 -> 79%; on quantized tables the block
    of 16 helped nothing (unseen within 10% 59 -> 66, 69 -> 69, 62 -> 59%), so they keep 8."""
    inputs, outputs = parse_shapes(row.get("input_shapes")), parse_shapes(row.get("output_shape"))
    channels = [shape[1] for shape in inputs[:1] + outputs[:1] if len(shape) >= 2]
    block = block or (8 if is_quantized(row) else 16)
    return any(c % block and c > 3 for c in channels)  # an RGB stem's 3 channels are its own case


def feature_vector(row: dict) -> tuple[float, ...]:
    """log FLOPs, log bytes, log output channels, log output spatial size: the shape space where
    neighbours are looked for (log: a 2x bigger op is as far as a 2x smaller one)."""
    outputs = parse_shapes(row.get("output_shape"))
    first = outputs[0] if outputs else ()
    channels = first[1] if len(first) >= 2 else 1
    spatial = math.prod(first[2:]) if len(first) >= 3 else 1
    flops, size = row.get("flops") or 0, row.get("bytes") or 0
    return (math.log1p(flops), math.log1p(size), math.log1p(channels), math.log1p(spatial))
