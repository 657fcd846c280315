"""The CI regression gate (`calib check`): decide, then write the summary for people and CI."""

from calib.errors import CalibError


class RegressionFound(CalibError):
    """At least one configuration is significantly slower than the tolerance allows (exit 1)."""

    exit_code = 1
