"""What one layer is, independent of how long it took: shapes, dtypes, parameters, FLOPs,
bytes moved and the dtype it actually computed in.

FLOPs come from torch.utils.flop_counter.FlopCounterMode (2 per multiply-add, as PyTorch
counts them) wherever it covers the op; the shape formulas below fill in what it does not
count (quantized kernels, norms, pooling, element-wise ops).
"""

from __future__ import annotations

import math

from calib.dtypes import short_name
from calib.layers.kinds import HEAVY_KINDS

QUANTIZED_DTYPES = ("qint8", "quint8", "qint32", "quint4x2")


def dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def tensors_in(value) -> list:
    """Every tensor inside nested args/kwargs/outputs, in order."""
    import torch

    found: list = []

    def visit(item):
        if isinstance(item, torch.Tensor):
            found.append(item)
        elif isinstance(item, (list, tuple)):
            for element in item:
                visit(element)
        elif isinstance(item, dict):
            for element in item.values():
                visit(element)

    visit(value)
    return found


def shape_text(tensor) -> str:
    return "x".join(str(d) for d in tensor.shape) or "scalar"


def module_weights(module) -> tuple[int, str | None, int]:
    """(parameter count, weight dtype, parameter bytes); quantized modules pack their weight."""
    if module is None:
        return 0, None, 0
    count = size = 0
    weight_dtype = None
    for tensor in list(module.parameters(recurse=True)) + list(module.buffers(recurse=True)):
        count += tensor.numel()
        size += tensor.numel() * tensor.element_size()
        if weight_dtype is None and tensor.dim() > 1:
            weight_dtype = dtype_name(tensor.dtype)
    weight = getattr(module, "weight", None)
    if callable(weight) and not hasattr(weight, "dtype"):  # quantized Conv/Linear: weight() unpacks
        try:
            unpacked = weight()
            count += unpacked.numel()
            size += unpacked.numel() * unpacked.element_size()
            weight_dtype = dtype_name(unpacked.dtype)
        except Exception:  # noqa: BLE001 - a packed format we cannot read: counts stay as they are
            pass
    elif weight_dtype is None and hasattr(weight, "dtype"):
        weight_dtype = dtype_name(weight.dtype)
    return count, weight_dtype, size


def run_counting_flops(fn):
    """(result, flops) of fn(); flops None when the counter cannot run this op."""
    from torch.utils.flop_counter import FlopCounterMode

    try:
        counter = FlopCounterMode(display=False)
        with counter:
            result = fn()
        return result, int(counter.get_total_flops())
    except Exception:  # noqa: BLE001 - some backends' ops refuse dispatch modes; time them anyway
        return fn(), None


def formula_flops(kind: str, module, input_tensors: list, output_tensors: list) -> int:
    """Shape-based estimate, used where FlopCounterMode counted nothing."""
    if not output_tensors:
        return 0
    out_numel = sum(t.numel() for t in output_tensors)
    first_in = input_tensors[0] if input_tensors else None
    if kind == "conv" and module is not None and hasattr(module, "kernel_size"):
        kernel = math.prod(_pair(module.kernel_size))
        return 2 * out_numel * (module.in_channels // module.groups) * kernel
    if kind == "linear" and module is not None and hasattr(module, "in_features"):
        return 2 * out_numel * module.in_features
    if kind == "attention" and module is not None and hasattr(module, "embed_dim") and first_in is not None:
        return _attention_flops(module, first_in)
    if kind == "matmul" and len(input_tensors) >= 2 and input_tensors[0].dim() >= 1:
        return 2 * out_numel * input_tensors[0].shape[-1]
    if kind == "norm":
        return 5 * out_numel  # mean, variance, subtract, scale, shift
    if kind == "pooling" and first_in is not None:
        return first_in.numel()
    if kind in ("elementwise", "activation"):
        return out_numel
    return 0


def _attention_flops(module, query) -> int:
    """nn.MultiheadAttention as self-attention: q/k/v and output projections plus the two batched matmuls."""
    embed = module.embed_dim
    if query.dim() == 3:
        seq_len = query.shape[1] if getattr(module, "batch_first", False) else query.shape[0]
    else:
        seq_len = query.shape[0]
    tokens = query.numel() // embed
    projections = 2 * tokens * embed * 4 * embed
    scores_and_mix = 2 * 2 * tokens * seq_len * embed
    return projections + scores_and_mix


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def bytes_moved(input_tensors: list, output_tensors: list, param_bytes: int) -> int:
    """Lower bound on memory traffic: read every input and weight once, write every output once."""
    total = param_bytes
    for tensor in input_tensors + output_tensors:
        try:
            total += tensor.numel() * tensor.element_size()
        except (RuntimeError, NotImplementedError):  # packed or opaque tensors
            pass
    return total


def compute_dtype_of(kind: str, input_dtypes: list[str], output_dtype: str | None,
                     weight_dtype: str | None) -> str | None:
    """The dtype the layer's arithmetic ran in, as far as its tensors show it."""
    seen = [d for d in [*input_dtypes, output_dtype, weight_dtype] if d]
    if any(d in QUANTIZED_DTYPES for d in seen):
        return "int8"
    floating = [d for d in seen if d.startswith(("float", "bfloat"))]
    if not floating:
        return None
    # Autocast casts a heavy op's inputs down and returns its output in the compute dtype,
    # so the output tells what ran; weights stay in storage dtype and would mislead.
    if output_dtype and output_dtype.startswith(("float", "bfloat")):
        return output_dtype
    return floating[0]


def flag_for(kind: str, compute_dtype: str | None, expected_compute: str | None, configuration: str,
             fed_by_dequantize: bool = False) -> str | None:
    """A short note when a heavy layer did not compute in the precision the configuration asks for."""
    if kind not in HEAVY_KINDS or not compute_dtype or not expected_compute:
        return None
    wanted = "float32" if expected_compute == "tf32" else expected_compute
    if compute_dtype == wanted:
        return None
    short = short_name(compute_dtype)
    if wanted == "int8" and fed_by_dequantize:
        return f"reference kernel ({short} after dequantize)"
    if wanted == "float32":
        return None  # a narrower dtype inside an fp32 model is not a fallback
    return f"{short} in {configuration}"


def configuration_label(storage_dtype: str | None, compute_dtype: str | None, autocast: bool) -> str:
    """`amp-bf16`, `bf16`, `int8`: names the configuration in flags without the precision name."""
    short = short_name(compute_dtype, missing="?")
    return f"amp-{short}" if autocast and storage_dtype != compute_dtype else short


def describe(kind: str, module, input_tensors: list, output_tensors: list, counted_flops: int | None) -> dict:
    """The facts of one layer call shared by every method: shapes, dtypes, weights, FLOPs, bytes."""
    params, weight_dtype, param_bytes = module_weights(module)
    estimate = formula_flops(kind, module, input_tensors, output_tensors) if not counted_flops else 0
    input_dtypes = [dtype_name(t.dtype) for t in input_tensors]
    output_dtype = dtype_name(output_tensors[0].dtype) if output_tensors else None
    facts = {
        "op_kind": kind,
        "input_shapes": ", ".join(shape_text(t) for t in input_tensors), "input_dtypes": ", ".join(input_dtypes),
        "output_shape": ", ".join(shape_text(t) for t in output_tensors), "output_dtype": output_dtype,
        "weight_dtype": weight_dtype, "params": params, "flops": int(counted_flops or estimate),
        "flops_source": "flop_counter" if counted_flops else ("formula" if estimate else None),
        "bytes": bytes_moved(input_tensors, output_tensors, param_bytes),
        "compute_dtype": compute_dtype_of(kind, input_dtypes, output_dtype, weight_dtype),
    }
    groups = getattr(module, "groups", 1) if kind == "conv" else 1
    if isinstance(groups, int) and groups > 1:  # a grouped conv runs its own kernels (calib.predict.features)
        facts["groups"] = groups
    if any(strided(t, kind) for t in input_tensors) or (kind == "elementwise" and _written_off_layout(input_tensors)):
        facts["strided_input"] = True
    return facts


def _written_off_layout(tensors: list) -> bool:
    """Whether a quantized elementwise op writes in a layout other than its big input's: torch's quantized mul
    writes in its first input's layout, so a first input without channels-last strides (ConvNeXt's layer scale,
    a (C, 1, 1) parameter, times a channels-last block output) sends it down the strided path. Measured on the
    Intel AMX machine kind (2 threads, 64 channels at 56x56): 0.215 ms with the scale first, 0.035 ms with it
    second; ConvNeXt-Tiny's layer scales ran 4-5x the law of the squeeze-excitation scales, whose first input (a
    conv's output) has channels-last strides."""
    quantized = [t for t in tensors if getattr(t, "is_quantized", False)]
    if len(quantized) < 2 or not any(_channels_last_strides(t) for t in quantized[1:]):
        return False
    return not _channels_last_strides(quantized[0])


def _channels_last_strides(tensor) -> bool:
    """Channels-last by its strides, as torch suggests a layout: a (N, C, 1, 1) tensor is either layout by
    is_contiguous, but written by a conv it has channels-last strides, quantized from row-major data it has not."""
    return tensor.dim() == 4 and tensor.stride(1) == 1 and tensor.stride(3) >= tensor.size(1)


def strided(tensor, kind: str = "other") -> bool:
    """Whether a tensor is a view laid out in neither row-major nor channels-last order (a channel half from
    .chunk, a transpose): the op reading it copies or gathers first. Seen in ShuffleNet's int8 graph, where
    each unit re-quantizes a channel half of its input: that quantize ran 2-4x slower than on a whole tensor.
    A 4-D quantized tensor counts unless it is channels-last, the layout torch's x86 int8 kernels run: measured
    on the Intel AMX machine kind (2 threads), a quantized conv read a row-major input 1.3-2.4x slower than a
    channels-last one (88 channels 1x1 at 28x28, b4: 0.115 against 0.048 ms), and a quantized cat 4-10x slower
    (0.18 against 0.026 ms). ShuffleNet feeds a third of its int8 convs and half its cat inputs row-major (the
    channel shuffle's .contiguous()), every int8 model its first conv. Only for the kinds that index channels
    at dim 1 (`kind`: conv, pooling, elementwise): a linear layer, a norm or an activation reading ConvNeXt's
    permuted (b, h, w, c) row-major tensor reads it in its own order."""
    import torch

    if tensor.dim() == 4 and tensor.is_quantized and kind in ("conv", "pooling", "elementwise"):
        return not tensor.is_contiguous(memory_format=torch.channels_last)
    if tensor.dim() < 2 or tensor.is_contiguous():
        return False
    return not (tensor.dim() == 4 and tensor.is_contiguous(memory_format=torch.channels_last))
