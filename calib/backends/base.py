"""What every backend receives and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from calib.backends.int8_recipe import Int8Recipe
from calib.configuration import check_batch_size
from calib.hardware.cpu import check_threads
from calib.settings import CalibrationSettings, CompileSettings, Int8Settings


@dataclass(frozen=True)
class RunConfig:
    """One configuration to prepare: what the sweep hands a backend, with the settings groups a
    backend may read (calib.settings); each backend reads only its own."""

    precision: str
    device: str  # "cpu" | "cuda:N"
    batch_size: int
    threads: int
    calibration: CalibrationSettings = CalibrationSettings()
    int8: Int8Settings = Int8Settings()
    compile: CompileSettings = CompileSettings()
    memory_format: str = "contiguous"  # torch: "channels_last" for 4-D inputs (a tuning candidate)
    # int8: the quantization recipe of one candidate (NNCF model type, SmoothQuant, bias correction,
    # preset, OpenVINO's float-layer hint; ONNX Runtime's calibration method); None: the backend's default
    int8_recipe: Int8Recipe | None = None
    # Parallel streams (calib.scenarios: multi-stream, server workers, offline's search): the backend
    # prepares `streams` independent calls (ONNX Runtime sessions, OpenVINO infer requests of a
    # NUM_STREAMS compiled model, torch's module shared by threads), each with `stream_threads` threads
    # (None: threads // streams). 1 stream: `threads` as always.
    streams: int = 1
    stream_threads: int | None = None

    def __post_init__(self):
        check_batch_size(self.batch_size)
        check_threads(self.threads)
        if self.streams < 1 or (self.stream_threads is not None and self.stream_threads < 1):
            raise ValueError("streams and threads per stream must be positive")

    @property
    def threads_per_stream(self) -> int:
        """Each stream's threads: all of them for one stream."""
        if self.streams == 1 and self.stream_threads is None:
            return self.threads
        return self.stream_threads or max(1, self.threads // self.streams)


@dataclass
class Prepared:
    """A converted model bound to its inputs, ready to be called once per timed sample.

    A context manager, like Polygraphy's runners: `with backend.prepare(...) as prepared:` closes
    it (frees an ONNX Runtime session, a TensorRT engine) however the block ends."""

    run: Callable[[], object]  # one inference on the bound inputs; returns the outputs
    device: str
    storage_dtype: str
    compute_dtype: str
    model_size_bytes: int
    conversion_s: float = 0.0  # load + convert (+ calibrate, compile, build): set by the backend
    sync: Callable[[], None] | None = None  # waits for the device; None on the CPU
    module: object = None  # the converted torch module, for the per-layer pass
    inputs: tuple = ()  # the bound inputs, already on the device and in the storage dtype
    call_context: Callable[[], object] | None = None  # e.g. autocast; entered around per-layer runs
    info: dict = field(default_factory=dict)  # what the backend did: recorded as the record's backend_info
    close: Callable[[], None] | None = None
    # one inference on other inputs (fp32/int64 CPU tensors shaped like `inputs`, same batch size);
    # converts them like the bound inputs. Used by the accuracy pass (calib.fidelity); None if impossible.
    run_on: Callable[[tuple], object] | None = None
    # Backends without a torch module (ONNX Runtime) time their own nodes:
    # profile_layers(end_to_end_ms, spec) -> layer-table dict (calib.layers format). Not serialized.
    profile_layers: Callable[[float, object], dict] | None = None
    warnings: list[str] = field(default_factory=list)  # e.g. int8 timed as a reference Q/DQ graph
    # RunConfig.streams > 1: one call per stream, safe to run concurrently (calib.scenarios); empty: `run` only
    stream_runs: tuple = ()

    def __enter__(self) -> "Prepared":
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    def release(self) -> None:
        """Close once (a second call does nothing)."""
        close, self.close = self.close, None
        if close is not None:
            close()


def module_size_bytes(module) -> int:
    """Parameters and buffers, each at its own element size (a cast model is smaller)."""
    total = 0
    seen = set()
    for tensor in list(module.parameters()) + list(module.buffers()):
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        total += tensor.numel() * tensor.element_size()
    return total
