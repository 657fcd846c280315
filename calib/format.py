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


def ms_unit(value: float | None) -> str:
    """A time with its unit: `ms` writes microseconds as "7.31 us" and milliseconds as a bare number, so a
    text that names its unit appends " ms" only to the latter ("12.69 ms", "7.31 us", "-")."""
    text = ms(value)
    return text if text.endswith(" us") or text == "-" else f"{text} ms"


def ratio(value: float | None) -> str:
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "-"
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def ratio_interval(point: float | None, low: float | None, high: float | None) -> str:
    """A ratio with its interval, "5.10x [4.90-5.30]"; one whose interval holds 1 is no speed-up or
    slowdown and says so: "1.02x [0.80-1.30] n.s." (not significant)."""
    if point is None or low is None or high is None or not all(map(math.isfinite, (point, low, high))):
        return ratio(point)
    shown = f"{_small_ratio(point)}x" if 0 < point < 0.1 else ratio(point)
    text = f"{shown} [{_small_ratio(low)}-{_small_ratio(high)}]"
    return f"{text} n.s." if low <= 1.0 <= high else text


def _small_ratio(value: float) -> str:
    """fmt.ratio's digits without the x, keeping two significant ones below 0.1 (0.0038, not 0.00) and
    none from 100 (an interval bound of 792243, not 792243.3: the cell stays narrow)."""
    if 0 < value < 0.1:
        return f"{value:.2g}"
    return f"{value:.0f}" if value >= 100 else ratio(value)[:-1]


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
