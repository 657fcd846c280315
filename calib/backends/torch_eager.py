"""PyTorch eager backend: casts, autocast and TF32 switches; int8 and fp8 via calib.quant."""

from __future__ import annotations

import contextlib
import copy
import time

from calib.backends.base import Prepared, RunConfig, module_size_bytes
from calib.dtypes import tf32_enabled
from calib.errors import BackendUnavailable, PrecisionUnavailable
from calib.precisions import capability_reason, get_precision, torch_dtype
from calib.quant import fp8

NAME = "torch"


def unsupported_reason(precision_name: str, device: str) -> str | None:
    """Why PyTorch eager cannot run this precision on this device (None: it can); reads the live GPU."""
    precision = get_precision(precision_name)
    if not device.startswith("cuda"):
        if precision.cuda_only:
            return f"{precision_name} runs on CUDA only ({precision.description}); device is {device}"
        return None
    import torch

    if not torch.cuda.is_available():
        return f"{device}: CUDA is not available on this machine"
    if precision.family == "int8":
        return ("PyTorch-native int8 quantization is CPU-only; on NVIDIA GPUs use --backend onnxruntime "
                "or --backend tensorrt")
    reason = capability_reason(precision, device)
    return f"{precision_name} {reason}" if reason else None


def check_device_supports(precision_name: str, device: str) -> None:
    """Raise PrecisionUnavailable when the precision cannot run on this device at all."""
    reason = unsupported_reason(precision_name, device)
    if reason:
        raise PrecisionUnavailable(reason)


def convert(module, config: RunConfig, example_inputs: tuple, calibration_model=None):
    """Return (converted module, inputs, call context factory, info) for a float or quantized precision.
    int8 calibration draws its data through `calibration_model` (a LoadedModel; calib.quant.calibration_data)."""
    import torch

    precision_name, device = config.precision, config.device
    precision = get_precision(precision_name)
    info: dict = {}
    if precision.family == "int8":
        from calib.quant import torch_int8  # imports torch: only when int8 is asked for

        quantized, info = torch_int8.quantize(module, precision_name, example_inputs, config.calibration,
                                              config.int8, calibration_model)
        return quantized, example_inputs, None, info
    if precision.family == "fp8":
        converted, info = fp8.convert(module.to(device))
        inputs = tuple(t.to(device).to(torch.bfloat16) if t.is_floating_point() else t.to(device)
                       for t in example_inputs)
        return converted, inputs, None, info

    module = module.to(device)
    inputs = tuple(t.to(device) for t in example_inputs)
    context = None
    if precision.autocast:
        dtype = torch_dtype(precision.compute_dtype)
        device_type = torch.device(device).type

        def context():
            return torch.autocast(device_type=device_type, dtype=dtype)
    elif precision.storage_dtype != "float32":
        dtype = torch_dtype(precision.storage_dtype)
        module = module.to(dtype)
        if config.int8.keep_float:  # mixed precision: these layers back in fp32 (calib.quant.cast)
            from calib.quant.cast import keep_float  # imports torch (as calib.quant.static_int8 below)

            module = keep_float(module, config.int8.keep_float, dtype, info)
        inputs = tuple(t.to(dtype) if t.is_floating_point() else t for t in inputs)
    if config.memory_format == "channels_last":  # oneDNN's (AMX) and cuDNN's convolutions want NHWC
        module = module.to(memory_format=torch.channels_last)
        inputs = tuple(t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t for t in inputs)
        info["memory_format"] = "channels_last"
    if device.startswith("cuda"):
        allow = precision.compute_dtype == "tf32"
        info["tf32"] = allow

        @contextlib.contextmanager
        def tf32_switch(inner=context):
            with tf32_enabled(allow), (inner() if inner else contextlib.nullcontext()):
                yield

        context = tf32_switch
    return module, inputs, context, info


def candidates(model, config: RunConfig) -> list[tuple[str, RunConfig]]:
    """The implementations of one configuration calib can measure against each other (calib.tuning),
    the rule's choice first: the memory format for 4-D float inputs, the int8-static path."""
    from dataclasses import replace

    precision = get_precision(config.precision)
    if precision.family == "float" and len(model.item_shape) == 3 and model.input_kind == "image":
        return [("contiguous", config), ("channels_last", replace(config, memory_format="channels_last"))]
    if config.precision == "int8-static" and config.int8.path == "auto" and _has_torchao() \
            and not _is_exported_graph(model.module):  # an exported (.pt2) graph has PT2E only
        return [("fx", replace(config, int8=replace(config.int8, path="fx"))),
                ("pt2e", replace(config, int8=replace(config.int8, path="pt2e")))]
    return [("default", config)]


def _is_exported_graph(module) -> bool:
    from calib.quant.static_int8 import is_aten_graph

    return is_aten_graph(module)


def _has_torchao() -> bool:
    import importlib.util

    return importlib.util.find_spec("torchao") is not None


def prepare(model, config: RunConfig) -> Prepared:
    if model.module is None:  # an .onnx file: nothing for PyTorch to run
        raise BackendUnavailable(f"{model.name} is an ONNX graph, not a torch module; use --backend onnxruntime")
    check_device_supports(config.precision, config.device)
    precision = get_precision(config.precision)
    started = time.perf_counter()
    module = copy.deepcopy(model.module).eval()
    example = model.make_inputs(config.batch_size)
    module, inputs, context, info = convert(module, config, example, calibration_model=model)
    prepared = _bind(module, inputs, context, config, precision, info)
    prepared.conversion_s = time.perf_counter() - started
    return prepared


def bound_call(module, inputs: tuple, context):
    """The timed call: one inference on the bound inputs, inside `context` (autocast, TF32) if any.
    Two closures rather than one with a branch, to keep the timed path as short as it can be."""
    if context is None:
        def run():
            return module(*inputs)
    else:
        def run():
            with context():
                return module(*inputs)
    return run


def _bind(module, inputs, context, config: RunConfig, precision, info) -> Prepared:
    import torch

    run = bound_call(module, inputs, context)

    sync = None
    if config.device.startswith("cuda"):
        device = torch.device(config.device)

        def sync():
            torch.cuda.synchronize(device)

    size = info.pop("model_size_bytes", None)
    return Prepared(run=run, device=config.device, storage_dtype=info.pop("storage_dtype", precision.storage_dtype),
                    compute_dtype=info.pop("compute_dtype", precision.compute_dtype),
                    model_size_bytes=size if size is not None else module_size_bytes(module),
                    sync=sync, module=module, inputs=inputs, call_context=context,
                    warnings=info.pop("warnings", []), info=info, run_on=run_on_inputs(module, inputs, context),
                    stream_runs=(run,) * config.streams if config.streams > 1 else ())


def run_on_inputs(callable_module, bound_inputs: tuple, context):
    """A run_on for Prepared: new CPU inputs get the bound inputs' device and float dtype."""
    def run_on(new_inputs: tuple):
        matched = tuple(new.to(device=bound.device, dtype=bound.dtype if new.is_floating_point() else new.dtype)
                        for new, bound in zip(new_inputs, bound_inputs))
        if context is None:
            return callable_module(*matched)
        with context():
            return callable_module(*matched)

    return run_on
