"""Read /proc, /sys and /etc files under a root directory, so a captured machine can be analysed.

`root=None` means this machine ("/"). Missing or unreadable files are None, never errors:
containers, VMs and captures routinely lack some of them.
"""

from __future__ import annotations

from pathlib import Path


def system_path(root: str | Path | None, absolute: str) -> Path:
    return Path(root or "/") / absolute.lstrip("/")


def read_bytes(root: str | Path | None, absolute: str) -> bytes | None:
    try:
        return system_path(root, absolute).read_bytes()
    except OSError:
        return None


def read_text(root: str | Path | None, absolute: str) -> str | None:
    data = read_bytes(root, absolute)
    return None if data is None else data.decode("utf-8", errors="replace")


def read_first(root: str | Path | None, *candidates: str) -> str | None:
    """The first of several equivalent paths that exists (e.g. /proc/device-tree vs /sys/firmware)."""
    for absolute in candidates:
        text = read_text(root, absolute)
        if text is not None:
            return text
    return None
