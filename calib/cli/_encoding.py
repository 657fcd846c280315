"""Output to a stream whose encoding lacks calib's few non-ASCII characters (PYTHONIOENCODING=latin-1, a
C locale's ASCII): each is written as an ASCII stand-in of the same width instead of ending the command
with a UnicodeEncodeError after its work is done ("Δ fp32" becomes "d fp32")."""

from __future__ import annotations

import codecs
import sys
import unicodedata

ERRORS = "calib-ascii"
# One character each, so that a table laid out before encoding keeps its columns.
STAND_INS = {"Δ": "d", "·": "-", "…": ".", "×": "x", "±": "~", "→": ">", "≥": ">", "≤": "<", "µ": "u", "—": "-",
             "–": "-", "⚠": "!", "❌": "x", "✅": "v", "❓": "?", "🚀": "^", "\ufe0f": ""}


def _stand_in(character: str) -> str:
    if character in STAND_INS:
        return STAND_INS[character]
    plain = unicodedata.normalize("NFKD", character).encode("ascii", "ignore").decode()  # é -> e
    return plain[:1] or "?"


def _replace(error: UnicodeEncodeError):
    return "".join(_stand_in(c) for c in error.object[error.start:error.end]), error.end


codecs.register_error(ERRORS, _replace)


def tolerate(*streams) -> None:
    """Let `streams` (default: stdout and stderr) write what their encoding cannot, as ASCII stand-ins.
    Streams that encode all of Unicode, or cannot be reconfigured, are left alone."""
    for stream in streams or (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("_", "-")
        if encoding.startswith("utf") or getattr(stream, "errors", None) != "strict":
            continue
        try:
            stream.reconfigure(errors=ERRORS)
        except (AttributeError, ValueError, OSError):
            pass
