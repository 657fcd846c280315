"""Flat exports of records: CSV of the run table, CSV of per-layer tables."""

from __future__ import annotations

import csv
from pathlib import Path

from calib.results.record import Record, as_records

RUN_COLUMNS = ["model", "backend", "precision", "batch_size", "input_shape", "device", "status", "reason",
               "storage_dtype", "compute_dtype", "verdict", "count", "median_ms", "p90_ms", "p95_ms", "p99_ms",
               "mean_ms", "min_ms", "iqr_ms", "ci95_low_ms", "ci95_high_ms", "throughput_per_s", "cold_ms",
               "conversion_s", "model_size_bytes", "peak_rss_bytes", "cuda_max_allocated_bytes",
               "fidelity", "fidelity_passed", "fidelity_judgement", "nan_count", "inf_count"]
MEMORY_COLUMNS = ("model_size_bytes", "peak_rss_bytes", "cuda_max_allocated_bytes")
FIDELITY_COLUMNS = {"fidelity": "compact", "fidelity_passed": "passed", "fidelity_judgement": "judgement",
                    "nan_count": "nan_count", "inf_count": "inf_count"}


def run_rows(records: list[Record | dict]) -> list[dict]:
    rows = []
    for record in as_records(records):
        ident = record.identity
        summary = record.summary
        row = {"model": ident.model, "backend": ident.backend,
               "precision": ident.precision_label,  # int8-static+mixed (calib.sensitivity)
               "batch_size": ident.batch_size, "device": ident.device,
               "input_shape": "x".join(str(d) for d in ident.input_shape),
               "status": record.status, "reason": record.reason,
               "storage_dtype": record.storage_dtype, "compute_dtype": record.compute_dtype,
               "verdict": record.verdict_status,
               "cold_ms": record.timing.cold_ms if record.timing else None, "conversion_s": record.conversion_s,
               **{k: getattr(record.memory, k) if record.memory else None for k in MEMORY_COLUMNS}}
        row.update({column: getattr(record.fidelity, name) if record.fidelity else None
                    for column, name in FIDELITY_COLUMNS.items()})
        if summary:
            row.update({k: v for k, v in summary.to_dict().items() if k in RUN_COLUMNS})
        rows.append(row)
    return rows


def write_csv(records: list[Record | dict], path) -> None:
    _write(path, RUN_COLUMNS, run_rows(records))


def write_layers_csv(records: list[Record | dict], path) -> None:
    rows, columns = [], ["model", "backend", "precision", "batch_size"]
    for record in as_records(records):
        for layer in record.layer_rows:
            ident = record.identity
            row = {"model": ident.model, "backend": ident.backend, "precision": ident.precision_label,
                   "batch_size": ident.batch_size}
            row.update({k: v for k, v in layer.items() if not isinstance(v, (dict, list))})
            for key in row:
                if key not in columns:
                    columns.append(key)
            rows.append(row)
    _write(path, columns, rows)


def _write(path, columns, rows) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
