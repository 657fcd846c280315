"""Number formatting shared by every table and writer (calib.render, calib.report, calib.check.markdown)."""

from __future__ import annotations

import math


def ms(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if value >= 100:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    if value >= 0.01:
        return f"{value:.3f}"
    return f"{value * 1000:.2f}us".replace("us", " us")


def ratio(value: float | None) -> str:
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "-"
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def size(num_bytes: int | None) -> str:
    if num_bytes is None:
        return "-"
    value = float(num_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def rate(value: float | None) -> str:
    if value is None or math.isinf(value) or math.isnan(value):
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def score(value: float | None) -> str:
    """An accuracy-like number in [0, 1]: close to 1 (a cosine of 0.99998) it keeps the digits
    that tell it from 1, where 4 significant digits would print "1"."""
    if value is None or math.isnan(value):
        return "-"
    if 0.999 <= value < 1:
        return f"{value:.{math.ceil(-math.log10(1 - value)) + 1}f}"
    return f"{value:.4g}"
