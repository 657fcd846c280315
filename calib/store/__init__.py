"""The results store (SQLite by default, PostgreSQL for teams): every run's records, their history and
change points. Opened before any work by the commands that measure (calib.store.options), read by
`calib history`, `calib compare --store`, `calib check --history`, `calib report --store`, `calib push`.

Imported only by those commands: `calib --help` and `calib device` never load SQLAlchemy."""

from __future__ import annotations

import os
from pathlib import Path

DISABLED = ("none", "off", "no", "")


def resolve_url(url: str | None, results_dir: str | Path | None = "results") -> str | None:
    """The store a command writes into: --store, else CALIB_STORE, else SQLite in the results folder
    (`<results-dir>/calib.db`). "none" turns it off. A plain path is taken as a SQLite file."""
    chosen = url if url is not None else os.environ.get("CALIB_STORE")
    if chosen is None:
        return f"sqlite:///{Path(results_dir or 'results') / 'calib.db'}"
    if chosen.strip().lower() in DISABLED:
        return None
    if "://" not in chosen:
        return f"sqlite:///{Path(chosen)}"
    return chosen


def open_store(url: str):
    """An open calib.store.db.Store; StoreError (exit 2, one line) when it cannot be."""
    from calib.store.db import Store

    return Store(url)
