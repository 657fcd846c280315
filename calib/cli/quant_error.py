"""`calib quant-error`: which layers int8 hurts most, and what int8 saves in bytes."""

from __future__ import annotations

import json
import math

import click

from calib.cli._common import console
from calib.cli._options import (calibration_options, out_option, pop_calibration, printout_options, quiet_option,
                                trust_model_file_option)


@click.command(name="quant-error")
@click.option("--model", "-m", required=True, help="Catalog name (see `calib models`) or file.py:factory.")
@click.option("--input-shape", help="One input item without batch, e.g. 3,224,224.")
@click.option("--seq-len", type=int, help="Sequence length for text models.")
@trust_model_file_option
@calibration_options
@click.option("--top", type=int, default=15, show_default=True, help="Show the N most hurt layers (0: all).")
@click.option("--no-size", is_flag=True, help="Skip the model-size table (it converts the model to int8).")
@out_option(help="Also write the full analysis as JSON here.")
@quiet_option
@printout_options
def command(model, input_shape, seq_len, trust_model_file, top, no_size, out, quiet, output_format, verbose,
            **options):
    """Per-layer int8 weight and activation error (MSE, SQNR dB), worst first, and model size per precision."""
    from calib.cli._outputs import check_output_path
    from calib.errors import UsageError
    from calib.models.loader import check_inputs_fit, load_model, parse_shape
    from calib.quant.calibration_data import calibration_inputs
    from calib.quant.engine import select_engine
    from calib.quant.error_analysis import analyse, model_sizes
    from calib.render.printout import Printout, emit
    from calib.render.quant_error_table import build_layer_error_table, build_size_table

    if top < 0:
        raise UsageError("--top must be 0 or positive")
    if seq_len is not None and seq_len <= 0:
        raise UsageError(f"--seq-len {seq_len}: must be positive")
    check_output_path(out, "--out", inputs=[("--model", model), ("--calib-data", options.get("calib_data"))])
    calibration = pop_calibration(options)
    loaded = load_model(model, parse_shape(input_shape), seq_len, trust_model_file)
    check_inputs_fit(loaded)
    choice = select_engine()

    from calib.render.progress import progress_display

    # calib's one progress display (calib.render.progress): the activation pass, layer N of M (its weight
    # error), then the int8 conversions for the size table as the last items (configuration N of M)
    conversions = () if no_size else ("int8-dynamic", "int8-static")
    display = progress_display("calib quant-error", None, quiet=quiet, console=console(stderr=True), noun="layer")
    counted = {}

    def on_layer(index, total, name):
        counted["layers"] = total
        display.start(name, "weight error", index=index, total=total + len(conversions), noun="layer")

    def on_precision(index, total, precision):
        layers = counted.get("layers", 0)
        display.start(f"{loaded.name} {precision}", "convert, size", index=layers + index, total=layers + total,
                      noun="configuration")

    with display:
        display.phase(f"{loaded.name}: {calibration.items()} calibration samples, activation error")
        batches = calibration_inputs(loaded, calibration, batch_size=min(8, calibration.items()))
        rows = analyse(loaded, calibration, choice.reduce_range, batches, on_layer=on_layer)
        if not rows:
            raise UsageError(f"{loaded.name}: has no Conv or Linear layers to quantize")
        sizes = None if no_size else model_sizes(loaded, calibration, conversions, on_precision=on_precision)
    percentile = f" {calibration.percentile:g}" if calibration.method == "percentile" else ""
    settings = (f"calibration: {calibration.data}, {calibration.items()} samples, {calibration.method}{percentile}, "
                f"activations {calibration.qscheme} "
                f"uint8{' (7-bit, reduce_range)' if choice.reduce_range else ''}; engine {choice.engine}")
    printout = Printout(title=f"calib quant-error: {loaded.name}", source=out)
    printout.table(build_layer_error_table(loaded.name, rows[:top] if top else rows, calibration.weight_granularity,
                                           len(rows)))
    printout.lines([settings])
    if getattr(loaded, "weights", None) == "random":
        from calib.render.run_table import RANDOM_WEIGHTS_RANKING_NOTE

        printout.lines([f"note: {RANDOM_WEIGHTS_RANKING_NOTE}".replace(", and --eval judges them by your score", "")])
    if sizes:
        printout.table(build_size_table(sizes))
    if out:
        with open(out, "w") as handle:
            json.dump({"model": loaded.name, "engine": choice.engine, "reduce_range": choice.reduce_range,
                       "options": {"model_spec": model, **calibration.to_dict()}, "layers": _finite(rows),
                       "sizes": sizes}, handle, indent=1)
        printout.lines([f"written: {out}"], kind="info")
    emit([printout], output_format, console(), verbose)


def _finite(rows: list[dict]):
    """JSON has no Infinity: exact (noise-free) SQNRs are written as null."""
    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    return clean(rows)
