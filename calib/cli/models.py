"""`calib models`: the catalog with parameter counts and default input shapes."""

from __future__ import annotations

import click

from calib.cli._common import console


@click.command(name="models")
@click.option("--no-params", is_flag=True, help="Skip building each model to count parameters (faster).")
def command(no_params):
    """List the model catalog."""
    from rich.table import Table

    from calib.models.catalog import CATALOG

    table = Table(header_style="bold")
    for header in ("name", "family", "input", "default item shape", "parameters", "description"):
        table.add_column(header, justify="right" if header == "parameters" else "left")
    for entry in CATALOG.values():
        params = "-" if no_params else _human(_parameter_count(entry))
        shape = "x".join(str(d) for d in entry.input_shape)
        table.add_row(entry.name, entry.family, entry.input_kind, shape, params,
                      entry.description + (" (tiny)" if entry.tiny else ""))
    console().print(table)


def _parameter_count(entry) -> int:
    import torch

    with torch.device("meta"):  # counts without allocating real weights
        module = entry.build()
    return sum(p.numel() for p in module.parameters())


def _human(count: int) -> str:
    return f"{count / 1e6:.2f} M" if count >= 1e6 else f"{count / 1e3:.1f} K"
