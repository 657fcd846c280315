"""Results built from seeded sample distributions: data (not mocks) for statistical unit tests of
compare, check and report. Shared by tests/compare and tests/report (`from check.records import ...`)."""

import numpy as np


def make_record(samples, precision="fp32", model="m", backend="torch", batch_size=1, device="cpu", status="ok",
                verdict="native", layers=None, fidelity=None):
    return {
        "identity": {"model": model, "backend": backend, "precision": precision, "batch_size": batch_size,
                     "input_shape": [batch_size, 8], "device": device},
        "status": status, "reason": None if status == "ok" else "not on this device",
        "verdict": {"status": verdict, "evidence": "test"} if verdict else None,
        "timing": {"samples_ms": [float(s) for s in samples]} if status == "ok" else None,
        "warnings": [], "layers": layers, "fidelity": fidelity,
    }


def make_result(records, path="run.json", complete=None, **environment):
    """complete=None leaves the key out, as in files written before calib recorded it."""
    env = {"host": "box", "cpu_model": "AMD EPYC", "threads": 2, "torch": "2.14.1", "cpu_governor": None,
           "gpu_name": None, "onnxruntime": "1.31.1", "power_mode": None, **environment}
    result = {"schema_version": 1, "environment": env, "records": list(records), "_path": path,
              "created": "2025-01-01T00:00:00+00:00"}
    if complete is not None:
        result["complete"] = complete
    return result


def lognormal_samples(seed, median_ms=2.0, spread=0.05, count=300):
    """Right-skewed latencies like real ones: lognormal around `median_ms`."""
    rng = np.random.default_rng(seed)
    return median_ms * rng.lognormal(0.0, spread, count)



# Real runs in module-scoped fixtures (which cannot use the function-scoped `fast_options`).
FAST_RUN_OPTIONS = ["--max-time", "0.3", "--min-time", "0.05", "--min-samples", "10", "--warmup-min-time", "0.01",
                    "--warmup-min-count", "1", "-q", "--no-tune"]
