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


def sqlite_file(url: str) -> Path | None:
    """The file of a sqlite:/// URL (None for other databases)."""
    if not url.startswith("sqlite:"):
        return None
    from sqlalchemy.engine import make_url

    try:
        database = make_url(url).database
    except Exception:  # noqa: BLE001 - the store's own open says why in one line
        return None
    return Path(database).expanduser() if database and database != ":memory:" else None


def check_sqlite_folder(path: Path, url: str) -> None:
    """Before any work: can the SQLite file be created where the URL says? One line (exit 2) if not;
    creates nothing."""
    import tempfile

    from calib.store.db import StoreError

    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise StoreError(f"--store {url}: {folder} is a file, not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".calib-store.", suffix=".check"):
            pass
    except OSError as error:
        raise StoreError(f"--store {url}: cannot write in {folder} ({error.strerror or type(error).__name__})") from None


def open_existing(url: str | None, results_dir: str | Path | None = "results", option: str = "--store"):
    """A store to READ (history, compare --store, check --history, report --store): `url`, else CALIB_STORE,
    else <results-dir>/calib.db. Reading never creates a store: a SQLite file that is not there, or the
    store turned off, is a one-line exit 2, as is a store that cannot be opened (StoreError)."""
    from calib.errors import UsageError
    from calib.store.db import StoreError

    resolved = resolve_url(url, results_dir or "results")
    if resolved is None:
        raise UsageError(f"the store is turned off ('none'); give {option} URL to read one")
    path = sqlite_file(resolved)
    if path is not None and not path.is_file():
        raise StoreError(f"no store at {path} (run `calib run` first, or pass {option} URL)")
    return open_store(resolved)
