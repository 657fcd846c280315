"""What the door tests share (tests/test_doors.py, test_output_policy.py, test_gate_unlike.py): a deadline
that fails a command that blocks, and the one-line usage error every bad input must give."""

from __future__ import annotations

import signal
from contextlib import contextmanager


@contextmanager
def deadline(seconds: int):
    """Fail instead of hanging when a door that used to block (a FIFO) blocks again."""
    def on_alarm(signum, frame):
        raise AssertionError(f"still running after {seconds} s: the command blocked")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def one_line_error(result, *fragments: str) -> str:
    """Exit 2 with one `calib: error:` line saying `fragments`, no traceback."""
    assert result.exit_code == 2, result.output  # usage: never 1, the regression code
    assert "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("calib: error:")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]
