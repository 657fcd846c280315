"""`calib recommend`: per device and model, the fastest configuration whose fidelity fits the budget.

Reads stored results only (never re-runs anything). Speed is the median from the raw samples
(calib.results.record.Record.summary), per item by default (median ms / batch size: what a
throughput-bound deployment pays) or per call (`by="call"`: what a latency-bound one waits).
Mixed configurations (variant "mixed": int8 with its most sensitive layers kept fp32 by
`calib run --fallback`, calib.sensitivity) are candidates like any other.
A configuration is a candidate when it ran, runs natively on its hardware (not emulated or
unsupported: calib.hardware verdict) and its fidelity passes `max_drop` (calib.fidelity.budget;
fp32 is the reference and always passes unless it produced NaN/Inf).
Pure Python: no torch import.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from calib.fidelity import budget
from calib.results.record import Record, ResultFile, as_result

DEFAULT_MAX_DROP = 1.0
RUNNERS_UP = 2


@dataclass
class Option:
    """One configuration's place in the ranking."""

    record: Record
    source: str  # the results file it came from
    cost_ms: float | None  # median ms per item or per call; None when nothing ran
    ci_ms: tuple[float, float] | None  # 95% CI of cost_ms
    decision: str  # "best" | "runner-up" | "too slow" | "emulated" | "failed accuracy" | "not checked" | status
    why: str = ""

    def __post_init__(self):
        self.record = Record.from_json(self.record)  # a stored dict is read once, here


@dataclass
class Choice:
    device: str  # label of the machine and device
    model: str
    max_drop: float
    by: str
    options: list[Option] = field(default_factory=list)  # best first, then the rest by cost

    @property
    def best(self) -> Option | None:
        return self.options[0] if self.options and self.options[0].decision == "best" else None


def device_label(result: ResultFile | dict, record: Record | dict) -> str:
    env = as_result(result).environment
    device = Record.from_json(record).identity.device or "?"
    name = env.get("gpu_name") if str(device).startswith("cuda") else env.get("cpu_model")
    return f"{device} ({name or 'unknown'}) on {env.get('host') or 'unknown host'}"


def recommend(results: list[ResultFile | dict], max_drop: float | None = None, by: str = "item") -> list[Choice]:
    """One Choice per (device, model) across all `results` (calib.results.record.read_result's, or the
    dicts calib.results.store.load_result gives)."""
    if by not in ("item", "call"):
        raise ValueError(f"by must be 'item' or 'call', not {by!r}")
    groups: dict[tuple[str, str], list[tuple[Record, str]]] = {}
    for result in map(as_result, results):
        for record in result.records:
            key = (device_label(result, record), record.identity.model)
            groups.setdefault(key, []).append((record, result.path or "?"))
    return [_choose(device, model, entries, max_drop, by) for (device, model), entries in groups.items()]


def _effective_budget(entries, max_drop):
    if max_drop is not None:
        return max_drop
    stored = [r.fidelity.max_drop for r, _ in entries if r.fidelity]
    stored = [value for value in stored if value is not None]
    return min(stored) if stored else DEFAULT_MAX_DROP


def _choose(device: str, model: str, entries, max_drop, by: str) -> Choice:
    limit = _effective_budget(entries, max_drop)
    choice = Choice(device=device, model=model, max_drop=limit, by=by)
    candidates, excluded = [], []
    for record, source in entries:
        option = _option(record, source, by)
        if not record.ok or option.cost_ms is None:
            option.decision, option.why = record.status or "failed", record.reason or "did not run"
        elif record.verdict_status in ("emulated", "unsupported"):
            option.decision, option.why = record.verdict.status, record.verdict.evidence or ""
        else:
            passed, why = _fidelity_verdict(record, limit)
            if passed:
                candidates.append(option)
                option.why = why + _mixed_note(record)
                continue
            option.decision = "failed accuracy" if passed is False else "not checked"
            option.why = why
        excluded.append(option)
    candidates.sort(key=lambda o: o.cost_ms)
    if candidates:
        best = candidates[0]
        best.decision = "best"
        for rank, option in enumerate(candidates[1:]):
            option.decision = "runner-up" if rank < RUNNERS_UP else "too slow"
            option.why = f"{_slower(option, best)}; {option.why}"
        for option in excluded:
            if option.cost_ms is not None:
                option.why = f"{option.why} ({option.cost_ms / best.cost_ms:.2f}x the best's time)"
    excluded.sort(key=lambda o: (o.cost_ms is None, o.cost_ms or 0.0))
    choice.options = candidates + excluded
    return choice


def _option(record: Record, source: str, by: str) -> Option:
    summary = record.summary
    if summary is None:
        return Option(record, source, None, None, "")
    per = record.identity.batch_size if by == "item" else 1
    return Option(record, source, summary.median_ms / per, (summary.ci95_low_ms / per, summary.ci95_high_ms / per), "")


def _fidelity_verdict(record: Record, limit: float) -> tuple[bool | None, str]:
    fidelity = record.fidelity
    if not fidelity and record.precision == "fp32":
        return True, "fp32 reference (fidelity not recorded)"
    passed, why = budget.judge(fidelity.to_json() if fidelity else None, limit)
    return passed, why


def _mixed_note(record: Record) -> str:
    """A mixed configuration (calib.sensitivity's fallback) says what it kept float."""
    kept = record.kept_float
    if not record.identity.variant or not kept:
        return ""
    return f"; {len(kept)} of {record.fallback.get('layers')} layers kept fp32"


def _slower(option: Option, best: Option) -> str:
    ratio = option.cost_ms / best.cost_ms
    overlap = option.ci_ms and best.ci_ms and option.ci_ms[0] <= best.ci_ms[1]
    return f"{ratio:.2f}x slower" + (" (within noise: 95% CIs overlap)" if overlap else "")


def as_dict(choice: Choice) -> dict:
    """JSON form for `calib recommend --json`."""
    def one(option: Option) -> dict:
        ident = option.record.identity
        return {"backend": ident.backend, "precision": ident.precision, "variant": ident.variant,
                "keep_float": option.record.kept_float, "batch_size": ident.batch_size,
                "cost_ms": option.cost_ms, "decision": option.decision, "why": option.why,
                "fidelity": option.record.fidelity_compact, "source": option.source}

    return {"device": choice.device, "model": choice.model, "max_drop": choice.max_drop, "by": choice.by,
            "best": one(choice.best) if choice.best else None, "options": [one(o) for o in choice.options]}
