"""What kind of operation a graph node or module is, and a readable name for its target.

Kinds group rows into the by-kind table; the names are matched on lower-case type or op
names so quantized and fused variants (quantized Conv2d, ConvReLU2d, aten.addmm) land with
their float cousins.
"""

from __future__ import annotations

OP_KINDS = ("conv", "linear", "attention", "matmul", "norm", "activation", "pooling", "elementwise",
            "embedding", "quantize", "other")

# Kinds whose arithmetic precision is the point of the measurement: the heavy ops a
# precision is supposed to speed up. A layer of these kinds computing in a wider dtype
# than the configuration asks for is flagged.
HEAVY_KINDS = ("conv", "linear", "attention", "matmul")

# Checked in order: the first match wins ("quantized.conv2d" is a conv, "hardsigmoid" an
# activation, "batch_norm" a norm, "adaptive_avg_pool2d" a pooling).
_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("attention", ("attention", "sdpa")),
    ("conv", ("conv",)),
    ("linear", ("linear", "addmm")),
    ("matmul", ("matmul", "bmm", "einsum")),
    ("quantize", ("quantize", "quantstub", "dequant", "fake_quant")),
    ("norm", ("norm",)),
    ("pooling", ("pool",)),
    ("embedding", ("embedding",)),
    ("activation", ("relu", "gelu", "silu", "swish", "sigmoid", "tanh", "softmax", "elu", "mish", "clamp")),
    ("elementwise", ("add", "mul", "sub", "div", "pow", "sqrt", "cat", "stack", "where", "mean", "sum")),
)
# Short names that would match too much as substrings (".expand" is not "exp").
_EXACT = {"mm": "matmul", "exp": "elementwise", "neg": "elementwise", "log": "elementwise"}


def op_kind_of(name: str) -> str:
    """Kind of an op from its module type name or function/method name."""
    lowered = name.lower()
    for part in lowered.replace(".", " ").split():
        if part in _EXACT:
            return _EXACT[part]
    for kind, needles in _RULES:
        if any(needle in lowered for needle in needles):
            return kind
    return "other"


def target_name(op: str, target, module=None) -> str:
    """`Conv2d`, `torch.flatten`, `operator.add`, `.view`: what a reader recognizes."""
    if op == "call_module":
        return type(module).__name__ if module is not None else str(target)
    if op == "call_method":
        return f".{target}"
    if isinstance(target, str):
        return target
    name = getattr(target, "__name__", None)
    module_name = getattr(target, "__module__", None) or ""
    if name is None:  # torch.ops overloads (aten.convolution.default) print their own name
        return str(target)
    for prefix, short in (("torch.nn.functional", "F"), ("torch._C._nn", "F"), ("torch._C._VariableFunctions", "torch"),
                          ("_operator", "operator")):
        if module_name.startswith(prefix):
            return f"{short}.{name}"
    return f"{module_name}.{name}" if module_name else name
