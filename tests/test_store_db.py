"""The results store against real databases: SQLite and a real PostgreSQL server (store_url runs each
test on both). Records come from real `calib run`s of a tiny model."""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from calib.cli import main
from calib.store.db import Store, StoreError

FAST = ["--max-time", "0.2", "--min-time", "0.05", "--min-samples", "5", "--warmup-min-time", "0.01",
        "--warmup-min-count", "1", "-q", "--no-tune", "-b", "torch"]


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """One real results file (tiny-mlp at fp32 and int8-dynamic on torch), written with the store off."""
    folder = tmp_path_factory.mktemp("measured")
    out = folder / "run.json"
    result = CliRunner().invoke(main, ["run", "-m", "tiny-mlp", "-p", "fp32,int8-dynamic", *FAST, "--out", str(out),
                                       "--store", "none", "--timeout", "0"])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def _counts(url):
    from sqlalchemy import func, select

    from calib.store.tables import records, runs

    store = Store(url)
    with store.engine.connect() as conn:
        found = (conn.execute(select(func.count()).select_from(runs)).scalar(),
                 conn.execute(select(func.count()).select_from(records)).scalar())
    store.close()
    return found


def _variant(payload, **header):
    """The same file as another run (a new identity), for history and concurrency tests."""
    made = copy.deepcopy(payload)
    made["run_id"] = uuid.uuid4().hex
    made.update(header)
    return made


def test_run_files_its_records_live_with_header_identity(store_url, tmp_path):
    out = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["run", "-m", "tiny-mlp", "-p", "fp32", *FAST, "--out", str(out),
                                       "--store", store_url, "--commit", "abc1234", "--branch", "main",
                                       "--device-class", "laptop-x", "--timeout", "0"])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["device_class"] == "laptop-x" and written["git"] == {"commit": "abc1234", "branch": "main"}
    store = Store(store_url)
    rows = store.select_records(with_body=True, status=None)
    assert [row["run_key"] for row in rows] == [written["run_id"]]
    row = rows[0]
    assert row["device_class"] == "laptop-x" and row["git_commit"] == "abc1234" and row["git_branch"] == "main"
    assert row["body"] == json.loads(json.dumps(written["records"][0]))  # the file's record, raw samples included
    assert row["body"]["timing"]["samples_ms"] and row["median_ms"] > 0 and row["ci_low_ms"] <= row["median_ms"]
    assert store.runs()[0]["complete"] is True
    # the file pushed afterwards adds nothing: the run is already there
    pushed = CliRunner().invoke(main, ["push", str(out), "--store", store_url])
    assert pushed.exit_code == 0, pushed.output
    assert "0 of 1 records added" in pushed.output
    assert _counts(store_url) == (1, 1)


def test_push_is_idempotent_and_refuses_bad_files_one_line(store_url, tmp_path, measured):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(measured))
    truncated = tmp_path / "truncated.json"
    truncated.write_text(json.dumps(measured)[:200])
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({**measured, "schema_version": 99}))
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"records": [{"name": "not calib"}], "schema_version": 1}))
    result = CliRunner().invoke(main, ["push", str(truncated), str(good), str(newer), str(foreign), str(tmp_path),
                                       "--store", store_url])
    assert result.exit_code == 2
    refusals = [line for line in result.output.splitlines() if line.startswith("calib: refused")]
    assert len(refusals) == 4 and "Traceback" not in result.output
    assert "truncated" in refusals[0] and "schema version 99" in refusals[1]
    assert _counts(store_url) == (1, 2)  # the good file went in
    again = CliRunner().invoke(main, ["push", str(good), str(good), "--store", store_url])
    assert again.exit_code == 0 and _counts(store_url) == (1, 2)
    # a run that went on (its file grew) adds only the new record
    grown = json.loads(json.dumps(measured))
    grown["records"].append(copy.deepcopy(grown["records"][0]))
    good.write_text(json.dumps(grown))
    CliRunner().invoke(main, ["push", str(good), "--store", store_url])
    assert _counts(store_url) == (1, 3)


def test_a_store_of_a_newer_schema_is_refused_before_any_work(store_url, tmp_path):
    from sqlalchemy import update

    from calib.store.tables import store_meta

    store = Store(store_url)
    with store.engine.begin() as conn:
        conn.execute(update(store_meta).where(store_meta.c.key == "schema_version").values(value="7"))
    store.close()
    out = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["run", "-m", "tiny-mlp", "-p", "fp32", *FAST, "--out", str(out),
                                       "--store", store_url])
    assert result.exit_code == 2
    assert "schema version 7 is newer" in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("url, says", [
    ("postgresql://calib@127.0.0.1:1/nothing", "connection"),
    ("mysql://x@y/z", "not mysql"),
    ("sqlite://", "in-memory"),
    ("post gres://x", "not a database URL"),
    ("postgresql://u@h:notaport/db", "not a database URL"),
])
def test_bad_or_unreachable_stores_exit_2_in_one_line(tmp_path, url, says):
    out = tmp_path / "kept.json"
    out.write_text("{}")  # an earlier file under --out is never touched by a refused store
    result = CliRunner().invoke(main, ["run", "-m", "tiny-mlp", "-p", "fp32", *FAST, "--out", str(out), "--store", url])
    assert result.exit_code == 2, result.output
    assert says in result.output and len(result.output.strip().splitlines()) == 1
    assert out.read_text() == "{}"


def test_the_default_store_is_sqlite_in_the_results_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("CALIB_STORE", raising=False)
    results = tmp_path / "res"
    result = CliRunner().invoke(main, ["run", "-m", "tiny-mlp", "-p", "fp32", *FAST, "--results-dir", str(results),
                                       "--timeout", "0"])
    assert result.exit_code == 0, result.output
    assert (results / "calib.db").exists() and _counts(f"sqlite:///{results / 'calib.db'}") == (1, 1)
    monkeypatch.setenv("CALIB_STORE", "none")
    result = CliRunner().invoke(main, ["run", "-m", "tiny-mlp", "-p", "fp32", *FAST, "--results-dir", str(results),
                                       "--timeout", "0"])
    assert result.exit_code == 0 and _counts(f"sqlite:///{results / 'calib.db'}") == (1, 1)


def test_a_store_that_fails_mid_run_costs_no_record(tmp_path, capsys, measured):
    """The JSON file is the artifact: when the store stops taking records, the run goes on, says so once
    and names the command that files them later."""
    from calib.results.store import ResultWriter
    from calib.store.live import StoreTarget

    url = f"sqlite:///{tmp_path / 's.db'}"
    store = Store(url)
    writer = ResultWriter(tmp_path / "r.json", measured["environment"], None, store=StoreTarget(store))
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE records")  # the store breaks under the running command
    for record in measured["records"]:
        writer.add(record)
    writer.finish()
    err = capsys.readouterr().err
    assert err.count("the store stopped taking this run's records") == 1 and "calib push" in err
    assert len(json.loads((tmp_path / "r.json").read_text())["records"]) == len(measured["records"])


def _push_many(url, payloads):
    store = Store(url)
    for payload in payloads:
        store.push(payload, source="concurrent")
    store.close()


def test_several_writers_at_once_lose_nothing(store_url, measured):
    Store(store_url).close()  # the schema exists before the writers start (each would create it too)
    batches = [[_variant(measured) for _ in range(8)] for _ in range(4)]
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_push_many, args=(store_url, batch)) for batch in batches]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    assert _counts(store_url) == (32, 32 * len(measured["records"]))


def test_two_calib_runs_into_one_sqlite_store_at_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    command = [sys.executable, "-m", "calib", "run", "-m", "tiny-mlp", "-p", "fp32,int8-dynamic", *FAST,
               "--store", url, "--timeout", "0"]
    processes = [subprocess.Popen([*command, "--out", str(tmp_path / f"r{i}.json")], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, env={**os.environ, "CALIB_STORE": ""}) for i in range(2)]
    for process in processes:
        output = process.communicate(timeout=300)[0].decode()
        assert process.returncode == 0, output
    assert _counts(url) == (2, 4)


def test_result_file_and_latest_runs_rebuild_what_readers_take(store_url, measured):
    store = Store(store_url)
    for device, created in (("jetson", "2026-12-01T10:00:00+00:00"), ("jetson", "2026-12-02T10:00:00+00:00"),
                            ("i7", "2026-12-01T12:00:00+00:00")):
        store.push(_variant(measured, device_class=device, created=created))
    latest = store.latest_runs()
    assert [(row["device_class"], row["created"].day) for row in latest] == [("i7", 1), ("jetson", 2)]
    result = store.result_file(latest[1]["id"])
    assert len(result.records) == len(measured["records"]) and result.path.startswith("jetson@2026-12-02")
    assert result.records[0].summary.median_ms > 0


def test_store_errors_are_store_errors(tmp_path):
    with pytest.raises(StoreError):
        Store("postgresql://calib@127.0.0.1:1/x")


def test_an_older_store_is_moved_forward_on_open_and_a_missing_step_refused(tmp_path, monkeypatch, measured):
    """Schema migrations: a store written by an older calib opens in a newer one (its records still read);
    a version with no migration step is refused in one line, never half-read."""
    from sqlalchemy import select

    from calib.store import db, tables

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Store(url)
    old.push(measured)
    old.close()
    monkeypatch.setattr(tables, "SCHEMA_VERSION", 2)
    with pytest.raises(StoreError, match="no migration"):
        Store(url)
    monkeypatch.setitem(db.MIGRATIONS, 1, lambda conn: conn.exec_driver_sql(
        "CREATE INDEX ix_records_status ON records (status)"))
    store = Store(url)
    with store.engine.connect() as conn:
        version = conn.execute(select(tables.store_meta.c.value).where(tables.store_meta.c.key == "schema_version"))
        assert version.scalar() == "2"
    assert len(store.select_records()) == len(measured["records"])
