"""`calib recommend`: per device, the headline (what to use) and the ranking beneath it."""

from __future__ import annotations

from rich.text import Text

from calib import format as fmt
from calib.render.fit import Fitted, light_table

_DECISION_STYLE = {"best": "bold green", "runner-up": "green", "failed accuracy": "bold red", "failed": "red",
                   "emulated": "yellow", "unsupported": "red"}


def headline(choice) -> str:
    """One line: the configuration to use on this device, or that none qualifies."""
    where = f"[bold]{choice.model}[/] on {choice.device}"
    best = choice.best
    if best is None:
        return (f"{where}: [bold red]no configuration ran natively within the budget[/] "
                f"(max drop {choice.max_drop:g}); see why below")
    configuration = best.record.identity
    fidelity = best.record.fidelity_compact or "fp32"
    return (f"{where}: use [bold green]{configuration.precision_label}[/] through [bold]{configuration.backend}[/] at "
            f"batch {configuration.batch_size}: {fmt.ms_unit(best.cost_ms)} per {choice.by}, fidelity {fidelity} "
            f"(max drop {choice.max_drop:g})")


def build_recommend_table(choice, show_source: bool) -> Fitted:
    """Every option, best first: its cost, fidelity, the decision and why."""
    table = light_table()
    cost = f"ms/{choice.by}"
    names = ["backend", "precision", "batch", cost, "fidelity", "decision", "why"] + (["file"] if show_source else [])
    for name in names:
        text = name in ("fidelity", "why", "file")
        table.add_column(name, justify="right" if name in ("batch", cost) else "left", no_wrap=not text,
                         min_width={"fidelity": 16, "why": 20, "file": 12}.get(name), overflow="fold")
    for option in choice.options:
        configuration = option.record.identity
        fidelity = option.record.fidelity_compact or "-"
        row = [configuration.backend, configuration.precision_label, str(configuration.batch_size), fmt.ms(option.cost_ms),
               fidelity, Text(option.decision, style=_DECISION_STYLE.get(option.decision, "dim")), option.why]
        table.add_row(*(row + ([option.source] if show_source else [])))
    return Fitted(table, ("file",), where="`calib recommend --json` has it")
