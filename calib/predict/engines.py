"""The engines a calibration table can describe, and each one's kernel graph (what `calib predict` costs).

torch: calib.predict.graph_walk walks the module (FX; int8-static the converted graph). openvino: the
CPU plugin's runtime model (calib.predict.openvino_kernels). onnxruntime: the session's optimized graph
(calib.predict.onnxruntime_kernels). A table records its engine; calib.predict.table refuses it for another.
"""

from __future__ import annotations

from calib.errors import UsageError

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
