"""Reading and writing results files. Writes are atomic and happen after every record,
so an interrupted sweep keeps everything that finished.

A file says whether its run finished: "complete" is false from the first write and turns true
only in ResultWriter.finish(), so a run killed before (or between) its records leaves a file a
reader can tell from a finished one (files from before the field have no "complete": unknown).

One writer per file: the writer holds an exclusive lock on `<file>.lock` for its lifetime, and it
refuses a file that already holds records, so two runs given the same --out never lose one
another's records (the second is refused with a one-line error)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import tempfile
from pathlib import Path

from calib import __version__
from calib.errors import ResultFileError, first_line
from calib.results.schema import SCHEMA_VERSION, SUPPORTED_VERSIONS

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the refusal of a file with records still holds
    fcntl = None


def default_path(results_dir: str | Path, model: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in model)[:40]
    return Path(results_dir) / f"{stamp}-{safe}-{os.getpid()}.json"


def write_json_atomic(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600; a results file is a report others read, so honour the umask as
        # open() would (0644 under the usual umask 022)
        os.chmod(tmp, 0o666 & ~_current_umask())
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle, indent=1, default=jsonable)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _current_umask() -> int:
    """The process umask (os.umask can only be read by setting it, so set it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def jsonable(value):
    """What json.dump writes for values it has no rule for (tensors, tuples, paths): also calib.worker's."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


class ResultWriter:
    """Holds one invocation's result and rewrites the file after every added record; finish()
    marks the run complete and lets go of the file."""

    def __init__(self, path: Path, environment: dict, device_report: dict | None, command: list[str] | None = None,
                 store=None):
        """`store`: a calib.store.live.StoreTarget; the run's header gains its identity ("run_id"), device
        class and git commit/branch, and every record also goes into the store as it is written."""
        self.path = Path(path)
        self._sink = store.sink() if store is not None else None
        self._lock = _FileLock(self.path)
        try:
            # the CLI says where an earlier run's file went, and what it held ("3 records", "a calibration table")
            self.kept_previous, self.kept_what = _keep_existing_records(self.path)
            self.payload = {
                "schema_version": SCHEMA_VERSION,
                "calib_version": __version__,
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "command": list(command if command is not None else sys.argv),
                "complete": False,
                "environment": environment,
                "device_report": device_report,
                "records": [],
            }
            if store is not None:
                self.payload.update(store.header(environment))
            self.flush()
            if self._sink is not None:
                self._sink.begin(self.payload, self.path)
        except BaseException:
            self._lock.release()
            raise

    @property
    def records(self) -> list[dict]:
        return self.payload["records"]

    def add(self, record: dict) -> None:
        self.payload["records"].append(record)
        self.flush()
        if self._sink is not None:
            self._sink.add(len(self.payload["records"]) - 1, record)

    def flush(self) -> None:
        write_json_atomic(self.path, self.payload)

    def finish(self) -> None:
        """The run ended normally: record that the file is complete, write it, release the lock."""
        self.payload["complete"] = True
        self.flush()
        if self._sink is not None:
            self._sink.finish(self.payload["records"])
            self._sink = None
        self.close()

    def close(self) -> None:
        """Let go of the file without marking it complete (an interrupted run). Idempotent."""
        if self._sink is not None:
            sink, self._sink = self._sink, None
            sink.close(self.payload["records"])
        self._lock.release()

    def __enter__(self) -> "ResultWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _keep_existing_records(path: Path) -> tuple[Path | None, str | None]:
    """A results file that already holds an earlier run's data (records, or a `calib calibrate` table, whose
    ops are not records) is moved aside to `<name>.previous[-N].json`, never overwritten: (where it went,
    what it held), or (None, None) when there was nothing to keep. A file that is not a calib results file
    is refused: it is not ours to move."""
    if not path.exists() or path.stat().st_size == 0:
        return None, None
    payload = existing_results(path)
    if payload is None:
        raise ResultFileError(f"{path}: exists and is not an empty calib results file; choose another --out")
    held = earlier_run(payload)
    if held is None:
        return None, None  # a run that ended before its first record: nothing to lose
    for index in range(1, 10_000):
        kept = path.with_name(f"{path.stem}.previous{'' if index == 1 else f'-{index}'}{path.suffix}")
        if not kept.exists():
            os.replace(path, kept)
            return kept, held
    raise ResultFileError(f"{path}: exists, and so do 9999 earlier copies; choose another --out")


def existing_results(path: str | Path) -> dict | None:
    """The JSON object of the calib results file at `path` (an object with a list of "records"), or None when
    what is there is not one: no file, not a regular file, over MAX_RESULT_BYTES, not JSON, another JSON.
    Unlike load_result it never raises: the output policy (calib.cli._outputs) and the writer ask it whether
    writing at `path` would lose a results file."""
    from calib.input_files import read_input

    try:
        data = read_input(path, str(path), MAX_RESULT_BYTES, error=ResultFileError)
        if not data.lstrip()[:1] == b"{":  # a report, a CSV, a log: not JSON, not parsed
            return None
        payload = json.loads(data)
    except (ResultFileError, ValueError, RecursionError):
        return None
    if isinstance(payload, dict) and isinstance(payload.get("records"), list):
        return payload
    return None


def earlier_run(payload: dict) -> str | None:
    """What a results file's payload holds of the run that wrote it, in words ("3 records", "a calibration
    table and 2 records"), or None when it holds nothing to lose (a run that ended before its first record)."""
    count = len(payload.get("records") or ())
    records = f"{count} record{'s' if count != 1 else ''}" if count else ""
    if payload.get("calibration"):
        return "a calibration table" + (f" and {records}" if records else "")
    return records or None


def _holder_pid(handle) -> str:
    """The pid the lock's holder wrote, waiting a moment for it: it writes just after it locks."""
    import time

    for _ in range(25):
        handle.seek(0)
        holder = handle.read().strip()
        if holder.isdigit():
            return holder
        time.sleep(0.02)
    return ""


class _FileLock:
    """An exclusive, non-blocking flock on `<path>.lock`, whose content names the holder's pid."""

    def __init__(self, path: Path):
        self.lock_path = path.with_name(path.name + ".lock")
        self._handle = None
        if fcntl is None:
            return
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            handle = open(self.lock_path, "a+")
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder_pid(handle)
                handle.close()
                by = f"process {holder}" if holder.isdigit() else "another process"
                raise ResultFileError(f"{path}: being written by {by} (lock {self.lock_path}); "
                                      "choose another --out or wait for it to finish") from None
            # The holder before us may have removed the lock file after we opened it: then our
            # lock is on a dead inode and a third process could lock a new file; start again.
            try:
                same = os.stat(self.lock_path).st_ino == os.fstat(handle.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            handle.close()
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is None:
            return
        try:
            os.unlink(self.lock_path)  # while still holding it, so no one locks a file about to vanish
        except FileNotFoundError:
            pass
        self._handle.close()  # closing the descriptor releases the flock
        self._handle = None

    def __del__(self):  # a writer dropped without close(): let go of the file all the same
        try:
            self.release()
        except Exception:  # noqa: BLE001 - at interpreter exit the modules may be gone
            pass


# A results file larger than this is refused before it is read (a long `calib ab` with per-layer tables is a
# few MiB; parsing JSON takes several times its size in memory).
MAX_RESULT_BYTES = 256 * 1024 * 1024


def load_result(path: str | Path) -> dict:
    """A results file as the dict it holds ("_path" added). Refused in one line (ResultFileError, exit 2):
    a path that is not a regular file (a FIFO, /dev/zero) or is over MAX_RESULT_BYTES, before a byte is read
    (calib.input_files); text that is not JSON; JSON that is not a results file of a known schema or whose
    records are not objects with an identity. calib.results.record.read_result checks the rest of the
    layout against the typed record."""
    from calib.input_files import read_input

    path = Path(path)
    data = read_input(path, str(path), MAX_RESULT_BYTES, error=ResultFileError)
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError too
        raise ResultFileError(f"{path}: not a readable calib results file ({first_line(exc, 200)}: truncated, "
                              "or not JSON)") from None
    if not isinstance(payload, dict) or "records" not in payload:
        raise ResultFileError(f"{path}: not a calib results file (no 'records')")
    version = payload.get("schema_version")
    if version not in SUPPORTED_VERSIONS:
        raise ResultFileError(f"{path}: schema version {version!r} is not one this calib reads {SUPPORTED_VERSIONS}")
    _check_records(payload["records"], path)
    payload["_path"] = str(path)
    return payload


def _check_records(records, path: Path) -> None:
    """The part of the layout every reader of a loaded dict relies on: a list of objects with an identity."""
    if not isinstance(records, list):
        what = "null" if records is None else f"a {type(records).__name__}"
        raise ResultFileError(f"{path}: not a calib results file ('records' is {what}, not a list)")
    for index, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            what = "null" if record is None else f"a {type(record).__name__}"
            raise ResultFileError(f"{path}: not a readable calib results file: record {index} is {what}, not an object")
        if not isinstance(record.get("identity"), dict):
            raise ResultFileError(f"{path}: not a readable calib results file: record {index} has no identity object")


def run_complete(result: dict) -> bool | None:
    """Whether the run that wrote a loaded results file finished: True, False (interrupted, or
    still running), or None for a file written before calib recorded it."""
    complete = result.get("complete")
    return complete if isinstance(complete, bool) else None
