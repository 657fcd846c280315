"""The gate's outcome as a rich table for the terminal."""

from __future__ import annotations

from rich.table import Table

from calib.check.gate import GateResult
from calib.check.markdown import headline, outcome_cells

_STYLE = {"regression": "bold red", "improvement": "green", "unchanged": ""}


def build_gate_table(result: GateResult) -> Table:
    table = Table(title=f"calib check: {headline(result)}", title_justify="left", header_style="bold")
    for name, justify in (("configuration", "left"), ("outcome", "left"), ("baseline ms", "right"),
                          ("current ms", "right"), ("current/baseline [95% CI]", "right"), ("p", "right"),
                          ("method", "left"), ("note", "left")):
        table.add_column(name, justify=justify, no_wrap=name != "note")
    for outcome in result.outcomes:
        table.add_row(*outcome_cells(outcome), style=_STYLE.get(outcome.outcome, "dim"))
    return table
