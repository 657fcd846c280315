"""Runs read from a results store for the readers that take results files (`calib compare --store`,
`calib check --history`): open a store that must already exist, and the latest run of each device class
as the typed ResultFile every reader takes."""

from __future__ import annotations

from dataclasses import replace

from calib.errors import UsageError
from calib.results.record import ResultFile

KINDS = ("run", "ab", "train", "predict", "calibrate", "fleet", "any")


def open_reading(url: str | None, option: str = "--store"):
    """An open calib.store.db.Store to read from: `url`, else CALIB_STORE. A SQLite file that does not
    exist is refused (reading never creates a store); so is no store at all. StoreError/UsageError: exit 2."""
    import os
    from pathlib import Path

    from calib.store import DISABLED, open_store, resolve_url

    chosen = url if url is not None else os.environ.get("CALIB_STORE")
    if chosen is None or chosen.strip().lower() in DISABLED:
        raise UsageError(f"{option} URL is needed (sqlite:///path.db or postgresql://user@host/db; or set CALIB_STORE)")
    resolved = resolve_url(chosen)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(resolved)
    except ArgumentError:
        parsed = None  # open_store says why, in one line
    if parsed is not None and parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).expanduser().is_file():
            from calib.store.db import StoreError

            raise StoreError(f"{option} {chosen}: no such store ({parsed.database})")
    return open_store(resolved)


def latest_results(store, model: str | None = None, kind: str | None = "run") -> list[ResultFile]:
    """The newest run of each device class (that measured `model`, when given: then only its records), as
    ResultFiles labelled "device_class@date". Empty when the store holds no such run."""
    found = []
    for run in store.latest_runs(model=model, kind=None if kind in (None, "any") else kind):
        result = store.result_file(run["id"])
        if model is not None:
            result = replace(result, records=tuple(r for r in result.records if str(r.identity.model) == model))
        found.append(result)
    return found
