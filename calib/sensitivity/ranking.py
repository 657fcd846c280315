"""Which layers cost the accuracy: one layer at a time at the precision, everything else fp32.

Like Polygraphy's `debug precision` and NNCF's accuracy control, the layers are switched with the
backend's own quantizer (calib.settings.Int8Settings.quantize_only: torch FX/PT2E qconfig per module,
ONNX Runtime nodes_to_quantize, NNCF's ignored scope), so each evaluation is that backend's real
numerics, and it is scored by the sweep's fidelity pass (calib.sensitivity.score). Layers are ranked
by the score they cost (points below fp32), then by the output SQNR against fp32 (ONNX Runtime's
QDQ loss debugging compares the same tensors). Each row carries the layer's share of the fp32
per-layer latency table (calib.layers) and its time at the precision where the tables name it, so
the ranking says what keeping a layer float costs. For torch int8-static the static estimate of
`calib quant-error` (calib.quant.error_analysis: the layer's own rounding and clipping) is shown next
to the measured figure.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

from calib import fidelity, layers as layer_pass, lifecycle
from calib.errors import UsageError
from calib.sensitivity.names import Layer, layer_names
from calib.sensitivity.score import Evaluation, configuration_for, evaluate
from calib.settings import LayerSettings
from calib.timing.engine import TimingPlan, measure

INT8_PRECISIONS = ("int8-static", "int8-dynamic")
FLOAT_PRECISIONS = ("fp16", "bf16")


@dataclass(frozen=True)
class LayerSensitivity:
    layer: Layer
    evaluation: Evaluation  # this layer alone at the precision
    rank: int = 0  # 1: the most sensitive
    fp32_ms: float | None = None  # in the fp32 per-layer table
    fp32_share: float | None = None  # of the fp32 per-layer total
    precision_ms: float | None = None  # in the all-precision table, where it names the layer
    estimated_sqnr_db: float | None = None  # calib quant-error's static estimate (torch int8-static)

    def to_dict(self) -> dict:
        return {"rank": self.rank, "layer": self.layer.name, "kind": self.layer.kind,
                "module_path": self.layer.module_path, **self.evaluation.to_dict(), "fp32_ms": self.fp32_ms,
                "fp32_share": self.fp32_share, "precision_ms": self.precision_ms,
                "estimated_sqnr_db": self.estimated_sqnr_db}


@dataclass(frozen=True)
class Ranking:
    model: str
    backend: str
    precision: str
    reference: Evaluation  # fp32 on the backend
    full: Evaluation  # every layer at the precision
    layers: tuple[LayerSensitivity, ...]  # most sensitive first
    evaluations: int
    seconds: float
    latency_note: str = ""  # why a latency column is empty, if it is

    @property
    def order(self) -> list[str]:
        return [row.layer.name for row in self.layers]

    def to_dict(self) -> dict:
        return {"model": self.model, "backend": self.backend, "precision": self.precision,
                "method": f"one layer at {self.precision} at a time, the rest fp32; ranked by score drop, "
                          "then output SQNR vs fp32",
                "reference": self.reference.to_dict(), "all_layers": self.full.to_dict(),
                "layers": [row.to_dict() for row in self.layers], "evaluations": self.evaluations,
                "seconds": round(self.seconds, 3), "latency_note": self.latency_note}


def one_layer_config(run_config, name: str):
    """`run_config` with only `name` at its precision (int8: the backend's quantizer; fp16/bf16 on torch:
    calib.quant.cast)."""
    return replace(run_config, int8=replace(run_config.int8, quantize_only=(name,), keep_float=()))


def kept_float_config(run_config, names):
    """`run_config` with `names` kept float (fp32), every other layer at its precision."""
    return replace(run_config, int8=replace(run_config.int8, keep_float=tuple(names), quantize_only=()))


def fp32_config(run_config):
    return replace(run_config, precision="fp32", int8=replace(run_config.int8, keep_float=(), quantize_only=()))


def check_precision(backend: str, precision: str) -> None:
    if precision in INT8_PRECISIONS or (precision in FLOAT_PRECISIONS and backend == "torch"):
        return
    raise UsageError(f"per-layer sensitivity of {precision} on {backend}: calib switches int8-static and "
                     "int8-dynamic layers on torch, onnxruntime and openvino, and fp16/bf16 casts on torch")


def rank(model, backend: str, run_config, fidelity_settings, references=None, layers: list[Layer] | None = None,
         latency: bool = True, layer_settings=None, on_layer=None, on_phase=None) -> Ranking:
    """The per-layer pass. `references`: the fp32 reference cache (calib.fidelity.references(), filled
    by calib.sweep.prepare_sweep); `on_layer(index, total, layer)` reports progress, `on_phase(name)`
    the per-layer latency pass that follows the layers."""
    check_precision(backend, run_config.precision)
    started = time.perf_counter()
    references = references if references is not None else fidelity.references()
    layers = layers if layers is not None else layer_names(model, backend, run_config.precision,
                                                           run_config.batch_size)
    reference = evaluate(model, backend, fp32_config(run_config), fidelity_settings, references)
    full = evaluate(model, backend, kept_float_config(run_config, ()), fidelity_settings, references)
    rows = []
    for index, layer in enumerate(layers):
        if on_layer:
            on_layer(index, len(layers), layer)
        rows.append(LayerSensitivity(layer, evaluate(model, backend, one_layer_config(run_config, layer.name),
                                                     fidelity_settings, references)))
    rows.sort(key=_sensitivity_key)
    rows = [replace(row, rank=position) for position, row in enumerate(rows, 1)]
    note = ""
    if latency:
        if on_phase:
            on_phase("latency")
        rows, note = _with_latency(model, backend, run_config, rows, layer_settings)
    rows = _with_estimates(model, backend, run_config, rows)
    return Ranking(model.name, backend, run_config.precision, reference, full, tuple(rows), len(layers) + 2,
                   time.perf_counter() - started, note)


def _sensitivity_key(row: LayerSensitivity):
    drop = row.evaluation.drop
    sqnr = row.evaluation.sqnr_db
    broken = row.evaluation.passed is False and row.evaluation.fidelity.get("nan_count")
    return (not broken, -(drop if drop is not None and math.isfinite(drop) else 0.0),
            sqnr if sqnr is not None else math.inf)


def layer_tables(model, backend: str, run_config, settings=None) -> tuple[dict | None, dict | None, str]:
    """(fp32 per-layer table, all-precision per-layer table, why one is missing)."""
    tables, notes = [], []
    for config in (fp32_config(run_config), kept_float_config(run_config, ())):
        table, why = _layer_table(model, backend, config, settings)
        tables.append(table)
        if why:
            notes.append(f"{config.precision}: {why}")
    return tables[0], tables[1], "; ".join(notes)


def _layer_table(model, backend: str, run_config, settings):
    import torch

    settings = settings or LayerSettings(budget_s=1.0)
    configuration = configuration_for(model, backend, run_config)
    # first calls of a converted graph are slow; then a short end-to-end median, only for the table's coverage
    plan = TimingPlan.fixed(0.5, min_count=5, warmup_time_s=0.3, warmup_max_s=1.0)
    try:
        with lifecycle.prepare(model, configuration, run_config) as prepared:
            with torch.inference_mode():
                measurement = measure(prepared.run, lifecycle.timer_for(prepared), plan,
                                      batch_size=run_config.batch_size)
            end_to_end_ms = measurement.summary().median_ms
            if prepared.module is None and prepared.profile_layers is not None:
                table = prepared.profile_layers(end_to_end_ms, settings)
            else:
                table = layer_pass.profile(prepared, end_to_end_ms, settings)
    except Exception as exc:  # noqa: BLE001 - the ranking stands without its latency column
        from calib.errors import first_line

        return None, f"no per-layer table ({type(exc).__name__}: {first_line(exc, 120)})"
    if not table or not table.get("layers"):
        return None, f"no per-layer table ({(table or {}).get('reason') or 'nothing profiled'})"
    return table, ""


def _with_latency(model, backend, run_config, rows, settings):
    fp32_table, precision_table, note = layer_tables(model, backend, run_config, settings)
    updated = []
    for row in rows:
        fp32_row = find_row(fp32_table, row.layer)
        precision_row = find_row(precision_table, row.layer)
        updated.append(replace(row, fp32_ms=fp32_row and fp32_row.get("median_ms"),
                               fp32_share=fp32_row and fp32_row.get("share"),
                               precision_ms=precision_row and precision_row.get("median_ms")))
    if fp32_table and all(row.fp32_ms is None for row in updated):
        note = (note + "; " if note else "") + "the per-layer table names no ranked layer"
    return updated, note


def find_row(table: dict | None, layer: Layer) -> dict | None:
    """The per-layer table row of `layer`: by its name (or a node ONNX Runtime derived from it, such as
    /features/features.0/Conv_token_1 or "fused /first/Gemm"), else by its torch module path, else the fused row an activation
    right after it gave its name to (ONNX Runtime names a fused Conv+Relu after the Relu's output)."""
    if not table:
        return None
    rows = table.get("layers") or []
    for row in rows:
        name = str(row.get("name") or "")
        if name in (layer.name, f"fused {layer.name}") or name.startswith(f"{layer.name}_"):
            return row
    if not layer.module_path:
        return None
    for row in rows:
        if row.get("module_path") == layer.module_path:
            return row
    parent, _, index = layer.module_path.rpartition(".")
    if index.isdigit():
        following = f"{parent}.{int(index) + 1}" if parent else str(int(index) + 1)
        for row in rows:
            if row.get("module_path") == following and row.get("op_kind") in ("conv", "linear"):
                return row
    return None


def _with_estimates(model, backend, run_config, rows):
    """calib quant-error's per-layer SQNR estimate, for torch int8-static (its layers are torch modules)."""
    if backend != "torch" or run_config.precision != "int8-static" or model.module is None:
        return rows
    try:
        from calib.quant.calibration_data import calibration_inputs
        from calib.quant.engine import select_engine
        from calib.quant.error_analysis import analyse

        calibration = run_config.calibration
        batches = calibration_inputs(model, calibration, batch_size=min(8, calibration.items()))
        estimates = {row["layer"]: row["worst_sqnr_db"]
                     for row in analyse(model, calibration, select_engine(run_config.int8.engine).reduce_range,
                                        batches)}
    except Exception:  # noqa: BLE001 - the estimate is a side column; the measured ranking stands without it
        return rows
    return [replace(row, estimated_sqnr_db=estimates.get(row.layer.name)) for row in rows]
