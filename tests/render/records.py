"""Records with the longest names and numbers a table meets: two backends ("torch" and
"onnxruntime"), precision "int8-static", verdicts "native" and "emulated", medians up to 1637.2 ms,
2,359,296 parameters. Built as calib.results.schema describes them, without running a model."""

BACKENDS = ("torch", "onnxruntime")
PRECISIONS = ("fp32", "bf16", "int8-static")
DTYPES = {"fp32": ("float32", "float32"), "bf16": ("bfloat16", "bfloat16"), "int8-static": ("int8", "int8")}
MEDIANS = {("torch", "fp32"): 1637.2, ("torch", "bf16"): 412.35, ("torch", "int8-static"): 598.1,
           ("onnxruntime", "fp32"): 987.654, ("onnxruntime", "bf16"): 23.456, ("onnxruntime", "int8-static"): 0.0123}


def samples(median_ms, count=41):
    """Symmetric around `median_ms`, so the median is exactly it; p90 and p99 a few % above."""
    half = count // 2
    return [median_ms * (1 + 0.03 * k / half) for k in range(-half, half + 1)]


def run_record(backend="torch", precision="fp32", median_ms=1637.2, model="resnet50-wide", batch_size=32,
               verdict="native", status="ok", fidelity=None, layers=None, peak_rss_bytes=2_359_296_000):
    storage, compute = DTYPES.get(precision, ("float32", "float32"))
    return {
        "identity": {"model": model, "backend": backend, "precision": precision, "batch_size": batch_size,
                     "input_shape": [batch_size, 3, 224, 224], "device": "cpu"},
        "status": status, "reason": None if status == "ok" else "not available on this machine (needs avx512_bf16)",
        "storage_dtype": storage, "compute_dtype": compute,
        "verdict": {"status": verdict, "evidence": "avx512_vnni"},
        "timing": {"samples_ms": samples(median_ms)} if status == "ok" else None,
        "memory": {"peak_rss_bytes": peak_rss_bytes, "model_size_bytes": 102_760_448},
        "warnings": [], "layers": layers, "fidelity": fidelity,
    }


def fidelity(precision):
    if precision == "fp32":
        return {"reference": "fp32", "is_reference": True, "sample": "imagenet-val 512 images",
                "accuracy": 0.7613, "accuracy_drop": 0.0, "top1_agreement": 1.0, "cosine": 1.0, "sqnr_db": None,
                "max_abs": 0.0, "mean_abs": 0.0, "rel_error": 0.0, "nan_count": 0, "inf_count": 0,
                "passed": True, "judgement": "reference", "compact": "acc 76.1% (ref)"}
    return {"reference": "fp32", "is_reference": False, "sample": "imagenet-val 512 images",
            "accuracy": 0.7524, "accuracy_drop": 0.89, "top1_agreement": 0.9727, "cosine": 0.999876,
            "sqnr_db": 31.47, "max_abs": 0.2359, "mean_abs": 0.0163, "rel_error": 0.0237, "nan_count": 0,
            "inf_count": 0, "passed": precision != "int8-static",
            "judgement": "accuracy drop 0.89 within budget 1.00" if precision != "int8-static"
            else "accuracy drop 1.37 above budget 1.00 points",
            "compact": "acc 75.2% (-0.9)" if precision != "int8-static" else "acc 74.8% (-1.4)"}


def two_backend_records(with_fidelity=True):
    records = []
    for backend, precision in ((b, p) for b in BACKENDS for p in PRECISIONS):
        verdict = "emulated" if precision == "bf16" else "native"
        records.append(run_record(backend, precision, MEDIANS[backend, precision], verdict=verdict,
                                  fidelity=fidelity(precision) if with_fidelity else None))
    records.append(run_record("onnxruntime", "fp16", status="skipped", verdict="unsupported"))
    return records
