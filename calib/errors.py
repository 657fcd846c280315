"""Error types. Each carries the exit code the CLI turns it into (see calib.cli.main)."""


class CalibError(Exception):
    """A problem the user can act on; the CLI prints it on one line."""

    exit_code = 1

    @property
    def lines(self) -> list[str]:
        """What the CLI prints, each line as `calib: error: LINE`."""
        return [str(self)]


class UsageError(CalibError):
    """Bad command-line input: unknown model, precision, malformed option."""

    exit_code = 2


class ModelLoadError(UsageError):
    """A model file that cannot be read or does not produce a module."""


class UserEvalError(UsageError):
    """An --eval function that is missing, cannot be imported, raised, or did not return a score."""


class BackendUnavailable(CalibError):
    """A backend whose library is not installed or cannot run on this device."""

    exit_code = 2


class PrecisionUnavailable(CalibError):
    """A precision that cannot run on the chosen device; recorded as skipped, not failed."""


class FailuresFound(CalibError):
    """The command finished and stored its results, but some of what it measured fails: a configuration that
    failed to run, outputs over their --max-drop budget or holding NaN/Inf, a failed --check (exit 1).
    One line each (calib.results.judge.failures)."""

    exit_code = 1

    def __init__(self, lines):
        self._lines = list(lines)
        super().__init__("; ".join(self._lines))

    @property
    def lines(self) -> list[str]:
        return list(self._lines)


class DeviceBusy(CalibError):
    """--busy error: other processes were using the GPU or the CPU before anything was measured (exit 3,
    as an inconclusive gate: nothing was judged, and a retry on a quiet machine may pass). calib.hardware.busy"""

    exit_code = 3


class ResultFileError(UsageError):
    """A results file that cannot be read or has an unknown schema."""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an exception's message, for one-line reasons and errors."""
    text = str(exc).strip().splitlines()
    return text[0][:limit] if text else ""
