"""Which layers cost the accuracy, and the mixed precision that keeps the budget.

names    - the switchable layers of a model, in the namespace of the backend that quantizes it
score    - one evaluation outside the sweep: prepare (fp16/bf16 on some torch layers only through
           calib.quant.cast, since the torch backend casts whole modules), the sweep's fidelity pass, its score
ranking  - the per-layer pass (`calib sensitivity`): one layer at the precision at a time, ranked,
           with each layer's share of the per-layer latency table
fallback - `calib run --max-drop X --fallback`: keep the most sensitive layers fp32, group by group,
           until within budget; the mixed configuration measured as its own record (variant "mixed")

For scripts (bench/real_models.py, bench/sensitivity.py): `mixed_precision(...)` below runs the
whole thing on one model and returns what a table needs.
"""

from __future__ import annotations


def mixed_precision(model, backend: str = "torch", precision: str = "int8-static", max_drop: float = 1.0,
                    eval_fn: str | None = None, batch_size: int = 1, threads: int | None = None,
                    timing=None, fidelity=None, calibration=None) -> dict:
    """fp32, all-`precision` and the mixed configuration of one loaded model, measured side by side in
    this process with the sweep's own timing and fidelity: {"records": {"fp32", precision, "mixed"},
    "fallback": FallbackResult.to_dict() or None, "rows": [...] (one per configuration: latency, score,
    drop, layers at the precision)}. `eval_fn` is --eval's path.py:fn; `fidelity` a FidelitySettings."""
    from dataclasses import replace

    from calib import fidelity as fidelity_pass
    from calib.hardware import device_report, resolve_threads
    from calib.sensitivity.fallback import measure_mixed, search
    from calib.settings import CalibrationSettings, FidelitySettings
    from calib.spec import SweepSpec
    from calib.sweep import measure_configuration, prepare_sweep
    from calib.timing.engine import TimingSettings

    settings = fidelity or FidelitySettings()
    settings = replace(settings, max_drop=max_drop, **({"eval_fn": eval_fn} if eval_fn else {}))
    spec = SweepSpec(model=model.name, backends=(backend,), precisions=("fp32", precision), batch_sizes=(batch_size,),
                     device="cpu", threads=resolve_threads(threads), timing=timing or TimingSettings(),
                     fidelity=settings, calibration=calibration or CalibrationSettings())
    report = device_report()
    references = fidelity_pass.references()
    prepare_sweep(spec, model, references)
    records = {name: measure_configuration(spec, model, backend, name, batch_size, report, references)
               for name in ("fp32", precision)}
    result = search(model, backend, spec.run_config(precision, batch_size), settings, max_drop, references)
    if result.found and result.kept_float:
        records["mixed"] = measure_mixed(spec, model, result, batch_size, report, references)
    return {"records": records, "fallback": result.to_dict(), "rows": summary_rows(records, result)}


def summary_rows(records: dict, result) -> list[dict]:
    """One row per configuration: median ms, score and drop, layers at the precision."""
    from calib.results.schema import summary_of
    from calib.sensitivity.score import Evaluation

    layers = len(result.ranking.layers)
    kept = len(result.kept_float or ())
    rows = []
    for name, record in records.items():
        summary = summary_of(record) if record.get("status") == "ok" else None
        evaluation = Evaluation.of(record.get("fidelity") or {}, 0.0)
        at_precision = 0 if name == "fp32" else (layers - kept if name == "mixed" else layers)
        rows.append({"configuration": name, "median_ms": summary.median_ms if summary else None,
                     "score": evaluation.score, "metric": evaluation.metric, "drop": evaluation.drop,
                     "passed": evaluation.passed, "layers_at_precision": at_precision, "layers": layers,
                     "status": record.get("status"), "reason": record.get("reason")})
    return rows


__all__ = ["mixed_precision", "summary_rows"]
