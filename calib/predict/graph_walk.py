"""The graph of a model as the backend runs it, one row per node, without timing it.

fp32 and bf16 (torch eager): the torch.fx graph of the module (calib.layers.graph), cast like the
backend casts it, its shapes propagated on fake tensors: no arithmetic runs. Eager PyTorch fuses
nothing, so every node is a kernel launch of its own.
int8-static: the module is converted by calib's int8 path (calib.quant.torch_int8, FX graph mode,
the path `calib run --no-tune` takes), so fusion is as the backend does it: conv+bn+relu become one
quantized conv, and quantize / dequantize steps are nodes. Conversion calibrates on one example
batch (untimed fp32 passes) and shapes are read from one untimed pass of the converted graph:
quantized kernels do not run on fake tensors.
Rows have calib.layers' per-layer row fields (calib.layers.fx_profile.collect_facts).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

from calib.backends.base import RunConfig
from calib.backends.torch_eager import convert
from calib.errors import UsageError, first_line
from calib.layers.fx_profile import collect_facts
from calib.layers.graph import TraceFailed, to_graph_module
from calib.precisions import get_precision
from calib.settings import Int8Settings


@dataclass(frozen=True)
class Walk:
    rows: list[dict]
    method: str  # "fx-fake" | "fx-int8-converted"
    walk_s: float
    notes: tuple[str, ...] = ()


# An input past this many elements (8 GiB of fp32) is refused before anything is built: no model calib
# predicts takes one, and the fake tensors' sizes overflow int64 not far beyond.
MAX_INPUT_ELEMENTS = 2 ** 31


def walk(model, precision: str, batch_size: int, device: str = "cpu") -> Walk:
    """`model`: a calib LoadedModel with a torch module. Float precisions are walked on fake tensors end to end
    (the inputs too: --batch-size 1000000000 allocates nothing); int8's conversion runs the model on one real
    batch, so it is refused in one line when the fake fp32 walk says that pass needs more than this machine's
    available memory."""
    import torch

    if model.module is None:
        raise UsageError(f"{model.name}: no torch module to walk")
    started = time.perf_counter()
    precision_info = get_precision(precision)
    _check_input_size(model, batch_size)
    int8 = precision_info.family == "int8"
    if int8:
        _check_real_pass_fits(model, batch_size, device)
        mode, inputs = None, model.make_inputs(batch_size)
    else:
        mode = _fake_mode()
        inputs = _fake_inputs(model, batch_size, mode)
    config = RunConfig(precision=precision, device=device, batch_size=batch_size, threads=torch.get_num_threads(),
                       int8=Int8Settings(path="fx"))
    module = copy.deepcopy(model.module).eval()
    try:
        converted, bound, context, _ = convert(module, config, inputs)
    except Exception as exc:  # noqa: BLE001
        raise UsageError(f"{model.name} at {precision}: cannot convert it as the torch backend would "
                         f"({type(exc).__name__}: {first_line(exc, 200)})") from None
    try:
        graph_module = to_graph_module(converted)
    except TraceFailed as exc:
        raise UsageError(f"{model.name}: torch.fx cannot trace it, so its graph cannot be walked ({exc})") from None
    try:
        if int8:
            with torch.inference_mode():
                facts = collect_facts(graph_module, bound)
            method = "fx-int8-converted"
        else:
            facts = _fake_facts(graph_module, bound, context, mode)
            method = "fx-fake"
    except Exception as exc:  # noqa: BLE001 - a shape the model cannot take (5 channels into a 3-channel conv)
        raise UsageError(f"{model.name} cannot take inputs of shape {_shapes(batch_size, model)} "
                         f"({type(exc).__name__}: {first_line(exc, 200)}): check --input-shape") from None
    rows = [{"name": name, **row} for name, row in facts.items()]
    for row in rows:
        row.pop("fed_by_dequantize", None)
    return Walk(rows, method, time.perf_counter() - started)


def _shapes(batch_size: int, model) -> str:
    return "x".join(str(d) for d in (batch_size, *model.item_shape))


def _check_input_size(model, batch_size: int) -> None:
    import math

    elements = batch_size * math.prod(model.item_shape)
    if elements > MAX_INPUT_ELEMENTS:
        raise UsageError(f"--batch-size {batch_size} with inputs of {'x'.join(map(str, model.item_shape))}: one batch "
                         f"is {elements:,} elements, more than the {MAX_INPUT_ELEMENTS:,} calib predicts for; "
                         "lower --batch-size or --input-shape")


def _check_real_pass_fits(model, batch_size: int, device: str) -> None:
    """int8 is converted and walked on real tensors: what the fp32 graph moves at its largest node (inputs,
    output and weights, from a fake walk), twice over for the calibration pass, must fit in half the memory
    this machine has available."""
    available = _available_bytes()
    if available is None:
        return
    fake = walk(model, "fp32", batch_size, device)
    needed = 2 * max((row.get("bytes") or 0 for row in fake.rows), default=0)
    if needed > available / 2:
        raise UsageError(f"int8 is walked on real tensors, and one batch of {_shapes(batch_size, model)} needs about "
                         f"{needed / 2 ** 30:,.1f} GiB at its largest layer; {available / 2 ** 30:,.1f} GiB is "
                         "available: lower --batch-size or --input-shape")


def _available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), else None (no check)."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _fake_mode():
    from torch._subclasses.fake_tensor import FakeTensorMode

    return FakeTensorMode(allow_non_fake_inputs=True)


def _fake_inputs(model, batch_size: int, mode) -> tuple:
    """The inputs of one call at `batch_size` as fake tensors: shapes and dtypes, no storage."""
    import torch

    from calib.models.base import rebatch

    if model.example_inputs is not None:
        examples = tuple(mode.from_tensor(t) for t in model.example_inputs)
        with mode:
            return tuple(rebatch(t, batch_size) for t in examples)
    dtype = torch.int64 if model.input_kind == "tokens" else torch.float32
    with mode:
        return (torch.zeros((batch_size, *model.item_shape), dtype=dtype),)


def _fake_facts(graph_module, inputs, context, mode) -> dict:
    import contextlib

    with mode:
        with context() if context else contextlib.nullcontext():
            return collect_facts(graph_module, inputs)
