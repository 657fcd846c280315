"""`calib quant-error`: int8 error per layer, worst first, and the model's size per precision."""

from __future__ import annotations

import math


from calib import format as fmt
from calib.render.fit import Fitted, light_table

WEIGHT_SCHEMES = {"w sym/tensor": "symmetric/per-tensor", "w sym/channel": "symmetric/per-channel",
                  "w aff/tensor": "affine/per-tensor", "w aff/channel": "affine/per-channel"}
SEE_DROPPED = "a wider terminal or --json FILE has them"


def build_layer_error_table(model_name: str, rows: list[dict], granularity: str, total: int) -> Fitted:
    """One row per layer: weight SQNR under each scheme, the MSE of the one used, activation error."""
    table = light_table(f"int8 quantization error: {model_name}, {len(rows)} of {total} layers, worst first "
                        f"(SQNR dB: higher is better)")
    for name in ("#", "layer", "kind", "params", *WEIGHT_SCHEMES, "w MSE (used)", "act SQNR", "act MSE",
                 "act range"):
        table.add_column(name, justify="left" if name in ("layer", "kind") else "right", no_wrap=name != "layer",
                         min_width=16 if name == "layer" else None, overflow="fold")
    for row in rows:
        weight, activation = row["weight"], row["activation"]
        table.add_row(
            str(row["rank"]), row["layer"], row["kind"], f"{row['params']:,}",
            *(_db(weight[scheme]["sqnr_db"]) for scheme in WEIGHT_SCHEMES.values()),
            f"{weight[f'symmetric/{granularity}']['mse']:.2e}",
            _db(activation["sqnr_db"]) if activation else "-",
            f"{activation['mse']:.2e}" if activation else "-",
            f"[{activation['range'][0]:.3g}, {activation['range'][1]:.3g}]" if activation else "-",
        )
    # The scheme in use (symmetric, --weight-granularity) stays longest; the affine ones are context.
    unused = "w sym/tensor" if granularity == "per-channel" else "w sym/channel"
    return Fitted(table, ("act range", "w aff/tensor", "w aff/channel", "act MSE", unused), where=SEE_DROPPED)


def build_size_table(sizes: list[dict]) -> Fitted:
    """Serialized bytes per precision beside the params x bits estimate."""
    table = light_table("model size per precision")
    for column in ("precision", "serialized", "vs fp32", "params x bits", "note"):
        table.add_column(column, justify="left" if column in ("precision", "note") else "right",
                         no_wrap=column != "note", min_width=16 if column == "note" else None, overflow="fold")
    for row in sizes:
        table.add_row(row["precision"], fmt.size(row["serialized_bytes"]) if row["serialized_bytes"] else "-",
                      f"{row['vs_fp32']:.2f}x" if row["vs_fp32"] else "-", fmt.size(row["estimate_bytes"]),
                      row["note"])
    return Fitted(table)


def _db(value: float) -> str:
    return "exact" if math.isinf(value) and value > 0 else f"{value:.1f}"
