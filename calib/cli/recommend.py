"""`calib recommend`: the fastest configuration per device whose accuracy stays within budget."""

from __future__ import annotations

import json

import click

from calib.cli._common import console
from calib.errors import UsageError


@click.command(name="recommend")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--max-drop", type=float,
              help="Budget: accuracy points below fp32 (top-1 changes %% without labels; cosine >= 1-X/100 for "
                   "other outputs). Default: the budget stored with the run, else 1.")
@click.option("--by", type=click.Choice(["item", "call"]), default="item", show_default=True,
              help="Rank by median ms per item (throughput) or per call (latency).")
@click.option("--json", "as_json", is_flag=True, help="Print the ranking as JSON.")
def command(files, max_drop, by, as_json):
    """Per device, the fastest configuration in the results FILES whose fidelity passes the budget,
    with the runners-up and why the others were excluded."""
    from calib.fidelity.choose import as_dict, recommend
    from calib.results.store import load_result

    if max_drop is not None and max_drop < 0:
        raise UsageError("--max-drop must be zero or positive")
    choices = recommend([load_result(path) for path in files], max_drop=max_drop, by=by)
    if as_json:
        click.echo(json.dumps([as_dict(choice) for choice in choices], indent=1))
        return
    out = console()
    for choice in choices:
        out.print(_headline(choice))
        out.print(_table(choice, show_source=len(files) > 1))


def _headline(choice) -> str:
    where = f"[bold]{choice.model}[/] on {choice.device}"
    best = choice.best
    if best is None:
        return (f"{where}: [bold red]no configuration ran natively within the budget[/] "
                f"(max drop {choice.max_drop:g}); see why below")
    ident = best.record["identity"]
    fidelity = (best.record.get("fidelity") or {}).get("compact") or "fp32"
    return (f"{where}: use [bold green]{ident['precision']}[/] through [bold]{ident['backend']}[/] at batch "
            f"{ident['batch_size']}: {_ms(best.cost_ms)} per {choice.by}, fidelity {fidelity} "
            f"(max drop {choice.max_drop:g})")


def _table(choice, show_source: bool):
    from rich.table import Table
    from rich.text import Text

    from calib.render import format as fmt

    table = Table(header_style="bold")
    for name in ["backend", "precision", "batch", f"ms/{choice.by}", "fidelity", "decision", "why"] + (
            ["file"] if show_source else []):
        table.add_column(name, justify="right" if name in ("batch", f"ms/{choice.by}") else "left",
                         no_wrap=name not in ("why", "file"))
    styles = {"best": "bold green", "runner-up": "green", "failed accuracy": "bold red", "failed": "red",
              "emulated": "yellow", "unsupported": "red"}
    for option in choice.options:
        ident = option.record["identity"]
        fidelity = (option.record.get("fidelity") or {}).get("compact") or "-"
        row = [ident["backend"], ident["precision"], str(ident["batch_size"]), fmt.ms(option.cost_ms), fidelity,
               Text(option.decision, style=styles.get(option.decision, "dim")), option.why]
        table.add_row(*(row + ([option.source] if show_source else [])))
    return table


def _ms(value: float | None) -> str:
    from calib.render import format as fmt

    return f"{fmt.ms(value)} ms"
