"""PyTorch-native int8 on the CPU: `quantize(module, precision, example_inputs, ...)`.

int8-dynamic: torch.ao `quantize_dynamic` (Linear/LSTM/GRU weights int8, activations
  quantized per call). It is the path that is fast here; torchao's Int8DynamicActivation-
  Int8WeightConfig ran 17-20x slower than fp32 on an AVX2 EPYC (measured by hand, torch 2.14). torch.ao is
  deprecated, so it is used only in `_dynamic` below, to be swapped in one place.
int8-static: see calib.quant.static_int8 (FX graph mode, or PT2E + x86 lowering).

Both return (quantized module, info); info lands in the record's backend_info.
"""

from __future__ import annotations

import io
import warnings

import torch  # this module is imported only when an int8 precision is asked for
from torch import nn

from calib.errors import CalibError, UsageError
from calib.quant.counting import layer_counts
from calib.quant.engine import select_engine
from calib.settings import CalibrationSettings, Int8Settings

DYNAMIC_PATH = "ao-dynamic"
DEPRECATED_API = "torch.ao.quantization (deprecated upstream; isolated in calib/quant)"


def quantize(module, precision_name: str, example_inputs: tuple,
             calibration: CalibrationSettings = CalibrationSettings(), int8: Int8Settings = Int8Settings(),
             calibration_model=None):
    """(quantized module, info). int8-static calibrates on `calibration_model`'s calibration inputs
    (a calib LoadedModel) when given, else on `example_inputs` alone."""
    choice = select_engine(int8.engine)
    info = {"engine": choice.engine, "engine_reason": choice.reason, "isa": choice.isa,
            "reduce_range": choice.reduce_range}
    if precision_name == "int8-dynamic":
        quantized = _dynamic(module, int8)
        info.update(path=DYNAMIC_PATH, lowered=True, reference_qdq=False, deprecated_api=DEPRECATED_API,
                    activation_quantization="dynamic, per call (no calibration)")
    elif precision_name == "int8-static":
        from calib.quant.static_int8 import quantize_static

        quantized, static_info = quantize_static(module, example_inputs, calibration, int8.path, choice,
                                                 calibration_model, int8.keep_float, int8.quantize_only)
        info.update(static_info)
    else:
        raise UsageError(f"{precision_name!r} is not a PyTorch int8 precision")
    info.update(layer_counts(quantized))
    if info["quantized_layers"] == 0:
        raise CalibError(f"{precision_name}: no layer of this model could be quantized "
                         f"(it has no {'Linear/LSTM/GRU' if precision_name == 'int8-dynamic' else 'Conv/Linear'} "
                         "layers the int8 kernels take)")
    info["model_size_bytes"] = serialized_bytes(quantized)
    return quantized, info


DYNAMIC_TYPES = (nn.Linear, nn.LSTM, nn.GRU, nn.LSTMCell, nn.GRUCell)


def _dynamic(module, int8: Int8Settings = Int8Settings()):
    """Every Linear/LSTM/GRU, or (int8.keep_float / int8.quantize_only) the named ones only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao and quantized-tensor deprecation notices
        from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

        spec = set(DYNAMIC_TYPES)
        if int8.keep_float or int8.quantize_only:
            from calib.quant.static_int8 import check_layer_names

            check_layer_names(module, int8.keep_float, int8.quantize_only)
            chosen = [name for name, sub in module.named_modules() if isinstance(sub, DYNAMIC_TYPES)
                      and (name in int8.quantize_only if int8.quantize_only else name not in int8.keep_float)]
            spec = {name: default_dynamic_qconfig for name in chosen}
        quantized = quantize_dynamic(module, spec, dtype=torch.qint8)
    if any(isinstance(m, nn.MultiheadAttention) for m in quantized.modules()):
        return FastpathOff(quantized)
    return quantized


class FastpathOff(nn.Module):
    """Runs the wrapped model with the MultiheadAttention fast path disabled.

    The fused fast path reads `.weight` of the (now quantized) out_proj and fails under
    inference_mode ("'function' object has no attribute 'device'"). Disabling it only
    around this model's own calls keeps the fp32 runs of the same sweep on the fast path.
    """

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, *args, **kwargs):
        previous = torch.backends.mha.get_fastpath_enabled()
        torch.backends.mha.set_fastpath_enabled(False)
        try:
            return self.inner(*args, **kwargs)
        finally:
            torch.backends.mha.set_fastpath_enabled(previous)


def serialized_bytes(module) -> int:
    """Bytes of torch.save(state_dict): what the converted model costs on disk."""
    buffer = io.BytesIO()
    try:
        torch.save(module.state_dict(), buffer)
        return buffer.tell()
    except Exception:  # noqa: BLE001 - PT2E-lowered graphs hold packed oneDNN weights that do not pickle
        return _tensor_bytes(module)


def _tensor_bytes(module) -> int:
    """Bytes of every tensor the graph holds (parameters, buffers, constant attributes)."""
    seen, total = set(), 0
    tensors = list(module.parameters()) + list(module.buffers())
    graph = getattr(module, "graph", None)
    for node in graph.nodes if graph is not None else ():
        if node.op == "get_attr":
            value = module
            for part in str(node.target).split("."):
                value = getattr(value, part, None)
            if isinstance(value, torch.Tensor):
                tensors.append(value)
    for tensor in tensors:
        if id(tensor) not in seen:
            seen.add(id(tensor))
            try:
                total += tensor.numel() * tensor.element_size()
            except RuntimeError:  # opaque (mkldnn) tensors: count at one byte per element
                total += tensor.numel()
    return total


