"""What to measure: the sweep's spec, built once by the CLI (calib.cli._options.build_spec) and
read by the sweep (calib.sweep) and the interleaved A/B driver (calib.interleave).

A spec is a model, the grid (backends x batch sizes x precisions), the device and threads, and
one typed settings group per concern (calib.settings, calib.timing.engine.TimingSettings). Each
helper receives the group it uses, never the whole spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from calib.backends import BACKENDS, RunConfig, get_backend
from calib.configuration import check_batch_size
from calib.errors import UsageError
from calib.hardware.busy import check_mode as check_busy_mode
from calib.hardware.cpu import check_threads
from calib.precisions import get_precision
from calib.settings import (CalibrationSettings, CompileSettings, FidelitySettings, Int8Settings,
                            LayerSettings, TuneSettings, check_finite)
from calib.timing.engine import TimingSettings


@dataclass(frozen=True)
class SweepSpec:
    model: str
    backends: tuple[str, ...]
    precisions: tuple[str, ...]
    batch_sizes: tuple[int, ...]
    device: str
    threads: int
    timing: TimingSettings = field(default_factory=TimingSettings)
    input_shape: tuple[int, ...] | None = None
    seq_len: int | None = None
    layers: LayerSettings | None = None  # None: no per-layer pass
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)
    fidelity: FidelitySettings = field(default_factory=FidelitySettings)
    int8: Int8Settings = field(default_factory=Int8Settings)
    compile: CompileSettings = field(default_factory=CompileSettings)
    tune: TuneSettings = field(default_factory=TuneSettings)
    timeout_s: float | None = None  # per configuration (calib.worker); None: its defaults
    trust_model_file: bool = False  # load a .pt2 that may run code (calib.models.loader.load_exported)
    busy: str = "warn"  # --busy: what to do when other processes use the device (calib.hardware.busy)
    scenario: object = None  # calib.scenarios.ScenarioSettings; None: single-stream (one call at a time)

    def __post_init__(self):
        for name in ("backends", "precisions", "batch_sizes"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        for batch_size in self.batch_sizes:
            check_batch_size(batch_size)
        if self.threads is None:
            raise UsageError("a spec needs its thread count (calib.hardware.resolve_threads)")
        check_threads(self.threads)
        check_finite("--timeout", self.timeout_s)
        check_busy_mode(self.busy)
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise UsageError(f"--timeout {self.timeout_s:g}: must be positive (0 on the command line: no limit)")

    def cells(self) -> Iterator[tuple[str, str, int]]:
        """(backend, precision, batch size) in the order they are measured; `auto` is resolved per
        model by the sweep, so these are not yet Configurations."""
        for backend in self.backends:
            for batch_size in self.batch_sizes:
                for precision in self.precisions:
                    yield backend, precision, batch_size

    def run_config(self, precision: str, batch_size: int) -> RunConfig:
        """What a backend receives for one configuration."""
        return RunConfig(precision=precision, device=self.device, batch_size=batch_size, threads=self.threads,
                         calibration=self.calibration, int8=self.int8, compile=self.compile)


def resolve_device(requested: str) -> str:
    import torch

    if requested == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if requested == "cpu":
        return "cpu"
    if requested == "cuda" or requested.startswith("cuda:"):
        index_text = requested.partition(":")[2] or "0"
        if not index_text.isdigit():
            raise UsageError(f"--device {requested!r}: expected cuda:N")
        if not torch.cuda.is_available():
            raise UsageError(f"--device {requested}: CUDA is not available on this machine (torch "
                             f"{torch.__version__}, built for CUDA {torch.version.cuda})")
        if int(index_text) >= torch.cuda.device_count():
            raise UsageError(f"--device {requested}: only {torch.cuda.device_count()} CUDA device(s)")
        return f"cuda:{index_text}"
    raise UsageError(f"--device {requested!r}: choose auto, cpu, cuda or cuda:N")


def validate(spec: SweepSpec) -> None:
    """Fail fast, before any work, on names that cannot be right and a grid that measures nothing or
    twice (the values are checked when the spec is built, SweepSpec.__post_init__)."""
    if not spec.precisions or not spec.backends or not spec.batch_sizes:
        raise UsageError("nothing to measure: give at least one --precision, --backend and --batch-size")
    for precision in spec.precisions:
        get_precision(precision)
    for backend in spec.backends:
        if backend not in BACKENDS:
            raise UsageError(f"unknown backend {backend!r}; choose from: {', '.join(BACKENDS)}")
        if backend != "auto":
            get_backend(backend)  # a missing onnxruntime/tensorrt stops here, in one line, before any work
    for name, values in (("--precision", spec.precisions), ("--backend", spec.backends),
                         ("--batch-size", spec.batch_sizes)):
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            raise UsageError(f"{name} {', '.join(repeated)} given more than once: each configuration is measured once")
    if spec.calibration.data == "eval" and spec.fidelity.eval_fn is None:
        raise UsageError("--calib-data eval calibrates on the inputs --eval feeds the fp32 pass: give --eval "
                         "path.py:fn (or another --calib-data)")
