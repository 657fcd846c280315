"""What fails a command that measured: `calib run` and `calib train` exit 1 when a configuration failed
to run, or its outputs failed their --max-drop budget or held NaN/Inf. Skipped ones (the machine lacks
the precision or the engine) do not fail it."""

from __future__ import annotations

from typing import Iterable, Mapping

from calib.results.record import Record, as_records


def failures(records: Iterable[Record | Mapping]) -> list[str]:
    """One line per configuration that fails the run, in record order. A training run's records (one model,
    one batch) are named by their precision, the others by their short label (model backend precision bN)."""
    lines = []
    for record in as_records(records):
        label = record.precision if record.is_training else record.short_label
        if record.status == "failed":
            lines.append(f"{label} failed: {record.reason}")
        elif record.fidelity_failed:
            lines.append(f"{label} fails its fidelity budget: {record.fidelity.judgement}")
    return lines
