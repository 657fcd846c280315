"""The sweep: every (backend, precision, batch size) of one model, measured and stored.

spec -> prepared model -> measurement -> record, written to disk after each record so a
crash or Ctrl-C keeps what finished. A failure inside one configuration is recorded and
the sweep goes on.
"""

from __future__ import annotations

import resource
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

from calib.backends import RunConfig, get_backend
from calib.environment import OtherCpuUse
from calib.errors import BackendUnavailable, PrecisionUnavailable, UsageError
from calib.precisions import get_precision
from calib.timing.clock import CudaEventTimer, PerfCounterTimer
from calib.timing.engine import TimingSettings, measure


@dataclass
class SweepSpec:
    model: str
    backends: list[str]
    precisions: list[str]
    batch_sizes: list[int]
    device: str
    threads: int
    timing: TimingSettings = field(default_factory=TimingSettings)
    input_shape: tuple[int, ...] | None = None
    seq_len: int | None = None
    layers: bool = False
    options: dict = field(default_factory=dict)  # calibration, eval data, thresholds...

    def configurations(self):
        for backend in self.backends:
            for batch_size in self.batch_sizes:
                for precision in self.precisions:
                    yield backend, precision, batch_size


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
    """Fail fast, before any work, on names that cannot be right."""
    from calib.backends import BACKENDS

    for precision in spec.precisions:
        get_precision(precision)
    for backend in spec.backends:
        if backend not in BACKENDS:
            raise UsageError(f"unknown backend {backend!r}; choose from: {', '.join(BACKENDS)}")
        if backend != "auto":
            get_backend(backend)  # a missing onnxruntime/tensorrt stops here, in one line, before any work
    for batch_size in spec.batch_sizes:
        if batch_size <= 0:
            raise UsageError(f"--batch-size {batch_size}: must be positive")


def run_sweep(spec: SweepSpec, model, writer, device_report: dict | None,
              on_start: Callable | None = None, on_done: Callable | None = None) -> list[dict]:
    """Measure every configuration of `spec`; each record is added to `writer` as it finishes."""
    import torch

    torch.set_num_threads(spec.threads)
    references: dict = {}
    for requested_backend, precision, batch_size in spec.configurations():
        backend_name, backend_choice = _resolve_backend(requested_backend, model, precision, spec.device)
        record = new_record(model, backend_name, precision, batch_size, spec.device, device_report)
        if on_start:
            on_start(record["identity"])
        if backend_choice:
            record["backend_choice"] = backend_choice
        try:
            _measure_one(spec, model, backend_name, precision, batch_size, record, references)
        except Exception as exc:  # noqa: BLE001 - one configuration failing must not end the sweep
            mark_unmeasured(record, exc)
        writer.add(record)
        if on_done:
            on_done(record)
    return writer.records


def _resolve_backend(name: str, model, precision: str, device: str) -> tuple[str, dict | None]:
    """`auto` becomes a concrete backend per precision and device; what was picked and why is recorded."""
    if name != "auto":
        return name, None
    from calib.backends.auto import choose

    picked, why = choose(model, precision, device)
    return picked, {"requested": "auto", "picked": picked, "why": why}


def new_record(model, backend_name: str, precision: str, batch_size: int, device: str,
               device_report: dict | None) -> dict:
    """A record before measurement (schema in calib.results.schema); shared with calib.check.interleave."""
    from calib.hardware import verdict_for

    identity = {"model": model.name, "backend": backend_name, "precision": precision,
                "batch_size": batch_size, "input_shape": [batch_size, *model.item_shape], "device": device}
    return {"identity": identity, "status": "ok", "reason": None,
            "verdict": verdict_for(device_report, device, precision),
            "warnings": [], "layers": None, "fidelity": None}


def mark_unmeasured(record: dict, exc: Exception) -> None:
    """A precision or backend this machine lacks is 'skipped'; anything else is 'failed'."""
    if isinstance(exc, (PrecisionUnavailable, BackendUnavailable)):
        record.update(status="skipped", reason=str(exc))
    else:
        record.update(status="failed", reason=f"{type(exc).__name__}: {_first_line(exc)}",
                      traceback=traceback.format_exc(limit=8))


def prepare_configuration(model, backend_name: str, precision: str, batch_size: int, device: str, threads: int,
                          options: dict):
    """Convert `model` for one configuration: (prepared, conversion seconds, timer for its device)."""
    import torch

    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats(torch.device(device))
    config = RunConfig(precision=precision, device=device, batch_size=batch_size, threads=threads, options=options)
    started = time.perf_counter()
    prepared = get_backend(backend_name).prepare(model, config)
    conversion_s = prepared.info.pop("conversion_s", time.perf_counter() - started)
    timer = CudaEventTimer(torch.device(device)) if cuda else PerfCounterTimer(prepared.sync)
    return prepared, conversion_s, timer


def fill_measured(record: dict, prepared, measurement, conversion_s: float, device: str,
                  other_cpu_percent: float | None = None):
    """Store a measurement and what the backend did in `record`; returns its summary.
    `other_cpu_percent`: what other processes took meanwhile (see other_cpu_use)."""
    import torch

    cuda = device.startswith("cuda")
    summary = measurement.summary()
    record.update(
        storage_dtype=prepared.storage_dtype,
        compute_dtype=prepared.compute_dtype,
        timing={"settings": measurement.settings.to_dict(), "timer": measurement.timer,
                "stop_reason": measurement.stop_reason, "samples_ms": measurement.samples_ms,
                "warmup_ms": measurement.warmup_ms, "cold_ms": measurement.cold_ms},
        summary=summary.to_dict(),
        conversion_s=conversion_s,
        memory={
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "cuda_max_allocated_bytes": torch.cuda.max_memory_allocated(torch.device(device)) if cuda else None,
            "model_size_bytes": prepared.model_size_bytes,
        },
        backend_info=prepared.info,
    )
    record["other_cpu_percent"] = other_cpu_percent
    record["warnings"].extend(measurement.warnings)
    record["warnings"].extend(w for w in [OtherCpuUse.warning(other_cpu_percent)] if w)
    record["warnings"].extend(prepared.info.get("warnings", []))  # e.g. int8 timed as reference Q/DQ
    return summary


def other_cpu_use() -> OtherCpuUse | None:
    """Start watching other processes' CPU use (None where psutil cannot read CPU times)."""
    try:
        return OtherCpuUse()
    except Exception:  # noqa: BLE001 - measure without the check rather than not at all
        return None


def _measure_one(spec: SweepSpec, model, backend_name: str, precision: str, batch_size: int,
                 record: dict, references: dict) -> None:
    import torch

    prepared, conversion_s, timer = prepare_configuration(model, backend_name, precision, batch_size, spec.device,
                                                          spec.threads, spec.options)
    try:
        other_cpu = other_cpu_use()
        with torch.inference_mode():
            measurement = measure(prepared.run, timer, spec.timing, batch_size=batch_size)
            other_cpu_percent = other_cpu.stop() if other_cpu else None
            outputs = prepared.run()
        summary = fill_measured(record, prepared, measurement, conversion_s, spec.device, other_cpu_percent)
        record["fidelity"] = _fidelity(spec, model, backend_name, precision, batch_size, outputs, references,
                                       prepared)
        if spec.layers:
            record["layers"] = _layers(prepared, summary.median_ms, spec)
    finally:
        if prepared.close:
            prepared.close()


def _fidelity(spec, model, backend_name, precision, batch_size, outputs, references, prepared):
    """Accuracy cost against the fp32 reference (calib.fidelity)."""
    from calib import fidelity

    return fidelity.evaluate(spec, model, backend_name, precision, batch_size, outputs, references,
                             prepared=prepared)


def _layers(prepared, end_to_end_ms: float, spec: SweepSpec):
    """Per-layer pass, after (never during) the end-to-end measurement (calib.layers)."""
    if prepared.module is None and prepared.profile_layers is not None:
        return prepared.profile_layers(end_to_end_ms, spec)  # the backend's own profiler (ONNX Runtime)
    from calib import layers

    return layers.profile(prepared, end_to_end_ms, spec)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""


__all__ = ["SweepSpec", "run_sweep", "resolve_device", "validate", "new_record", "mark_unmeasured",
           "prepare_configuration", "fill_measured", "other_cpu_use"]
