"""What a report says, gathered once from stored results; the HTML and markdown writers only
lay it out. Reports read stored results and never re-run anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from calib.compare.align import Column, Row, align
from calib.compare.environment import against_first
from calib.compare.ratios import RatioEstimate, speedup_estimates
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
# The report's sections, one per kind of result: per-call inference latency and training step time are
# different quantities and never share an axis or a speed-up chart.
INFERENCE, TRAINING = "inference", "training"
# Records measured under a load scenario (calib run --scenario): their samples are latencies from arrival
# or time per item, never one call's time, so they get a section of their own (calib.report.scenarios)
SCENARIO = "scenario"


def record_kind(record: Record) -> str:
    from calib.scenarios.headline import scenario_name

    if record.is_training:
        return TRAINING
    return INFERENCE if scenario_name(record) == "single-stream" else SCENARIO


def record_warnings(record: Record) -> list[str]:
    """What qualifies this record's numbers: its own warnings, and other processes' CPU use while it ran."""
    lines = list(record.warnings)
    if record.busy and not any("other processes" in line for line in lines):
        lines.insert(0, f"busy: other processes used {record.other_cpu_percent:.0f}% of a core while this was timed")
    return lines


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
    kind: str = INFERENCE
    label: str = ""  # backend and precision: what a point or a box is called
    p90_ms: float | None = None
    p99_ms: float | None = None
    samples_ms: tuple[float, ...] = ()
    warnings: list[str] = field(default_factory=list)
    speedup_interval: RatioEstimate | None = None  # the bootstrap interval of speedup_vs_fp32 (not for fp32)


@dataclass
class LayerSection:
    title: str
    median_ms: float
    layers: list[dict]
    coverage: float | None


@dataclass
class LayerComparison:
    """One model's layers measured at several precisions (records with per-layer tables): median ms per
    layer and precision, fp32 first, the layers in fp32's (or the first precision's) order, slowest first."""

    title: str
    precisions: list[str]
    layers: list[str]
    median_ms: list[list[float | None]]  # per precision, per layer


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
    layer_comparisons: list[LayerComparison] = field(default_factory=list)
    # (row key, column index) -> the speed-up's bootstrap interval from both records' raw samples
    speedup_intervals: dict[tuple, RatioEstimate] = field(default_factory=dict)

    def speedup_interval(self, row: Row, column_index: int) -> RatioEstimate | None:
        return self.speedup_intervals.get((row.key, column_index))

    def rows_of(self, kind: str) -> list[Row]:
        return [row for row in self.rows if row_kind(row) == kind]

    def entries_of(self, kind: str) -> list[LatencyEntry]:
        return [entry for entry in self.latency if entry.kind == kind]

    def column_name(self, column: Column) -> str:
        return column.label.replace("\n", " · ")

    @property
    def accuracy_title(self) -> str:
        """What the accuracy chart and table call their metric (METRIC_TITLES)."""
        return metric_title(self.accuracy_metric or "metric")


def row_kind(row: Row) -> str:
    kinds = {record_kind(cell.record) for cell in row.cells.values()}
    return TRAINING if TRAINING in kinds else SCENARIO if SCENARIO in kinds else INFERENCE


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
    intervals = _speedup_intervals(columns, rows)
    latency, measured_cells, notes = [], [], []
    for row in rows:
        for index, cell in sorted(row.cells.items()):
            if cell.summary is None:
                notes.append(f"{row.label} on {names[index]}: {cell.record.status} ({cell.record.reason})")
                continue
            measured_cells.append((row, index, cell))
            record, summary = cell.record, cell.summary
            latency.append(LatencyEntry(row.label, names[index], record.precision, summary.median_ms,
                                        summary.ci95_low_ms, summary.ci95_high_ms, cell.speedup_vs_fp32, cell.verdict,
                                        kind=record_kind(record), label=_engine_label(record),
                                        p90_ms=summary.p90_ms, p99_ms=summary.p99_ms, samples_ms=record.samples_ms,
                                        warnings=record_warnings(record),
                                        speedup_interval=intervals.get((row.key, index))))

    layer_sections = []
    with_layers = [(row, index, cell) for row, index, cell in measured_cells if cell.record.has_layers]
    for row, index, cell in sorted(with_layers, key=lambda item: -item[2].summary.median_ms)[:SLOWEST_WITH_LAYERS]:
        table = cell.record.layers
        slowest = sorted(cell.record.layer_rows, key=lambda layer: -(layer.get("median_ms") or 0))[:LAYERS_SHOWN]
        layer_sections.append(LayerSection(f"{row.label} on {names[index]}", cell.summary.median_ms, slowest,
                                           table.get("coverage")))

    # Accuracy against per-call latency is an inference plot: a training file adds nothing to it, and
    # takes nothing from it.
    inference_cells = [item for item in measured_cells if record_kind(item[2].record) == INFERENCE]
    metric = _pick_metric([cell.record for _, _, cell in inference_cells])
    points = []
    if metric:
        for row, index, cell in inference_cells:
            value = fidelity_value(cell.record, metric)
            if value is not None:
                points.append({"label": _engine_label(cell.record), "series": names[index],
                               "row": row.label, "latency_ms": cell.summary.median_ms, "value": value})

    environments = [(f"{names[c.index]} {Path(c.path).name}", c.environment) for c in columns]
    warnings = [line for d in against_first(environments) for line in d.lines()]
    models = sorted({row.label.split()[0] for row in rows})
    return ReportContent(title or f"calib report: {', '.join(models)}", columns, rows, latency, layer_sections,
                         metric, points, environments, warnings, notes,
                         loss_curves=_loss_curves(measured_cells, names),
                         layer_comparisons=_layer_comparisons(measured_cells, names), speedup_intervals=intervals)


def _speedup_intervals(columns, rows) -> dict[tuple, RatioEstimate]:
    """Each speed-up's interval (calib.compare.ratios.speedup_estimates), per run and device: a ratio is
    shown with its interval, and one whose interval holds 1 is not called a speed-up or a slowdown."""
    intervals = {}
    for column in columns:
        cells = [(row.key, row.cells[column.index]) for row in rows if column.index in row.cells]
        estimates = speedup_estimates([cell.record for _, cell in cells])
        for position, estimate in estimates.items():
            intervals[(cells[position][0], column.index)] = estimate
    return intervals


def _engine_label(record: Record) -> str:
    """"torch bf16": the engine that ran and the precision (not a bare "fp32" beside another file's)."""
    return f"{record.identity.backend} {record.identity.precision_label}"


def _layer_comparisons(measured_cells, names) -> list[LayerComparison]:
    """Per model, engine, batch and run: fp32's layers against every other precision's, where at least two
    precisions have per-layer tables (calib.layers' rows share layer names across precisions)."""
    groups: dict[tuple, list] = {}
    for _, index, cell in measured_cells:
        if cell.record.has_layers:
            groups.setdefault((cell.record.identity.peer_key, index), []).append(cell.record)
    comparisons = []
    for (_, index), records in groups.items():
        if len(records) < 2:
            continue
        records.sort(key=lambda record: record.precision != "fp32")  # fp32 first, then the file's order
        times = [{layer.get("name"): layer.get("median_ms") for layer in record.layer_rows} for record in records]
        order = sorted(times[0], key=lambda name: -(times[0][name] or 0))
        order += [name for table in times[1:] for name in table if name not in order]
        order = order[:LAYERS_SHOWN]
        first = records[0].identity
        comparisons.append(LayerComparison(
            f"{first.model} {first.backend} b{first.batch_size} on {names[index]}",
            [record.identity.precision_label for record in records], order,
            [[table.get(name) for name in order] for table in times]))
    return comparisons


def _loss_curves(measured_cells, names) -> list[dict]:
    """The per-step loss of every `calib train` record (calib.train.record's "training")."""
    curves = []
    for row, index, cell in measured_cells:
        training = cell.record.training or {}
        if training.get("loss"):
            curves.append({"label": f"{_engine_label(cell.record)} ({names[index]})", "row": row.label,
                           "series": names[index], "loss": training["loss"], "final_loss": training.get("final_loss"),
                           "max_deviation": training.get("loss_max_deviation"), "baseline": training.get("baseline")})
    return curves
