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


def walk(model, precision: str, batch_size: int, device: str = "cpu") -> Walk:
    """`model`: a calib LoadedModel with a torch module."""
    import torch

    if model.module is None:
        raise UsageError(f"{model.name}: no torch module to walk")
    started = time.perf_counter()
    precision_info = get_precision(precision)
    inputs = model.make_inputs(batch_size)
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
    if precision_info.family == "int8":
        with torch.inference_mode():
            facts = collect_facts(graph_module, bound)
        method = "fx-int8-converted"
    else:
        facts = _fake_facts(graph_module, bound, context)
        method = "fx-fake"
    rows = [{"name": name, **row} for name, row in facts.items()]
    for row in rows:
        row.pop("fed_by_dequantize", None)
    return Walk(rows, method, time.perf_counter() - started)


def _fake_facts(graph_module, inputs, context) -> dict:
    import contextlib

    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode(allow_non_fake_inputs=True) as mode:
        fake_inputs = tuple(mode.from_tensor(t) for t in inputs)
        with context() if context else contextlib.nullcontext():
            return collect_facts(graph_module, fake_inputs)
