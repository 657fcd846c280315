"""One configuration's lifecycle, shared by the sweep (calib.sweep) and the interleaved A/B
driver (calib.interleave):

    record = new_record(configuration, device_report)
    with prepare(model, configuration, run_config) as prepared:   # closes however it ends
        measurement = measure(prepared.run, timer_for(prepared), ...)
        fill_measured(record, prepared, measurement, other_cpu_percent)
    # or, when anything raised: mark_unmeasured(record, exc)

The record's layout is calib.results.schema's.
"""

from __future__ import annotations

import resource
import traceback

from calib.backends import RunConfig, get_backend
from calib.backends.base import Prepared
from calib.configuration import Configuration
from calib.environment import OtherCpuUse
from calib.errors import BackendUnavailable, PrecisionUnavailable
from calib.hardware import verdict_for
from calib.timing.clock import CudaEventTimer, PerfCounterTimer
from calib.user_files import described


def new_record(configuration: Configuration, device_report: dict | None) -> dict:
    """A record before measurement, with the hardware verdict of its precision on its device."""
    return {"identity": configuration.to_identity(), "status": "ok", "reason": None,
            "verdict": verdict_for(device_report, configuration.device, configuration.precision),
            "warnings": [], "layers": None, "fidelity": None}


def mark_unmeasured(record: dict, exc: BaseException) -> None:
    """A precision or backend this machine lacks is 'skipped'; anything else is 'failed'."""
    if isinstance(exc, (PrecisionUnavailable, BackendUnavailable)):
        record.update(status="skipped", reason=str(exc))
    else:
        record.update(status="failed", reason=described(exc, 300),
                      traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=8)))


def mark_failed(record: dict, reason: str) -> None:
    """A configuration that failed without an exception of its own (a timeout, a lost worker)."""
    record.update(status="failed", reason=reason)


def prepare(model, configuration: Configuration, run_config: RunConfig) -> Prepared:
    """Convert `model` for one configuration; use it as a context manager so it is always closed."""
    import torch

    if configuration.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(torch.device(configuration.device))
    return get_backend(configuration.backend).prepare(model, run_config)


def timer_for(prepared: Prepared):
    """CUDA events on a GPU, perf_counter (after the backend's sync) elsewhere."""
    if prepared.device.startswith("cuda"):
        import torch

        return CudaEventTimer(torch.device(prepared.device))
    return PerfCounterTimer(prepared.sync)


def fill_measured(record: dict, prepared: Prepared, measurement, other_cpu_percent: float | None = None):
    """Store a measurement and what the backend did in `record`; returns its summary.
    `other_cpu_percent`: what other processes took meanwhile (see other_cpu_use)."""
    import torch

    cuda = prepared.device.startswith("cuda")
    summary = measurement.summary()
    record.update(
        storage_dtype=prepared.storage_dtype,
        compute_dtype=prepared.compute_dtype,
        timing={"settings": measurement.settings_dict(), "timer": measurement.timer,
                "stop_reason": measurement.stop_reason, "samples_ms": measurement.samples_ms,
                "warmup_ms": measurement.warmup_ms, "cold_ms": measurement.cold_ms,
                "page_faults_per_call": measurement.page_faults_per_call},
        summary=summary.to_dict(),
        conversion_s=prepared.conversion_s,
        memory={
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "cuda_max_allocated_bytes": (torch.cuda.max_memory_allocated(torch.device(prepared.device)) if cuda
                                         else None),
            "model_size_bytes": prepared.model_size_bytes,
        },
        backend_info=prepared.info,
    )
    record["other_cpu_percent"] = other_cpu_percent
    record["warnings"].extend(measurement.warnings)
    record["warnings"].extend(w for w in [OtherCpuUse.warning(other_cpu_percent)] if w)
    record["warnings"].extend(prepared.warnings)
    return summary


def other_cpu_use() -> OtherCpuUse | None:
    """Start watching other processes' CPU use (None where psutil cannot read CPU times)."""
    try:
        return OtherCpuUse()
    except Exception:  # noqa: BLE001 - measure without the check rather than not at all
        return None


__all__ = ["new_record", "mark_unmeasured", "mark_failed", "prepare", "timer_for", "fill_measured",
           "other_cpu_use"]
