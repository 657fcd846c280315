"""Each scenario's headline metric, and the key that keeps scenarios apart when records are aligned.

  single-stream: median latency per call (lower is better), calib's classic number;
  multi-stream:  p99 per query, MLPerf's early-stopping estimate (lower is better);
  server:        p99 from arrival at the target rate (lower is better); with --find-qps, the highest
                 rate that kept the bound (higher is better);
  offline:       items per second of the best point (higher is better).
Every headline but --find-qps's is recomputed from the record's raw samples (the truth); the samples
are lower-is-better times in every scenario (calib.scenarios.measure), so the gate's test on them is
the right one whichever way the headline points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calib.scenarios.settings import MULTI_STREAM, OFFLINE, SERVER, SINGLE_STREAM


@dataclass(frozen=True)
class Headline:
    metric: str  # "median latency", "p99 latency", "max qps", "throughput"
    value: float | None
    unit: str  # "ms", "qps", "items/s"
    higher_is_better: bool
    note: str = ""  # e.g. "early-stopping estimate"

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"

    def to_dict(self) -> dict:
        return {"metric": self.metric, "value": self.value, "unit": self.unit,
                "better": "higher" if self.higher_is_better else "lower", "note": self.note}


def scenario_name(record) -> str:
    """The record's scenario; records written before scenarios existed are single-stream."""
    section = _section(record)
    return (section or {}).get("name") or SINGLE_STREAM


def scenario_key(record) -> tuple:
    """The configuration's key, with the scenario (and a server's rate or search) when not single-stream:
    a server p99 and an offline throughput of one configuration are different measurements."""
    return (*_identity(record).key, *scenario_part(record))


def scenario_part(record) -> tuple:
    """What scenario_key adds to the configuration's key: () for single-stream (keys of records from before
    scenarios stay what they were), else the scenario and the settings that make its numbers differ."""
    name = scenario_name(record)
    if name == SINGLE_STREAM:
        return ()
    settings = (_section(record) or {}).get("settings") or {}
    if name == SERVER:
        rate = "find-qps" if settings.get("find_qps") else settings.get("target_qps")
        return (name, rate, settings.get("streams", 1))
    if name == MULTI_STREAM:
        return (name, settings.get("streams", 1))
    return (name,)


def scenario_label(record) -> str:
    """' (server 50 qps)', ' (offline)', '' for single-stream: appended to a configuration's label (round
    brackets: rich would read ' [offline]' as a style tag and drop it)."""
    name = scenario_name(record)
    if name == SINGLE_STREAM:
        return ""
    settings = (_section(record) or {}).get("settings") or {}
    if name == SERVER:
        what = "find-qps" if settings.get("find_qps") else f"{settings.get('target_qps'):g} qps"
        return f" (server {what})"
    if name == MULTI_STREAM:
        return f" (multi-stream x{settings.get('streams', 1)})"
    return f" ({name})"


def headline(record) -> Headline | None:
    """The record's headline, from its samples (None: nothing measured)."""
    from calib.results.record import as_record

    record = as_record(record)
    if not record.measured:
        return None
    return headline_of_section(_section(record) or {"name": SINGLE_STREAM}, record.samples_ms)


def headline_of_section(section: dict, samples) -> Headline:
    name = section.get("name") or SINGLE_STREAM
    values = np.asarray(samples, dtype=float)
    if name == OFFLINE:
        return Headline("throughput", 1000.0 / float(np.median(values)), "items/s", True,
                        _best_note(section))
    if name == SERVER and (section.get("settings") or {}).get("find_qps"):
        search = section.get("search") or {}
        return Headline("max qps", search.get("max_qps"), "qps", True,
                        f"p99 within {search.get('latency_bound_ms')} ms")
    if name in (SERVER, MULTI_STREAM):
        from calib.scenarios.early_stopping import estimate

        es = estimate(values, 99.0)
        if es.value is not None:
            return Headline("p99 latency", es.value, "ms", False, "early-stopping estimate")
        return Headline("p99 latency", float(np.percentile(values, 99)), "ms", False,
                        f"empirical ({es.queries} queries, < {es.min_queries} for the estimate)")
    return Headline("median latency", float(np.median(values)), "ms", False)


def _best_note(section: dict) -> str:
    best = section.get("best") or {}
    if not best:
        return ""
    return f"b{best.get('batch_size')} x{best.get('streams')} streams x{best.get('threads_per_stream')} threads"


def _section(record):
    if isinstance(record, dict):
        return record.get("scenario")
    return record.extra.get("scenario") if hasattr(record, "extra") else None


def _identity(record):
    from calib.configuration import Configuration

    return Configuration.of(record) if isinstance(record, dict) else record.identity


__all__ = ["Headline", "headline", "headline_of_section", "scenario_key", "scenario_label", "scenario_part", "scenario_name"]
