"""The isolated op sweep: a designed set of shapes per op kind, each op timed alone.

Shapes follow where CNNs and transformers spend their time: dense convs at each stage width and
spatial size (1x1, 3x3 and 3x3/2; 5x5 and 7x7 stems), grouped convs (ResNeXt, RegNet), depthwise
3x3/5x5 at stride 1 and 2, linear layers from classifier heads to transformer projections, batched
matmuls, attention, norms, activations, pooling, element-wise ops. At int8-static each op is
quantized on its own, so its quantize and dequantize steps are timed as nodes too.

Each op is a one-node module timed with calib's per-layer pass (calib.layers.profile_module), so its
row has the same shape as a real model's per-layer row. `quick` is a small subset for tests and
smoke runs; `full` is the default of `calib calibrate`. A user extends the sweep with
`--shapes FILE` (JSON list of op specs, see OpSpec) or with more real models' tables.
"""

from __future__ import annotations

import gc
import itertools
import time
from dataclasses import asdict, dataclass

from calib.backends.base import RunConfig
from calib.backends.torch_eager import convert
from calib.errors import UsageError, first_line
from calib.precisions import get_precision
from calib.predict.clock import profile_layers
from calib.settings import Int8Settings, LayerSettings

SWEEPS = ("quick", "full", "none", "real")  # none: only --shapes ops and real models; real: calib.predict.real_shapes


# The integer arguments of each op's shape (the builders in _build), and the most elements one op may hold in
# its inputs, weights and output together (512 MiB of fp32; the full sweep's largest op holds about 40M).
SHAPE_ARGUMENTS = {"conv": ("cin", "cout", "kernel", "stride", "size", "groups"), "linear": ("tokens", "in", "out"),
                   "matmul": ("heads", "m", "k", "n"), "sdpa": ("heads", "tokens", "head_dim"),
                   "mha": ("tokens", "embed", "heads"), "layernorm": ("tokens", "embed")}
MAX_OP_ELEMENTS = 2 ** 27


@dataclass(frozen=True)
class OpSpec:
    """One op at one shape: `op` names the builder below; `shape` its integer arguments (SHAPE_ARGUMENTS;
    (channels, size) for the others). Checked when built: a malformed, negative, zero-sized or huge op is a
    one-line UsageError, not a row the sweep skips (a table of 0 ops marked complete)."""
    op: str
    shape: tuple[int, ...]
    batch: int = 1

    def __post_init__(self):
        if self.op not in BUILDERS:
            raise UsageError(f"op {self.op!r}: 'op' must be one of {', '.join(BUILDERS)}")
        names = SHAPE_ARGUMENTS.get(self.op, ("channels", "size"))
        if len(self.shape) != len(names):
            raise UsageError(f"op {self.label}: {self.op} takes {len(names)} shape numbers ({', '.join(names)}), "
                             f"not {len(self.shape)}")
        for name, value in (*zip(names, self.shape), ("batch", self.batch)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(f"op {self.label}: {name} {value!r} must be a positive integer")
        values = dict(zip(names, self.shape))
        if self.op == "conv" and (values["cin"] % values["groups"] or values["cout"] % values["groups"]):
            raise UsageError(f"op {self.label}: groups {values['groups']} must divide cin and cout")
        if self.op == "mha" and values["embed"] % values["heads"]:
            raise UsageError(f"op {self.label}: heads {values['heads']} must divide embed {values['embed']}")
        elements = _elements(self.op, values, self.batch)
        if elements > MAX_OP_ELEMENTS:
            raise UsageError(f"op {self.label}: {elements:,} elements in its tensors, more than the "
                             f"{MAX_OP_ELEMENTS:,} an op of the sweep may hold")

    @property
    def label(self) -> str:
        return f"{self.op}({','.join(str(d) for d in self.shape)})b{self.batch}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "OpSpec":
        shown = repr(data)[:120]
        if not isinstance(data, dict):
            raise UsageError(f"op spec {shown}: not an object with 'op', 'shape' and optionally 'batch'")
        if data.get("op") not in BUILDERS:
            raise UsageError(f"op spec {shown}: 'op' must be one of {', '.join(BUILDERS)}")
        shape, batch = data.get("shape"), data.get("batch", 1)
        if not isinstance(shape, list) or not all(_is_integer(d) for d in shape) or not _is_integer(batch):
            raise UsageError(f"op spec {shown}: needs 'op', 'shape' (a list of integers) and optionally 'batch' "
                             "(an integer)")
        return cls(data["op"], tuple(int(d) for d in shape), int(batch))


def _is_integer(value) -> bool:
    """An integer, or a float with an integer value (JSON 3.0); not a bool or a string."""
    return not isinstance(value, bool) and (isinstance(value, int) or (isinstance(value, float) and value.is_integer()))


def _elements(op: str, values: dict, batch: int) -> int:
    """Elements an op's inputs, weights and output hold (what building and timing it allocates)."""
    v = values
    if op == "conv":
        out_size = -(-v["size"] // v["stride"])
        return (batch * v["cin"] * v["size"] ** 2 + v["cin"] // v["groups"] * v["cout"] * v["kernel"] ** 2
                + batch * v["cout"] * out_size ** 2)
    if op == "linear":
        return batch * v["tokens"] * (v["in"] + v["out"]) + v["in"] * v["out"]
    if op == "matmul":
        return batch * v["heads"] * (v["m"] * v["k"] + v["k"] * v["n"] + v["m"] * v["n"])
    if op == "sdpa":
        return batch * v["heads"] * v["tokens"] * (4 * v["head_dim"] + v["tokens"])
    if op == "mha":
        return batch * v["tokens"] * 5 * v["embed"] + 4 * v["embed"] ** 2 + batch * v["heads"] * v["tokens"] ** 2
    if op == "layernorm":
        return 2 * batch * v["tokens"] * v["embed"]
    return 3 * batch * v["channels"] * v["size"] ** 2  # two inputs and an output at most


def _modules():
    import torch
    from torch import nn

    class Binary(nn.Module):
        def __init__(self, fn):
            super().__init__()
            self.fn = fn

        def forward(self, a, b):
            return self.fn(a, b)

    class Add(nn.Module):
        def forward(self, a, b):
            return a + b

    class Mul(nn.Module):
        def forward(self, a, b):
            return a * b

    class Cat(nn.Module):
        def forward(self, a, b):
            return torch.cat([a, b], 1)

    class Bmm(nn.Module):
        def forward(self, a, b):
            return torch.matmul(a, b)

    class Sdpa(nn.Module):
        def forward(self, q, k, v):
            return torch.nn.functional.scaled_dot_product_attention(q, k, v)

    class SelfAttention(nn.Module):
        def __init__(self, embed, heads):
            super().__init__()
            self.attention = nn.MultiheadAttention(embed, heads, batch_first=True)

        def forward(self, x):
            return self.attention(x, x, x, need_weights=False)[0]

    return torch, nn, Add, Mul, Cat, Bmm, Sdpa, SelfAttention


def build(spec: OpSpec, quantized_feed: bool = False):
    """(fp32 module, fp32 inputs) of one op spec, the op a child module (a leaf node, as in a real
    model's graph). `quantized_feed`: each input first passes a 1x1 conv (4-D) or a linear layer, so
    that int8-static quantizes the op itself and times it on int8 tensors, as inside a model."""
    module, inputs = _build(spec)
    return _Wrapped(module, inputs if quantized_feed else None), inputs


def _Wrapped(op, feed_inputs):
    from torch import nn

    class Wrapped(nn.Module):
        def __init__(self):
            super().__init__()
            self.op = op
            self.feeds = nn.ModuleList(
                nn.Conv2d(t.shape[1], t.shape[1], 1) if t.dim() == 4 else nn.Linear(t.shape[-1], t.shape[-1])
                for t in feed_inputs or ())

        def _fed(self, index, x):
            return self.feeds[index](x) if len(self.feeds) else x

    class One(Wrapped):
        def forward(self, a):
            return self.op(self._fed(0, a))

    class Two(Wrapped):
        def forward(self, a, b):
            return self.op(self._fed(0, a), self._fed(1, b))

    class Three(Wrapped):
        def forward(self, a, b, c):
            return self.op(self._fed(0, a), self._fed(1, b), self._fed(2, c))

    arity = len(feed_inputs) if feed_inputs is not None else None
    return {1: One, 2: Two, 3: Three}[arity or _arity(op)]()


def _arity(op) -> int:
    import inspect

    parameters = inspect.signature(op.forward).parameters
    return len([p for p in parameters.values() if p.default is inspect.Parameter.empty]) or 1


def _build(spec: OpSpec):
    torch, nn, Add, Mul, Cat, Bmm, Sdpa, SelfAttention = _modules()
    generator = torch.Generator().manual_seed(0)
    b, s = spec.batch, spec.shape

    def rand(*shape):
        return torch.randn(*shape, generator=generator)

    op = spec.op
    if op == "conv":  # cin, cout, kernel, stride, hw, groups
        cin, cout, k, stride, hw, groups = s
        return nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), (rand(b, cin, hw, hw),)
    if op == "linear":  # tokens, in, out
        tokens, fin, fout = s
        shape = (b, fin) if tokens == 1 else (b, tokens, fin)
        return nn.Linear(fin, fout), (rand(*shape),)
    if op == "matmul":  # heads, m, k, n
        heads, m, k, n = s
        return Bmm(), (rand(b, heads, m, k), rand(b, heads, k, n))
    if op == "sdpa":  # heads, tokens, head_dim
        heads, tokens, dim = s
        return Sdpa(), tuple(rand(b, heads, tokens, dim) for _ in range(3))
    if op == "mha":  # tokens, embed, heads
        tokens, embed, heads = s
        return SelfAttention(embed, heads), (rand(b, tokens, embed),)
    if op == "batchnorm":  # channels, hw
        c, hw = s
        norm = nn.BatchNorm2d(c)
        norm.running_var.uniform_(0.5, 1.5, generator=generator)
        return norm, (rand(b, c, hw, hw),)
    if op == "layernorm":  # tokens, embed
        tokens, embed = s
        return nn.LayerNorm(embed), (rand(b, tokens, embed),)
    if op in ACTIVATIONS:  # channels, hw
        c, hw = s
        return ACTIVATIONS[op](nn), (rand(b, c, hw, hw),)
    if op == "maxpool":  # channels, hw
        c, hw = s
        return nn.MaxPool2d(3, 2, 1), (rand(b, c, hw, hw),)
    if op == "avgpool":  # channels, hw
        c, hw = s
        return nn.AdaptiveAvgPool2d(1), (rand(b, c, hw, hw),)
    if op == "add":
        c, hw = s
        return Add(), (rand(b, c, hw, hw), rand(b, c, hw, hw))
    if op == "mul-se":  # squeeze-excitation scale: (c,1,1) * (c,hw,hw)
        c, hw = s
        return Mul(), (rand(b, c, 1, 1), rand(b, c, hw, hw))
    if op == "cat":
        c, hw = s
        return Cat(), (rand(b, c, hw, hw), rand(b, c, hw, hw))
    if op == "pad":  # channels, hw: a zero pad of one pixel on each side, as static "same" padding copies a tensor
        c, hw = s
        return nn.ZeroPad2d(1), (rand(b, c, hw, hw),)
    raise ValueError(op)


ACTIVATIONS = {
    "relu": lambda nn: nn.ReLU(), "relu6": lambda nn: nn.ReLU6(), "hardswish": lambda nn: nn.Hardswish(),
    "silu": lambda nn: nn.SiLU(), "gelu": lambda nn: nn.GELU(), "sigmoid": lambda nn: nn.Sigmoid(),
    "hardsigmoid": lambda nn: nn.Hardsigmoid(),
}
BUILDERS = ("conv", "linear", "matmul", "sdpa", "mha", "batchnorm", "layernorm", *ACTIVATIONS, "maxpool",
            "avgpool", "add", "mul-se", "cat", "pad")

# CNN stages: (spatial size, channel widths seen there)
_STAGES = ((112, (16, 32, 64)), (56, (24, 64, 128, 256)), (28, (40, 128, 256, 512)), (14, (80, 256, 512, 1024)),
           (7, (160, 512, 1024, 2048)))


def designed(sweep: str = "full") -> list[OpSpec]:
    """The op specs of a sweep, interleaved across kinds (a sweep cut short by its budget still
    covers every kind)."""
    if sweep not in SWEEPS:
        from calib.errors import UsageError

        raise UsageError(f"--sweep {sweep!r}: choose from {', '.join(SWEEPS)}")
    if sweep == "none":
        return []
    if sweep == "real":
        raise UsageError("--sweep real: calib.predict.real_shapes.real_shape_specs builds it (from models)")
    return _quick() if sweep == "quick" else _full()


def _quick() -> list[OpSpec]:
    groups = [
        [OpSpec("conv", (8, 16, 3, 1, 16, 1)), OpSpec("conv", (16, 16, 1, 1, 16, 1)),
         OpSpec("conv", (16, 32, 3, 2, 16, 1))],
        [OpSpec("conv", (16, 16, 3, 1, 16, 16))],
        [OpSpec("linear", (1, 64, 128)), OpSpec("linear", (1, 128, 10)), OpSpec("linear", (16, 64, 64))],
        [OpSpec("batchnorm", (8, 16)), OpSpec("layernorm", (16, 64))],
        [OpSpec("relu", (8, 16)), OpSpec("relu", (16, 8))],
        [OpSpec("avgpool", (16, 8)), OpSpec("maxpool", (8, 16))],
        [OpSpec("add", (8, 16)), OpSpec("mul-se", (16, 8))],
        [OpSpec("sdpa", (2, 16, 16)), OpSpec("matmul", (2, 16, 16, 16))],
    ]
    return _interleave(groups)


def _full() -> list[OpSpec]:
    dense, grouped, depthwise, others = [], [], [], []
    for hw, widths in _STAGES:
        for c in widths:
            dense += [OpSpec("conv", (c, c, 3, 1, hw, 1)), OpSpec("conv", (c, c, 1, 1, hw, 1))]
            if c * 4 <= 2048:
                dense += [OpSpec("conv", (c, 4 * c, 1, 1, hw, 1)), OpSpec("conv", (4 * c, c, 1, 1, hw, 1))]
            if hw > 7:
                dense.append(OpSpec("conv", (c, 2 * c, 3, 2, hw, 1)))
                depthwise.append(OpSpec("conv", (6 * c if c <= 160 else c, 6 * c if c <= 160 else c, 3, 2, hw,
                                                 6 * c if c <= 160 else c)))
            for k in (3, 5):
                ch = 6 * c if c <= 160 else c
                depthwise.append(OpSpec("conv", (ch, ch, k, 1, hw, ch)))
            depthwise.append(OpSpec("conv", (c, c, 3, 1, hw, c)))
            for group_width in (8, 32):
                if c >= 2 * group_width:
                    grouped.append(OpSpec("conv", (c, c, 3, 1, hw, c // group_width)))
            others += [OpSpec("batchnorm", (c, hw)), OpSpec("relu", (c, hw)), OpSpec("add", (c, hw))]
        others += [OpSpec(name, (widths[1], hw)) for name in ("relu6", "hardswish", "silu", "sigmoid", "hardsigmoid",
                                                                "gelu")]
        # pad: EfficientNet-Lite's static "same" padding (ZeroPad2d) copies each conv's input; no law priced it,
        # and the fallback for ops of no kind priced its 17 pads at 0.002 ms against 1.8 ms (the model -25%)
        others += [OpSpec("avgpool", (widths[-1], hw)), OpSpec("mul-se", (widths[1], hw)),
                   OpSpec("cat", (widths[0], hw)), OpSpec("pad", (widths[0], hw)), OpSpec("pad", (widths[-1], hw))]
    dense += [OpSpec("conv", (3, 32, 3, 2, 224, 1)), OpSpec("conv", (3, 64, 7, 2, 224, 1)),
              OpSpec("conv", (3, 16, 3, 2, 224, 1)), OpSpec("conv", (3, 64, 11, 4, 224, 1)),
              OpSpec("conv", (64, 192, 5, 1, 27, 1)), OpSpec("conv", (48, 64, 5, 1, 28, 1)),
              OpSpec("conv", (64, 64, 3, 1, 56, 1), batch=4), OpSpec("conv", (256, 256, 3, 1, 14, 1), batch=4),
              OpSpec("conv", (128, 512, 1, 1, 28, 1), batch=4)]
    for c, hw in ((58, 28), (116, 14), (232, 7), (116, 28), (58, 56)):  # channels off the multiple of 8
        depthwise += [OpSpec("conv", (c, c, 3, 1, hw, c)), OpSpec("conv", (c, c, 3, 2, 2 * hw, c))]
        dense += [OpSpec("conv", (c, c, 1, 1, hw, 1))]
    depthwise += [OpSpec("conv", (96, 96, 3, 1, 56, 96), batch=4), OpSpec("conv", (480, 480, 5, 1, 14, 480), batch=4)]
    others += [OpSpec("maxpool", (64, 112)), OpSpec("maxpool", (192, 56)), OpSpec("maxpool", (64, 112), batch=4)]
    linear = [OpSpec("linear", shape) for shape in (
        (1, 512, 1000), (1, 1024, 1000), (1, 1280, 1000), (1, 2048, 1000), (1, 576, 1024), (1, 960, 1280),
        (1, 4096, 4096), (1, 9216, 4096), (1, 4096, 1000), (197, 768, 768), (197, 768, 3072), (197, 3072, 768),
        (50, 768, 2304), (1, 64, 16), (1, 16, 64), (1, 256, 64), (1, 64, 256))]
    linear += [OpSpec("linear", (1, 2048, 1000), batch=4), OpSpec("linear", (1, 1280, 1000), batch=4)]
    attention = [OpSpec("sdpa", (12, 197, 64)), OpSpec("sdpa", (12, 50, 64)), OpSpec("sdpa", (4, 128, 32)),
                 OpSpec("mha", (197, 768, 12)), OpSpec("mha", (50, 256, 8)), OpSpec("matmul", (12, 197, 64, 197)),
                 OpSpec("matmul", (12, 197, 197, 64)), OpSpec("layernorm", (197, 768)), OpSpec("layernorm", (50, 256))]
    return _interleave([dense, depthwise, grouped, linear, attention, others])


def _interleave(groups: list[list[OpSpec]]) -> list[OpSpec]:
    out = []
    for batch in itertools.zip_longest(*groups):
        out.extend(spec for spec in batch if spec is not None)
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class SweepResult:
    rows: list[dict]  # per-layer rows with median_ms, "source" and "op_spec"
    measured: int
    skipped: list[str]  # labels left out (over the budget, or failed) with the reason
    elapsed_s: float


def run_sweep(specs: list[OpSpec], precision: str, device: str, threads: int, budget_s: float,
              op_budget_s: float = 0.25, on_op=None, clock: str = "wall") -> SweepResult:
    """Time every spec alone at `precision`, until `budget_s` is spent."""
    import torch

    started = time.perf_counter()
    rows, skipped, measured = [], [], 0
    for spec in specs:
        left = budget_s - (time.perf_counter() - started)
        if left <= 0:
            skipped.append(f"{spec.label}: over the --budget-s")
            continue
        if on_op:
            on_op(spec)
        try:
            int8 = get_precision(precision).family == "int8"
            module, inputs = build(spec, quantized_feed=int8 and _fed_at_int8(spec))
            module.eval()
            config = RunConfig(precision=precision, device=device, batch_size=spec.batch, threads=threads,
                               int8=Int8Settings(path="fx"))
            with torch.inference_mode(False):
                module, inputs, context, _ = convert(module, config, inputs)
            single_ms = _single_call_ms(module, inputs, context)
            if single_ms / 1000 * 4 > left:
                skipped.append(f"{spec.label}: one call takes {single_ms:.0f} ms, over the budget left")
                continue
            gc.freeze()  # the layer pass runs gc.collect(): over torch's objects that takes ~1 s per op
            table = profile_layers(module, inputs, single_ms, LayerSettings(budget_s=op_budget_s), context, clock,
                                   device)
        except Exception as exc:  # noqa: BLE001 - one op that cannot run at this precision is skipped
            skipped.append(f"{spec.label}: {type(exc).__name__}: {first_line(exc, 120)}")
            continue
        measured += 1
        for row in table.get("layers") or []:
            rows.append({**row, "source": "isolated", "op_spec": spec.to_dict()})
    gc.unfreeze()
    return SweepResult(rows, measured, skipped, time.perf_counter() - started)


def _fed_at_int8(spec: OpSpec) -> bool:
    """Whether an int8 sample is fed by a layer before it, so that it reads a tensor laid out as inside a model.
    Any op but a linear layer; a conv too unless it reads an image (3 channels, fed by the quantize of the
    input as a model's first conv is): quantized from the input directly, a conv reads a row-major tensor and
    ran 1.3-2.4x slower than on the channels-last output of a conv before it (calib.layers.facts.strided)."""
    if spec.op == "linear":
        return False
    return spec.op != "conv" or spec.shape[0] > 3


def _single_call_ms(module, inputs, context) -> float:
    import contextlib

    import torch

    with torch.inference_mode(), (context() if context else contextlib.nullcontext()):
        module(*inputs)
        start = time.perf_counter()
        module(*inputs)
        return (time.perf_counter() - start) * 1000
