"""`calib quant-error`: which layers int8 hurts most, and what int8 saves in bytes."""

from __future__ import annotations

import json
import math

import click

from calib.cli._common import console
from calib.cli._options import calibration_options, pop_calibration


@click.command(name="quant-error")
@click.option("--model", "-m", required=True, help="Catalog name (see `calib models`) or file.py:factory.")
@click.option("--input-shape", help="One input item without batch, e.g. 3,224,224.")
@click.option("--seq-len", type=int, help="Sequence length for text models.")
@calibration_options
@click.option("--top", type=int, default=15, show_default=True, help="Show the N most hurt layers (0: all).")
@click.option("--no-size", is_flag=True, help="Skip the model-size table (it converts the model to int8).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the full analysis as JSON.")
def command(model, input_shape, seq_len, top, no_size, json_path, **calibration):
    """Per-layer int8 weight and activation error (MSE, SQNR dB), worst first, and model size per precision."""
    from calib.errors import UsageError
    from calib.models.loader import load_model, parse_shape
    from calib.quant.calibration_data import calibration_inputs
    from calib.quant.engine import select_engine
    from calib.quant.error_analysis import analyse, model_sizes

    if top < 0:
        raise UsageError("--top must be 0 or positive")
    loaded = load_model(model, parse_shape(input_shape), seq_len)
    options = {**pop_calibration(calibration), "model_spec": model}
    choice = select_engine()
    batches = calibration_inputs(loaded, options, batch_size=min(8, options["calib_samples"]))
    rows = analyse(loaded, options, choice.reduce_range, batches)
    if not rows:
        raise UsageError(f"{loaded.name}: has no Conv or Linear layers to quantize")
    sizes = None if no_size else model_sizes(loaded, options)
    out = console()
    settings = (f"calibration: {options['calib_data']}, {options['calib_samples']} samples, "
                f"{options['calib_method']}"
                f"{' ' + str(options['calib_percentile']) if options['calib_method'] == 'percentile' else ''}, "
                f"activations {options['qscheme']} "
                f"uint8{' (7-bit, reduce_range)' if choice.reduce_range else ''}; engine {choice.engine}")
    out.print(_layer_table(loaded.name, rows[:top] if top else rows, options["weight_granularity"], len(rows)))
    out.print(settings, style="dim")
    if sizes:
        out.print(_size_table(sizes))
    if json_path:
        with open(json_path, "w") as handle:
            json.dump({"model": loaded.name, "engine": choice.engine, "reduce_range": choice.reduce_range,
                       "options": options, "layers": _finite(rows),
                       "sizes": sizes}, handle, indent=1)
        out.print(f"written: {json_path}")


def _layer_table(model_name: str, rows: list[dict], granularity: str, total: int):
    from rich.table import Table

    table = Table(title=f"int8 quantization error: {model_name}, {len(rows)} of {total} layers, worst first "
                        f"(SQNR dB: higher is better)")
    table.add_column("#", justify="right")
    table.add_column("layer")
    table.add_column("kind")
    table.add_column("params", justify="right")
    for label in ("w sym/tensor", "w sym/channel", "w aff/tensor", "w aff/channel"):
        table.add_column(label, justify="right")
    table.add_column("w MSE (used)", justify="right")
    table.add_column("act SQNR", justify="right")
    table.add_column("act MSE", justify="right")
    table.add_column("act range", justify="right")
    for row in rows:
        weight, activation = row["weight"], row["activation"]
        table.add_row(
            str(row["rank"]), row["layer"], row["kind"], f"{row['params']:,}",
            *(_db(weight[key]["sqnr_db"]) for key in ("symmetric/per-tensor", "symmetric/per-channel",
                                                       "affine/per-tensor", "affine/per-channel")),
            f"{weight[f'symmetric/{granularity}']['mse']:.2e}",
            _db(activation["sqnr_db"]) if activation else "-",
            f"{activation['mse']:.2e}" if activation else "-",
            f"[{activation['range'][0]:.3g}, {activation['range'][1]:.3g}]" if activation else "-",
        )
    return table


def _size_table(sizes: list[dict]):
    from rich.table import Table

    from calib.render.format import size

    table = Table(title="model size per precision")
    for column in ("precision", "serialized", "vs fp32", "params x bits", "note"):
        table.add_column(column, justify="left" if column in ("precision", "note") else "right")
    for row in sizes:
        table.add_row(row["precision"], size(row["serialized_bytes"]) if row["serialized_bytes"] else "-",
                      f"{row['vs_fp32']:.2f}x" if row["vs_fp32"] else "-", size(row["estimate_bytes"]), row["note"])
    return table


def _db(value: float) -> str:
    return "exact" if math.isinf(value) and value > 0 else f"{value:.1f}"


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
