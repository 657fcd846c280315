"""What fails a command that measured: `calib run` and `calib train` exit 1 when a configuration failed
to run, or its outputs failed their --max-drop budget or held NaN/Inf. Skipped ones (the machine lacks
the precision or the engine) do not fail it, unless nothing at all was measured (nothing_measured): a run
that measured nothing never exits 0."""

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


def nothing_measured(records: Iterable[Record | Mapping]) -> list[str]:
    """[one line] when not one configuration was measured (all skipped or failed: `calib run -p fp8` on a CPU),
    else []: such a command exits 1, never 0, with why the first one was not measured."""
    records = as_records(records)
    if not records or any(record.ok for record in records):
        return []
    first = records[0]
    return [f"nothing was measured: {len(records)} configuration(s), none ran ({first.short_label} "
            f"{first.unmeasured_reason})"]
