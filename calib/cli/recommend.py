"""`calib recommend`: the fastest configuration per device whose accuracy stays within budget."""

from __future__ import annotations

import json

import click

from calib.cli._common import console
from calib.fidelity.choose import as_dict, recommend
from calib.render.recommend_table import build_recommend_table, headline
from calib.results.record import read_result
from calib.settings import FidelitySettings


@click.command(name="recommend")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--max-drop", type=float,
              help="Budget: accuracy points below fp32 (top-1 changes % without labels; cosine >= 1-X/100 for "
                   "other outputs). Default: the budget stored with the run, else 1.")
@click.option("--by", type=click.Choice(["item", "call"]), default="item", show_default=True,
              help="Rank by median ms per item (throughput) or per call (latency).")
@click.option("--json", "as_json", is_flag=True, help="Print the ranking as JSON.")
def command(files, max_drop, by, as_json):
    """Per device, the fastest configuration in the results FILES whose fidelity passes the budget,
    with the runners-up and why the others were excluded."""
    max_drop = FidelitySettings(max_drop=max_drop).max_drop  # the budget's own rule (calib.settings)
    choices = recommend([read_result(path) for path in files], max_drop=max_drop, by=by)
    if as_json:
        click.echo(json.dumps([as_dict(choice) for choice in choices], indent=1))
        return
    out = console()
    for choice in choices:
        out.print(headline(choice))
        out.print(build_recommend_table(choice, show_source=len(files) > 1))
