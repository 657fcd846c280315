"""`calib push FILE...`: file results written anywhere (an offline Jetson, a CI artifact) into the store."""

from __future__ import annotations

from pathlib import Path

import click

from calib.cli._common import console
from calib.errors import ResultFileError, UsageError


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
        except ResultFileError as reason:
            refused += 1
            click.echo(f"calib: refused {reason}", err=True)
            continue
        what = ("new run" if outcome.new_run else "run already in the store")
        out.print(f"{name}: {what}, {outcome.added} of {outcome.total} records added")
    out.print(f"store: {store.shown}")
    if refused:
        raise UsageError(f"{refused} of {len(files)} file(s) refused; the others are in the store")


def _read(path: Path) -> dict:
    """A results file, checked before it goes in by the one reader every command uses (calib.results.record
    read_result: a regular file of sane size, complete JSON, calib's schema, records of the typed layout), as
    the JSON it holds."""
    from calib.results.record import read_result

    result = read_result(path)
    if not result.created:
        raise ResultFileError(f"{path}: no 'created' time: not a calib results file")
    return result.to_json()
