"""calib history: the change-point detector on seeded series, the series the store holds, the command
(table, --json, exit 2 for stores it cannot read) and the report's History section, on SQLite and on a
real PostgreSQL server (the store_url fixture)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math

import numpy as np
import pytest

from calib.cli import main
from calib.store.changepoints import ChangePoint, find_change_points


def _noisy(rng, count: int, noise: float = 0.02) -> np.ndarray:
    return 10.0 * rng.normal(1.0, noise, count)


# ---- the detector ------------------------------------------------------------------------------------
def test_a_clear_step_is_found_at_its_first_run():
    series = _noisy(np.random.default_rng(1), 23)
    series[20:] *= 1.2
    [change] = find_change_points(series)
    assert isinstance(change, ChangePoint)
    assert change.index == 20
    assert change.ratio == pytest.approx(change.after_ms / change.before_ms)
    assert 1.1 < change.ratio < 1.3 and change.p_value < 1e-4
    assert change.before_ms == pytest.approx(float(np.median(series[:20])))


def test_a_step_down_then_up_gives_two_change_points():
    series = _noisy(np.random.default_rng(2), 40, noise=0.01)
    series[15:30] *= 0.8
    changes = find_change_points(series)
    assert [c.index for c in changes] == [15, 30]
    assert changes[0].ratio < 1 < changes[1].ratio
    assert changes[0].after_ms == pytest.approx(changes[1].before_ms)


def test_a_a_series_raise_no_change_point():
    rng = np.random.default_rng(3)
    assert all(find_change_points(_noisy(rng, 23)) == [] for _ in range(5))
    alarms = sum(bool(find_change_points(_noisy(rng, 23))) for _ in range(300))
    assert alarms <= 6  # under 2% of series (bench/history.py measures the rate over thousands)


def test_min_magnitude_drops_small_steps():
    series = _noisy(np.random.default_rng(4), 30, noise=0.002)
    series[20:] *= 1.03
    assert [c.index for c in find_change_points(series)] == [20]
    assert find_change_points(series, min_magnitude=0.05) == []


@pytest.mark.parametrize("values", [[], [1.0], [1.0, 2.0, 3.0], [5.0] * 30, [float("nan")] * 10])
def test_short_constant_or_empty_series_have_none(values):
    assert find_change_points(values) == []


def test_unusable_values_are_skipped_and_indices_still_refer_to_the_input():
    series = list(_noisy(np.random.default_rng(5), 24, noise=0.01))
    series[20:] = [value * 1.3 for value in series[20:]]
    series[3], series[10] = float("nan"), None
    series.insert(21, 0.0)  # a zero: no log, skipped
    [change] = find_change_points(series)
    assert change.index == 20
    series[20] = float("inf")
    assert [c.index for c in find_change_points(series)] == [22]


def test_same_input_same_answer():
    series = _noisy(np.random.default_rng(6), 30)
    series[18:] *= 1.1
    assert find_change_points(series) == find_change_points(list(series))


# ---- the store's series and the command --------------------------------------------------------------
# Timing options that keep a run of the tiny model short (tests/conftest.py's FAST; a module named conftest
# is not importable reliably in a full run: tests/hardware and tests/train have their own).
FAST = ["--max-time", "0.3", "--min-time", "0.05", "--min-samples", "5", "--warmup-min-time", "0.01",
        "--warmup-min-count", "1", "-q", "--no-tune"]

@pytest.fixture(scope="module")
def measured_file(tmp_path_factory):
    """One real `calib run` of the tiny MLP (its raw samples feed the synthetic histories below)."""
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("measured") / "tiny.json"
    result = CliRunner().invoke(main, ["run", "-m", "tiny-mlp", "-p", "fp32", *FAST, "--max-time", "0.2",
                                       "--out", str(out), "--store", "none"])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def _push_history(url: str, payload: dict, factors: list[float]) -> None:
    """One run per factor, an hour apart, each the measured file with its raw samples scaled."""
    from calib.store import open_store

    store = open_store(url)
    start = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    samples = payload["records"][0]["timing"]["samples_ms"][:200]
    try:
        for number, factor in enumerate(factors):
            run = copy.deepcopy(payload)
            run.update(run_id=f"run{number:03d}", created=(start + dt.timedelta(hours=number)).isoformat(),
                       git={"commit": f"{number:04x}{'e' * 36}", "branch": "main"}, device_class="ci-runner")
            for record in run["records"]:
                record["timing"]["samples_ms"] = [value * factor for value in samples]
            store.push(run)
    finally:
        store.close()


def test_history_json_finds_the_step_in_the_store(runner, store_url, measured_file):
    factors = [float(f) for f in np.random.default_rng(7).normal(1.0, 0.01, 24)]
    factors[20:] = [f * 1.25 for f in factors[20:]]
    _push_history(store_url, measured_file, factors)
    result = runner.invoke(main, ["history", "--store", store_url, "--json", "-m", "tiny-mlp"])
    assert result.exit_code == 0, result.output
    [series] = json.loads(result.output)
    assert set(series) == {"identity", "device_class", "scenario", "points", "change_points"}
    assert series["scenario"] == "single-stream"
    assert series["device_class"] == "ci-runner"
    assert series["identity"]["model"] == "tiny-mlp" and series["identity"]["precision"] == "fp32"
    assert len(series["points"]) == 24
    assert set(series["points"][0]) == {"created", "commit", "median_ms", "ci_low_ms", "ci_high_ms"}
    assert series["points"][0]["ci_low_ms"] <= series["points"][0]["median_ms"] <= series["points"][0]["ci_high_ms"]
    [change] = series["change_points"]
    assert set(change) == {"index", "created", "commit", "ratio", "p_value", "before_ms", "after_ms"}
    assert change["index"] == 20 and change["commit"] == series["points"][20]["commit"]
    assert change["created"] == "2026-11-01T20:00:00+00:00"
    assert change["ratio"] == pytest.approx(1.25, rel=0.05) and change["p_value"] < 0.0005

    table = runner.invoke(main, ["history", "--store", store_url])
    assert table.exit_code == 0, table.output
    assert "tiny-mlp" in table.output and "run 21 (commit 0014eee, 2026-11-01): 1.2" in table.output

    empty = runner.invoke(main, ["history", "--store", store_url, "--precision", "int8"])
    assert empty.exit_code == 0 and "no records match" in empty.output
    assert runner.invoke(main, ["history", "--store", store_url, "--json", "--device-class", "x"]).output.strip() == "[]"


def test_report_store_draws_each_series(runner, store_url, measured_file, tmp_path):
    factors = [1.0 + 0.01 * math.sin(n) for n in range(12)]
    factors[8:] = [f * 1.3 for f in factors[8:]]
    _push_history(store_url, measured_file, factors)
    page = tmp_path / "history.html"
    result = runner.invoke(main, ["report", "--store", store_url, "--html", str(page), "--markdown",
                                  str(tmp_path / "history.md")])
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert "<h2>History</h2>" in text and text.count('data-chart="history"') == 1
    assert "1.30x" in text and "run 9 (commit 0008eee" in text
    assert "## History" in (tmp_path / "history.md").read_text()


def test_history_of_real_runs(runner, fast_options, tmp_path, monkeypatch):
    """Runs of `calib run` file their records into the store; history reads them back in order."""
    monkeypatch.delenv("CALIB_STORE", raising=False)
    url = f"sqlite:///{tmp_path}/calib.db"
    for number in range(2):
        result = runner.invoke(main, ["run", "-m", "tiny-mlp", "-p", "fp32", *fast_options, "--max-time", "0.2",
                                      "--out", str(tmp_path / f"run{number}.json"), "--store", url,
                                      "--commit", f"c{number}", "--branch", "main", "--device-class", "ci"])
        assert result.exit_code == 0, result.output
    from calib.store import open_store
    from calib.store.history import build_series

    store = open_store(url)
    try:
        [series] = build_series(store, model="tiny-mlp", branch="main")
    finally:
        store.close()
    assert [point.commit for point in series.points] == ["c0", "c1"]
    assert all(point.median_ms > 0 for point in series.points) and series.device_class == "ci"
    result = runner.invoke(main, ["history", "--store", url, "--json"])
    assert [p["commit"] for p in json.loads(result.output)[0]["points"]] == ["c0", "c1"]
    default = runner.invoke(main, ["history", "--results-dir", str(tmp_path), "--json"])  # <results-dir>/calib.db
    assert default.exit_code == 0 and len(json.loads(default.output)) == 1


# ---- stores it cannot read: one line, exit 2 ---------------------------------------------------------
def test_missing_sqlite_store_is_exit_2_and_not_created(runner, tmp_path, monkeypatch):
    monkeypatch.delenv("CALIB_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["history"])
    assert result.exit_code == 2
    assert result.output.strip() == ("calib: error: no store at results/calib.db "
                                     "(run `calib run` first, or pass --store URL)")
    assert not (tmp_path / "results").exists()
    elsewhere = runner.invoke(main, ["history", "--store", f"sqlite:///{tmp_path}/none.db"])
    assert elsewhere.exit_code == 2 and not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("url", ["mysql://user@host/db", "postgresql://calib@127.0.0.1:1/none", "::not a url::"])
def test_store_that_cannot_be_opened_is_one_line_exit_2(runner, url):
    result = runner.invoke(main, ["history", "--store", url])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("calib: error: ")
