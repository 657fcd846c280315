"""The gate's outcome as a rich table for the terminal."""

from __future__ import annotations

from rich.table import Table

from calib.check.gate import GateResult
from calib.check.markdown import headline, outcome_cells

_STYLE = {"regression": "bold red", "improvement": "green", "unchanged": ""}
# The text columns wrap where a terminal is narrow (down to these widths); numbers are never cut.
WRAPPING = {"configuration": 16, "method": 12, "note": 8}


def build_gate_table(result: GateResult) -> Table:
    table = Table(title=f"calib check: {headline(result)}", title_justify="left", header_style="bold")
    for name, justify in (("configuration", "left"), ("outcome", "left"), ("baseline ms", "right"),
                          ("current ms", "right"), ("current/baseline\n[95% CI]", "right"), ("p", "right"),
                          ("method", "left"), ("note", "left")):
        table.add_column(name, justify=justify, no_wrap=name not in WRAPPING, min_width=WRAPPING.get(name))
    for outcome in result.outcomes:
        table.add_row(*outcome_cells(outcome), style=_STYLE.get(outcome.outcome, "dim"))
    return table
