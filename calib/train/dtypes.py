"""The dtypes a training run really had, read from its tensors, not assumed from the precision name."""

from __future__ import annotations

# Module classes whose output dtype is the dtype their matmul/conv computed in (autocast casts the
# operands and returns the compute dtype; a cast model computes in its own dtype).
HEAVY_KINDS = ("Linear", "Conv", "MultiheadAttention", "Bilinear")


def _names(dtypes) -> list[str]:
    return sorted({str(dtype).replace("torch.", "") for dtype in dtypes})


def weight_dtypes(model) -> list[str]:
    return _names(p.dtype for p in model.parameters())


def grad_dtypes(model) -> list[str]:
    return _names(p.grad.dtype for p in model.parameters() if p.grad is not None)


def optimizer_state_dtypes(optimizer) -> list[str]:
    """Dtypes of the optimizer's per-parameter state tensors (momentum, moments), not its step counters."""
    import torch

    found = []
    for state in optimizer.state.values():
        for key, value in state.items():
            if key != "step" and isinstance(value, torch.Tensor):
                found.append(value.dtype)
    return _names(found)


class ComputeDtypeProbe:
    """Forward hooks on the heavy modules for one step: the dtypes their outputs had, and whether
    autocast was on (and at which dtype) inside them."""

    def __init__(self, model, device: str):
        self.device_type = "cuda" if device.startswith("cuda") else "cpu"
        self.outputs: dict[str, int] = {}
        self.autocast: set[str] = set()
        self.fake_quant = 0
        self.float8 = 0
        self._handles = []
        for module in model.modules():
            name = type(module).__name__
            if "FakeQuantize" in name:
                self.fake_quant += 1
            if name == "Float8Linear":
                self.float8 += 1
            if any(kind in name for kind in HEAVY_KINDS):
                self._handles.append(module.register_forward_hook(self._hook))

    def _hook(self, module, args, output):
        import torch

        tensor = output[0] if isinstance(output, (tuple, list)) else output
        if isinstance(tensor, torch.Tensor):
            name = str(tensor.dtype).replace("torch.", "")
            self.outputs[name] = self.outputs.get(name, 0) + 1
        if torch.is_autocast_enabled(self.device_type):
            self.autocast.add(str(torch.get_autocast_dtype(self.device_type)).replace("torch.", ""))

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def compute_dtype(self, tf32: bool = False) -> str | None:
        """The matmul/conv compute dtype: fp8 where torchao's Float8Linear runs, else the heavy
        modules' most common output dtype (tf32 where fp32 runs with TF32 allowed)."""
        if self.float8:
            return "float8_e4m3fn"
        if not self.outputs:
            return None
        dtype = max(self.outputs, key=self.outputs.get)
        return "tf32" if tf32 and dtype == "float32" else dtype

    def to_dict(self) -> dict:
        return {"heavy_module_outputs": dict(self.outputs), "autocast": sorted(self.autocast),
                "fake_quant_modules": self.fake_quant, "float8_linears": self.float8}
