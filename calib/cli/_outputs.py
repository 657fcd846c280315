"""The one output policy: every file a calib command writes (--out, --csv, --layers-csv, --html, --markdown,
--junit, --baseline-out, --current-out, a default path under --results-dir) is checked by `check_outputs`
before any work, and refused in one line (UsageError, exit 2) when writing it would destroy something:

- it must be a regular file or a new name: never a directory, FIFO, character or block device or socket,
  nor a link to one (as root, `--out /dev/null` replaced /dev/null with a regular file);
- never one of the command's own inputs (`calib report v.json --html v.json` overwrote v.json), compared as
  files (os.path.samefile: a link, a hard link or another spelling is the same file), nor another of its
  outputs (`--csv t --layers-csv t`: the second would replace the first);
- never over a calib results file: a results output (the records of a measuring command) moves an earlier
  run's file aside to FILE.previous.json when it is written (calib.results.store.ResultWriter, said on
  stderr), and is refused over a file that is not a results file; any other output (a report, a CSV, a
  JSON analysis) is refused over a results file;
- its folder must be writable, with room for the names calib makes beside it (a name over NAME_MAX is
  ENAMETOOLONG already here, not a traceback after the work).

Nothing is created: folders that do not exist yet are made when the file is written."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from calib.errors import UsageError


@dataclass(frozen=True)
class Output:
    """One file a command writes: the option that names it, the path, and whether it is a results file
    (whose earlier copy is moved aside rather than refused)."""

    flag: str
    path: str | Path | None
    results: bool = False


def check_outputs(outputs: Iterable[Output], inputs: Iterable[tuple[str, object]] = ()) -> None:
    """Apply the policy (module docstring) to every output of one command. `inputs`: (option, value) of
    what the command reads; a value that names no existing file (a catalog model name, a "file.py:fn" whose
    file part is checked instead) is skipped."""
    given = [output for output in outputs if output.path is not None]
    read = [(flag, path) for flag, value in inputs for path in _files_of(value)]
    seen: list[Output] = []
    for output in given:
        for flag, path in read:
            if _same_file(output.path, path):
                raise UsageError(f"{output.flag} {_shown(output.path)}: is the command's own input ({flag} "
                                 f"{_shown(path)}); writing there would destroy it: choose another file")
        for earlier in seen:
            if _same_file(output.path, earlier.path):
                raise UsageError(f"{output.flag} {_shown(output.path)}: is also {earlier.flag}; one file cannot "
                                 "hold both: choose another")
        _check_one(output)
        seen.append(output)


def check_output_path(path, flag: str, inputs: Iterable[tuple[str, object]] = (), results: bool = False) -> None:
    """check_outputs for a command with one output."""
    check_outputs([Output(flag, path, results)], inputs)


def _check_one(output: Output) -> None:
    from calib.input_files import irregular_kind
    from calib.results.store import earlier_run, existing_results

    flag, path = output.flag, output.path
    try:  # every step can raise: a name over NAME_MAX (ENAMETOOLONG) already at the first stat
        try:
            info = os.stat(path)  # follows links: what would be written is the link's target
        except (FileNotFoundError, NotADirectoryError):  # a new name (under a file: said below)
            info = None
        if info is not None:
            kind = irregular_kind(info.st_mode)
            if kind:
                link = f" (a link to {_shown(os.path.realpath(path))})" if os.path.islink(path) else ""
                raise UsageError(f"{flag} {_shown(path)}: is {kind}{link}; calib writes only regular files")
            if info.st_size:
                payload = existing_results(path)
                if payload is not None and not output.results:
                    held = earlier_run(payload) or "no records yet"
                    raise UsageError(f"{flag} {_shown(path)}: is a calib results file ({held}); writing there "
                                     "would destroy it: choose another file")
                if payload is None and output.results:
                    raise UsageError(f"{flag} {_shown(path)}: exists and is not a calib results file; calib moves "
                                     "only its own results files aside: choose another file")
        target = Path(os.path.realpath(path))  # a dangling link is written at its target: check that folder
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


def _files_of(value) -> list[str]:
    """The existing files an input option names: itself, each of several, or the file of "file.py:fn"."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [path for item in value for path in _files_of(item)]
    text = str(value)
    head, colon, _ = text.rpartition(":")
    for candidate in ((head, text) if colon else (text,)):
        try:
            if candidate and os.path.isfile(candidate):
                return [candidate]
        except (OSError, ValueError):  # a name too long, a NUL: not a file this command reads
            pass
    return []


def _same_file(first, second) -> bool:
    try:
        return os.path.samefile(first, second)
    except (OSError, ValueError):  # one of them does not exist (yet): compare where they would be
        return os.path.realpath(first) == os.path.realpath(second)


def _shown(path) -> str:
    """A path for a one-line message: a 300-character name is cut in the middle."""
    text = str(path)
    return text if len(text) <= 120 else f"{text[:60]}...{text[-40:]}"
