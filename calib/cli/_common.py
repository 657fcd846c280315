"""Helpers shared by the subcommands: the console, option parsing and the results file they write."""

from __future__ import annotations

import os
import sys

import click
from rich.console import Console

from calib.cli._encoding import tolerate
from calib.cli._outputs import check_output_path
from calib.results.store import ResultWriter, default_path


# Width when writing to a file or pipe (a CI log) and COLUMNS is unset: a log has no width to respect, so
# every table is laid out at its natural width (calib.render.fit drops, wraps and cuts nothing that fits)
# and a line is one line. rich would otherwise use 80 columns and drop or cut columns a CI log needs.
PIPE_WIDTH = 1_000_000


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


def open_results(out, results_dir, name: str, environment: dict, device_report: dict | None,
                 flag: str = "--out") -> ResultWriter:
    """The results file a measuring command writes its records to: `out` (the option `flag`), else a new
    file under --results-dir named for `name` (calib.results.store.default_path). Checked writable first
    (a one-line exit 2, not a traceback after the work), then locked for this run; an earlier run's
    records found in it are moved aside, and where to is said."""
    path = out or default_path(results_dir, name)
    check_output_path(path, flag if out else "--results-dir", results=True)
    from calib.cli._store import current_target

    writer = ResultWriter(path, environment, device_report, store=current_target())
    say_kept_previous(writer)
    return writer


def say_kept_previous(writer) -> None:
    """An --out file that held an earlier run's records (or table) was moved aside, not lost: say where."""
    if getattr(writer, "kept_previous", None):
        table = str(getattr(writer, "kept_what", None) or "").startswith("a calibration table")
        what = "calibration table" if table else "run's records"
        click.echo(f"calib: {writer.path} held an earlier {what}; kept as {writer.kept_previous}", err=True)
