"""Which PyTorch quantized engine (kernel library) to use on this CPU, and why.

The engine decides which int8 kernels run and whether activations must be 7-bit:
- x86 with VNNI or AMX (avx512_vnni, avx_vnni, amx_int8): "x86", which dispatches conv to
  oneDNN's VNNI kernels; full 8-bit activation range. Not every conv: depthwise convs at "same" padding
  take fbgemm's depthwise kernel, which adds products in int16 pairs and saturates at full range
  (3x3, 144 channels, 56x56, full-range uint8 activations and int8 weights: up to 41 output steps off
  against the exact result, exact at 7-bit; Intel AMX machine kind, torch 2.14). Full range is kept:
  on EfficientNet-Lite0, 7-bit activations everywhere cost more (top-1 agreement with fp32 47% -> 26%,
  310 photo crops) than the saturation does, and calib's accuracy check measures the kernels as they run.
- x86 with AVX2 only: "fbgemm" (what "x86" falls back to anyway). Its u8 x s8 kernels
  (vpmaddubsw) add pairs of products into int16 and can saturate, so activations use a
  reduced 7-bit range (reduce_range), as torch's own fbgemm/x86 qconfigs do.
- ARM (aarch64/arm64): "qnnpack" (XNNPACK-style kernels), full range, per-tensor weights.
"""

from __future__ import annotations

from dataclasses import dataclass

from calib.errors import PrecisionUnavailable
from calib.hardware import device_report
from calib.hardware.verdict import first_rule

ARM_ARCHES = ("aarch64", "arm64", "armv8", "armv7l")


@dataclass(frozen=True)
class EngineChoice:
    engine: str  # torch.backends.quantized.engine
    reduce_range: bool  # 7-bit activations to avoid int16 saturation without VNNI
    per_channel_ok: bool  # whether per-channel weights are supported by this engine's kernels
    isa: str  # "vnni/amx", "avx2", "arm", "generic"
    reason: str


def cpu_features() -> dict:
    """{"arch": ..., "flags": [...]} of this CPU, from the device report (no GPU probing)."""
    cpu = device_report(live_gpu=False).get("cpu") or {}
    return {"arch": cpu.get("arch") or "", "flags": list(cpu.get("flags") or [])}


def choose_engine(cpu: dict, supported_engines: list[str]) -> EngineChoice:
    """Pick the engine for these CPU flags; `supported_engines` is torch.backends.quantized.supported_engines.

    The engine itself comes from the one rule table (calib.hardware.rules, the int8 rows), so
    `calib device` and the int8 conversion can never disagree; this adds what follows for torch.
    """
    arch = (cpu.get("arch") or "").lower()
    if arch.startswith(ARM_ARCHES):
        arch = "aarch64"
    rule = first_rule("int8", {"id": "cpu", "kind": "cpu", "arch": arch,
                               "flags": [flag.lower() for flag in cpu.get("flags") or []]})
    engine = rule.engine
    if engine in supported_engines:
        isa = {"x86": "vnni/amx", "fbgemm": "avx2", "qnnpack": "arm"}.get(engine, "generic")
        if rule.status != "native":
            isa = "generic"
        return EngineChoice(engine, reduce_range=engine == "fbgemm", per_channel_ok=engine != "qnnpack", isa=isa,
                            reason=f"{rule.evidence} (rule {rule.compute}/{rule.arch} requires "
                                   f"{rule.requires or '(nothing)'})")
    why = "no AVX2/VNNI/AMX/NEON int8 flags" if rule.status != "native" else rule.evidence
    for fallback in ("x86", "fbgemm", "onednn", "qnnpack"):
        if fallback in supported_engines:
            return EngineChoice(fallback, fallback in ("x86", "fbgemm"), fallback != "qnnpack", "generic",
                                f"{why}; the rule table's engine {engine!r} is not in this torch build, so "
                                f"{fallback!r}, the first engine it supports")
    raise PrecisionUnavailable(f"this torch build has no quantized CPU engine (supported: {supported_engines})")


def select_engine(requested: str | None = None) -> EngineChoice:
    """Choose for this machine (or take `requested`) and switch torch to it (a process-wide setting)."""
    import torch

    supported = list(torch.backends.quantized.supported_engines)
    choice = choose_engine(cpu_features(), supported)
    if requested and requested != choice.engine:
        if requested not in supported:
            from calib.errors import UsageError

            raise UsageError(f"quantized engine {requested!r}: this torch supports {', '.join(supported)}")
        choice = EngineChoice(requested, requested in ("x86", "fbgemm") and choice.reduce_range,
                              requested != "qnnpack", choice.isa, f"requested (auto choice: {choice.engine})")
    torch.backends.quantized.engine = choice.engine
    return choice
