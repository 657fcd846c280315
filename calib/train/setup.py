"""One precision's training set-up: the model copy converted for it, its optimizer, loss scaler and
the contexts its forward and whole run need.

How each precision keeps its state (read back from the tensors by calib.train.dtypes):
- fp32, tf32, amp-*, fp8, int8-qat: fp32 master weights, so gradients and optimizer state are fp32.
- bf16: the model is cast, so weights, gradients and optimizer state (SGD momentum, AdamW moments)
  are all bf16: no fp32 master copy, which is what "bf16 training" without autocast means.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

from calib.dtypes import tf32_enabled
from calib.errors import CalibError
from calib.train.checkpointing import apply_checkpointing
from calib.train.precisions import TrainPrecision
from calib.train.settings import TrainSettings


@dataclass
class TrainingSetup:
    model: object
    optimizer: object
    forward_context: Callable  # () -> context manager around forward and loss
    session: Callable  # () -> context manager around the whole run (tf32 switches)
    input_dtype: object | None  # floating inputs are cast to it (bf16), None: as made
    channels_last: bool = False  # 4-D floating inputs made channels_last (the model is)
    scaler: object | None = None  # torch.amp.GradScaler for amp-fp16
    conversion_s: float = 0.0
    info: dict = field(default_factory=dict)
    qat_engine: str | None = None

    def prepare_inputs(self, inputs: tuple, device: str) -> tuple:
        return tuple(self._prepare(t, device) for t in inputs)

    def _prepare(self, tensor, device: str):
        tensor = tensor.to(device, non_blocking=True)
        if self.input_dtype is not None and tensor.is_floating_point():
            tensor = tensor.to(self.input_dtype)
        if self.channels_last and tensor.dim() == 4 and tensor.is_floating_point():
            import torch

            tensor = tensor.contiguous(memory_format=torch.channels_last)
        return tensor


def build_setup(task, precision: TrainPrecision, settings: TrainSettings, device: str,
                verdict: dict | None = None) -> TrainingSetup:
    import torch

    started = time.perf_counter()
    kind = "cuda" if device.startswith("cuda") else "cpu"
    with torch.random.fork_rng(devices=[]):
        model = copy.deepcopy(task.module)
    model = model.to(device).train()
    input_dtype, scaler, info, engine = None, None, {}, None
    if settings.activation_checkpointing != "none":  # before any conversion: the blocks are still plain modules
        info["activation_checkpointing"] = apply_checkpointing(model, settings.activation_checkpointing)
    forward_context: Callable = contextlib.nullcontext
    session: Callable = contextlib.nullcontext
    if precision.name in ("fp32", "tf32"):  # fp32 is the reference: cuDNN's TF32 default off for it
        session = functools.partial(tf32_enabled, precision.name == "tf32")
    elif precision.name in ("amp-fp16", "amp-bf16"):
        dtype = torch.float16 if precision.name == "amp-fp16" else torch.bfloat16
        forward_context = lambda: torch.autocast(kind, dtype=dtype)  # noqa: E731
        if precision.name == "amp-fp16":
            scaler = torch.amp.GradScaler(kind, init_scale=settings.init_scale)
            info["grad_scaler"] = {"init_scale": settings.init_scale, "growth_interval": scaler.get_growth_interval()}
    elif precision.name == "bf16":
        model = model.to(torch.bfloat16)
        input_dtype = torch.bfloat16
    elif precision.name == "fp8":
        model, info["fp8"] = _float8(model)  # the rest of the model stays fp32 (no autocast)
    elif precision.name == "int8-qat":
        engine = (verdict or {}).get("engine") or "x86"
        model, info["qat"] = _prepare_qat(model, task, engine, device, settings)
    channels_last = settings.memory_format == "channels_last"
    if channels_last:
        model = model.to(memory_format=torch.channels_last)  # 4-D weights (convolutions); the rest unchanged
    info["memory_format"] = settings.memory_format
    if settings.compile:
        torch._dynamo.reset()  # each precision pays (and reports) its own compile, not the previous one's cache
        model = torch.compile(model)
        info["compiled"] = True
    optimizer = _optimizer(model, settings)
    return TrainingSetup(model, optimizer, forward_context, session, input_dtype, channels_last, scaler,
                         conversion_s=time.perf_counter() - started, info=info, qat_engine=engine)


def _optimizer(model, settings: TrainSettings):
    import torch

    if settings.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=settings.learning_rate)
    return torch.optim.SGD(model.parameters(), lr=settings.learning_rate, momentum=settings.momentum)




def _float8(model):
    """torchao float8 training: every nn.Linear whose dimensions are multiples of 16 (what
    torch._scaled_mm accepts) becomes a Float8Linear with dynamic scaling."""
    import torch
    from torchao.float8 import convert_to_float8_training

    def eligible(module, fqn):
        return (isinstance(module, torch.nn.Linear) and module.in_features % 16 == 0
                and module.out_features % 16 == 0)

    linears = sum(1 for m in model.modules() if isinstance(m, torch.nn.Linear))
    model = convert_to_float8_training(model, module_filter_fn=eligible)
    converted = sum(1 for m in model.modules() if type(m).__name__ == "Float8Linear")
    return model, {"float8_linears": converted, "linears": linears, "recipe": "tensorwise dynamic scaling"}


def _prepare_qat(model, task, engine: str, device: str, settings: TrainSettings):
    """FX quantization-aware training with the engine's default QAT qconfig (fake-quant on weights
    and activations, straight-through estimator); calib.train.qat converts it after training."""
    import torch

    example, _ = task.make_batch(0, settings.batch_size)
    example = tuple(t.to(device) for t in example)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
        from torch.ao.quantization import get_default_qat_qconfig_mapping
        from torch.ao.quantization.quantize_fx import prepare_qat_fx

        torch.backends.quantized.engine = engine
        try:
            prepared = prepare_qat_fx(model, get_default_qat_qconfig_mapping(engine), example)
        except Exception as exc:  # noqa: BLE001 - an untraceable model fails this precision only
            raise CalibError(f"int8-qat: torch.fx could not prepare the model ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:200] if str(exc) else ''})") from None
    fake_quants = sum(1 for m in prepared.modules() if "FakeQuantize" in type(m).__name__)
    return prepared, {"method": "torch.ao.quantization prepare_qat_fx", "engine": engine,
                      "fake_quant_modules": fake_quants}
