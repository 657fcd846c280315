"""Synthetic store histories for `calib check --history` and `calib compare --store` tests, derived from one
real results file: each derived run is the file with a new identity, time, commit, branch and device class,
and its raw samples scaled (a median scales with them, so a run's level is known exactly)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid

from click.testing import CliRunner

from calib.cli import main

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)
# Run-to-run levels of a quiet history: 1.00 +- 1%
QUIET = (1.000, 1.010, 0.990, 1.005, 0.995, 1.000, 1.008, 0.992, 1.003, 0.997)
SAMPLES_KEPT = 400  # of the real run's samples: enough for a median, small enough to push fast


def measure(folder) -> dict:
    """One real results file of tiny-mlp at fp32, the store off; plus a second configuration (the same
    record as "fp16", 0.8x) so that a current run can lack one."""
    out = folder / "base.json"
    result = CliRunner().invoke(main, ["run", "-m", "tiny-mlp", "-p", "fp32", "-b", "onnxruntime", "--max-time", "0.2",
                                       "--min-time", "0.05", "--min-samples", "5", "--warmup-min-time", "0.01",
                                       "--warmup-min-count", "1", "-q", "--no-tune", "--out", str(out),
                                       "--store", "none"])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    record = payload["records"][0]
    assert record["status"] == "ok" and record["timing"]["samples_ms"]
    record["timing"]["samples_ms"] = record["timing"]["samples_ms"][:SAMPLES_KEPT]
    record.pop("summary", None)
    half = copy.deepcopy(record)
    half["identity"]["precision"] = "fp16"
    half["timing"]["samples_ms"] = [value * 0.8 for value in record["timing"]["samples_ms"]]
    payload["records"].append(half)
    return payload


def derive(base: dict, hour: int, factor: float, *, branch: str | None = "main", device_class: str = "cpu-ci",
           precisions=("fp32", "fp16"), **environment) -> dict:
    """`base` as another run `hour` hours after START, every sample times `factor`."""
    made = copy.deepcopy(base)
    made["run_id"] = uuid.uuid4().hex
    made["created"] = (START + dt.timedelta(hours=hour)).isoformat(timespec="seconds")
    made["git"] = {"commit": f"{hour:04d}" + uuid.uuid4().hex[:36], "branch": branch}
    made["device_class"] = device_class
    made["environment"].update(environment)
    made["records"] = [record for record in made["records"] if record["identity"]["precision"] in precisions]
    for record in made["records"]:
        record["timing"]["samples_ms"] = [value * factor for value in record["timing"]["samples_ms"]]
    return made


def push_history(url: str, base: dict, factors=QUIET, **options) -> list[dict]:
    """A run per factor, an hour apart, pushed into the store at `url`."""
    from calib.store.db import Store

    store = Store(url)
    runs = [derive(base, hour, factor, **options) for hour, factor in enumerate(factors)]
    try:
        for number, payload in enumerate(runs):
            store.push(payload, source=f"history-{number}.json")
    finally:
        store.close()
    return runs


def write(payload: dict, path, url: str | None = None):
    """Write a derived run as a results file (and file it into the store, as `calib run` does live)."""
    path.write_text(json.dumps(payload))
    if url is not None:
        from calib.store.db import Store

        store = Store(url)
        try:
            store.push(payload, source=str(path))
        finally:
            store.close()
    return path
