"""`calib models`: the catalog with parameter counts and default input shapes."""

from __future__ import annotations

import click

from calib.cli._common import console


@click.command(name="models")
@click.option("--no-params", is_flag=True, help="Skip building each model to count parameters (faster).")
def command(no_params):
    """List the model catalog."""
    from calib.models.catalog import CATALOG
    from calib.render.models_table import build_models_table

    counts = None if no_params else {entry.name: _parameter_count(entry) for entry in CATALOG.values()}
    console().print(build_models_table(CATALOG.values(), counts))


def _parameter_count(entry) -> int:
    import torch

    with torch.device("meta"):  # counts without allocating real weights
        module = entry.build()
    return sum(p.numel() for p in module.parameters())
