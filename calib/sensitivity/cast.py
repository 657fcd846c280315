"""fp16/bf16 one layer at a time on torch: the named layers cast, everything else fp32.

The torch backend casts whole modules (calib.backends.torch_eager); the sensitivity pass needs one
layer in the low precision and the rest fp32, so each switched layer is wrapped to take fp32 in,
compute in its dtype and give fp32 out (what an fp32 graph with one cast island computes).
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
        return out.to(self.out_dtype) if hasattr(out, "is_floating_point") and out.is_floating_point() else out


def prepare(model, run_config) -> Prepared:
    """A Prepared of `model` with Int8Settings.quantize_only layers at run_config's fp16/bf16 precision."""
    import torch

    from calib.backends.torch_eager import bound_call, run_on_inputs
    from calib.errors import UsageError

    precision = get_precision(run_config.precision)
    dtype = torch_dtype(precision.storage_dtype)
    started = time.perf_counter()
    module = copy.deepcopy(model.module).eval()
    names = set(run_config.int8.quantize_only)
    found = set()
    for parent_name, parent in list(module.named_modules()):
        for child_name, child in list(parent.named_children()):
            path = f"{parent_name}.{child_name}" if parent_name else child_name
            if path in names:
                setattr(parent, child_name, CastIsland(child, dtype, torch.float32))
                found.add(path)
    missing = names - found
    if missing:
        raise UsageError(f"{run_config.precision}: no layer named {', '.join(sorted(missing)[:3])} in this model")
    inputs = model.make_inputs(run_config.batch_size)
    return Prepared(run=bound_call(module, inputs, None), device="cpu", storage_dtype="float32",
                    compute_dtype=precision.compute_dtype, model_size_bytes=module_size_bytes(module),
                    conversion_s=time.perf_counter() - started, module=module, inputs=inputs,
                    info={"cast_only": sorted(names)}, run_on=run_on_inputs(module, inputs, None))
