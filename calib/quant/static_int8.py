"""int8-static on the CPU: calibrated activation ranges, Conv/Linear on int8 kernels.

Two paths, both ending in lowered int8 kernels (never a reference Q/DQ graph timed as int8
without a flag):
- "fx": torch.ao FX graph mode (prepare_fx/convert_fx) with the engine's qconfig and the
  chosen calibration observers. The default ("auto"): on resnet18 it is as fast as PT2E +
  lowering (2.1x vs 2.0x fp32 on an AVX2 EPYC; `bench/int8.py --paths` measures both), needs
  no strict export and quantizes with the same engine kernels `torch.backends.quantized.engine` names.
- "pt2e": torch.export(strict=True) -> torchao prepare_pt2e with X86InductorQuantizer ->
  convert_pt2e -> lower_pt2e_quantized_to_x86. Used where FX cannot trace the model, or when
  Int8Settings.path == "pt2e". If lowering fails the reference Q/DQ graph is returned
  with info["reference_qdq"] = True and a warning: it is slower than fp32.
"""

from __future__ import annotations

import dataclasses
import warnings

import torch

from calib.errors import CalibError, UsageError, first_line
from calib.quant.calibration_data import calibration_inputs, timed_calibration
from calib.quant.counting import layer_counts
from calib.quant.observers import activation_observer, weight_observer
from calib.settings import CalibrationSettings

FX_CALIBRATION_BATCH = 8  # FX graphs are batch-agnostic: calibrate in batches, fewer observer updates


def quantize_static(module, example_inputs: tuple, calibration: CalibrationSettings, path: str, choice,
                    calibration_model=None, keep_float: tuple[str, ...] = (), quantize_only: tuple[str, ...] = ()):
    """`path`: auto, fx or pt2e (calib.settings.Int8Settings); `calibration_model`: the LoadedModel whose
    calibration inputs to draw (None: the example batch alone). `keep_float`: module paths left float
    (qconfig None: mixed precision); `quantize_only`: the only module paths quantized (the sensitivity pass)."""
    check_layer_names(module, keep_float, quantize_only)
    scope = _Scope(tuple(keep_float), tuple(quantize_only))
    notes = []
    settings = calibration.to_dict()
    if calibration.weight_granularity == "per-channel" and not choice.per_channel_ok:
        settings["weight_granularity"] = "per-tensor"
        notes.append(f"engine {choice.engine} takes per-tensor weights only")
    draw = _Batches(calibration, calibration_model, example_inputs)

    fallback_reason = None
    if path in ("auto", "fx"):
        try:
            quantized, info = _fx(module, example_inputs, draw, choice, settings, notes, scope)
            if path == "fx" or choice.isa == "arm" or layer_counts(quantized)["quantized_layers"]:
                return quantized, info
            # A graph torch.export made (a .pt2 file) traces, but FX finds no module to swap in it
            fallback_reason = "FX graph mode quantized no layer (an exported graph holds no modules); used PT2E"
        except _TraceFailed as exc:
            if path == "fx" or choice.isa == "arm":
                raise CalibError(f"int8-static: FX graph mode cannot trace this model ({exc})") from None
            fallback_reason = f"FX tracing failed ({exc}); used PT2E"
    quantized, info = _pt2e(module, example_inputs, draw, choice, settings, notes, scope)
    if fallback_reason:
        info["fallback_reason"] = fallback_reason
    return quantized, info


class _TraceFailed(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class _Scope:
    """Which layers a quantizer touches: all but `keep_float`, or `quantize_only` alone."""
    keep_float: tuple[str, ...] = ()
    quantize_only: tuple[str, ...] = ()

    def info(self) -> dict:
        if self.quantize_only:
            return {"quantize_only": list(self.quantize_only)}
        return {"keep_float": list(self.keep_float)} if self.keep_float else {}


def check_layer_names(module, keep_float, quantize_only) -> None:
    """Names that match no module would silently quantize everything: refuse them in one line."""
    if not keep_float and not quantize_only:
        return
    if keep_float and quantize_only:
        raise UsageError("int8: give layers to keep float or layers to quantize only, not both")
    known = {name for name, _ in module.named_modules() if name}
    if not known and is_aten_graph(module):
        known = {entry[0] for node in module.graph.nodes
                 for entry in (node.meta.get("nn_module_stack") or {}).values() if isinstance(entry, tuple)}
    unknown = [name for name in (*keep_float, *quantize_only) if name not in known]
    if unknown:
        raise CalibError(f"int8: no layer named {', '.join(unknown[:3])} in this model (names are module paths, "
                         "e.g. features.0)")


def _observers(settings: dict, choice, flavor: str, **extra):
    act_ctor, act_name = activation_observer(settings["method"], settings["qscheme"], choice.reduce_range,
                                             settings.get("percentile", CalibrationSettings.percentile), flavor=flavor,
                                             **extra)
    return act_ctor, act_name


def _fx(module, example_inputs, draw, choice, settings, notes, scope: _Scope = _Scope()):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao deprecation notices, once per call
        from torch.ao.quantization import QConfig, QConfigMapping, get_default_qconfig_mapping
        from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

        act_ctor, act_name = _observers(settings, choice, "ao")
        weight_ctor, weight_name = weight_observer(settings["weight_granularity"])
        qconfig = QConfig(activation=act_ctor, weight=weight_ctor)
        if scope.quantize_only:  # global None: every other module and function stays float
            mapping = QConfigMapping()
            for name in scope.quantize_only:
                mapping.set_module_name(name, qconfig)
        else:
            mapping = get_default_qconfig_mapping(choice.engine).set_global(qconfig)
            for name in scope.keep_float:
                mapping.set_module_name(name, None)
        try:
            prepared = prepare_fx(module, mapping, example_inputs)
        except Exception as exc:  # noqa: BLE001 - any tracing failure means "try the other path"
            raise _TraceFailed(f"{type(exc).__name__}: {first_line(exc, 200)}") from None
        batches = draw(min(FX_CALIBRATION_BATCH, settings["samples"] or FX_CALIBRATION_BATCH))
        calibration_s = timed_calibration(prepared, batches)
        quantized = convert_fx(prepared)
    settings = {**settings, "batches": len(batches), "activation_observer": act_name, "weight_observer": weight_name}
    info = {"path": f"fx-{choice.engine}", "lowered": True, "reference_qdq": False, "calibration": settings,
            "calibration_s": calibration_s, "deprecated_api": "torch.ao.quantization.quantize_fx", **scope.info()}
    if notes:
        info["notes"] = notes
    return quantized, info


def _pt2e(module, example_inputs, draw, choice, settings, notes, scope: _Scope = _Scope()):
    if choice.isa == "arm":
        raise CalibError("int8-static: PT2E lowering is wired for x86 only; FX (qnnpack) is the ARM path")
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
        X86InductorQuantizer, get_default_x86_inductor_quantization_config)

    # eps and quant range as torchao's own x86 config; only the observer (method, qscheme) changes
    quant_max = 127 if choice.reduce_range else 255
    act_ctor, act_name = _observers(settings, choice, "pt2e", eps=2 ** -12)
    base = get_default_x86_inductor_quantization_config(reduce_range=choice.reduce_range)
    act_spec = dataclasses.replace(base.input_activation, quant_min=0, quant_max=quant_max,
                                   qscheme=_activation_qscheme(settings["qscheme"]),
                                   observer_or_fake_quant_ctr=act_ctor)
    config = dataclasses.replace(base, input_activation=act_spec, output_activation=act_spec)
    if settings["weight_granularity"] == "per-tensor":
        notes.append("X86InductorQuantizer quantizes weights per channel only")
        settings = {**settings, "weight_granularity": "per-channel"}
    try:
        # A .pt2's graph is already ATen: re-tracing it loses the metadata X86InductorQuantizer matches on
        exported = module if is_aten_graph(module) else torch.export.export(module, example_inputs,
                                                                            strict=True).module()
    except Exception as exc:  # noqa: BLE001
        raise CalibError(f"int8-static: neither FX nor torch.export(strict=True) can trace this model "
                         f"({type(exc).__name__}: {first_line(exc, 200)})") from None
    quantizer = X86InductorQuantizer()
    if scope.quantize_only:
        for name in scope.quantize_only:
            quantizer.set_module_name_qconfig(name, config)
    else:
        quantizer.set_global(config)
        for name in scope.keep_float:
            quantizer.set_module_name_qconfig(name, None)
    prepared = prepare_pt2e(exported, quantizer)
    batch_size = example_inputs[0].shape[0]  # the exported graph is specialised to this batch size
    batches = draw(batch_size)
    calibration_s = timed_calibration(prepared, batches)
    converted = convert_pt2e(prepared)
    info = {"path": "pt2e+x86-lowering", "lowered": True, "reference_qdq": False,
            "calibration": {**settings, "batches": len(batches), "activation_observer": act_name,
                            "weight_observer": "PerChannelMinMaxObserver"},
            "calibration_s": calibration_s, **scope.info()}
    try:
        from torchao.quantization.pt2e.lowering import lower_pt2e_quantized_to_x86

        quantized = lower_pt2e_quantized_to_x86(converted, example_inputs)
    except Exception as exc:  # noqa: BLE001 - keep a result, but flag it loudly
        quantized = converted
        info.update(path="pt2e-reference", lowered=False, reference_qdq=True,
                    warnings=[f"int8-static ran as a reference Q/DQ graph (x86 lowering failed: "
                              f"{type(exc).__name__}); its timing is float ops plus Q/DQ, not int8 kernels"])
        warnings.warn(info["warnings"][0], stacklevel=2)
    if notes:
        info["notes"] = notes
    return quantized, info


def is_aten_graph(module) -> bool:
    """A graph torch.export produced (e.g. loaded from a .pt2): its calls are ATen operator overloads."""
    graph = getattr(module, "graph", None)
    return graph is not None and any(isinstance(node.target, torch._ops.OpOverload) for node in graph.nodes)


def _activation_qscheme(qscheme: str):
    return torch.per_tensor_symmetric if qscheme == "symmetric" else torch.per_tensor_affine


class _Batches:
    """Calibration batches at a requested batch size: from the run's LoadedModel when there is one
    (calib.quant.calibration_data), else the example batch alone."""

    def __init__(self, calibration: CalibrationSettings, model, example_inputs: tuple):
        self.calibration, self.model, self.example_inputs = calibration, model, example_inputs

    def __call__(self, batch_size: int) -> list[tuple]:
        if self.model is None:
            return [self.example_inputs]
        batch_size = getattr(self.model, "fixed_batch", None) or batch_size  # an exported graph takes no other
        batches = calibration_inputs(self.model, self.calibration, batch_size)
        if not batches:
            raise UsageError(f"--calib-samples {self.calibration.items()}: fewer calibration items than one "
                             f"batch of {batch_size}")
        return batches
