"""Reading a file the user named (a results file, --cpuinfo, --shapes): refused in one line, before a
byte is read, when it is not a regular file or is larger than its reader's cap.

A FIFO blocks its reader until someone writes (calib hung), a symlink to /dev/zero never ends (calib read
until the kernel killed it at 22 GB), a directory or a socket is no file to parse. The file is opened
without blocking and checked on the descriptor (after links are followed), so what is checked is what is
read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from calib.errors import UsageError

MiB = 1024 * 1024

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_input(path: str | Path, what: str, max_bytes: int, error: type = UsageError) -> bytes:
    """The bytes of `path`; `error` (a calib.errors.CalibError type, exit 2 by default) in one line, naming
    `what` (e.g. "--cpuinfo /tmp/x"), when it is missing, not a regular file, or over `max_bytes`."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise error(f"{what}: no such file") from None
    except OSError as exc:
        raise error(f"{what}: cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(descriptor)
        kind = irregular_kind(info.st_mode)
        if kind:
            target = f" ({os.path.realpath(path)})" if os.path.islink(path) else ""
            raise error(f"{what}: is {kind}{target}, not a regular file")
        if info.st_size > max_bytes:
            raise error(f"{what}: {_size(info.st_size)}, more than the {_size(max_bytes)} such a file can be")
        chunks, total = [], 0
        while True:  # st_size can be 0 for files the kernel makes (/proc), or grow while read: read to the cap
            chunk = os.read(descriptor, min(MiB, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise error(f"{what}: more than the {_size(max_bytes)} such a file can be")
        return b"".join(chunks)
    except OSError as exc:
        raise error(f"{what}: cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(descriptor)


def irregular_kind(mode: int) -> str | None:
    """What a file of this st_mode is when it is not a regular file ("a FIFO (named pipe)", "a character
    device", ...); None for a regular file. Also the output policy's (calib.cli._outputs)."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_input_text(path: str | Path, what: str, max_bytes: int, error: type = UsageError) -> str:
    """read_input as text (UTF-8; undecodable bytes are replaced, never an error)."""
    return read_input(path, what, max_bytes, error).decode("utf-8", errors="replace")


def _size(count: int) -> str:
    return f"{count / MiB:,.0f} MiB" if count >= MiB else f"{count:,} bytes"
