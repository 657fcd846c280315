"""`calib push FILE...`: file results written anywhere (an offline Jetson, a CI artifact) into the store."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from calib.cli._common import console
from calib.errors import UsageError

# A results file is a few MB at most (raw samples included); a file far beyond that is not one of ours.
_MAX_BYTES = 2 * 1024**3


@click.command(name="push")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--store", "store_url", metavar="URL",
              help="The store: sqlite:///path.db or postgresql://user@host/db (default: CALIB_STORE, else "
                   "<results-dir>/calib.db).")
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
@click.option("--device-class", metavar="NAME",
              help="File runs whose header names no device class under NAME (default: derived from the hardware "
                   "each file records).")
def command(files, store_url, results_dir, device_class):
    """Add results files to the store. A run has a stable identity: pushing a file twice adds nothing,
    and a file that grew since (a run that went on) adds only its new records. A file that is not a
    readable calib results file is refused in one line; the others still go in (exit 2 if any was refused)."""
    from calib.store import open_store, resolve_url
    from calib.store.db import StoreError

    url = resolve_url(store_url, results_dir)
    if url is None:
        raise UsageError("--store none: nothing to push into")
    store = open_store(url)
    out = console()
    refused = 0
    for name in files:
        try:
            payload = _read(Path(name))
            if device_class and not payload.get("device_class"):
                payload["device_class"] = device_class
            outcome = store.push(payload, source=str(Path(name).resolve()))
        except _Refused as reason:
            refused += 1
            click.echo(f"calib: refused {name}: {reason}", err=True)
            continue
        except StoreError:
            raise
        what = ("new run" if outcome.new_run else "run already in the store")
        out.print(f"{name}: {what}, {outcome.added} of {outcome.total} records added")
    out.print(f"store: {store.shown}")
    if refused:
        raise UsageError(f"{refused} of {len(files)} file(s) refused; the others are in the store")


class _Refused(Exception):
    pass


def _read(path: Path) -> dict:
    """A results file, checked before it goes in: a regular file of sane size, complete JSON, calib's schema,
    records that the typed reader accepts."""
    from calib.results.record import ResultFile
    from calib.results.schema import SUPPORTED_VERSIONS

    try:
        info = path.stat()
    except OSError as error:
        raise _Refused(error.strerror or "cannot be read") from None
    import stat

    if not stat.S_ISREG(info.st_mode):
        raise _Refused("not a regular file")
    if info.st_size > _MAX_BYTES:
        raise _Refused(f"{info.st_size / 1e9:.1f} GB is not a calib results file")
    try:
        with open(path, "rb") as handle:
            payload = json.loads(handle.read())
    except json.JSONDecodeError as error:
        raise _Refused(f"not complete JSON ({error.msg} at line {error.lineno}): truncated or not calib's") from None
    except (OSError, UnicodeDecodeError) as error:
        raise _Refused(f"cannot be read ({error})") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
        raise _Refused("not a calib results file (no list of records)")
    version = payload.get("schema_version")
    if version not in SUPPORTED_VERSIONS:
        raise _Refused(f"schema version {version!r}; this calib reads {list(SUPPORTED_VERSIONS)}")
    if not all(isinstance(record, dict) and isinstance(record.get("identity"), dict) for record in payload["records"]):
        raise _Refused("a record without an identity: not a calib results file")
    try:
        ResultFile.from_json(payload)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise _Refused(f"a record cannot be read ({type(error).__name__}: {error})") from None
    if not payload.get("created"):
        raise _Refused("no 'created' time: not a calib results file")
    return payload


