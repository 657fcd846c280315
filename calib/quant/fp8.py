"""fp8 (e4m3) on CUDA 8.9+: Linear layers run through torch._scaled_mm with per-tensor scales.

Weights are scaled into e4m3's range once; activations are scaled per call (dynamic).
Everything else (convs, norms, attention softmax) runs in bf16, since fp8 kernels exist
for matmul only; the record says how many layers really run in fp8.
"""

from __future__ import annotations

from calib.errors import PrecisionUnavailable

E4M3_MAX = 448.0


def _fp8_linear_class():
    import torch
    from torch import nn

    class Fp8Linear(nn.Module):
        def __init__(self, linear: nn.Linear):
            super().__init__()
            weight = linear.weight.detach().float()
            scale = weight.abs().max().clamp(min=1e-12) / E4M3_MAX
            # _scaled_mm wants the second operand column-major: keep [out, in] and pass .t().
            self.register_buffer("weight_fp8", (weight / scale).to(torch.float8_e4m3fn))
            self.register_buffer("weight_scale", scale.reshape(()))
            self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().to(torch.bfloat16))

        def forward(self, x):
            leading = x.shape[:-1]
            flat = x.reshape(-1, x.shape[-1])
            x_scale = flat.abs().max().float().clamp(min=1e-12) / E4M3_MAX
            x_fp8 = (flat.float() / x_scale).to(torch.float8_e4m3fn)
            out = torch._scaled_mm(x_fp8, self.weight_fp8.t(), scale_a=x_scale, scale_b=self.weight_scale,
                                   bias=self.bias, out_dtype=torch.bfloat16)
            return out.reshape(*leading, -1)

    return Fp8Linear


def convert(module):
    """Return (module with fp8 Linears and bf16 elsewhere, info). Module must already be on CUDA."""
    import torch
    from torch import nn

    fp8_linear = _fp8_linear_class()
    module = module.to(torch.bfloat16)
    converted, kept = [], []
    for parent_name, parent in list(module.named_modules()):
        for child_name, child in list(parent.named_children()):
            if type(child) is not nn.Linear:
                continue
            full_name = f"{parent_name}.{child_name}".lstrip(".")
            # _scaled_mm needs both matrix dimensions divisible by 16.
            if child.in_features % 16 or child.out_features % 16:
                kept.append(full_name)
                continue
            setattr(parent, child_name, fp8_linear(child))
            converted.append(full_name)
    if not converted:
        raise PrecisionUnavailable("fp8: no nn.Linear layer with dimensions divisible by 16 to run in fp8 "
                                   "(fp8 kernels are matmul-only; convs stay bf16)")
    info = {"fp8_linear_layers": len(converted), "kept_bf16_linear_layers": kept,
            "other_layers_dtype": "bfloat16", "activation_scaling": "dynamic per-tensor",
            "weight_scaling": "per-tensor", "storage_dtype": "float8_e4m3fn", "compute_dtype": "float8_e4m3fn"}
    return module, info
