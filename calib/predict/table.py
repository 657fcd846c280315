"""The calibration table file: one versioned calib results file (calib.results.store) whose records are
the real models measured for it (run records with their per-layer tables, as `calib run --layers`
writes them) and whose "calibration" section holds the isolated op sweep of each precision:

  "calibration": {"table_version": 1, "device": "cpu", "device_name": "<cpu model or GPU name>",
                  "backend": "torch", "threads": N, "elapsed_s": ...,
                  "tables": {precision: {"precision", "emulated": bool, "verdict": {...}, "sweep": "full",
                                         "ops": [per-layer rows with "median_ms", "source", "op_spec"],
                                         "op_count", "skipped": [...], "sweep_s", "models_s",
                                         "other_cpu_percent": what other processes took during the op sweep}}}

An engine's table ("backend": "openvino" / "onnxruntime", calib.predict.engine_calibrate) holds per precision
  {"ops": [] or another device's kernels scaled to this one (calib.predict.transfer), "kernel_samples",
   "model_records", "selection": [{"model", "score", "at_s"}] (the adaptive order), "left_out": [...],
   "graphs_s", "models_s", "elapsed_s", "transfer": {...} with --from}
and its records are the calibration models, each with its kernel rows (with "cost_keys") in "layers".
Either kind's precision may hold "speed_pulses_ms": the speed pulses taken before each calibration model and at
the end (calib.predict.pulse), whose median `calib predict --pulse` compares with the machine's pulse then.

Table version history: 1: first version ("other_cpu_percent", engine backends with their fields above,
added since: optional, older tables lack them and are torch tables).
A table describes one device (its id and name), one engine ("backend": torch, openvino, onnxruntime:
calib.predict.engines) and the precisions it holds; `load_view` refuses (exit 2, one line) a request for
any other. An engine's table has no "ops": its samples are its records' kernel rows
(calib.predict.engine_calibrate).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from calib.errors import UsageError
from calib.predict.cost_model import ModelSample, Sample, fit_predictor
from calib.results.store import load_result

TABLE_VERSION = 1
SUPPORTED_TABLE_VERSIONS = (1,)


class TableMismatch(UsageError):
    """A table asked to predict for a device or precision it does not describe."""


def device_name(environment: dict, device: str) -> str | None:
    if str(device).startswith("cuda"):
        return environment.get("gpu_name")
    return environment.get("cpu_model")


@dataclass(frozen=True)
class TableView:
    """One precision of one table file, ready for calib.predict.cost_model."""
    path: str
    precision: str
    device: str
    device_name: str | None
    threads: int
    emulated: bool
    verdict: dict | None
    ops: list[dict]
    models: list  # calib.predict.cost_model.ModelSample
    environment: dict
    clock: str = "wall"  # calib.predict.clock
    backend: str = "torch"  # the engine the table describes (calib.predict.engines)
    pulses: tuple = ()  # the speed pulses (ms) taken during calibration (calib.predict.pulse)
    # |log(process / model median)| of every model's fresh-process visits (calib.predict.calibrate.revisit)
    drift: tuple = ()

    @property
    def description(self) -> str:
        kind = "emulated " if self.emulated else ""
        clock = ", thread CPU time" if self.clock == "cpu" else ""
        engine = "" if self.backend == "torch" else f"{self.backend} "
        return (f"{engine}{kind}{self.precision} on {self.device} ({self.device_name or 'unknown device'}), "
                f"{self.threads} threads{clock}")


def load_view(path: str, precision: str, device: str | None = None, backend: str | None = None) -> TableView:
    payload = load_result(path)
    section = payload.get("calibration")
    if not isinstance(section, dict) or "tables" not in section:
        raise UsageError(f"{path}: a calib results file, but not a calibration table (write one with "
                         "`calib calibrate`)")
    if section.get("table_version") not in SUPPORTED_TABLE_VERSIONS:
        raise UsageError(f"{path}: calibration table version {section.get('table_version')!r} is not one this "
                         f"calib reads {SUPPORTED_TABLE_VERSIONS}")
    environment = payload.get("environment") or {}
    table_device, name = section.get("device"), section.get("device_name")
    if device is not None and device != table_device:
        raise TableMismatch(f"{path}: the table describes {table_device} ({name}), not {device}; "
                            f"calibrate {device} with `calib calibrate --device {device}`")
    engine = section.get("backend") or "torch"
    if backend is not None and backend != engine:
        raise TableMismatch(f"{path}: the table describes the {engine} engine, not {backend}; its kernels and "
                            f"timings are {engine}'s; calibrate {backend} with `calib calibrate --backend {backend}`")
    tables = section["tables"]
    if precision not in tables:
        raise TableMismatch(f"{path}: the table describes {', '.join(tables) or 'no precision'} on {table_device}, "
                            f"not {precision}; add it with `calib calibrate --precision {precision}`")
    table = tables[precision]
    models, drift = [], []
    for record in payload.get("records") or []:
        identity = record.get("identity") or {}
        layers = record.get("layers") or {}
        if (identity.get("precision") != precision or (identity.get("backend") or "torch") != engine
                or record.get("status") != "ok" or not layers.get("layers")
                or not (record.get("summary") or {}).get("median_ms")):
            continue
        # the end-to-end median taken between the per-layer passes (same minutes as the rows) when there is
        # one: on a shared machine the load of the sweep's own timing minutes can differ by 2x
        end_to_end = layers.get("interleaved_end_to_end_ms") or record["summary"]["median_ms"]
        rows = tuple(layers["layers"])
        visits = [float(ms) for ms in record.get("revisits_ms") or () if ms]
        if visits:  # timed again in fresh processes (calib.predict.calibrate.revisit): the median process, the
            # rows scaled with it
            median = statistics.median([float(end_to_end), *visits])
            drift += [abs(math.log(ms / median)) for ms in (float(end_to_end), *visits) if ms > 0 and median > 0]
            rows = tuple({**row, "median_ms": row["median_ms"] * median / end_to_end} if row.get("median_ms")
                         else row for row in rows)
            end_to_end = median
        models.append(ModelSample(identity["model"], int(identity.get("batch_size") or 1), float(end_to_end), rows))
    return TableView(path=str(path), precision=precision, device=table_device, device_name=name,
                     threads=int(section.get("threads") or environment.get("threads") or 1),
                     emulated=bool(table.get("emulated")), verdict=table.get("verdict"),
                     ops=list(table.get("ops") or []),
                     models=models, environment=environment, clock=section.get("clock") or "wall", backend=engine,
                     pulses=tuple(table.get("speed_pulses_ms") or ()), drift=tuple(drift))


def predictor_of(view: TableView):
    isolated = [Sample.of(row, "isolated") for row in view.ops if row.get("median_ms")]
    return fit_predictor(isolated, view.models, drift=view.drift)
