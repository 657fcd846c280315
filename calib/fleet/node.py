"""What runs ON a fleet node, inside a Ray task pinned to it (calib.fleet.driver wraps these functions
with ray.remote; this module does not import Ray, and a node imports it from its own calib install).

`describe` says what the node is (device class, `calib device`'s report, versions, whether it reaches
the store). `sweep` runs the node's own `calib run` in a subprocess, with its results file in a
temporary folder, and yields events as the file grows: the header once, then each record as its
configuration finishes, then how the run ended. The subprocess measures with the node's calib, its
hardware verdicts and its CALIB_DEVICE_CLASS (Ray starts workers with the environment of `ray start`).
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque

POLL_S = 0.2  # how often the growing results file is read
STOP_GRACE_S = 10.0  # after SIGINT, how long `calib run` has to keep what finished before SIGKILL
_MEASURING = re.compile(r"^measuring (?P<label>.+?) \.\.\.$")


def describe(store_url: str | None = None) -> dict:
    """The node as `calib device` and `calib run` see it; and, for a server store, whether this node
    can open it (then its `calib run` files its records there itself)."""
    import platform

    from calib import __version__
    from calib.environment import capture
    from calib.hardware import device_report, resolve_threads
    from calib.store.identity import device_class

    report = device_report()
    environment = capture(resolve_threads(None), report)
    reachable, reason = _store_reachable(store_url)
    return {"device_class": device_class(environment), "host": socket.gethostname(),
            "versions": {"calib": __version__, "torch": environment.get("torch"),
                         "python": platform.python_version(), "ray": _version("ray")},
            "environment": environment, "device_report": report,
            "store_reachable": reachable, "store_reason": reason}


def _store_reachable(url: str | None) -> tuple[bool, str | None]:
    """Only a database server can be shared: a SQLite path names a file on the driver's machine."""
    if not url:
        return False, "no store"
    if url.startswith("sqlite"):
        return False, "a SQLite store is a file on the driver's machine"
    try:
        from calib.store import open_store

        open_store(url).close()
    except Exception as error:  # noqa: BLE001 - any failure means: hand the records to the driver
        from calib.errors import first_line

        return False, first_line(error)
    return True, None


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def sweep(argv: list[str], store_url: str | None = None, timeout_s: float | None = None):
    """Run `calib run ARGV --out <temp file>` here and yield its progress as events (dicts with "event"):
    started, header, measuring, record (with its place "seq"), end (returncode, complete, timed_out,
    the tail of its stderr). `store_url`: the node files its records in that store itself (CALIB_STORE,
    so the URL is not on a command line); otherwise ARGV says --store none. `timeout_s`: the whole sweep's
    limit on this node; past it `calib run` is interrupted (it keeps what finished) and the end says so."""
    folder = tempfile.mkdtemp(prefix="calib-fleet-")
    out = os.path.join(folder, "results.json")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if store_url:
        env["CALIB_STORE"] = store_url
    command = [sys.executable, "-m", "calib", "run", *argv, "--out", out]
    # its own session: a signal meant for the run reaches its worker processes too, and nothing else
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, errors="replace", env=env, start_new_session=True)
    lines: queue.Queue = queue.Queue()
    tail: deque = deque(maxlen=40)
    reader = threading.Thread(target=_read_lines, args=(process.stderr, lines), daemon=True)
    reader.start()
    started = time.monotonic()
    timed_out = False
    sent = 0
    header_sent = False
    try:
        yield {"event": "started", "host": socket.gethostname(), "pid": process.pid}
        while True:
            finished = process.poll() is not None
            new_lines = _drain(lines)  # taken before the file is read: a line never runs ahead of its record
            payload = _read_results(out)
            if payload is not None:
                if not header_sent:
                    yield {"event": "header", "header": {k: v for k, v in payload.items() if k != "records"}}
                    header_sent = True
                records = payload.get("records") or []
                while sent < len(records):
                    yield {"event": "record", "seq": sent, "record": records[sent]}
                    sent += 1
            for line in new_lines:
                tail.append(line)
                match = _MEASURING.match(line.strip())
                if match:
                    yield {"event": "measuring", "label": match.group("label")}
            if finished:
                break
            if timeout_s and not timed_out and time.monotonic() - started > timeout_s:
                timed_out = True
                _stop(process)
                continue  # read what the interrupted run kept
            time.sleep(POLL_S)
        reader.join(timeout=2)
        for line in _drain(lines):
            tail.append(line)
        yield {"event": "end", "returncode": process.returncode, "timed_out": timed_out,
               "complete": bool(payload and payload.get("complete")), "stderr_tail": list(tail)}
    finally:  # cancelled (ray.cancel), or the generator dropped: the run must not outlive its task
        if process.poll() is None:
            _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def _read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))


def _drain(lines: queue.Queue) -> list[str]:
    drained = []
    while True:
        try:
            drained.append(lines.get_nowait())
        except queue.Empty:
            return drained


def _read_results(path: str) -> dict | None:
    """The results file as it is now (calib writes it atomically after every record), or None before it exists."""
    try:
        with open(path) as handle:
            payload = json.load(handle)
    except (OSError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def _stop(process: subprocess.Popen) -> None:
    """SIGINT to the run's process group (calib run keeps what finished, as on Ctrl-C), then SIGKILL."""
    for sig, wait_s in ((signal.SIGINT, STOP_GRACE_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue
