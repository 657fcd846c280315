"""After int8 quantization-aware training: convert the fake-quant model to a real int8 one
(torch.ao.quantization convert_fx on the engine the hardware verdict chose) and evaluate it."""

from __future__ import annotations

import contextlib
import copy
import time
import warnings


def convert_qat(model, engine: str):
    """(int8 model, seconds, count of quantized modules) from a prepare_qat_fx model."""
    import torch

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.ao.quantization.quantize_fx import convert_fx

        torch.backends.quantized.engine = engine
        converted = convert_fx(copy.deepcopy(model).cpu().eval())
    quantized = sum(1 for m in converted.modules() if ".quantized." in type(m).__module__  # int8 conv/linear
                    and type(m).__name__ not in ("Quantize", "DeQuantize", "LinearPackedParams"))
    return converted, time.perf_counter() - started, quantized


def converted_eval(task, setup) -> dict:
    converted, seconds, quantized = convert_qat(setup.model, setup.qat_engine)
    result = task.evaluate(converted, contextlib.nullcontext, lambda t: t.cpu())
    return {"int8_accuracy": result["accuracy"], "convert_s": seconds,
            "int8_modules": quantized, "engine": setup.qat_engine}
