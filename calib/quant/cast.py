"""fp16/bf16 per layer on torch: one layer cast and the rest fp32 (the sensitivity pass), or the
whole model cast with some layers kept fp32 (the fallback's mixed configuration).

The torch backend casts whole modules (calib.backends.torch_eager); a switched layer is wrapped to
cast its floating inputs to its own dtype and its outputs back to its neighbours' (what a graph with
a cast island computes). `prepare` serves the sensitivity pass; `keep_float` is what the torch
backend calls for Int8Settings.keep_float at fp16/bf16.
"""

from __future__ import annotations

import copy
import time

from torch import nn

from calib.backends.base import Prepared, module_size_bytes
from calib.precisions import get_precision, torch_dtype


class CastIsland(nn.Module):
    """`inner` at `dtype`; floating inputs cast to it, floating outputs back to `out_dtype`."""

    def __init__(self, inner: nn.Module, dtype, out_dtype):
        super().__init__()
        self.inner, self.dtype, self.out_dtype = inner.to(dtype), dtype, out_dtype

    def forward(self, *args):
        cast = [a.to(self.dtype) if hasattr(a, "is_floating_point") and a.is_floating_point() else a for a in args]
        out = self.inner(*cast)
        if self.out_dtype is None:
            return out
        return out.to(self.out_dtype) if hasattr(out, "is_floating_point") and out.is_floating_point() else out


def _inputs_to_own_dtype(module, args):
    """Forward pre-hook: floating inputs cast to the module's parameter dtype (a layer takes what it computes in)."""
    own = next(module.parameters(recurse=False)).dtype
    return tuple(a.to(own) if hasattr(a, "is_floating_point") and a.is_floating_point() else a for a in args)


def _swap(module, names, make) -> None:
    """Replace each named submodule by make(child); UsageError naming any that is not there."""
    from calib.errors import UsageError

    wanted, found = set(names), set()
    for parent_name, parent in list(module.named_modules()):
        for child_name, child in list(parent.named_children()):
            path = f"{parent_name}.{child_name}" if parent_name else child_name
            if path in wanted:
                setattr(parent, child_name, make(child))
                found.add(path)
    missing = wanted - found
    if missing:
        raise UsageError(f"no layer named {', '.join(sorted(missing)[:3])} in this model (names are module paths, "
                         "e.g. features.0)")


def keep_float(module, names, dtype, info: dict | None = None):
    """A module already cast to `dtype` with the named layers back in fp32. Kept layers give fp32 out, so
    neighbouring kept layers pass fp32 between them; every layer with weights takes its inputs in its
    own dtype (the cast happens where a layer of the other precision begins)."""
    import torch

    _swap(module, names, lambda child: CastIsland(child, torch.float32, None))
    for sub in module.modules():
        if next(sub.parameters(recurse=False), None) is not None:
            sub.register_forward_pre_hook(_inputs_to_own_dtype)
    if info is not None:
        info["keep_float"] = sorted(names)
    return module


def prepare(model, run_config) -> Prepared:
    """A Prepared of `model` with Int8Settings.quantize_only layers at run_config's fp16/bf16 precision."""
    import torch

    from calib.backends.torch_eager import bound_call, run_on_inputs

    precision = get_precision(run_config.precision)
    dtype = torch_dtype(precision.storage_dtype)
    started = time.perf_counter()
    module = copy.deepcopy(model.module).eval()
    names = set(run_config.int8.quantize_only)
    _swap(module, names, lambda child: CastIsland(child, dtype, torch.float32))
    inputs = model.make_inputs(run_config.batch_size)
    return Prepared(run=bound_call(module, inputs, None), device="cpu", storage_dtype="float32",
                    compute_dtype=precision.compute_dtype, model_size_bytes=module_size_bytes(module),
                    conversion_s=time.perf_counter() - started, module=module, inputs=inputs,
                    info={"cast_only": sorted(names)}, run_on=run_on_inputs(module, inputs, None))
