"""What a report says, gathered once from stored results; the HTML and markdown writers only
lay it out. Reports read stored results and never re-run anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from calib.compare.align import Column, Row, align
from calib.compare.environment import against_first
from calib.results.record import Record, ResultFile

ENVIRONMENT_KEYS = ("host", "os", "cpu_model", "cpu_arch", "cpu_count_logical", "threads", "cpu_governor",
                    "torch_cpu_capability", "gpu_name", "gpu_compute_capability", "power_mode", "python", "torch",
                    "torchvision", "onnxruntime", "cuda", "calib")
# Fidelity keys that read as "higher is better", in order of preference (calib.fidelity records).
# The first one any record has is plotted: test-set accuracy, else agreement with fp32's top-1
# (defined for every output, where the cosine is not: an int8 model whose output is all zeros).
FIDELITY_METRICS = ("accuracy", "top1", "top1_accuracy", "top1_agreement", "cosine", "cosine_similarity")
METRIC_TITLES = {"accuracy": "test-set accuracy", "top1_agreement": "top-1 agreement with fp32",
                 "cosine": "cosine similarity to fp32"}


def metric_title(metric: str) -> str:
    return METRIC_TITLES.get(metric, metric)
SLOWEST_WITH_LAYERS = 3
LAYERS_SHOWN = 10


@dataclass
class LatencyEntry:
    row: str
    column: str
    precision: str
    median_ms: float
    ci95_low_ms: float
    ci95_high_ms: float
    speedup_vs_fp32: float | None
    verdict: str | None


@dataclass
class LayerSection:
    title: str
    median_ms: float
    layers: list[dict]
    coverage: float | None


@dataclass
class ReportContent:
    title: str
    columns: list[Column]
    rows: list[Row]
    latency: list[LatencyEntry]
    layer_sections: list[LayerSection]
    accuracy_metric: str | None
    accuracy_points: list[dict]
    environments: list[tuple[str, dict]]
    environment_warnings: list[str]
    notes: list[str] = field(default_factory=list)
    # `calib train` records: {"label", "series", "loss": [per step], "final_loss", "max_deviation", "baseline"}
    loss_curves: list[dict] = field(default_factory=list)

    def column_name(self, column: Column) -> str:
        return column.label.replace("\n", " · ")

    @property
    def accuracy_title(self) -> str:
        """What the accuracy chart and table call their metric (METRIC_TITLES)."""
        return metric_title(self.accuracy_metric or "metric")


def fidelity_value(record: Record, metric: str) -> float | None:
    return record.fidelity.value(metric) if record.fidelity else None


def _pick_metric(records: list[Record]) -> str | None:
    for metric in FIDELITY_METRICS:
        if any(fidelity_value(r, metric) is not None for r in records):
            return metric
    return None


def build_content(results: list[ResultFile | dict], title: str | None = None) -> ReportContent:
    columns, rows = align(results)
    names = {column.index: f"#{column.index + 1} {column.device}" for column in columns}
    latency, measured_cells, notes = [], [], []
    for row in rows:
        for index, cell in sorted(row.cells.items()):
            if cell.summary is None:
                notes.append(f"{row.label} on {names[index]}: {cell.record.status} ({cell.record.reason})")
                continue
            measured_cells.append((row, index, cell))
            latency.append(LatencyEntry(row.label, names[index], cell.record.precision,
                                        cell.summary.median_ms, cell.summary.ci95_low_ms, cell.summary.ci95_high_ms,
                                        cell.speedup_vs_fp32, cell.verdict))

    layer_sections = []
    with_layers = [(row, index, cell) for row, index, cell in measured_cells if cell.record.has_layers]
    for row, index, cell in sorted(with_layers, key=lambda item: -item[2].summary.median_ms)[:SLOWEST_WITH_LAYERS]:
        table = cell.record.layers
        slowest = sorted(cell.record.layer_rows, key=lambda layer: -(layer.get("median_ms") or 0))[:LAYERS_SHOWN]
        layer_sections.append(LayerSection(f"{row.label} on {names[index]}", cell.summary.median_ms, slowest,
                                           table.get("coverage")))

    metric = _pick_metric([cell.record for _, _, cell in measured_cells])
    points = []
    if metric:
        for row, index, cell in measured_cells:
            value = fidelity_value(cell.record, metric)
            if value is not None:
                points.append({"label": cell.record.precision, "series": names[index],
                               "row": row.label, "latency_ms": cell.summary.median_ms, "value": value})

    environments = [(f"{names[c.index]} {Path(c.path).name}", c.environment) for c in columns]
    warnings = [line for d in against_first(environments) for line in d.lines()]
    models = sorted({row.label.split()[0] for row in rows})
    return ReportContent(title or f"calib report: {', '.join(models)}", columns, rows, latency, layer_sections,
                         metric, points, environments, warnings, notes,
                         loss_curves=_loss_curves(measured_cells, names))


def _loss_curves(measured_cells, names) -> list[dict]:
    """The per-step loss of every `calib train` record (calib.train.record's "training")."""
    curves = []
    for row, index, cell in measured_cells:
        training = cell.record.training or {}
        if training.get("loss"):
            curves.append({"label": f"{cell.record.precision} ({names[index]})", "row": row.label,
                           "series": names[index], "loss": training["loss"], "final_loss": training.get("final_loss"),
                           "max_deviation": training.get("loss_max_deviation"), "baseline": training.get("baseline")})
    return curves
