"""Option groups shared by several commands, defined once so their names and defaults agree."""

from __future__ import annotations

import click

CALIBRATION_KEYS = ("calib_data", "calib_samples", "calib_method", "calib_percentile", "qscheme",
                    "weight_granularity")


def calibration_options(command):
    """int8 calibration: what `calib run`, `calib ab` and `calib quant-error` all take."""
    decorators = [
        click.option("--calib-data", default="random", show_default=True,
                     help="int8 calibration data: random, digits or DIR."),
        click.option("--calib-samples", type=int, default=32, show_default=True),
        click.option("--calib-method", type=click.Choice(["minmax", "percentile", "entropy"]), default="minmax",
                     show_default=True),
        click.option("--calib-percentile", type=float, default=99.99, show_default=True),
        click.option("--qscheme", type=click.Choice(["symmetric", "affine"]), default="affine", show_default=True,
                     help="Activation quantization scheme."),
        click.option("--weight-granularity", type=click.Choice(["per-channel", "per-tensor"]),
                     default="per-channel", show_default=True),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def pop_calibration(kwargs: dict) -> dict:
    """Take the calibration options out of a command's keyword arguments, as the options dict keys."""
    return {key: kwargs.pop(key) for key in CALIBRATION_KEYS}
