"""GateSettings checks its own values at construction (`calib check --alpha/--tolerance`, `calib ab --tolerance`)."""

import pytest

from calib.check.gate import DEFAULT_ALPHA, GateSettings, parse_tolerance
from calib.errors import UsageError


@pytest.mark.parametrize("text, value", [("5%", 0.05), ("0.05", 0.05), (" 12.5% ", 0.125), ("0", 0.0)])
def test_tolerance_text(text, value):
    assert parse_tolerance(text) == pytest.approx(value)
    assert GateSettings.from_cli(text).tolerance == pytest.approx(value)


@pytest.mark.parametrize("text, message", [("five", "expected a percentage"), ("5", "write 5%"),
                                           ("-5%", "--tolerance -5%: must be a finite, non-negative number"),
                                           ("inf%", "--tolerance")])
def test_bad_tolerance_is_one_usage_error(text, message):
    with pytest.raises(UsageError, match=message):
        GateSettings.from_cli(text)


@pytest.mark.parametrize("alpha", [0.0, 1.0, 2.0, -0.1, float("nan")])
def test_alpha_outside_0_1_is_refused_at_construction(alpha):
    with pytest.raises(UsageError, match="--alpha .*: must lie between 0 and 1"):
        GateSettings(alpha=alpha)


def test_defaults_and_given_values():
    assert GateSettings.from_cli("5%").alpha == DEFAULT_ALPHA
    settings = GateSettings.from_cli("10%", alpha=0.05, allow_missing=True)
    assert (settings.tolerance, settings.alpha, settings.allow_missing) == (pytest.approx(0.10), 0.05, True)
    with pytest.raises(UsageError, match="--tolerance"):
        GateSettings(tolerance=-0.01)
