"""Flat exports of records: CSV of the run table, CSV of per-layer tables."""

from __future__ import annotations

import csv
from pathlib import Path

from calib.configuration import Configuration
from calib.results.schema import summary_of

RUN_COLUMNS = ["model", "backend", "precision", "batch_size", "input_shape", "device", "status", "reason",
               "storage_dtype", "compute_dtype", "verdict", "count", "median_ms", "p90_ms", "p95_ms", "p99_ms",
               "mean_ms", "min_ms", "iqr_ms", "ci95_low_ms", "ci95_high_ms", "throughput_per_s", "cold_ms",
               "conversion_s", "model_size_bytes", "peak_rss_bytes", "cuda_max_allocated_bytes",
               "fidelity", "fidelity_passed", "fidelity_judgement", "nan_count", "inf_count"]


def run_rows(records: list[dict]) -> list[dict]:
    rows = []
    for record in records:
        ident = record["identity"]
        summary = summary_of(record)
        memory = record.get("memory") or {}
        row = {**{k: ident[k] for k in ("model", "backend", "precision", "batch_size", "device")},
               "precision": Configuration.of(record).precision_label,  # int8-static+mixed (calib.sensitivity)
               "input_shape": "x".join(str(d) for d in ident["input_shape"]),
               "status": record.get("status"), "reason": record.get("reason"),
               "storage_dtype": record.get("storage_dtype"), "compute_dtype": record.get("compute_dtype"),
               "verdict": (record.get("verdict") or {}).get("status"),
               "cold_ms": (record.get("timing") or {}).get("cold_ms"), "conversion_s": record.get("conversion_s"),
               **{k: memory.get(k) for k in ("model_size_bytes", "peak_rss_bytes", "cuda_max_allocated_bytes")}}
        fidelity = record.get("fidelity") or {}
        row.update(fidelity=fidelity.get("compact"), fidelity_passed=fidelity.get("passed"),
                   fidelity_judgement=fidelity.get("judgement"), nan_count=fidelity.get("nan_count"),
                   inf_count=fidelity.get("inf_count"))
        if summary:
            row.update({k: v for k, v in summary.to_dict().items() if k in RUN_COLUMNS})
        rows.append(row)
    return rows


def write_csv(records: list[dict], path) -> None:
    _write(path, RUN_COLUMNS, run_rows(records))


def write_layers_csv(records: list[dict], path) -> None:
    rows, columns = [], ["model", "backend", "precision", "batch_size"]
    for record in records:
        layers = record.get("layers") or {}
        for layer in layers.get("layers", []):
            ident = record["identity"]
            row = {k: ident[k] for k in columns[:4]}
            row["precision"] = Configuration.of(record).precision_label
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
