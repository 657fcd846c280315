"""Records from several results files, aligned by configuration.

A column is one (results file, device) pair: a run on a Jetson, a run on an i7, or today's
and last week's run on the same machine. A row is one configuration without its device
(model, backend, precision, batch size, input shape), so the same configuration measured on
different devices lines up in one row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from calib.compare.ratios import speedups
from calib.results.record import Record, ResultFile, as_result
from calib.timing.stats import Summary


@dataclass
class Column:
    index: int
    path: str
    device: str
    environment: dict
    created: str | None

    @property
    def label(self) -> str:
        env = self.environment
        where = env.get("gpu_name") if self.device.startswith("cuda") and env.get("gpu_name") else env.get("cpu_model")
        threads = f", {env['threads']} thr" if env.get("threads") else ""
        return f"#{self.index + 1} {Path(self.path).name}\n{env.get('host') or '?'} {self.device}{threads}\n{where or ''}".strip()


@dataclass
class Cell:
    record: Record
    summary: Summary | None
    speedup_vs_fp32: float | None

    def __post_init__(self):
        self.record = Record.from_json(self.record)  # a stored dict is read once, here

    @property
    def verdict(self) -> str | None:
        return self.record.verdict_status


@dataclass
class Row:
    key: tuple
    label: str
    cells: dict[int, Cell] = field(default_factory=dict)  # column index -> cell


def row_key(record: Record) -> tuple[tuple, str]:
    """(key, label) of a record's row: its configuration without the device, and its load scenario when it
    has one (calib.scenarios.headline), so a server p99 never lines up with a single-stream median."""
    from calib.scenarios.headline import scenario_key, scenario_label

    configuration = record.identity
    extra = scenario_key(record)[len(configuration.key):]
    return (*configuration.row_key, *extra), configuration.row_label + scenario_label(record)


def align(results: list[ResultFile | dict]) -> tuple[list[Column], list[Row]]:
    """Columns in the order the files were given (devices in order of appearance); rows in
    order of first appearance, so a sweep's fp32, fp16, ... order is kept."""
    columns: list[Column] = []
    rows: dict[tuple, Row] = {}
    for result in map(as_result, results):
        records = result.records
        ratios = speedups(records)  # speed-up over fp32 on the same device
        column_of_device: dict[str, Column] = {}
        for position, record in enumerate(records):
            configuration = record.identity
            device = configuration.device
            if device not in column_of_device:
                column = Column(len(columns), result.path or "?", device, dict(result.environment), result.created)
                columns.append(column)
                column_of_device[device] = column
            key, label = row_key(record)
            row = rows.setdefault(key, Row(key, label))
            row.cells[column_of_device[device].index] = Cell(record, record.summary, ratios.get(position))
    return columns, list(rows.values())
