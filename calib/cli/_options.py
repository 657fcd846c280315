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


def configuration_options(command):
    """What to measure: precisions, backends, batch sizes, device, threads, input shape (`run`, `ab`)."""
    decorators = [
        click.option("--precision", "-p", "precisions", multiple=True, default=["fp32"], show_default=True,
                     help="fp32 tf32 fp16 bf16 amp-fp16 amp-bf16 int8-dynamic int8-static fp8; "
                          "repeat or comma-separate."),
        click.option("--backend", "-b", "backends", multiple=True, default=["torch"], show_default=True,
                     help="torch, torch-compile, onnxruntime, tensorrt, auto (per precision); repeat for several."),
        click.option("--batch-size", "batch_sizes", multiple=True, help="One or more batch sizes (default 1)."),
        click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N."),
        click.option("--threads", type=int, help="Intra-op threads (default: physical cores). Recorded."),
        click.option("--input-shape",
                     help="One input item without batch, e.g. 3,224,224 (needed for .pt/.pt2/.onnx files)."),
        click.option("--seq-len", type=int, help="Sequence length for text models."),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def parse_batch_sizes(batch_sizes) -> list[int]:
    from calib.cli._common import split_multi
    from calib.errors import UsageError

    try:
        return [int(b) for b in split_multi(batch_sizes)] or [1]
    except ValueError:
        raise UsageError(f"--batch-size {batch_sizes}: expected integers") from None
