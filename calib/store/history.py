"""The history of each configuration on each kind of device: its series of per-run medians from the
store, oldest first, with the change points in it (calib.store.changepoints) placed in time and commit.

A series is one configuration (calib.store.identity.config_key: model, backend, precision, batch size,
input shape, device, variant) on one device class; its points are the ok records of every run that
measured it. `calib history` prints them, `calib report --store` draws them."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from calib.store.changepoints import DEFAULT_MAX_PVALUE, ChangePoint, find_change_points

IDENTITY_KEYS = ("model", "backend", "precision", "batch_size", "input_shape", "device", "variant")


@dataclass(frozen=True)
class Point:
    created: _dt.datetime  # aware UTC: when the run was made
    commit: str | None
    branch: str | None
    median_ms: float | None
    ci_low_ms: float | None
    ci_high_ms: float | None
    run_key: str


@dataclass
class SeriesChangePoint(ChangePoint):
    """A change point placed in the series: when, and at which commit, the new level was first measured."""

    created: _dt.datetime
    commit: str | None


@dataclass
class Series:
    identity: dict  # IDENTITY_KEYS -> value (None where the record had none)
    device_class: str
    config_key: str
    points: list[Point] = field(default_factory=list)
    change_points: list[SeriesChangePoint] = field(default_factory=list)
    scenario: str = ""  # calib.scenarios.headline.scenario_label: "" single-stream, " (server 50 qps)" ...

    @property
    def label(self) -> str:
        """model · backend · precision · b<batch>, plus the input shape and variant where they tell series apart."""
        parts = [self.identity.get("model"), self.identity.get("backend"), self.identity.get("precision")]
        if self.identity.get("batch_size") is not None:
            parts.append(f"b{self.identity['batch_size']}")
        parts += [self.identity.get(key) for key in ("input_shape", "variant")]
        return " · ".join(str(part) for part in parts if part is not None) + self.scenario

    def to_json(self) -> dict:
        return {
            "identity": dict(self.identity),
            "device_class": self.device_class,
            "scenario": self.scenario.strip(" ()") or "single-stream",
            "points": [{"created": _iso(point.created), "commit": point.commit, "median_ms": point.median_ms,
                        "ci_low_ms": point.ci_low_ms, "ci_high_ms": point.ci_high_ms} for point in self.points],
            "change_points": [{"index": change.index, "created": _iso(change.created), "commit": change.commit,
                               "ratio": change.ratio, "p_value": change.p_value, "before_ms": change.before_ms,
                               "after_ms": change.after_ms} for change in self.change_points],
        }


def build_series(store, *, model: str | None = None, precision: str | None = None,
                 device_class: str | None = None, backend: str | None = None, branch: str | None = None,
                 config_key: str | None = None, max_pvalue: float = DEFAULT_MAX_PVALUE,
                 min_magnitude: float = 0.0) -> list[Series]:
    """Every series the filters select (ok records only), ordered by label then device class; each with
    its change points (find_change_points on the per-run medians, max_pvalue and min_magnitude passed on)."""
    rows = store.select_records(model=model, precision=precision, device_class=device_class, backend=backend,
                                branch=branch, config_key=config_key, status="ok")
    grouped: dict[tuple[str, str], Series] = {}
    for row in rows:  # oldest first, so each series' points are too
        key = (row["config_key"], row["device_class"])
        series = grouped.get(key)
        if series is None:
            series = grouped[key] = Series(identity={name: row.get(name) for name in IDENTITY_KEYS},
                                           device_class=row["device_class"], config_key=row["config_key"])
        series.points.append(Point(created=row["created"], commit=row.get("git_commit"), branch=row.get("git_branch"),
                                   median_ms=row.get("median_ms"), ci_low_ms=row.get("ci_low_ms"),
                                   ci_high_ms=row.get("ci_high_ms"), run_key=row.get("run_key") or ""))
    for series in grouped.values():
        series.scenario = _scenario_label(store, series.config_key)
        medians = [point.median_ms if point.median_ms is not None else float("nan") for point in series.points]
        series.change_points = [
            SeriesChangePoint(index=change.index, before_ms=change.before_ms, after_ms=change.after_ms,
                              ratio=change.ratio, p_value=change.p_value, created=series.points[change.index].created,
                              commit=series.points[change.index].commit)
            for change in find_change_points(medians, max_pvalue=max_pvalue, min_magnitude=min_magnitude)]
    return sorted(grouped.values(), key=lambda series: (series.label, series.device_class))


def _scenario_label(store, key: str) -> str:
    """The series' load scenario, read off one of its records (the columns do not hold it; the key does)."""
    from calib.scenarios.headline import scenario_label

    newest = store.select_records(config_key=key, limit=1, newest_first=True, with_body=True)
    return scenario_label(newest[0]["body"]) if newest and isinstance(newest[0].get("body"), dict) else ""


def _iso(moment: _dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")
