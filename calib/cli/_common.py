"""Helpers shared by the subcommands: the console, option parsing and the results file they write."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click
from rich.console import Console

from calib.cli._encoding import tolerate
from calib.errors import UsageError
from calib.results.store import ResultWriter, default_path


# Width when writing to a file or pipe (a CI log) and COLUMNS is unset: rich would use 80 and cut
# the run table (which fits 120) into ellipses; a log has no width to respect.
PIPE_WIDTH = 120


def console(stderr: bool = False) -> Console:
    # COLUMNS lets tests (and CI logs) fix the width; rich reads it too, this makes it explicit.
    width = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else None
    stream = sys.stderr if stderr else sys.stdout
    tolerate(stream)  # a latin-1 or ASCII stream gets "d" for "Δ", not a UnicodeEncodeError after the work
    if width is None and not (hasattr(stream, "isatty") and stream.isatty()):
        width = PIPE_WIDTH
    return Console(stderr=stderr, width=width, highlight=False)


def split_multi(values) -> list[str]:
    """Accept both `--precision fp32 --precision bf16` and `--precision fp32,bf16`."""
    out: list[str] = []
    for value in values or ():
        out.extend(part.strip() for part in str(value).split(",") if part.strip())
    return out


def check_output_path(path, flag: str) -> None:
    """Before any work: can a file be written at `path`? A one-line UsageError (exit 2) if not, so an
    unwritable --csv or --markdown never costs a finished sweep or reads as a regression (exit 1).
    Creates nothing: the folders it would need are made when the file is written."""
    if path is None:
        return
    target = Path(path)
    try:  # every step can raise: a name over NAME_MAX (ENAMETOOLONG) already at the first stat
        if target.is_dir():
            raise UsageError(f"{flag} {_shown(path)}: is a directory, not a file")
        folder = target.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise UsageError(f"{flag} {_shown(path)}: {_shown(folder)} is a file, not a folder")
        # the longest name calib makes beside it (this check's, the atomic write's temporary, the .lock)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{target.name}.", suffix=".check"):
            pass
    except OSError as exc:
        raise UsageError(f"{flag} {_shown(path)}: cannot write there ({exc.strerror or type(exc).__name__})") from None


def _shown(path) -> str:
    """A path for a one-line message: a 300-character name is cut in the middle."""
    text = str(path)
    return text if len(text) <= 120 else f"{text[:60]}...{text[-40:]}"


def open_results(out, results_dir, name: str, environment: dict, device_report: dict | None,
                 flag: str = "--out") -> ResultWriter:
    """The results file a measuring command writes its records to: `out` (the option `flag`), else a new
    file under --results-dir named for `name` (calib.results.store.default_path). Checked writable first
    (a one-line exit 2, not a traceback after the work), then locked for this run; an earlier run's
    records found in it are moved aside, and where to is said."""
    path = out or default_path(results_dir, name)
    check_output_path(path, flag if out else "--results-dir")
    from calib.cli._store import current_target

    writer = ResultWriter(path, environment, device_report, store=current_target())
    say_kept_previous(writer)
    return writer


def say_kept_previous(writer) -> None:
    """An --out file that held an earlier run's records was moved aside, not lost: say where."""
    if getattr(writer, "kept_previous", None):
        click.echo(f"calib: {writer.path} held an earlier run's records; kept as {writer.kept_previous}", err=True)
