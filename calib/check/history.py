"""`calib check --history`: gate a run against the recent history of each configuration in the store,
not against one baseline file.

The history of a configuration is the last N (--window) ok records of the same configuration
(calib.store.identity.config_key) on the same device class, on the base branch, one per run, the
current run itself left out (it was most likely filed live into the same store). Runs whose timing
settings (threads, governor, power mode, library versions: calib.compare.environment.SETTING_KEYS)
differ from the current run's measure something else and are left out of the window, with a
warning, unless --force; so are runs whose record of the configuration differs from the current one in
the settings that define it (calib.compare.defining: a training run's optimizer, learning rate, steps;
int8-static's calibration data, method, qscheme, weight granularity).

Why run-level statistics: the raw samples of one run say how precisely that run knows its own
median, not how far the next run on another runner instance will land (placement in memory, a new
process, a neighbour: 15-25% between runs here, ~1% within). The spread of the history's medians
measures exactly that, so the test is on run medians. With x_i = log(median_i) of the n history
runs, y = log(current median), t = log(1 + tolerance):

    level  = exp(mean(x))                      (geometric mean of the history's medians)
    s      = sd(x), n - 1 degrees of freedom   (run-to-run spread; ~ relative sd)
    se     = s * sqrt(1 + 1/n)                 (a new run's deviation from the estimated level:
                                                the prediction interval of one more run)
    ratio  = exp(y - mean(x))                  (current / level), 95% interval
             exp(y - mean(x) +- t_{0.975, n-1} * se)
    slower: regression when ratio > 1 + tolerance AND p < alpha, with
            p = P(T_{n-1} >= (y - mean(x) - t) / se)   (one-sided; H0: no slower than the tolerance allows)
    faster: improvement when ratio < 1 / (1 + tolerance) AND P(T_{n-1} <= (y - mean(x) + t) / se) < alpha

A history with no spread at all (identical medians) decides on the ratio alone. Fewer than
MIN_RUNS runs cannot estimate a spread worth the name (t_{0.99, 1} = 31.8): the configuration is
"missing in baseline" with the count in its note, and the gate is inconclusive (exit 3;
--allow-missing accepts it).

What the file gate does with missing, failed or incomplete currents holds here too: the
"baseline" is the history. A configuration the history measured that the current run failed or
skipped is lost (inconclusive); so is a configuration of the base branch's latest run of the same
model on this device class that the current run does not have at all; an unfinished current run
("complete": false) is inconclusive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from calib.check.gate import (FAILED_CURRENT, FIDELITY_FAILED, IMPROVEMENT, JUDGED, MISSING_BASELINE,
                              MISSING_CURRENT, NOT_MEASURED, OUTCOME_ORDER, REGRESSION, SKIPPED_CURRENT, UNCHANGED,
                              ConfigOutcome, GateResult, GateSettings)
from calib import format as fmt
from calib.compare.ratios import RatioEstimate
from calib.results.record import Record, ResultFile

DEFAULT_WINDOW = 10
MIN_RUNS = 3  # fewer runs of history: inconclusive
DEFAULT_BRANCHES = ("main", "master")  # the base branch when none is given and the store has one of these
HISTORY_TEST = ("a one-sided t-test of the run's log median against the history's log medians (prediction "
                "interval of one more run, the history's run-to-run spread)")


@dataclass(frozen=True)
class HistoryScope:
    """Where the history of a current run is read: its device class, the base branch (None: every branch,
    for a store whose runs record none), the window and whether runs of other settings are kept."""

    device_class: str
    branch: str | None
    window: int = DEFAULT_WINDOW
    force: bool = False  # keep runs whose timing settings differ from the current run's

    def __post_init__(self):
        from calib.errors import UsageError

        if self.window < MIN_RUNS:
            raise UsageError(f"--window {self.window}: at least {MIN_RUNS} runs are needed to judge a run")

    @property
    def where(self) -> str:
        return f"{self.device_class} on {self.branch if self.branch else 'every branch'}"


@dataclass(frozen=True)
class HistoryPoint:
    """One run of the history: when, at which commit, and its median."""

    created: datetime
    commit: str | None
    median_ms: float
    run_key: str


@dataclass(frozen=True)
class HistoryWindow:
    """The runs a configuration was judged against, oldest first."""

    label: str
    points: tuple[HistoryPoint, ...]
    left_out: int = 0  # runs of the window's range left out for other timing settings

    @property
    def count(self) -> int:
        return len(self.points)

    @property
    def log_medians(self) -> list[float]:
        return [math.log(p.median_ms) for p in self.points]

    @property
    def level_ms(self) -> float | None:
        logs = self.log_medians
        return math.exp(sum(logs) / len(logs)) if logs else None

    @property
    def spread(self) -> float | None:
        """Standard deviation of the log medians (n - 1): about the relative run-to-run spread."""
        logs = self.log_medians
        if len(logs) < 2:
            return None
        mean = sum(logs) / len(logs)
        return math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))

    def describe(self) -> str:
        """One line: N runs, from which dates and commits, level and spread."""
        if not self.points:
            return f"{self.label}: no runs of history"
        first, last = self.points[0], self.points[-1]
        dates = first.created.strftime("%Y-%m-%d %H:%M")
        if last is not first:
            dates += f" .. {last.created.strftime('%Y-%m-%d %H:%M')}"
        commits = [_short(p.commit) for p in (first, last) if p.commit]
        commit_text = f", commits {' .. '.join(dict.fromkeys(commits))}" if commits else ""
        spread = f", run-to-run spread {100 * self.spread:.1f}%" if self.spread is not None else ""
        left_out = f" ({self.left_out} of other settings left out)" if self.left_out else ""
        return (f"{self.label}: {self.count} run(s) {dates}{commit_text}, level {fmt.ms_unit(self.level_ms)}"
                f"{spread}{left_out}")


@dataclass
class HistoryGateResult(GateResult):
    """A GateResult whose baseline is the store's history: the table, --markdown and --junit writers take it
    as they take the file gate's; a too-short history is one more reason it is inconclusive."""

    scope: HistoryScope | None = None
    windows: list[HistoryWindow] = field(default_factory=list)
    short: list[tuple[str, int]] = field(default_factory=list)  # (label, runs it had) below MIN_RUNS

    REFERENCE = "history"
    NOTHING_JUDGED = "no configuration of the current run has a history in the store"

    def other_unjudged_reasons(self) -> list[str]:
        if not self.short:
            return []
        shown = ", ".join(f"{label} ({count} run{'s' if count != 1 else ''})" for label, count in self.short[:4])
        more = f" and {len(self.short) - 4} more" if len(self.short) > 4 else ""
        return [f"{len(self.short)} configuration(s) with a history shorter than {MIN_RUNS} runs "
                f"({self.scope.where if self.scope else ''}): {shown}{more}"]


def history_judgement(label: str, history_ms: list[float], current_ms: float,
                      settings: GateSettings) -> ConfigOutcome:
    """The run-level test of the module docstring: one current median against the history's medians."""
    from scipy.stats import t as student

    logs = [math.log(value) for value in history_ms]
    count = len(logs)
    mean = sum(logs) / count
    spread = math.sqrt(sum((x - mean) ** 2 for x in logs) / (count - 1))
    scale = spread * math.sqrt(1 + 1 / count)
    difference = math.log(current_ms) - mean
    half_width = float(student.ppf(0.975, count - 1)) * scale
    estimate = RatioEstimate(ratio=math.exp(difference), low=math.exp(difference - half_width),
                             high=math.exp(difference + half_width), confidence=0.95)
    outcome = ConfigOutcome(label, UNCHANGED, math.exp(mean), current_ms, estimate,
                            method=f"history of {count} runs")
    threshold = math.log1p(settings.tolerance)

    def p_beyond(shift: float, upper: bool) -> float:
        centred = difference - shift
        if scale == 0:  # identical history medians: the ratio alone decides
            return 0.0 if (centred > 0 if upper else centred < 0) else 1.0
        return float(student.sf(centred / scale, count - 1) if upper else student.cdf(centred / scale, count - 1))

    if estimate.ratio > 1 + settings.tolerance:
        outcome.p_value = p_beyond(threshold, upper=True)
        if outcome.p_value < settings.alpha:
            outcome.outcome = REGRESSION
        else:
            outcome.note = (f"slower than the tolerance but within the history's run-to-run spread "
                            f"(p={outcome.p_value:.2g})")
    elif estimate.ratio < 1 / (1 + settings.tolerance):
        outcome.p_value = p_beyond(-threshold, upper=False)
        if outcome.p_value < settings.alpha:
            outcome.outcome = IMPROVEMENT
    return outcome


def current_header(current: ResultFile) -> dict:
    """What the store knows a results file's run by (calib.store.identity.run_key reads it)."""
    return {"run_id": current.extra.get("run_id"), "created": current.created, "command": list(current.command),
            "calib_version": current.calib_version, "environment": dict(current.environment)}


def current_device_class(current: ResultFile) -> str:
    """The device class the current run was filed under: its header's, else derived from its environment."""
    from calib.store.identity import device_class

    return current.extra.get("device_class") or device_class(dict(current.environment))


def default_branch(store, device_class: str) -> str | None:
    """The base branch when --base-branch is not given: main (or master) when the store has runs on it,
    else the branch most of this device class's runs measured, else None (no run records a branch)."""
    from collections import Counter

    every = Counter(run["git_branch"] for run in store.runs() if run["git_branch"])
    for name in DEFAULT_BRANCHES:
        if every.get(name):
            return name
    here = Counter(run["git_branch"] for run in store.runs(device_class=device_class) if run["git_branch"])
    chosen = here or every
    return chosen.most_common(1)[0][0] if chosen else None


def gate_history(store, current: ResultFile, settings: GateSettings, scope: HistoryScope) -> HistoryGateResult:
    """Judge every configuration of `current` against its history in `store` (module docstring)."""
    from calib.store.identity import record_config_key, run_key

    own_key = run_key(current_header(current))
    environments = _RunSettings(store, dict(current.environment))
    unlike = _UnlikeRuns()
    current_records: dict[tuple, Record] = {}
    for record in current.records:
        current_records.setdefault(record.key, record)
    outcomes, windows, short, keys = [], [], [], set()
    for record in current_records.values():
        key = record_config_key(record)
        keys.add(key)
        window = _window(store, key, record, own_key, scope, environments, unlike)
        windows.append(window)
        outcome = _judge(record, window, settings)
        if outcome.outcome == MISSING_BASELINE and window.count and record.measured:
            short.append((record.label, window.count))
        outcomes.append(outcome)
    models = list(dict.fromkeys(str(record.identity.model) for record in current_records.values()))
    for label in _missing_in_current(store, models, keys, own_key, scope):
        outcomes.append(ConfigOutcome(label, MISSING_CURRENT, note=f"in the latest run on {scope.where}"))
    outcomes.sort(key=lambda o: OUTCOME_ORDER.index(o.outcome))
    result = HistoryGateResult(settings, outcomes, f"history in {store.shown}: {scope.where}, last {scope.window} runs",
                               current.path or "", baseline_complete=True, current_complete=current.complete,
                               scope=scope, windows=windows, short=short)
    result.environment_notes = environments.notes() + unlike.notes()
    return result


def _judge(record: Record, window: HistoryWindow, settings: GateSettings) -> ConfigOutcome:
    label = record.label
    if not record.measured:
        if window.count:  # the history measured it, the current run did not: lost, as in the file gate
            outcome = SKIPPED_CURRENT if record.status == "skipped" else FAILED_CURRENT
            reason = record.reason or ("no samples" if record.status == "ok" else "")
            return ConfigOutcome(label, outcome, window.level_ms, note=f"current {record.status}: {reason}")
        return ConfigOutcome(label, NOT_MEASURED, note=f"current {record.status}: {record.reason}; "
                                                       "no ok run of it in the history either")
    median = record.summary.median_ms
    if window.count < MIN_RUNS:
        return ConfigOutcome(label, MISSING_BASELINE, window.level_ms, median,
                             note=f"history too short: {window.count} run(s), needs {MIN_RUNS}")
    outcome = history_judgement(label, [p.median_ms for p in window.points], median, settings)
    if record.fidelity_failed and outcome.outcome in JUDGED:
        outcome.outcome = FIDELITY_FAILED
        failed = f"current fails its fidelity budget: {record.fidelity.judgement}"
        outcome.note = f"{failed}; {outcome.note}" if outcome.note else failed
    return outcome


def _window(store, key: str, record: Record, own_key: str, scope: HistoryScope, environments,
            unlike: "_UnlikeRuns") -> HistoryWindow:
    """The last `scope.window` ok runs of one configuration, oldest first, one point per run."""
    from calib.compare.defining import defining_settings

    label = record.label
    compare_bodies = bool(defining_settings(record)) and not scope.force  # a body is read only where it can differ
    rows = store.select_records(config_key=key, device_class=scope.device_class, branch=scope.branch, status="ok",
                                newest_first=True, limit=4 * scope.window + 8, with_body=compare_bodies)
    points, seen, left_out = [], {own_key}, 0
    for row in rows:
        if row["run_key"] in seen or not row["median_ms"] or row["median_ms"] <= 0:
            continue
        seen.add(row["run_key"])
        if not scope.force and not environments.comparable(row["run_key"]):
            left_out += 1
            continue
        if compare_bodies and unlike.differs(row, record):
            left_out += 1
            continue
        points.append(HistoryPoint(row["created"], row["git_commit"], float(row["median_ms"]), row["run_key"]))
        if len(points) == scope.window:
            break
    return HistoryWindow(label, tuple(reversed(points)), left_out)


def _missing_in_current(store, models: list[str], keys: set[str], own_key: str, scope: HistoryScope) -> list[str]:
    """Configurations of the base branch's latest run of each model (on this device class) that the current
    run does not have: the history's "baseline file"."""
    labels = []
    for model in models:
        rows = store.select_records(model=model, device_class=scope.device_class, branch=scope.branch, status=None,
                                    newest_first=True, limit=2000)
        latest = next((row["run_key"] for row in rows if row["run_key"] != own_key), None)
        for row in rows:
            if row["run_key"] == latest and row["config_key"] not in keys:
                keys.add(row["config_key"])
                labels.append(_row_label(row))
    return labels


def _row_label(row: dict) -> str:
    """A stored record's configuration label from its columns (its body is not read)."""
    from calib.configuration import Configuration

    try:
        shape = tuple(int(d) for d in str(row["input_shape"]).split("x"))
        return Configuration(row["model"], row["backend"], row["precision"], row["batch_size"], shape,
                             row["device"], row["variant"]).label
    except (TypeError, ValueError):
        return " ".join(str(row[name]) for name in ("model", "backend", "precision", "device") if row[name])


class _RunSettings:
    """The timing settings of stored runs, read once per run, against the current run's."""

    def __init__(self, store, environment: dict):
        self.store, self.environment = store, environment
        self._differences: dict[str, tuple[str, ...]] = {}

    def comparable(self, run_key: str) -> bool:
        if run_key not in self._differences:
            from calib.compare.environment import SETTING_KEYS
            from calib.environment import differences

            other = _run_environment(self.store, run_key)
            self._differences[run_key] = tuple(differences(other, self.environment, SETTING_KEYS))
        return not self._differences[run_key]

    def notes(self) -> list[str]:
        differing = {key: found for key, found in self._differences.items() if found}
        if not differing:
            return []
        shown = sorted({line for found in differing.values() for line in found})
        return [f"{len(differing)} run(s) of the history left out: settings that change timings differ from the "
                f"current run's ({'; '.join(shown[:4])}{' ...' if len(shown) > 4 else ''}); --force keeps them"]


class _UnlikeRuns:
    """History runs left out because their record of a configuration differs from the current run's in the
    settings that define it (calib.compare.defining), and in which."""

    def __init__(self):
        self._found: dict[str, tuple[str, ...]] = {}  # run key -> the differences

    def differs(self, row: dict, record: Record) -> bool:
        from calib.compare.defining import settings_difference
        from calib.errors import CalibError

        try:
            found = settings_difference(row["body"], record)
        except (CalibError, TypeError, ValueError, KeyError, AttributeError):  # a body calib cannot read: no setting
            return False
        if found:
            self._found[row["run_key"]] = self._found.get(row["run_key"], ()) + found
        return bool(found)

    def notes(self) -> list[str]:
        if not self._found:
            return []
        shown = list(dict.fromkeys(line for found in self._found.values() for line in found))
        return [f"{len(self._found)} run(s) of the history left out: settings that define the configuration differ "
                f"from the current run's ({'; '.join(shown[:4])}{' ...' if len(shown) > 4 else ''}); --force keeps "
                "them"]


def _run_environment(store, run_key: str) -> dict:
    from sqlalchemy import exc, select

    from calib.errors import first_line
    from calib.store.db import StoreError
    from calib.store.tables import runs

    try:
        with store.engine.connect() as conn:
            found = conn.execute(select(runs.c.environment).where(runs.c.run_key == run_key)).scalar()
    except exc.SQLAlchemyError as error:
        raise StoreError(f"store {store.shown}: {first_line(getattr(error, 'orig', None) or error)}") from None
    return dict(found or {})


def history_markdown(result: HistoryGateResult) -> str:
    """The file gate's markdown summary with the history's description and test, and the windows used."""
    from calib.check.markdown import escape, gate_markdown

    described = (f"History `{result.baseline_path}`, current `{result.current_path}`. A regression is a slowdown "
                 f"above {100 * result.settings.tolerance:g}% over the history's level that {HISTORY_TEST} finds "
                 f"significant at {result.settings.alpha:g}.")
    lines = [gate_markdown(result, described).rstrip("\n"), "", "### History windows", ""]
    lines += [f"- {escape(window.describe())}" for window in result.windows]
    return "\n".join(lines) + "\n"


def _short(commit: str) -> str:
    return commit[:10]
