"""Hardware detection and native/emulated verdicts.

Public interface used by the rest of calib:
  device_report(root=None, live_gpu=True) -> dict   # the `calib device --json` object
  verdict_for(report, device_id, precision) -> {"status": ..., "evidence": ...} | None
  physical_cores() -> int
  probe(...)                                        # microbenchmarks that check the verdicts
"""

from __future__ import annotations

from calib.hardware.cpu import check_threads, physical_cores, resolve_threads
from calib.hardware.report import device_report


def verdict_for(report: dict | None, device_id: str, precision: str) -> dict | None:
    if not report:
        return None
    for device in report.get("devices", []):
        if device.get("id") == device_id:
            return device.get("precisions", {}).get(precision)
    return None


def probe(*args, **kwargs):
    """Measure matmul/conv throughput per dtype; see calib.hardware.microbench.run_probe."""
    from calib.hardware.microbench import run_probe

    return run_probe(*args, **kwargs)


__all__ = ["device_report", "verdict_for", "physical_cores", "check_threads", "resolve_threads", "probe"]
