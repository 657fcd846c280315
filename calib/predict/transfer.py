"""`calib calibrate --backend ENGINE --from TABLE`: start from another device's table of the same engine.

Why: most of a kernel table carries over between machines of one kind up to a speed ratio per kind of
kernel (a faster core, a wider vector unit), as LitePred transfers a predictor from the most similar
calibrated device. So the source table's kernel samples join this device's table scaled by this device's
ratio for their layer type at that precision (`kind:ov:Convolution:f32`), learnt from the kernels measured
here: median(measured here / the source table's law for the same kernel). Kinds never measured here
take the median ratio over all of them. The adaptive choice of calibration models
(calib.predict.engine_calibrate.gap_scorer) starts from the source's samples, so it measures first the
models whose kernels the source never saw (another ISA's kernels, other fusions): what differs most.

The scaled rows are stored as the table's "ops" (source "transfer:<device>"), so `calib predict` reads a
transferred table as any other; the whole-model map and the interval come from this device's models only.
"""

from __future__ import annotations

import math
import statistics

from calib.errors import UsageError
from calib.predict.cost_model import ModelSample, fit_cost_model, model_samples
from calib.predict.features import fallback_keys
from calib.results.store import load_result


def source_models(path: str, engine: str, precision: str) -> tuple[list[ModelSample], str]:
    """The source table's model samples at `precision`, and the device it describes; refused (exit 2) when it
    is no table, another engine's, or lacks the precision."""
    payload = load_result(path)
    section = payload.get("calibration")
    if not isinstance(section, dict) or "tables" not in section:
        raise UsageError(f"--from {path}: not a calibration table (write one with `calib calibrate`)")
    theirs = section.get("backend") or "torch"
    if theirs != engine:
        raise UsageError(f"--from {path}: a {theirs} table; an {engine} table transfers only from {engine}'s")
    if precision not in section["tables"]:
        raise UsageError(f"--from {path}: the table has no {precision} (it has {', '.join(section['tables'])})")
    models = []
    for record in payload.get("records") or []:
        identity = record.get("identity") or {}
        rows = (record.get("layers") or {}).get("layers")
        if identity.get("precision") == precision and record.get("status") == "ok" and rows:
            models.append(ModelSample(f"from:{identity['model']}", int(identity.get("batch_size") or 1),
                                      float(record["summary"]["median_ms"]), tuple(rows)))
    if not models:
        raise UsageError(f"--from {path}: no {precision} kernel samples in it")
    return models, str(section.get("device_name") or "another device")


def transferred_rows(source: list[ModelSample], measured: list[ModelSample], device: str) -> tuple[list[dict], dict]:
    """The source's kernel rows scaled to this device (see the module docstring), and the ratios used."""
    law = fit_cost_model(model_samples(source, prefix=""))
    by_kind: dict[str, list[float]] = {}
    for model in measured:
        for row, node in zip(model.rows, law.nodes(model.rows)):
            if node.costed and row.get("median_ms") and node.predicted_ms > 0:
                kind = fallback_keys(row)[-1]  # the coarsest key: the row's own when it has no other
                by_kind.setdefault(kind, []).append(math.log(row["median_ms"] / node.predicted_ms))
    everything = [value for values in by_kind.values() for value in values]
    overall = math.exp(statistics.median(everything)) if everything else 1.0
    ratios = {kind: math.exp(statistics.median(values)) for kind, values in by_kind.items()}
    rows = []
    for model in source:
        for row in model.rows:
            if not row.get("median_ms"):
                continue
            kind = fallback_keys(row)[-1]
            rows.append({**row, "median_ms": row["median_ms"] * ratios.get(kind, overall),
                         "source": f"transfer:{device}:{model.model.removeprefix('from:')}"})
    return rows, {"ratios": ratios, "overall_ratio": overall, "kernels_compared": len(everything),
                  "rows": len(rows)}
