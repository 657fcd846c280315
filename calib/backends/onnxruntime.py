"""ONNX Runtime backend: export (or read) the graph, convert it to the precision, open a session.

Importing this module imports onnxruntime and onnx, so calib.backends.get_backend turns a missing
one into BackendUnavailable with one line; nothing else in calib imports onnxruntime.
What it can run is `unsupported_reason` (the precisions onnx_convert converts, CUDA if the
CUDA execution provider is there); calib.backends.auto reads it.
The inputs are bound once (IO binding) outside the timed call, so a timed call is one
Run plus wrapping its outputs as torch tensors (zero-copy on the CPU) for the fidelity checks.
int8-static's candidates (`candidates`, raced by calib.tuning) are the rule table's QDQ types with each
calibration method (minmax, entropy, percentile) and the other types with --calib-method; backend_info
records calibration_method, per_channel and quantization_s.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import onnx  # noqa: F401 - export, conversion and file sizes need it: the import is the availability check
import onnxruntime

from calib.backends import onnx_convert
from calib.backends.base import Prepared, RunConfig
from calib.backends.onnx_export import export_model, onnx_size_bytes
from calib.dtypes import NOT_IN_NUMPY, TENSOR_CORE_CC, cc_text, dtype_of_onnx_type
from calib.errors import BackendUnavailable, CalibError, PrecisionUnavailable
from calib.precisions import get_precision

NAME = "onnxruntime"
GRAPH_OPTIMIZATION = "ORT_ENABLE_ALL"
# onnxruntime 1.31 segfaults creating a CPU session of an fp16 transformer graph at
# ORT_ENABLE_ALL (its CPU-only layout passes); one level lower keeps the fusions and runs.
FP16_CPU_GRAPH_OPTIMIZATION = "ORT_ENABLE_EXTENDED"
INTER_OP_THREADS = 1  # sequential execution: one graph at a time, intra-op threads do the work

# Why each precision onnx_convert.SUPPORTED_PRECISIONS lacks is not converted.
_NOT_CONVERTED = {
    "bf16": "calib converts ONNX graphs to fp16 only: ONNX Runtime's CPU and CUDA providers have few bf16 kernels",
    "amp-fp16": "ONNX graphs have no autocast; measure fp16 (the whole graph converted) instead",
    "amp-bf16": "ONNX graphs have no autocast and calib has no bf16 graph conversion",
    "tf32": "TF32 is a CUDA math mode of PyTorch; ONNX Runtime's CUDA provider picks it by itself (use --backend torch)",
    "fp8": ("calib has no fp8 conversion for ONNX graphs (use --backend torch on "
            f"CUDA {cc_text(TENSOR_CORE_CC['fp8'])}+)"),
}


def unsupported_reason(precision: str, device: str) -> str | None:
    """Why ONNX Runtime cannot run this precision on this device in calib; None when it can."""
    return _not_converted(precision) or (_no_cuda_provider(device) if device.startswith("cuda") else None)


def _not_converted(precision: str) -> str | None:
    if precision in onnx_convert.SUPPORTED_PRECISIONS:
        return None
    return f"{precision} on onnxruntime: {_NOT_CONVERTED.get(precision, 'calib has no ONNX conversion for it')}"


def _no_cuda_provider(device: str) -> str | None:
    available = onnxruntime.get_available_providers()
    if "CUDAExecutionProvider" in available:
        return None
    return (f"onnxruntime {onnxruntime.__version__} here has no CUDAExecutionProvider (has {', '.join(available)}); "
            f"pip install onnxruntime-gpu for {device}")


def prepare(model, config: RunConfig) -> Prepared:
    import torch

    precision = get_precision(config.precision)
    not_converted = _not_converted(config.precision)
    if not_converted:
        raise PrecisionUnavailable(not_converted)
    providers = providers_for(config.device, config.precision)
    level = FP16_CPU_GRAPH_OPTIMIZATION if (config.precision == "fp16" and config.device == "cpu") else GRAPH_OPTIMIZATION
    started = time.perf_counter()
    source, info = source_graph(model)
    work_dir = Path(tempfile.mkdtemp(prefix="calib-ort-"))
    try:
        path, convert_info = onnx_convert.convert(source, config.precision, model, config, work_dir)
        session_started = time.perf_counter()
        session = onnxruntime.InferenceSession(str(path), session_options(config.threads_per_stream, level),
                                               providers=providers)
        session_s = time.perf_counter() - session_started
        feeds = _feeds(session, model.make_inputs(config.batch_size))
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
    info.update(convert_info)
    info.update(onnxruntime_version=onnxruntime.__version__, providers=session.get_providers(),
                provider=session.get_providers()[0], intra_op_threads=config.threads_per_stream,
                inter_op_threads=INTER_OP_THREADS, execution_mode="sequential", allow_spinning=True,
                graph_optimization_level=level, io_binding=True, session_s=session_s)
    conversion_s = time.perf_counter() - started
    run = _bound_run(session, feeds, config.device)
    stream_runs = _stream_runs(run, path, config, level, providers, feeds, info)

    def run_on(new_inputs: tuple):
        """One Run on other inputs (the accuracy pass), cast to the graph's input types like the bound ones."""
        outputs = [torch.from_numpy(array) for array in session.run(None, _feeds(session, new_inputs))]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def profile_layers(end_to_end_ms: float, settings=None) -> dict:
        from calib.backends.onnx_profile import profile_session

        def create(prefix: str):
            return onnxruntime.InferenceSession(str(path), session_options(config.threads, level, prefix),
                                                providers=providers)

        return profile_session(create, feeds, end_to_end_ms, precision.storage_dtype, precision.compute_dtype,
                               graph_path=path)

    def close():
        shutil.rmtree(work_dir, ignore_errors=True)

    return Prepared(run=run, device=config.device, storage_dtype=precision.storage_dtype,
                    compute_dtype=precision.compute_dtype, model_size_bytes=onnx_size_bytes(path),
                    conversion_s=conversion_s, module=None,
                    inputs=tuple(feeds.values()), info=info, close=close, run_on=run_on,
                    profile_layers=profile_layers, stream_runs=stream_runs)


def _stream_runs(run, path, config: RunConfig, level: str, providers, feeds: dict, info: dict) -> tuple:
    """RunConfig.streams > 1: parallel sessions, one per stream, each with its own intra-op pool of
    threads_per_stream threads (one session shared by threads would share one pool), the first `run`'s."""
    if config.streams == 1:
        return ()
    sessions = [onnxruntime.InferenceSession(str(path), session_options(config.threads_per_stream, level),
                                             providers=providers) for _ in range(config.streams - 1)]
    info.update(parallel_sessions=config.streams)
    return (run, *(_bound_run(extra, feeds, config.device) for extra in sessions))


# Calibration methods raced beside --calib-method on the rule's int8 types (each costs one quantize_static).
RACED_CALIBRATION_METHODS = ("minmax", "entropy", "percentile")


def candidates(model, config: RunConfig) -> list[tuple[str, RunConfig]]:
    """int8-static's QDQ recipes (calib.tuning races them), the rule's first: the rule table's
    activation/weight types with each calibration method (--calib-method's first), and the other types
    with --calib-method. Named by types, and by method where it is not minmax: "u8s8", "u8s8-entropy",
    "u8s8-percentile", "s8s8". Per-channel weights follow --weight-granularity (per-channel by default)."""
    from dataclasses import replace

    from calib.backends.int8_recipe import Int8Recipe
    from calib.settings import ORT_INT8_TYPES

    if config.precision != "int8-static" or config.int8.ort_types is not None or config.int8_recipe is not None:
        return [("default", config)]
    first = onnx_convert.rule_int8_types(config.device).types
    method = config.calibration.method
    methods = [method, *(m for m in RACED_CALIBRATION_METHODS if m != method)]
    listed = [(first, m) for m in methods] + [(types, method) for types in ORT_INT8_TYPES if types != first]

    def named(types: str, method_name: str) -> str:
        return types if method_name == "minmax" else f"{types}-{method_name}"

    return [(named(types, m), replace(config, int8=replace(config.int8, ort_types=types),
                                      int8_recipe=Int8Recipe(calibration_method=m)))
            for types, m in listed]


def source_graph(model) -> tuple[Path, dict]:
    """The fp32 graph: the user's .onnx file, or the catalog/torch model exported (cached)."""
    onnx_path = (model.info or {}).get("onnx_path")
    if onnx_path:
        return Path(onnx_path), {"exporter": "file", "opset": model.info.get("opset"), "onnx_source": onnx_path}
    if model.module is None:
        raise CalibError(f"{model.name}: no torch module and no ONNX file to run")
    exported = export_model(model)
    return exported.path, {"exporter": exported.exporter, "opset": exported.opset, "export_s": exported.export_s,
                           "export_cached": exported.cached, "onnx_source": str(exported.path)}


def providers_for(device: str, precision: str) -> list:
    """CPU: the CPU provider. CUDA: TensorRT (when installed), then CUDA, then CPU for leftovers."""
    if device == "cpu":
        return ["CPUExecutionProvider"]
    missing = _no_cuda_provider(device)
    if missing:
        raise BackendUnavailable(missing)
    available = onnxruntime.get_available_providers()
    index = int(device.partition(":")[2] or 0)
    providers: list = []
    if "TensorrtExecutionProvider" in available:
        providers.append(("TensorrtExecutionProvider", {"device_id": index, "trt_fp16_enable": precision == "fp16",
                                                        "trt_int8_enable": precision == "int8-static"}))
    providers.append(("CUDAExecutionProvider", {"device_id": index}))
    providers.append("CPUExecutionProvider")
    return providers


def session_options(threads: int, level: str = GRAPH_OPTIMIZATION, profile_prefix: str | None = None):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = INTER_OP_THREADS
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = getattr(onnxruntime.GraphOptimizationLevel, level)
    # ONNX Runtime's default: the pool spin-waits briefly after each run for the next one. Without it a
    # small model paid a thread wake-up per call: calib measured mnist's CNN at 0.119 ms, 0.067 ms with it
    # (resnet18: 13.2 ms, 12.8), and users deploy with the default. The spin ends soon after the last run,
    # so the next candidate's block in calib.tuning's race starts on quiet cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "1")
    options.log_severity_level = 3  # errors only: fp16/int8 graphs log benign fallbacks as warnings
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return options


def _feeds(session, tensors: tuple) -> dict:
    """Inputs as numpy arrays of the graph's input types (an fp16 graph takes fp16 inputs)."""
    graph_inputs = session.get_inputs()
    if len(graph_inputs) != len(tensors):
        raise CalibError(f"the ONNX graph takes {len(graph_inputs)} inputs; calib made {len(tensors)}")
    feeds = {}
    for graph_input, tensor in zip(graph_inputs, tensors):
        array = tensor.detach().cpu().numpy()
        wanted = dtype_of_onnx_type(graph_input.type)
        if wanted in NOT_IN_NUMPY:
            wanted = None  # fed as the tensor came; ONNX Runtime says what it expected
        feeds[graph_input.name] = array.astype(wanted) if wanted and array.dtype.name != wanted else array
    return feeds


def _bound_run(session, feeds: dict, device: str):
    """A closure doing one Run on inputs bound once; returns a tensor, or a tuple for several outputs."""
    import torch

    binding = session.io_binding()
    if device == "cpu":
        for name, array in feeds.items():
            binding.bind_cpu_input(name, array)
        for output in session.get_outputs():
            binding.bind_output(output.name)
    else:
        index = int(device.partition(":")[2] or 0)
        for name, array in feeds.items():
            binding.bind_ortvalue_input(name, onnxruntime.OrtValue.ortvalue_from_numpy(array, "cuda", index))
        for output in session.get_outputs():
            binding.bind_output(output.name, "cuda", index)

    def run():
        session.run_with_iobinding(binding)
        # On CUDA this includes the device-to-host copy of the outputs (small for classifiers).
        outputs = [torch.from_numpy(array) for array in binding.copy_outputs_to_cpu()]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    return run
