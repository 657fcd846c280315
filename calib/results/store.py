"""Reading and writing results files. Writes are atomic and happen after every record,
so an interrupted sweep keeps everything that finished."""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import tempfile
from pathlib import Path

from calib import __version__
from calib.errors import ResultFileError
from calib.results.schema import SCHEMA_VERSION, SUPPORTED_VERSIONS


def default_path(results_dir: str | Path, model: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in model)[:40]
    return Path(results_dir) / f"{stamp}-{safe}-{os.getpid()}.json"


def write_json_atomic(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle, indent=1, default=_jsonable)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


class ResultWriter:
    """Holds one invocation's result and rewrites the file after every added record."""

    def __init__(self, path: Path, environment: dict, device_report: dict | None, command: list[str] | None = None):
        self.path = Path(path)
        self.payload = {
            "schema_version": SCHEMA_VERSION,
            "calib_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": list(command if command is not None else sys.argv),
            "environment": environment,
            "device_report": device_report,
            "records": [],
        }
        self.flush()

    @property
    def records(self) -> list[dict]:
        return self.payload["records"]

    def add(self, record: dict) -> None:
        self.payload["records"].append(record)
        self.flush()

    def flush(self) -> None:
        write_json_atomic(self.path, self.payload)


def load_result(path: str | Path) -> dict:
    path = Path(path)
    try:
        with open(path) as handle:
            payload = json.load(handle)
    except FileNotFoundError:
        raise ResultFileError(f"{path}: no such file") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultFileError(f"{path}: not a readable calib results file ({exc})") from None
    if not isinstance(payload, dict) or "records" not in payload:
        raise ResultFileError(f"{path}: not a calib results file (no 'records')")
    version = payload.get("schema_version")
    if version not in SUPPORTED_VERSIONS:
        raise ResultFileError(f"{path}: schema version {version!r} is not one this calib reads {SUPPORTED_VERSIONS}")
    payload["_path"] = str(path)
    return payload
