"""fp16/bf16 per layer on torch: some layers cast and the rest fp32 (the sensitivity pass), or the
whole model cast with some layers kept fp32 (the fallback's mixed configuration).

The torch backend casts whole modules (calib.backends.torch_eager); a switched layer is wrapped to
cast its floating inputs to its own dtype and its outputs back to its neighbours' (what a graph with
a cast island computes). `keep_float` is what the torch backend calls for Int8Settings.keep_float at
fp16/bf16; `cast_only` is what the sensitivity pass (calib.sensitivity.score) calls for quantize_only.
"""

from __future__ import annotations

from torch import nn

from calib.errors import UsageError


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


def cast_only(module, names, dtype):
    """An fp32 module with the named layers at `dtype`: each takes its inputs in `dtype` and gives fp32 out."""
    import torch

    _swap(module, names, lambda child: CastIsland(child, dtype, torch.float32))
    return module
