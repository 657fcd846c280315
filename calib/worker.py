"""The sweep in a child process, so that a per-configuration timeout is real.

A forward that hangs in C code (or sleeps) cannot be interrupted from Python, so `calib run`
measures in a worker process and waits on it with a deadline. When a configuration runs past
its limit, or the worker dies (a segfault in a converted graph, the OOM killer), the worker is
killed, that configuration is recorded as failed with the reason, a fresh worker takes the
remaining configurations, and every record finished before stays on disk (the parent is the
only writer of the results file).

Workers are forked from a multiprocessing forkserver that has imported torch but never run a
kernel: forking a process whose OpenMP pool is running hangs the child (measured: a resnet18
forward in a child forked after one in the parent never returns), and the forkserver keeps
the start of each worker to a fork, not a fresh torch import.

Limits per configuration: with --timeout T, T seconds for all of it (conversion, timing,
fidelity and layer passes); by default DEFAULT_CONVERSION_TIMEOUT_S for loading and converting,
then 10x --max-time + DEFAULT_SLACK_S for the rest.
"""

from __future__ import annotations

import json
import os
import time
from typing import Callable

DEFAULT_CONVERSION_TIMEOUT_S = 600.0
DEFAULT_SLACK_S = 60.0
DEFAULT_EVAL_SLACK_S = 600.0  # more, by default, when the user's --eval (or --eval-data) runs after the timing
_PRELOAD = ["torch", "calib.sweep", "calib.fidelity.assess"]


class Limits:
    """The deadline of the phase a configuration is in."""

    def __init__(self, timeout_s: float | None, max_time_s: float, evaluating: bool = False):
        self.timeout_s, self.max_time_s = timeout_s, max_time_s
        self.slack_s = DEFAULT_EVAL_SLACK_S if evaluating else DEFAULT_SLACK_S

    def at_start(self) -> float:
        return self.timeout_s or DEFAULT_CONVERSION_TIMEOUT_S

    def after_conversion(self, left_s: float) -> float:
        return left_s if self.timeout_s else 10 * self.max_time_s + self.slack_s

    def describe(self, phase: str) -> str:
        if self.timeout_s:
            return f"--timeout {self.timeout_s:g} s"
        if phase == "converting":
            return f"the default {DEFAULT_CONVERSION_TIMEOUT_S:g} s for conversion; set --timeout"
        return f"the default 10x --max-time + {self.slack_s:g} s; set --timeout"


class IsolatedSweep:
    """`with IsolatedSweep(spec) as sweep:` starts a worker that loads the model (a bad model is a
    one-line error here, before any results file exists); `sweep.run(...)` measures."""

    def __init__(self, spec):
        self.spec = spec
        self.limits = Limits(spec.timeout_s, spec.timing.max_time_s,
                             evaluating=bool(spec.fidelity.eval_fn or spec.fidelity.eval_data))
        self.model_name: str | None = None
        self.item_shape: tuple[int, ...] = ()
        self.on_start: Callable | None = None  # called with each Configuration as it starts
        self.on_prepared: Callable | None = None  # called when its conversion is done (timing starts)
        self._process = self._conn = None

    def __enter__(self) -> "IsolatedSweep":
        self._start(list(self.spec.cells()))
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop()

    def run(self, writer, device_report: dict | None, on_done: Callable[[dict], None] | None = None) -> list[dict]:
        from calib import lifecycle
        from calib.configuration import Configuration

        cells = list(self.spec.cells())
        self._conn.send(("measure", device_report))
        done = 0
        while done < len(cells):
            if self._process is None:
                self._start(cells[done:])
                self._conn.send(("measure", device_report))
            message, configuration, reason = self._next_record()
            if message == "record":
                record = configuration  # the worker's finished record
            else:  # timed out or died: stop the worker, file the configuration as failed
                self._stop()
                if configuration is None:  # before the worker said which configuration: the next cell's
                    configuration = _fallback_configuration(self.spec, self.model_name, cells[done],
                                                            self.item_shape)
                record = lifecycle.new_record(Configuration.from_identity(configuration), device_report)
                lifecycle.mark_failed(record, reason)
            writer.add(record)
            done += 1
            if on_done:
                on_done(record)
        return writer.records

    def _next_record(self):
        """("record", record, None), or ("failed", identity or None, reason) when the current
        configuration ran out of time or the worker died."""
        from calib.configuration import Configuration

        identity, phase = None, "converting"
        started = time.monotonic()
        deadline = started + self.limits.at_start()
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self._conn.poll(left):
                if self._conn.poll(0):
                    continue
                elapsed = time.monotonic() - started
                return "failed", identity, (f"timed out after {elapsed:.0f} s while {phase} "
                                            f"({self.limits.describe(phase)}); the configuration was stopped")
            try:
                kind, payload = self._conn.recv()
            except (EOFError, OSError):
                self._process.join(timeout=5)
                code = self._process.exitcode
                return "failed", identity, f"the worker process died while {phase} ({_exit_text(code)})"
            if kind == "start":
                identity = payload
                if self.on_start:
                    self.on_start(Configuration.from_identity(payload))
            elif kind == "prepared":
                phase = "measuring"
                if self.on_prepared:
                    self.on_prepared()
                deadline = time.monotonic() + self.limits.after_conversion(deadline - time.monotonic())
            elif kind == "record":
                return "record", payload, None
            elif kind == "interrupted":
                raise KeyboardInterrupt

    def _start(self, cells: list) -> None:
        from calib.errors import CalibError

        self._conn, self._process = _forked(_serve, (self.spec, cells), "calib-worker")
        if not self._conn.poll(self.limits.at_start()):
            self._stop()
            raise CalibError(f"{self.spec.model}: loading the model took over {self.limits.at_start():g} s")
        try:
            kind, payload = self._conn.recv()
        except EOFError:
            code = self._process.exitcode
            self._stop()
            raise CalibError(f"{self.spec.model}: the worker process died loading it ({_exit_text(code)})") from None
        if kind == "error":
            self._stop()
            raise _rebuilt_error(*payload)
        self.model_name, self.item_shape = payload

    def _stop(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=10)
            self._conn.close()
        self._process = self._conn = None


def _serve(spec, cells, conn, cwd: str, environ: dict) -> None:
    """The worker: load the model, then measure `cells` in order when asked, one message each."""
    _as_parent(cwd, environ)
    from calib import fidelity
    from calib.errors import CalibError
    from calib.models.loader import load_any
    from calib.sweep import measure_configuration, prepare_sweep

    references = fidelity.references()
    try:
        model = load_any(spec.model, spec.input_shape, spec.seq_len, spec.trust_model_file)
        prepare_sweep(spec, model, references)  # a bad --eval-data is an error now, before any results file
    except CalibError as exc:
        conn.send(("error", (type(exc).__name__, str(exc))))
        return
    except Exception as exc:  # noqa: BLE001 - said in one line by the parent
        conn.send(("error", ("ModelLoadError", f"{spec.model}: cannot load ({type(exc).__name__}: {exc})")))
        return
    conn.send(("loaded", (model.name, tuple(model.item_shape))))
    _, device_report = conn.recv()
    try:
        for cell in cells:
            record = measure_configuration(spec, model, *cell, device_report, references,
                                           on_start=lambda c: conn.send(("start", c.to_identity())),
                                           on_prepared=lambda: conn.send(("prepared", None)))
            conn.send(("record", _plain(record)))
    except KeyboardInterrupt:  # Ctrl-C reached the worker: the parent stops too, keeping what finished
        conn.send(("interrupted", None))


def _as_parent(cwd: str, environ: dict) -> None:
    """A forked child set up as its parent: its folder and environment, the known library noise quiet (the worker
    imports torchao too), calib's malloc thresholds (calib.malloc: a fresh process has glibc's own until set)."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(environ)
    from calib.malloc import steady_malloc
    from calib.third_party import quiet_known_noise

    quiet_known_noise()
    steady_malloc()


def _forked(target, args: tuple, name: str):
    """(connection, started process): `target(*args, child_end, cwd, environ)` forked from the forkserver, which has
    imported torch but never run a kernel (see the module's docstring)."""
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    conn, child = context.Pipe()
    process = context.Process(target=target, args=(*args, child, os.getcwd(), dict(os.environ)), daemon=True,
                              name=name)
    process.start()
    child.close()
    return conn, process


def _plain(record: dict) -> dict:
    """The record as the results file will hold it (no live objects cross the pipe)."""
    from calib.results.store import jsonable

    return json.loads(json.dumps(record, default=jsonable))


def _fallback_configuration(spec, model_name: str, cell, item_shape) -> dict:
    """The identity of a cell the worker died on before naming it (it names each as it starts)."""
    from calib.configuration import Configuration

    backend, precision, batch_size = cell
    return Configuration(model_name, backend, precision, batch_size, (batch_size, *item_shape),
                         spec.device).to_identity()


def _rebuilt_error(name: str, message: str):
    from calib import errors

    error_type = getattr(errors, name, None)
    if not (isinstance(error_type, type) and issubclass(error_type, errors.CalibError)):
        error_type = errors.CalibError
    return error_type(message)


def _exit_text(code: int | None) -> str:
    import signal

    if code is None:
        return "no exit status"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def call_in_child(function, args: tuple, on_progress: Callable | None = None, name: str = "calib-child"):
    """`function(*args, progress)` in a fresh process forked from the forkserver, as the workers above; its return
    value comes back. `progress(item)` in the child calls `on_progress(item)` here. Why a process: what a long
    measurement leaves behind (calib.predict.calibrate's op sweep: thousands of freed modules) makes every later
    timing in that process slower, so such work runs where it leaves nothing. A CalibError in the child is raised
    here as itself, any other error as a CalibError naming it; Ctrl-C stops both."""
    from calib.errors import CalibError

    conn, process = _forked(_call, (function, args), name)
    try:
        while True:
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):
                process.join(timeout=5)
                raise CalibError(f"{name}: the process died ({_exit_text(process.exitcode)})") from None
            if kind == "progress" and on_progress is not None:
                on_progress(payload)
            elif kind == "done":
                return payload
            elif kind == "error":
                raise _rebuilt_error(*payload)
            elif kind == "interrupted":
                raise KeyboardInterrupt
    finally:  # a child given time to end on its own unregisters what it made (killed, its semaphores are "leaked")
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join(timeout=10)
        conn.close()


def _call(function, args: tuple, conn, cwd: str, environ: dict) -> None:
    _as_parent(cwd, environ)
    from calib.errors import CalibError

    try:
        result = function(*args, lambda item: conn.send(("progress", item)))
    except KeyboardInterrupt:
        conn.send(("interrupted", None))
        return
    except CalibError as exc:
        conn.send(("error", (type(exc).__name__, str(exc))))
        return
    except Exception as exc:  # noqa: BLE001 - said in one line by the parent
        conn.send(("error", ("CalibError", f"{type(exc).__name__}: {exc}")))
        return
    conn.send(("done", result))
