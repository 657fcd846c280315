"""The CI regression gate (`calib check`, `calib ab`): decide, then write the summary for people and CI.

Exit status of a gate: 0 pass, 1 regression (RegressionFound: slower beyond the tolerance, or the
current run's outputs failing their --max-drop budget or holding NaN/Inf), 3 inconclusive (GateInconclusive:
a configuration of the baseline missing, failed or skipped in the current run, an unfinished
current run, or nothing measured in both; `--allow-missing` accepts it). 2 stays the usage error
(bad options, unreadable or incomparable files)."""

from calib.check.gate import FIDELITY_FAILED
from calib.errors import CalibError


class RegressionFound(CalibError):
    """At least one configuration is significantly slower than the tolerance allows (exit 1)."""

    exit_code = 1


class GateInconclusive(CalibError):
    """No regression seen, but the gate could not judge everything the baseline measured (exit 3)."""

    exit_code = 3


def raise_if_regressed(result) -> None:
    """End the command with exit 1 naming the worst regression of a calib.check.gate.GateResult,
    or exit 3 saying what went unjudged when the result is inconclusive."""
    if result.regressions:
        slower = [o for o in result.regressions if o.outcome != FIDELITY_FAILED]
        inaccurate = [o for o in result.regressions if o.outcome == FIDELITY_FAILED]
        parts = []
        if slower:
            worst = max(slower, key=lambda o: o.ratio or 0)
            parts.append(f"{len(slower)} configuration(s) regressed; worst: {worst.label} "
                         f"{100 * (worst.ratio - 1):.1f}% slower (tolerance {100 * result.settings.tolerance:g}%)")
        if inaccurate:
            parts.append(f"{len(inaccurate)} configuration(s) fail their fidelity budget in the current run: "
                         f"{inaccurate[0].label} ({inaccurate[0].note.split('; ')[0]})")
        also = f"; also not judged: {'; '.join(result.unjudged_reasons)}" if result.unjudged_reasons else ""
        raise RegressionFound("; ".join(parts) + also)
    if result.inconclusive:
        raise GateInconclusive(f"inconclusive: {'; '.join(result.unjudged_reasons)} "
                               "(pass --allow-missing to accept a gate that judged less)")
