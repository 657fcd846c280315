"""The typed results record: one frozen model of a stored configuration, read once and written once.

A record is born as a dict in `calib run` / the sweep (calib.lifecycle) and is stored as JSON
(calib.results.schema describes the layout). Everything that READS stored results (compare,
check, report, render, recommend, layers) takes a `Record` instead:

    result = read_result(path)                 # a ResultFile: the file's header and its Records
    record = Record.from_json(d)               # the one reader (schema 1; every optional part optional)
    d = record.to_json()                       # the one writer: the same JSON shape

Rules written once, here, instead of in every reader: `record.summary` (recomputed from the raw
samples, never read from the file), `ok`, `measured`, `has_layers`, `fidelity_failed`,
`verdict_status`, `short_label`, `peak_memory_bytes`, `requested_backend`, `candidate`, ...

Nothing written today is lost on a read -> write round trip: every section keeps the keys it does
not know in `extra`, and remembers the keys (and their order) it was read with in `layout`, so an
absent key stays absent and a null stays null. Sections whose content belongs to another part of
calib (layers: calib.layers.table; training; fallback: calib.sensitivity; timing settings) stay
mappings, wrapped by properties on Record. Readers must treat them as read-only.

Code that still holds dicts (calib run, the sweep, calib train, calib ab) passes them through
`as_records` / `as_result` at the boundary: every reader accepts either.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Iterable, Mapping

from calib.configuration import Configuration
from calib.environment import OtherCpuUse
from calib.errors import ResultFileError
from calib.timing.stats import Summary, summarize

_EMPTY: Mapping = {}


def _copy(value):
    return copy.deepcopy(value)


@dataclass(frozen=True)
class _Section:
    """A JSON object read into typed fields. Subclasses declare their typed fields; `extra` holds the
    keys they do not know, `layout` the keys the object was read with (None: built in code)."""

    extra: Mapping[str, Any] = field(default_factory=dict, kw_only=True, hash=False, compare=True, repr=False)
    layout: tuple[str, ...] | None = field(default=None, kw_only=True, compare=False, repr=False)

    # typed field name -> function from the JSON value (default: the value as it is)
    _READ: ClassVar[dict[str, Any]] = {}
    # typed field name -> function to the JSON value (default: the value as it is)
    _WRITE: ClassVar[dict[str, Any]] = {}
    # keys written even when unset (None) by an object built in code
    _ALWAYS: ClassVar[tuple[str, ...]] = ()

    _NOT_JSON: ClassVar[tuple[str, ...]] = ("extra", "layout")

    @classmethod
    def _known(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.name not in cls._NOT_JSON)

    @classmethod
    def _kwargs(cls, data: Mapping) -> dict:
        """Typed fields from `data` plus `extra` and `layout`."""
        known = cls._known()
        sequences = {f.name for f in fields(cls) if f.default == ()}
        kwargs = {}
        for name in known:
            if name in data:
                read = cls._READ.get(name)
                value = data[name]
                if value is None and name in sequences:  # a null list reads as empty (and is written as [])
                    kwargs[name] = ()
                else:
                    kwargs[name] = read(value) if read is not None and value is not None else _copy(value)
        kwargs["extra"] = {key: _copy(value) for key, value in data.items() if key not in known}
        kwargs["layout"] = tuple(data)
        return kwargs

    @classmethod
    def from_json(cls, data: Mapping | None):
        if data is None:
            return None
        if isinstance(data, cls):
            return data
        return cls(**cls._kwargs(data))

    def _values(self) -> dict:
        """Typed field name -> its JSON value."""
        values = {}
        for name in self._known():
            value = getattr(self, name)
            write = self._WRITE.get(name)
            values[name] = write(value) if write is not None and value is not None else _copy(value)
        return values

    def to_json(self) -> dict:
        values = self._values()
        out: dict = {}
        layout = self.layout
        if layout is not None:
            for key in layout:
                if key in values and (values[key] is not None or key not in self.extra):
                    out[key] = values[key]
                elif key in self.extra:
                    out[key] = _copy(self.extra[key])
        for key, value in values.items():
            if key not in out and ((key in self._ALWAYS and layout is None) or not _unset(value)):
                out[key] = value
        for key, value in self.extra.items():
            if key not in out:
                out[key] = _copy(value)
        return out

    def __bool__(self) -> bool:
        """As the JSON object's truth: an empty section (read from {}) is false."""
        if self.layout is not None:
            return bool(self.layout)
        return bool(self.extra) or any(not _unset(getattr(self, name)) for name in self._known())


class _ByName:
    """`get(name)` for sections with engine- or metric-specific keys (not on Record: a record is read
    through its typed fields, so a misspelt one fails loudly)."""

    def get(self, name: str, default=None):
        """A typed field or, for a key this class does not type, the stored value (JSON form)."""
        if name in self._known():
            value = getattr(self, name)
            return default if value is None else value
        return self.extra.get(name, default)


def _unset(value) -> bool:
    return value is None or (isinstance(value, (tuple, list, dict)) and not value)


@dataclass(frozen=True)
class Verdict(_ByName, _Section):
    """The hardware rule's verdict on a precision (calib.hardware.rules), with what a probe measured."""

    status: str | None = None  # native | emulated | unsupported
    evidence: str | None = None
    compute: str | None = None
    engine: str | None = None
    measured: Mapping | None = field(default=None, hash=False)
    measured_ratio: float | None = None
    measured_agrees: bool | None = None
    measured_note: str | None = None


@dataclass(frozen=True)
class Interleave(_ByName, _Section):
    """How `calib ab` measured a record (calib.interleave)."""

    session: str | None = None
    role: str | None = None
    order: Any = field(default=None, hash=False)
    round_time_s: float | None = None
    instances: int | None = None
    model: str | None = None
    min_rounds: int | None = None
    max_rounds: int | None = None
    stop: str | None = None  # "settled" | "max rounds"
    stop_rule: Mapping | None = field(default=None, hash=False)


@dataclass(frozen=True)
class Timing(_ByName, _Section):
    """The raw measurement: samples are the truth, statistics are derived (Record.summary)."""

    settings: Mapping | None = field(default=None, hash=False)  # warm-up and stop rule (calib.timing.engine)
    timer: str | None = None
    stop_reason: str | None = None
    samples_ms: tuple[float, ...] = ()
    warmup_ms: tuple[float, ...] = ()
    cold_ms: float | None = None
    page_faults_per_call: float | None = None  # the process's minor page faults per timed call (calib.timing.engine)
    rounds: tuple[int, ...] = ()  # `calib ab`: samples per round, in order
    interleave: Interleave | None = None

    _READ: ClassVar[dict] = {"samples_ms": tuple, "warmup_ms": tuple, "rounds": tuple,
                             "interleave": Interleave.from_json}
    _WRITE: ClassVar[dict] = {"samples_ms": list, "warmup_ms": list, "rounds": list,
                              "interleave": Interleave.to_json}

    @property
    def session(self) -> str | None:
        return self.interleave.session if self.interleave else None


@dataclass(frozen=True)
class Memory(_ByName, _Section):
    peak_rss_bytes: int | None = None
    cuda_max_allocated_bytes: int | None = None
    model_size_bytes: int | None = None
    train_peak_bytes: int | None = None  # calib train

    @property
    def peak_bytes(self) -> int | None:
        """What the run table shows: the CUDA allocator's peak on a GPU, else the process's peak RSS."""
        return self.cuda_max_allocated_bytes or self.peak_rss_bytes


@dataclass(frozen=True)
class Fidelity(_ByName, _Section):
    """Accuracy against the fp32 reference (calib.fidelity.assess; calib.train.record for training).
    The verdict fields (passed, judgement, max_drop, compact) are calib.fidelity.budget's."""

    passed: bool | None = None
    judgement: str | None = None
    compact: str | None = None
    max_drop: float | None = None
    reference: str | None = None
    is_reference: bool | None = None
    sample: str | None = None
    accuracy: float | None = None
    reference_accuracy: float | None = None
    accuracy_drop: float | None = None
    score: float | None = None
    score_drop: float | None = None
    top1_agreement: float | None = None
    top1_items: int | None = None
    cosine: float | None = None
    sqnr_db: float | None = None
    max_abs: float | None = None
    mean_abs: float | None = None
    rel_error: float | None = None
    nan_count: int | None = None
    inf_count: int | None = None
    metrics: Mapping | None = field(default=None, hash=False)

    def value(self, metric: str) -> float | None:
        """A number by name, from the fields or from "metrics" (what `calib report` plots)."""
        for source in (self.to_json(), self.metrics or _EMPTY):
            value = source.get(metric) if isinstance(source, Mapping) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
        return None


@dataclass(frozen=True)
class TuningCandidate(_ByName, _Section):
    """One implementation raced by calib.tuning."""

    name: str | None = None
    median_ms: float | None = None
    rounds: int | None = None
    cosine_vs_fp32: float | None = None
    finite: bool | None = None
    failed: str | None = None
    backend: str | None = None
    computed: str | None = None
    score: float | None = None  # the user's --eval score (candidates judged by it)
    score_drop: float | None = None  # points under the fp32 score
    unscored: str | None = None  # why a candidate has no score although --eval was given


@dataclass(frozen=True)
class Tuning(_ByName, _Section):
    """What calib.tuning measured: every candidate, the pick and why (the why names it)."""

    picked: str | None = None
    why: str | None = None
    rule_first: str | None = None
    budget_s: float | None = None
    candidates: tuple[TuningCandidate, ...] = ()
    engine: str | None = None
    engines: tuple[str, ...] = ()
    engines_not_usable: Mapping | None = field(default=None, hash=False)

    _READ: ClassVar[dict] = {"candidates": lambda items: tuple(TuningCandidate.from_json(c) for c in items),
                             "engines": tuple}
    _WRITE: ClassVar[dict] = {"candidates": lambda items: [c.to_json() for c in items], "engines": list}


@dataclass(frozen=True)
class BackendChoice(_ByName, _Section):
    """--backend auto: what was requested, the engine picked and why (calib.backends.auto, calib.tuning)."""

    requested: str | None = None
    picked: str | None = None
    why: str | None = None
    measured: bool | None = None
    rule_pick: str | None = None
    rule_why: str | None = None


@dataclass(frozen=True)
class BackendInfo(_ByName, _Section):
    """What the backend did. The fields readers use are typed; engine-specific ones (ORT providers,
    calibration, compile time, ...) are in `extra`."""

    candidate: str | None = None  # the implementation calib.tuning kept
    engine: str | None = None
    path: str | None = None
    quantized_layers: int | None = None
    float_layers: int | None = None
    backend_choice: Mapping | None = field(default=None, hash=False)


# The record's top-level keys in the order calib writes them, and those written even when unset
# (calib.lifecycle.new_record's).
_RECORD_ALWAYS = ("identity", "status", "reason", "verdict", "warnings", "layers", "fidelity")


@dataclass(frozen=True)
class Record(_Section):
    """One configuration of a results file (calib.results.schema)."""

    identity: Configuration
    status: str | None = None  # ok | skipped | failed
    reason: str | None = None
    storage_dtype: str | None = None
    compute_dtype: str | None = None
    verdict: Verdict | None = None
    model_weights: str | None = None  # random | trained | user
    timing: Timing | None = None
    conversion_s: float | None = None
    memory: Memory | None = None
    backend_info: BackendInfo | None = None
    warnings: tuple[str, ...] = ()
    layers: Mapping | None = field(default=None, hash=False)  # calib.layers.table's table, or why there is none
    fidelity: Fidelity | None = None
    tuning: Tuning | None = None
    backend_choice: BackendChoice | None = None
    other_cpu_percent: float | None = None
    fallback: Mapping | None = field(default=None, hash=False)  # calib.sensitivity.fallback's FallbackResult
    training: Mapping | None = field(default=None, hash=False)  # calib.train.record's "training"
    traceback: str | None = None
    # The stored "summary" is derived, never read (`summary` recomputes it); kept only so that a record
    # without samples writes back what its file held.
    stored_summary: Mapping | None = field(default=None, hash=False, compare=False, repr=False)

    _READ: ClassVar[dict] = {
        "identity": Configuration.from_identity, "verdict": Verdict.from_json, "timing": Timing.from_json,
        "memory": Memory.from_json, "backend_info": BackendInfo.from_json, "warnings": tuple,
        "fidelity": Fidelity.from_json, "tuning": Tuning.from_json, "backend_choice": BackendChoice.from_json}
    _WRITE: ClassVar[dict] = {
        "identity": Configuration.to_identity, "verdict": Verdict.to_json, "timing": Timing.to_json,
        "memory": Memory.to_json, "backend_info": BackendInfo.to_json, "warnings": list,
        "fidelity": Fidelity.to_json, "tuning": Tuning.to_json, "backend_choice": BackendChoice.to_json}
    _ALWAYS: ClassVar[tuple[str, ...]] = _RECORD_ALWAYS

    _NOT_JSON: ClassVar[tuple[str, ...]] = ("extra", "layout", "stored_summary")

    @classmethod
    def from_json(cls, data: Mapping | "Record") -> "Record":
        """The one reader: a record as stored (schema 1; every optional field optional)."""
        if isinstance(data, Record):
            return data
        kwargs = cls._kwargs(data)
        kwargs["stored_summary"] = kwargs["extra"].pop("summary", None)
        return cls(**kwargs)

    def _values(self) -> dict:
        """The typed fields' JSON, with "summary" recomputed from the samples after "timing" (where the
        record was read without one, as a hand-built record may be, it stays without)."""
        values = {}
        for name, value in super()._values().items():
            values[name] = value
            if name == "timing" and (self.layout is None or "summary" in self.layout):
                values["summary"] = self._summary_json()
        return values

    def _summary_json(self) -> dict | None:
        samples = self.timing.samples_ms if self.timing else ()
        if samples:
            return summarize(samples, self.identity.batch_size).to_dict()
        return _copy(self.stored_summary)

    # ---- the rules readers share ----

    @cached_property
    def summary(self) -> Summary | None:
        """Statistics recomputed from the raw samples (the truth), or None when nothing ran."""
        samples = self.timing.samples_ms if self.timing else ()
        if self.status != "ok" or not samples:
            return None
        return summarize(samples, self.identity.batch_size)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def measured(self) -> bool:
        """Ran and has samples: what every table times."""
        return self.summary is not None

    @property
    def samples_ms(self) -> tuple[float, ...]:
        return self.timing.samples_ms if self.timing else ()

    @property
    def key(self) -> tuple:
        """Hashable; equal for the same configuration in two results files."""
        return self.identity.key

    @property
    def label(self) -> str:
        return self.identity.label

    @property
    def short_label(self) -> str:
        return self.identity.short_label

    @property
    def precision(self) -> str:
        return self.identity.precision

    @property
    def verdict_status(self) -> str | None:
        return self.verdict.status if self.verdict else None

    @property
    def has_layers(self) -> bool:
        """A per-layer table with rows (not only the reason there is none)."""
        return bool(self.layer_rows)

    @property
    def layer_rows(self) -> list:
        return (self.layers or _EMPTY).get("layers") or []

    @property
    def fidelity_failed(self) -> bool:
        """The outputs failed their --max-drop budget or hold NaN/Inf."""
        return self.fidelity is not None and self.fidelity.passed is False

    @property
    def fidelity_compact(self) -> str | None:
        return self.fidelity.compact if self.fidelity else None

    @property
    def candidate(self) -> str | None:
        """The implementation calib.tuning kept (backend_info["candidate"])."""
        return self.backend_info.candidate if self.backend_info else None

    @property
    def requested_backend(self) -> str | None:
        """"auto" under --backend auto (the identity then names the engine that ran)."""
        return self.backend_choice.requested if self.backend_choice else None

    @property
    def peak_memory_bytes(self) -> int | None:
        return self.memory.peak_bytes if self.memory else None

    @property
    def kept_float(self) -> list | None:
        """A mixed configuration's layers kept in float (calib.sensitivity's fallback)."""
        return (self.fallback or _EMPTY).get("kept_float")

    @property
    def busy(self) -> bool:
        """Other processes took enough CPU while this was timed (calib.environment.OtherCpuUse) that its
        numbers carry no conclusion: tables mark them, native* is not claimed from them."""
        return OtherCpuUse.busy(self.other_cpu_percent)

    @property
    def is_training(self) -> bool:
        return self.training is not None

    @property
    def interleave(self) -> Interleave | None:
        return self.timing.interleave if self.timing else None

    @property
    def unmeasured_reason(self) -> str:
        """'skipped: why' / 'failed: why'."""
        return f"{self.status}: {self.reason}"


# ---- a results file ----

_FILE_KEYS = ("schema_version", "calib_version", "created", "command", "complete", "environment", "device_report",
              "records")


@dataclass(frozen=True)
class ResultFile(_Section):
    """One results file: its header and its records (calib.results.schema)."""

    schema_version: int | None = None
    calib_version: str | None = None
    created: str | None = None
    command: tuple[str, ...] = ()
    complete: bool | None = None  # None: written before calib recorded it (see calib.results.store)
    environment: Mapping = field(default_factory=dict, hash=False)
    device_report: Mapping | None = field(default=None, hash=False)
    records: tuple[Record, ...] = ()
    path: str | None = field(default=None, compare=False)

    _READ: ClassVar[dict] = {"command": tuple, "records": lambda items: tuple(Record.from_json(r) for r in items)}
    _WRITE: ClassVar[dict] = {"command": list, "records": lambda items: [r.to_json() for r in items]}
    _ALWAYS: ClassVar[tuple[str, ...]] = _FILE_KEYS
    _NOT_JSON: ClassVar[tuple[str, ...]] = ("extra", "layout", "path")

    @classmethod
    def from_json(cls, data: Mapping | "ResultFile", path: str | Path | None = None) -> "ResultFile":
        """A loaded results file (as calib.results.store.load_result gives it, "_path" included)."""
        if isinstance(data, ResultFile):
            return data
        data = dict(data)
        found = data.pop("_path", None)
        complete = data.get("complete")
        kwargs = cls._kwargs(data)
        if "complete" in kwargs and not isinstance(complete, bool):  # not a flag calib wrote: unknown
            kwargs["extra"]["complete"] = kwargs.pop("complete")
        kwargs["environment"] = kwargs.get("environment") or {}
        kwargs["path"] = str(path if path is not None else found) if (path or found) else None
        return cls(**kwargs)


    @property
    def name(self) -> str:
        return Path(self.path).name if self.path else "?"

    @property
    def is_training(self) -> bool:
        """A `calib train` file (calib.render.train_table)."""
        return any(record.is_training for record in self.records)


def read_result(path: str | Path) -> ResultFile:
    """A results file as typed records; a missing, unreadable, foreign or malformed file is a one-line
    ResultFileError (exit 2): the file checks are calib.results.store.load_result's, the content is
    checked against these types (check_layout) before any reader sees it."""
    from calib.results.store import load_result

    loaded = load_result(path)
    check_layout(loaded, path)
    try:
        return ResultFile.from_json(loaded)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ResultFileError(f"{path}: not a calib results file (a record cannot be read: "
                              f"{type(exc).__name__}: {exc})") from None


# ---- the layout check: a file's JSON against the types above ----

STATUSES = ("ok", "skipped", "failed")


def check_layout(payload: Mapping, path: str | Path) -> None:
    """Every typed field of the file and of each record holds what its type says (a number where a number
    is read, an object where a section is, ...), each record is an object with a full identity and a known
    status, and an "ok" record has its samples: a ResultFileError naming the first that does not, so that
    no table, gate or report meets a null record or a string of samples."""
    if not isinstance(payload, Mapping):
        raise ResultFileError(f"{path}: not a calib results file ({_kind(payload)}, not an object)")
    records = payload.get("records")
    if not isinstance(records, list):
        raise ResultFileError(f"{path}: not a calib results file ('records' is {_kind(records)}, not a list)")
    try:
        _check_fields(ResultFile, payload, "", skip=("records", "complete"))
        for index, record in enumerate(records, start=1):
            _check_record(record, f"record {index}")
    except _Malformed as exc:
        raise ResultFileError(f"{path}: not a readable calib results file: {exc}") from None


class _Malformed(Exception):
    pass


def _check_record(record, where: str) -> None:
    if not isinstance(record, Mapping):
        raise _Malformed(f"{where} is {_kind(record)}, not an object")
    identity = record.get("identity")
    if not isinstance(identity, Mapping):
        raise _Malformed(f"{where}: 'identity' is {_kind(identity)}, not an object")
    for name in ("model", "backend", "precision", "device"):
        if not isinstance(identity.get(name), str):
            raise _Malformed(f"{where}: identity.{name} is {_kind(identity.get(name))}, not a string")
    batch = identity.get("batch_size")
    if not (isinstance(batch, int) and not isinstance(batch, bool) and batch > 0):
        raise _Malformed(f"{where}: identity.batch_size is {_kind(batch)}, not a positive integer")
    shape = identity.get("input_shape")
    if not (isinstance(shape, list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                            for d in shape)):
        raise _Malformed(f"{where}: identity.input_shape is {_kind(shape)}, not a list of sizes")
    if record.get("status") not in STATUSES:
        raise _Malformed(f"{where}: status is {_kind(record.get('status'))}, not one of {', '.join(STATUSES)}")
    _check_fields(Record, record, f"{where}:", skip=("identity",))
    samples = (record.get("timing") or {}).get("samples_ms")
    if record["status"] == "ok" and not samples:
        raise _Malformed(f"{where} ({identity['model']} {identity['precision']}) is 'ok' but holds no timing "
                         "samples")
    if any(not (math.isfinite(ms) and ms >= 0) for ms in samples or ()):
        raise _Malformed(f"{where}: timing.samples_ms holds a time that is negative, NaN or infinite")


def _check_fields(section: type, data: Mapping, where: str, skip: tuple = ()) -> None:
    if not isinstance(data, Mapping):
        raise _Malformed(f"{where} is {_kind(data)}, not an object")
    hints = _hints(section)
    for name in section._known():
        if name in skip or data.get(name) is None:
            continue
        _check_value(hints[name], data[name], f"{where} {name}" if where.endswith(":") else
                     f"{where}.{name}" if where else name)


def _check_value(hint, value, where: str) -> None:
    import collections.abc
    import types
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        hint = next(arg for arg in args if arg is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return
    if isinstance(hint, type) and issubclass(hint, _Section):
        _check_fields(hint, value, where)
    elif hint is bool:
        if not isinstance(value, bool):
            raise _Malformed(f"{where} is {_kind(value)}, not true or false")
    elif hint in (int, float):  # NaN and Infinity included: a fidelity metric of NaN outputs is NaN
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Malformed(f"{where} is {_kind(value)}, not a number")
    elif hint is str:
        if not isinstance(value, str):
            raise _Malformed(f"{where} is {_kind(value)}, not a string")
    elif origin is tuple:
        if not isinstance(value, list):
            raise _Malformed(f"{where} is {_kind(value)}, not a list")
        for index, item in enumerate(value):
            _check_value(args[0], item, f"{where}[{index}]")
    elif hint is Mapping or origin is collections.abc.Mapping:
        if not isinstance(value, Mapping):
            raise _Malformed(f"{where} is {_kind(value)}, not an object")


_HINTS: dict = {}


def _hints(section: type) -> dict:
    if section not in _HINTS:
        import typing

        _HINTS[section] = typing.get_type_hints(section)
    return _HINTS[section]


def _kind(value) -> str:
    """A JSON value in a few words: 'null', 'a string ('x')', 'a list'."""
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}
    text = repr(value)
    shown = f" ({text[:40]}{'...' if len(text) > 40 else ''})" if isinstance(value, (str, bool, int, float)) else ""
    return names.get(type(value), type(value).__name__) + shown


def as_records(records: Iterable[Record | Mapping]) -> list[Record]:
    """Records from code that still holds dicts (calib run, the sweep, calib train, calib ab)."""
    return [Record.from_json(record) for record in records]


def as_record(record: Record | Mapping) -> Record:
    return Record.from_json(record)


def as_result(result: ResultFile | Mapping) -> ResultFile:
    """A ResultFile from a loaded dict (load_result's, "_path" included) or a ResultFile."""
    return ResultFile.from_json(result)


__all__ = ["Record", "ResultFile", "Timing", "Interleave", "Memory", "Verdict", "Fidelity", "Tuning",
           "TuningCandidate", "BackendChoice", "BackendInfo", "read_result", "check_layout", "as_records", "as_record", "as_result"]
