"""fp32 ONNX graph -> the graph for one precision: fp16 conversion, dynamic or static int8 (QDQ).

Static int8 follows the ONNX Runtime recipe: quant_pre_process (shape inference and graph
cleanup), then quantize_static in QDQ format with per-channel weights, calibrated on the
same --calib-data/--calib-samples/--calib-method inputs as the PyTorch int8 path. The int8
types (u8s8 or s8s8) come from the hardware rule table (calib.hardware.rules.ORT_INT8_TYPES),
as the PyTorch quantized engine does: u8s8 on x86, also with VNNI/AMX; s8s8 on GPUs and Arm.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from pathlib import Path

from calib.backends.onnx_export import cache_root, file_digest, onnx_size_bytes, save_onnx
from calib.dtypes import dtype_of_onnx_element
from calib.errors import PrecisionUnavailable
from calib.quant.engine import cpu_features

SUPPORTED_PRECISIONS = ("fp32", "fp16", "int8-dynamic", "int8-static")
CALIBRATION_METHODS = {"minmax": "MinMax", "percentile": "Percentile", "entropy": "Entropy"}


def convert(source: Path, precision: str, model, config, work_dir: Path) -> tuple[Path, dict]:
    """Path of the graph to run at `precision`, written under work_dir, and what was done."""
    if precision == "fp32":
        return source, {}
    if precision not in SUPPORTED_PRECISIONS:
        raise PrecisionUnavailable(f"{precision} has no ONNX Runtime conversion in calib; "
                                   f"choose from: {', '.join(SUPPORTED_PRECISIONS)}")
    if precision == "fp16":
        return _to_fp16(source, work_dir / "fp16.onnx")
    prepared_source, info = _preprocessed(source)
    scope = node_scope(prepared_source, config.int8)
    info.update(_scope_info(config.int8))
    if precision == "int8-dynamic":
        return _dynamic_int8(prepared_source, work_dir / "int8-dynamic.onnx", info, scope)
    return _static_int8(prepared_source, work_dir / "int8-static.onnx", model, config, info, scope)


# The compute nodes mixed precision keeps in float or the sensitivity pass quantizes one at a time.
QUANTIZABLE_OPS = ("Conv", "ConvTranspose", "MatMul", "Gemm")


def quantizable_nodes(source: Path) -> tuple[Path, list[tuple[str, str]]]:
    """(the graph quantize_static reads, [(node name, op type)] of its Conv/MatMul/Gemm nodes in graph
    order): the names Int8Settings.keep_float / quantize_only take on ONNX Runtime."""
    import onnx

    prepared_source, _ = _preprocessed(source)
    graph = onnx.load(str(prepared_source), load_external_data=False).graph
    return prepared_source, [(node.name, node.op_type) for node in graph.node if node.op_type in QUANTIZABLE_OPS]


def node_scope(source: Path, int8) -> dict:
    """quantize_static/quantize_dynamic keyword arguments for Int8Settings.keep_float / quantize_only
    (node names of the preprocessed graph); unknown names are refused rather than ignored."""
    if not int8.keep_float and not int8.quantize_only:
        return {}
    import onnx

    from calib.errors import CalibError

    names = {node.name for node in onnx.load(str(source), load_external_data=False).graph.node}
    unknown = [name for name in (*int8.keep_float, *int8.quantize_only) if name not in names]
    if unknown:
        raise CalibError(f"int8: no node named {', '.join(unknown[:3])} in the ONNX graph (names are the node "
                         "names of the quant_pre_process graph, e.g. /features/features.0/Conv)")
    if int8.quantize_only:
        return {"nodes_to_quantize": list(int8.quantize_only)}
    return {"nodes_to_exclude": list(int8.keep_float)}


def _scope_info(int8) -> dict:
    if int8.quantize_only:
        return {"quantize_only": list(int8.quantize_only)}
    return {"keep_float": list(int8.keep_float)} if int8.keep_float else {}


def _to_fp16(source: Path, target: Path) -> tuple[Path, dict]:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    started = time.perf_counter()
    # keep_io_types=False: inputs and outputs are fp16 too, as the torch backend casts its inputs
    converted = convert_float_to_float16(onnx.load(str(source)), keep_io_types=False)
    save_onnx(converted, target)
    return target, {"conversion": "onnxruntime.transformers.float16.convert_float_to_float16",
                    "keep_io_types": False, "quantization_s": time.perf_counter() - started}


def _preprocessed(source: Path) -> tuple[Path, dict]:
    """quant_pre_process output, cached by the content of the source graph."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    target = cache_root() / f"preprocessed-{file_digest(source)}" / "model.onnx"
    if target.exists():
        return target, {"preprocess": "quant_pre_process (cached)"}
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    staging = target.with_suffix(".partial.onnx")
    try:
        with _quiet_root_logger(), _in_scratch_dir():
            quant_pre_process(str(source.resolve()), str(staging.resolve()),
                              save_as_external_data=_has_external_data(source))
        staging.replace(target)
    except Exception as exc:  # noqa: BLE001 - quantization still works on the raw graph, a bit slower
        return source, {"preprocess": f"skipped: quant_pre_process failed ({type(exc).__name__})"}
    return target, {"preprocess": "quant_pre_process", "preprocess_s": time.perf_counter() - started}


@contextlib.contextmanager
def _in_scratch_dir():
    """Run in a temporary working directory: ONNX Runtime's symbolic shape inference saves its partial
    graph ("sym_shape_infer_temp.onnx" and an external-data file) into the current directory when it cannot
    infer every shape, which would litter the user's folder."""
    previous = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="calib-ort-pre-") as scratch:
        os.chdir(scratch)
        try:
            yield
        finally:
            os.chdir(previous)


def _dynamic_int8(source: Path, target: Path, info: dict, scope: dict | None = None) -> tuple[Path, dict]:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    started = time.perf_counter()
    with _quiet_root_logger():
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8,
                         use_external_data_format=_has_external_data(source), **(scope or {}))
    info.update(quantization="quantize_dynamic", activation_type="uint8 (DynamicQuantizeLinear)",
                weight_type="int8", quantization_s=time.perf_counter() - started)
    return target, info


def _static_int8(source: Path, target: Path, model, config, info: dict, scope: dict | None = None
                 ) -> tuple[Path, dict]:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, quantize_static

    from calib.quant.calibration_data import calibration_inputs

    calibration = config.calibration
    recipe = getattr(config, "int8_recipe", None)  # a candidate's calibration method / per-channel choice
    method_name = (recipe and recipe.calibration_method) or calibration.method
    method = getattr(CalibrationMethod, CALIBRATION_METHODS[method_name])
    activation_type, weight_type, types_why = int8_types(config.device, config.int8.ort_types)
    per_channel = calibration.weight_granularity == "per-channel"
    if recipe is not None and recipe.per_channel is not None:
        per_channel = recipe.per_channel
    symmetric = calibration.qscheme == "symmetric"
    extra_options = {"ActivationSymmetric": symmetric}
    if method_name == "percentile":
        extra_options["CalibPercentile"] = calibration.percentile

    batches = calibration_inputs(model, calibration, config.batch_size)
    reader = _reader(source, batches)
    started = time.perf_counter()
    with _quiet_root_logger():
        quantize_static(str(source), str(target), reader, quant_format=QuantFormat.QDQ, per_channel=per_channel,
                        activation_type=activation_type, weight_type=weight_type, calibrate_method=method,
                        use_external_data_format=_has_external_data(source), extra_options=extra_options,
                        **(scope or {}))
    seconds = time.perf_counter() - started
    info.update(quantization="quantize_static", quant_format="QDQ", per_channel=per_channel,
                activation_type=_type_name(activation_type), weight_type=_type_name(weight_type),
                int8_types_why=types_why, activation_symmetric=symmetric, reduce_range=False,
                calib_method=method_name, calibration_method=CALIBRATION_METHODS[method_name],
                calib_data=calibration.data, calib_batches=len(batches), calib_batch_size=config.batch_size,
                calibration_s=seconds, quantization_s=seconds)  # calibration runs plus writing the QDQ graph
    if method_name == "percentile":
        info["calib_percentile"] = extra_options["CalibPercentile"]
    return target, info


def _reader(source: Path, batches: list[tuple]):
    """A CalibrationDataReader over calib's calibration batches, keyed by the graph's input names."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader

    graph = onnx.load(str(source), load_external_data=False).graph
    weights = {init.name for init in graph.initializer}
    names = [value.name for value in graph.input if value.name not in weights]

    class CalibReader(CalibrationDataReader):
        def __init__(self):
            self._feeds = iter([{name: tensor.numpy() for name, tensor in zip(names, batch)} for batch in batches])

        def get_next(self):
            return next(self._feeds, None)

    return CalibReader()


def rule_int8_types(device: str):
    """The hardware rule table's row for ONNX Runtime's int8 types on this device."""
    from calib.hardware.verdict import ort_int8_types

    on_cuda = device.startswith("cuda")
    return ort_int8_types({"id": device, "kind": "cuda"} if on_cuda else {"id": "cpu", "kind": "cpu", **cpu_features()})


def int8_types(device: str, chosen: str | None = None):
    """(activation QuantType, weight QuantType, why): `chosen` ("u8s8"/"s8s8", a measured candidate
    or a pin), else the rule table's row for this device."""
    from onnxruntime.quantization import QuantType

    if chosen:
        types, why = chosen, f"{chosen}: chosen (measured against the other types, or pinned)"
    else:
        row = rule_int8_types(device)
        types, why = row.types, f"{row.evidence} (rule {row.arch} requires {row.requires or '(nothing)'})"
    activation = QuantType.QUInt8 if types == "u8s8" else QuantType.QInt8
    return activation, QuantType.QInt8, why


@contextlib.contextmanager
def _quiet_root_logger():
    """onnxruntime.quantization logs advice ("consider pre-processing") on the root logger, and its histogram
    calibrators (entropy, percentile) print their bins on stdout; keep both off the table."""
    import io

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logging.disable(previous)


def _type_name(quant_type) -> str:
    """QuantType.QUInt8 -> 'uint8', through its ONNX element type."""
    return dtype_of_onnx_element(quant_type.tensor_type) or quant_type.name


def _has_external_data(path: Path) -> bool:
    return onnx_size_bytes(path) > Path(path).stat().st_size
