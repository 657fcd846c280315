"""Which PyTorch quantized engine (kernel library) to use on this CPU, and why.

The engine decides which int8 kernels run and whether activations must be 7-bit:
- x86 with VNNI or AMX (avx512_vnni, avx_vnni, amx_int8): "x86", which dispatches conv to
  oneDNN's VNNI kernels; full 8-bit activation range.
- x86 with AVX2 only: "fbgemm" (what "x86" falls back to anyway). Its u8 x s8 kernels
  (vpmaddubsw) add pairs of products into int16 and can saturate, so activations use a
  reduced 7-bit range (reduce_range), as torch's own fbgemm/x86 qconfigs do.
- ARM (aarch64/arm64): "qnnpack" (XNNPACK-style kernels), full range, per-tensor weights.
"""

from __future__ import annotations

from dataclasses import dataclass

VNNI_FLAGS = ("avx512_vnni", "avx512vnni", "avx_vnni", "amx_int8")
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
    from calib.hardware import device_report

    cpu = device_report(live_gpu=False).get("cpu") or {}
    return {"arch": cpu.get("arch") or "", "flags": list(cpu.get("flags") or [])}


def choose_engine(cpu: dict, supported_engines: list[str]) -> EngineChoice:
    """Pick the engine from CPU flags; `supported_engines` is torch.backends.quantized.supported_engines."""
    arch = (cpu.get("arch") or "").lower()
    flags = {flag.lower() for flag in cpu.get("flags") or []}
    if arch.startswith(ARM_ARCHES) or "asimd" in flags:
        if "qnnpack" in supported_engines:
            return EngineChoice("qnnpack", False, False, "arm",
                                f"{arch or 'ARM'} CPU: qnnpack int8 kernels (per-tensor weights)")
    vnni = sorted(flags.intersection(VNNI_FLAGS))
    if vnni and "x86" in supported_engines:
        return EngineChoice("x86", False, True, "vnni/amx",
                            f"{', '.join(vnni)} present: 'x86' engine uses oneDNN VNNI kernels, full 8-bit range")
    if "avx2" in flags and "fbgemm" in supported_engines:
        return EngineChoice("fbgemm", True, True, "avx2",
                            "AVX2 without VNNI: fbgemm u8s8 kernels, 7-bit activations (reduce_range) "
                            "to avoid int16 saturation")
    for fallback in ("x86", "fbgemm", "onednn", "qnnpack"):
        if fallback in supported_engines:
            return EngineChoice(fallback, fallback in ("x86", "fbgemm"), fallback != "qnnpack", "generic",
                                f"no AVX2/VNNI/ARM flags recognised; using {fallback!r}, the first engine "
                                "this torch build supports")
    from calib.errors import PrecisionUnavailable

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
