"""The CI regression gate (`calib check`, `calib ab`): decide, then write the summary for people and CI."""

from calib.errors import CalibError


class RegressionFound(CalibError):
    """At least one configuration is significantly slower than the tolerance allows (exit 1)."""

    exit_code = 1


def raise_if_regressed(result) -> None:
    """End the command with exit 1 naming the worst regression of a calib.check.gate.GateResult."""
    if result.passed:
        return
    worst = max(result.regressions, key=lambda o: o.ratio or 0)
    raise RegressionFound(f"{len(result.regressions)} configuration(s) regressed; worst: {worst.label} "
                          f"{100 * (worst.ratio - 1):.1f}% slower (tolerance {100 * result.settings.tolerance:g}%)")
