"""What the gate refuses before it judges: a file that holds no measured run, and two runs that measured
different configurations under one identity.

A `calib calibrate` table (per-op timings for `calib predict`, its models timed per layer) and a `calib
predict` file (latencies predicted from a table, not measured) are results files too, and `calib check`
used to judge them as runs. The settings that define a configuration (calib.compare.defining: a training
run's optimizer, learning rate and steps; int8-static's calibration data, method, scheme and granularity)
are compared as the timing settings of the environment are: a pair that differs is refused unless
--force, which judges it with the difference named in the verdict."""

from __future__ import annotations

from calib.compare.defining import configuration_difference
from calib.errors import UsageError
from calib.results.record import ResultFile


def not_a_run(result: ResultFile) -> str | None:
    """What a results file is when it is not a measured run calib check can judge, in words; else None."""
    if result.extra.get("calibration"):
        return "a calibration table (calib calibrate's per-op timings for calib predict), not a measured run"
    if result.extra.get("predicted_from") or any("prediction" in record.extra for record in result.records):
        return "a prediction (calib predict's latencies, predicted from a table, not measured)"
    return None


def refuse_not_a_run(result: ResultFile, flag: str, path) -> None:
    """One line (exit 2) when `result` is a table or a prediction."""
    kind = not_a_run(result)
    if kind:
        raise UsageError(f"{flag} {path}: is {kind}; calib check judges results of calib run, ab or train")


def defining_notes(baseline: ResultFile, current: ResultFile, first: str, second: str, force: bool) -> list[str]:
    """The defining settings the two runs differ in: refused in one line (exit 2) without `force`, else the
    note the verdict carries."""
    difference = configuration_difference(baseline, current, first, second)
    if difference is None:
        return []
    if not force:
        raise UsageError(f"{difference.line()}; the runs measured different configurations (pass --force to "
                         "judge anyway)")
    return [f"{difference.line()}; judged anyway (--force)"]
