"""What int8 costs in error, layer by layer, and in bytes: the data behind `calib quant-error`.

- weight error: every Conv/Linear weight quantized to int8 by the textbook formulas
  (calib.quant.formulas) for symmetric/affine x per-tensor/per-channel; MSE and SQNR (dB).
- activation error: each Conv/Linear output on the calibration data, ranged by the chosen
  calibration observer (as int8-static would) and quantized to uint8 on its own, so the
  figure is that layer's rounding and clipping, not the error accumulated from earlier layers.
  (In the converted model a following ReLU is fused; here the pre-ReLU output is measured.)
- ranking: layers ordered by their worst SQNR under the configuration int8-static uses.
- size: serialized bytes of the fp32 and converted int8 models, and params x bits estimates.
"""

from __future__ import annotations

import copy
import math

from calib.errors import first_line
from calib.quant import formulas
from calib.quant.observers import activation_observer
from calib.settings import QSCHEMES, WEIGHT_GRANULARITIES, CalibrationSettings

SCHEMES = QSCHEMES
GRANULARITIES = WEIGHT_GRANULARITIES
BITS = {"fp32": 32, "fp16": 16, "bf16": 16, "int8-dynamic": 8, "int8-static": 8}


def quantizable_layers(module) -> list[tuple[str, object]]:
    from torch import nn

    return [(name, sub) for name, sub in module.named_modules()
            if isinstance(sub, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)) and sub.weight is not None]


def weight_errors(layer) -> dict:
    """{"symmetric/per-channel": {"mse": ..., "sqnr_db": ...}, ...} for one layer's weight."""
    weight = layer.weight.detach().float()
    errors = {}
    for scheme in SCHEMES:
        for granularity in GRANULARITIES:
            params = formulas.qparams(weight, scheme, axis=0 if granularity == "per-channel" else None)
            restored = formulas.fake_quantize(weight, params)
            errors[f"{scheme}/{granularity}"] = {"mse": formulas.mse(weight, restored),
                                                 "sqnr_db": formulas.sqnr_db(weight, restored)}
    return errors


def activation_errors(module, layers, batches, calibration: CalibrationSettings, reduce_range: bool) -> dict:
    """{layer name: {"mse", "sqnr_db", "range": [lo, hi]}} of each layer's output on `batches`."""
    constructor, _ = activation_observer(calibration.method, calibration.qscheme, reduce_range,
                                         calibration.percentile)
    observers = {name: constructor() for name, _ in layers}
    seen = set()

    def observe(name, out):
        seen.add(name)
        observers[name](out)

    _run_with_hooks(module, layers, batches, observe)
    # a layer whose forward never runs (MultiheadAttention reads out_proj.weight directly) has no activation
    observers = {name: observer for name, observer in observers.items() if name in seen}
    q_max = 127 if reduce_range else 255
    qparams = {}
    for name, observer in observers.items():
        scale, zero_point = observer.calculate_qparams()
        qparams[name] = formulas.QParams(scale.reshape(()), zero_point.reshape(()), 0, q_max)
    sums = {name: [0.0, 0.0, 0] for name in observers}  # signal energy, noise energy, elements

    def accumulate(name, out):
        if name not in qparams:
            return
        restored = formulas.fake_quantize(out, qparams[name])
        sums[name][0] += float((out ** 2).sum())
        sums[name][1] += float(((out - restored) ** 2).sum())
        sums[name][2] += out.numel()

    _run_with_hooks(module, layers, batches, accumulate)
    results = {}
    for name, (signal, noise, count) in sums.items():
        params = qparams[name]
        low = float((params.q_min - params.zero_point) * params.scale)
        high = float((params.q_max - params.zero_point) * params.scale)
        results[name] = {"mse": noise / max(count, 1),
                         "sqnr_db": math.inf if noise == 0 else 10 * math.log10(max(signal, 1e-30) / noise),
                         "range": [low, high]}
    return results


def _run_with_hooks(module, layers, batches, on_output) -> None:
    import torch

    handles = [layer.register_forward_hook(lambda _m, _i, out, name=name: on_output(name, out.detach().float()))
               for name, layer in layers]
    try:
        with torch.no_grad():
            for batch in batches:
                module(*batch)
    finally:
        for handle in handles:
            handle.remove()


def analyse(model, calibration: CalibrationSettings, reduce_range: bool, batches, on_layer=None) -> list[dict]:
    """One row per Conv/Linear layer, worst first. `on_layer(index, total, name)` (0-based) as each layer's
    weight error starts, after the one activation pass over all layers (a progress display)."""
    module = model.module.eval()
    layers = quantizable_layers(module)
    activations = activation_errors(module, layers, batches, calibration, reduce_range) if batches else {}
    granularity = calibration.weight_granularity
    rows = []
    for index, (name, layer) in enumerate(layers):
        if on_layer:
            on_layer(index, len(layers), name)
        weights = weight_errors(layer)
        activation = activations.get(name)
        used = weights[f"symmetric/{granularity}"]["sqnr_db"]  # int8-static weights are symmetric
        worst = min(used, activation["sqnr_db"]) if activation else used
        rows.append({"layer": name, "kind": type(layer).__name__, "params": layer.weight.numel(),
                     "weight": weights, "activation": activation, "worst_sqnr_db": worst})
    rows.sort(key=lambda row: row["worst_sqnr_db"])
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def model_sizes(model, calibration: CalibrationSettings, precisions=("int8-dynamic", "int8-static"),
                on_precision=None) -> list[dict]:
    """Serialized bytes per precision against fp32, with the params x bits estimate. `on_precision(index,
    total, precision)` (0-based) as each conversion starts (a progress display)."""
    from calib.quant import torch_int8

    params = sum(p.numel() for p in model.module.parameters())
    fp32_bytes = torch_int8.serialized_bytes(model.module)
    rows = [{"precision": "fp32", "serialized_bytes": fp32_bytes, "vs_fp32": 1.0,
             "estimate_bytes": params * BITS["fp32"] // 8, "note": ""}]
    for precision in ("fp16", "bf16"):
        rows.append({"precision": precision, "serialized_bytes": None, "vs_fp32": None,
                     "estimate_bytes": params * BITS[precision] // 8, "note": "estimate only (a cast halves it)"})
    example = model.make_inputs(1)
    for index, precision in enumerate(precisions):
        if on_precision:
            on_precision(index, len(precisions), precision)
        try:
            _, info = torch_int8.quantize(copy.deepcopy(model.module).eval(), precision, example, calibration,
                                          calibration_model=model)
        except Exception as exc:  # noqa: BLE001 - a size row that cannot be made says why
            rows.append({"precision": precision, "serialized_bytes": None, "vs_fp32": None,
                         "estimate_bytes": params * BITS[precision] // 8,
                         "note": f"not converted: {type(exc).__name__}: {first_line(exc, 80)}"})
            continue
        size = info["model_size_bytes"]
        rows.append({"precision": precision, "serialized_bytes": size, "vs_fp32": size / fp32_bytes,
                     "estimate_bytes": params * BITS[precision] // 8,
                     "note": f"{info['quantized_layers']} int8 layers, {info['float_layers']} float"})
    return rows
