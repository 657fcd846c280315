"""The engines a calibration table can describe, and each one's kernel graph (what `calib predict` costs).

torch: calib.predict.graph_walk walks the module (FX; int8-static the converted graph). openvino: the
CPU plugin's runtime model (calib.predict.openvino_kernels). onnxruntime: the session's optimized graph
(calib.predict.onnxruntime_kernels). A table records its engine; calib.predict.table refuses it for another.
"""

from __future__ import annotations

import math

from calib.errors import UsageError

# a measuring pass (torch's per-layer passes, an engine's kernel profile) whose own end-to-end, or kernel sum, is
# this far from the median timed just before was disturbed: taken again (calib.predict.calibrate.layers_pass,
# steady_profile)
DISTURBED = math.log(1.2)

ENGINES = ("torch", "onnxruntime", "openvino")
# The candidates, families apart (residual, inverted-residual with SE, grouped, dense, inception, channel
# shuffle, fire, ConvNeXt, a vision transformer), three classifier heads and a grid of grouped convs
# (calib.predict.models.KERNEL_SAMPLES: large FullyConnected layers and group widths the families hardly have):
# the kernels real architectures are built of.
ENGINE_MODELS = {"quick": ("tiny-cnn",),
                 "full": ("resnet18", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "regnet_x_400mf",
                          "regnet_y_400mf", "shufflenet_v2_x1_0", "mnasnet1_0", "squeezenet1_1", "densenet121",
                          "googlenet", "resnext50_32x4d", "convnext_tiny", "vit_b_32", "fc-heads",
                          "fc-wide", "fc-mid", "gconv-grid")}

# what each engine's table can hold (torch's own list lives in calib.predict.calibrate.CalibrationPlan)
ENGINE_PRECISIONS = {"openvino": ("fp32", "bf16", "int8-static"), "onnxruntime": ("fp32", "int8-static")}


def check_engine(engine: str, precisions=()) -> str:
    if engine not in ENGINES:
        raise UsageError(f"--backend {engine!r}: calibration tables describe {', '.join(ENGINES)}")
    allowed = ENGINE_PRECISIONS.get(engine)
    for precision in precisions:
        if allowed is not None and precision not in allowed:
            raise UsageError(f"--precision {precision}: an {engine} table covers {', '.join(allowed)}")
    return engine


def kernel_model(engine: str, model, precision: str, batch_size: int, threads: int):
    """The engine's compiled model with graph() / measure(stop, warmup) / profiled_rows(end_to_end_ms)."""
    if model.module is None and not any((model.info or {}).get(key) for key in ("onnx_path", "ir_path")):
        raise UsageError(f"{model.name}: {engine} tables predict torch modules or .onnx files")
    if engine == "openvino":
        from calib.predict.openvino_kernels import OpenVinoModel

        return OpenVinoModel(model, precision, batch_size, threads)
    if engine == "onnxruntime":
        from calib.predict.onnxruntime_kernels import OrtModel

        return OrtModel(model, precision, batch_size, threads)
    raise UsageError(f"{engine}: no kernel graph (torch tables walk the module)")


PROFILE_RETAKES = 2  # a disturbed kernel profile is taken again at most this many times


def steady_profile(compiled, end_to_end_ms: float, engine: str) -> tuple[list[dict], dict]:
    """compiled.profiled_rows, taken again (PROFILE_RETAKES at most) while its kernels sum over 20% from the
    end-to-end median timed just before (DISTURBED, torch's rule for its per-layer passes):
    the machine changed speed between the two, and a table would price every kernel of the model by it. The
    closest is kept and says how many passes it took ("passes"). OpenVINO's kernels sum to 0.98-1.01x its
    end-to-end (calib.backends.openvino_profile reads PERF_COUNT per profiled call), so an OpenVINO profile still
    that far off has its rows scaled to the end-to-end ("scaled_from_ms": their sum before). On the AMD Zen 4
    machine kind (OpenVINO bf16, 2 threads) shufflenet_v2_x1_0 b1's kernels summed to 1.86x its end-to-end in a
    table, and every ShuffleChannels kernel was priced 2-6x what it ran at minutes later."""
    best = None
    for attempt in range(1 + PROFILE_RETAKES):
        rows, profile = compiled.profiled_rows(end_to_end_ms)
        off = _sum_off(rows, end_to_end_ms)
        if best is None or off < best[0]:
            best = (off, rows, profile)
        if off <= DISTURBED:
            break
    off, rows, profile = best
    profile = {**profile, "passes": attempt + 1}
    total = sum(row.get("median_ms") or 0.0 for row in rows)
    if off > DISTURBED and engine == "openvino" and total > 0:
        rows = [{**row, "median_ms": row["median_ms"] * end_to_end_ms / total}
                if row.get("median_ms") is not None else row for row in rows]
        profile["scaled_from_ms"] = total
    return rows, profile


def _sum_off(rows: list[dict], end_to_end_ms: float) -> float:
    """|log(kernel sum / end-to-end)|; 0 when either is missing."""
    total = sum(row.get("median_ms") or 0.0 for row in rows)
    return abs(math.log(total / end_to_end_ms)) if total > 0 and end_to_end_ms else 0.0
