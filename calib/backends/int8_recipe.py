"""The int8 quantization recipe one implementation candidate asks for (calib.tuning races them).

A backend's `candidates` sets `RunConfig.int8_recipe`; its `prepare` reads the fields it knows and
records what it did in backend_info. None everywhere (the default) is the backend's own default,
what calib did before recipes existed, so a RunConfig built without one prepares as before.
"""

from __future__ import annotations

from dataclasses import dataclass

NNCF_PRESETS = ("performance", "mixed")
FLOAT_HINTS = ("f32", "bf16")


@dataclass(frozen=True)
class Int8Recipe:
    # OpenVINO (NNCF post-training quantization)
    model_type: str | None = None  # "transformer": NNCF's transformer patterns; None: NNCF's default
    smooth_quant_alpha: float | None = None  # SmoothQuant's MatMul alpha (transformer only); < 0 off; None: NNCF's
    fast_bias_correction: bool = True  # NNCF's default; False: its full BiasCorrection (slower, often more accurate)
    preset: str | None = None  # "performance" | "mixed"; None: from --qscheme (symmetric: performance)
    float_hint: str | None = None  # INFERENCE_PRECISION_HINT for the layers NNCF left float; None: f32
    # ONNX Runtime (quantize_static, QDQ)
    calibration_method: str | None = None  # "minmax" | "entropy" | "percentile"; None: --calib-method
    per_channel: bool | None = None  # None: --weight-granularity

    def __post_init__(self):
        from calib.errors import UsageError

        if self.model_type not in (None, "transformer"):
            raise UsageError(f"int8 recipe: model_type {self.model_type!r} is not transformer or None")
        if self.preset not in (None, *NNCF_PRESETS):
            raise UsageError(f"int8 recipe: preset {self.preset!r} is not one of {', '.join(NNCF_PRESETS)}")
        if self.float_hint not in (None, *FLOAT_HINTS):
            raise UsageError(f"int8 recipe: float_hint {self.float_hint!r} is not one of {', '.join(FLOAT_HINTS)}")
        if self.calibration_method not in (None, "minmax", "entropy", "percentile"):
            raise UsageError(f"int8 recipe: calibration method {self.calibration_method!r} is unknown")
