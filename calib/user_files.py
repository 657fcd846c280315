"""The user's own Python files that calib runs: a `path.py:function` spec read without importing anything,
a .py file imported as a module of its own, and `call_user`, the one supervised place every user
callable is called from.

On the foundation floor, so that checking an option's spec at construction (calib.settings, --eval) needs
nothing above it; the importers are calib.models.loader (file.py:factory), calib.fidelity.user_eval
(--eval), calib.quant.calibration_data (--calib-data file.py:fn) and calib.train.task (loss_fn,
make_batch).

Supervision: what the user's code raises that is not an Exception is still a failure of that code, never
calib's own exit. `sys.exit(0)` inside a factory or an --eval function used to end calib with status 0
and nothing measured; under `call_user` it is a `UserCodeExit` (an Exception) that the caller reports as
the failure of that configuration, as it reports a ValueError. A KeyboardInterrupt is the user's Ctrl-C
(passed on: calib stops, keeping what finished) only when SIGINT really arrived during the call; raised
by the code itself it is a failure like sys.exit. With `limit_s`, a call that runs past it is stopped
(SIGALRM to the main thread) with `UserCodeTimeout`; one stuck outside Python, where no signal reaches, is
said on stderr and calib exits (1) rather than hang silently."""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from calib.errors import UserEvalError, first_line

EVAL_FLAG = "--eval"
DEFAULT_EVAL_FUNCTION = "evaluate"  # --eval path.py without :fn


def parse_eval_spec(spec: str) -> tuple[Path, str]:
    """'dir/f.py:fn' -> (Path('dir/f.py'), 'fn'); the file must exist (checked without importing it)."""
    text = str(spec).strip()
    path_text, colon, function_name = text.rpartition(":")
    if not colon or not path_text.endswith(".py"):  # no ':fn', or a ':' inside the path only
        path_text, function_name = text, DEFAULT_EVAL_FUNCTION
    path = Path(path_text)
    if path.suffix != ".py":
        raise UserEvalError(f"{EVAL_FLAG} {spec}: expected path.py:function")
    if not function_name.isidentifier():
        raise UserEvalError(f"{EVAL_FLAG} {spec}: {function_name!r} is not a function name")
    if not path.is_file():
        raise UserEvalError(f"{EVAL_FLAG} {spec}: no such file {path}")
    return path, function_name


def import_file(path: Path, prefix: str):
    """Import a user's .py file as a module of its own (named from its resolved path); whatever it
    raises is raised, and the half-imported module is not left in sys.modules."""
    module_name = f"{prefix}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        call_user(spec.loader.exec_module, module)  # its module-level code is the user's too
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


class UserCodeExit(Exception):
    """The user's code called sys.exit() (or raised KeyboardInterrupt without a Ctrl-C): a failure of the
    configuration that called it, reported like any exception it raised."""


class UserCodeTimeout(Exception):
    """The user's code ran past the time limit it was called with."""


# Seconds past limit_s before a call stuck outside Python (no signal handler can run) is given up on.
STUCK_GRACE_S = 30.0


def call_user(function, *args, limit_s: float | None = None, **kwargs):
    """`function(*args, **kwargs)`, the user's code, supervised (see the module's docstring): its SystemExit
    and a KeyboardInterrupt that no Ctrl-C caused become UserCodeExit; past `limit_s` seconds (main thread
    only), UserCodeTimeout. Exceptions pass through unchanged, for the caller to say in its own words."""
    with _ctrl_c_watch() as pressed, _time_limit(limit_s, getattr(function, "__name__", "the user's code")):
        try:
            return function(*args, **kwargs)
        except SystemExit as exc:
            raise _exited(exc) from None
        except KeyboardInterrupt:
            if pressed():
                raise
            raise UserCodeExit("KeyboardInterrupt raised in the user's code (no Ctrl-C)") from None


def call_user_in_loop(function, *args):
    """call_user for a call inside a timed region (a loss_fn, once per training step), where call_user's ~10 us
    would be timed: only SystemExit becomes UserCodeExit here; a raised KeyboardInterrupt is told from a Ctrl-C
    by the call_user around the loop."""
    try:
        return function(*args)
    except SystemExit as exc:
        raise _exited(exc) from None


def _exited(exc: SystemExit) -> UserCodeExit:
    return UserCodeExit(f"sys.exit({'' if exc.code is None else repr(exc.code)}) called in the user's code")


def described(exc: BaseException, limit: int = 200) -> str:
    """A failure in a few words: 'ValueError: boom', "sys.exit(0) called in the user's code"."""
    if isinstance(exc, (UserCodeExit, UserCodeTimeout)):
        return first_line(exc, limit)
    return f"{type(exc).__name__}: {first_line(exc, limit)}"


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def _ctrl_c_watch():
    """Yields pressed(): whether SIGINT arrived while the block ran (the previous handler still runs)."""
    if not _in_main_thread():
        yield lambda: True  # no handler can be set here: every KeyboardInterrupt counts as a Ctrl-C
        return
    arrived = []
    previous = signal.getsignal(signal.SIGINT)

    def on_sigint(signum, frame):
        arrived.append(signum)
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    _sound_signal_stack()  # a Ctrl-C's handler runs on it too
    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield lambda: bool(arrived)
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)


@contextmanager
def _time_limit(limit_s: float | None, name: str):
    """Past `limit_s`, a watchdog thread sends SIGALRM to this (the main) thread, whose handler raises
    UserCodeTimeout in the block; when the block is stuck where no signal handler runs, the watchdog says so on
    stderr and ends calib. The signal goes to this thread only (pthread_kill, not a process timer, which the
    kernel may hand to any thread), and never after the block has ended (`lock`)."""
    if not limit_s or limit_s <= 0 or not _in_main_thread() or not hasattr(signal, "pthread_kill"):
        yield
        return
    main = threading.get_ident()
    finished, fired, lock = threading.Event(), threading.Event(), threading.Lock()

    def on_alarm(signum, frame):
        if fired.is_set() and not finished.is_set():
            raise UserCodeTimeout(f"the user's code did not return within {limit_s:g} s")

    def watchdog():
        if finished.wait(limit_s):
            return
        with lock:
            if finished.is_set():
                return
            fired.set()
            signal.pthread_kill(main, signal.SIGALRM)
        if not finished.wait(STUCK_GRACE_S):
            print(f"calib: error: {name} has not returned {limit_s + STUCK_GRACE_S:g} s after it was "
                  f"started (limit {limit_s:g} s) and cannot be interrupted (stuck outside Python); calib "
                  "stops, the results finished so far are on disk", file=sys.stderr, flush=True)
            os._exit(1)

    _sound_signal_stack()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    threading.Thread(target=watchdog, name="calib-user-code-watchdog", daemon=True).start()
    try:
        yield
    finally:
        try:
            with lock:  # a SIGALRM sent before this is delivered by now, and handled by on_alarm
                finished.set()
        finally:
            signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)


_signal_stack = None  # (sigaltstack, its argument, the buffer it points to): _sound_signal_stack's


def _sound_signal_stack() -> None:
    """Give the main thread an alternate signal stack of calib's own before a handler can be needed. Python's
    handlers run on the thread's alternate stack when one is registered; native code can leave one registered
    after freeing it (seen after NNCF's accuracy control through OpenVINO: the next SIGALRM or SIGINT crashed
    calib with SIGSEGV). Linux only; a failure leaves things as they were."""
    global _signal_stack
    if not sys.platform.startswith("linux"):
        return
    try:
        if _signal_stack is None:
            import ctypes

            class _Stack(ctypes.Structure):
                _fields_ = [("ss_sp", ctypes.c_void_p), ("ss_flags", ctypes.c_int), ("ss_size", ctypes.c_size_t)]

            size = max(1 << 16, os.sysconf("SC_SIGSTKSZ") if "SC_SIGSTKSZ" in os.sysconf_names else 0)
            buffer = ctypes.create_string_buffer(size)
            _signal_stack = (ctypes.CDLL(None).sigaltstack,
                             ctypes.byref(_Stack(ctypes.addressof(buffer), 0, size)), buffer)
        sigaltstack, stack, _ = _signal_stack
        sigaltstack(stack, None)  # -1 (EPERM) while on the stack itself: then it is in use and sound
    except (OSError, AttributeError, ValueError):
        pass
