"""Helpers shared by the subcommands: the console and option parsing."""

from __future__ import annotations

import os
import sys

from rich.console import Console


# Width when writing to a file or pipe (a CI log) and COLUMNS is unset: rich would use 80 and cut
# the run table (which fits 120) into ellipses; a log has no width to respect.
PIPE_WIDTH = 120


def console(stderr: bool = False) -> Console:
    # COLUMNS lets tests (and CI logs) fix the width; rich reads it too, this makes it explicit.
    width = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else None
    stream = sys.stderr if stderr else sys.stdout
    if width is None and not (hasattr(stream, "isatty") and stream.isatty()):
        width = PIPE_WIDTH
    return Console(stderr=stderr, width=width, highlight=False)


def split_multi(values) -> list[str]:
    """Accept both `--precision fp32 --precision bf16` and `--precision fp32,bf16`."""
    out: list[str] = []
    for value in values or ():
        out.extend(part.strip() for part in str(value).split(",") if part.strip())
    return out
