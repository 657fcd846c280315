"""The gate's outcome as a rich table for the terminal."""

from __future__ import annotations

from calib.check.gate import GateResult
from calib.check.markdown import headline, outcome_cells
from calib.render.fit import Fitted, light_table

_STYLE = {"regression": "bold red", "fails fidelity": "bold red", "improvement": "green", "unchanged": ""}
# The text columns wrap where a terminal is narrow (down to these widths); numbers are never cut.
WRAPPING = {"configuration": 16, "method": 12, "note": 8}
# Left out first, in this order, where even that does not fit (calib.render.fit): the ratio, its
# interval and p decide; the medians and the method are context.
DROPPABLE = ("method", "baseline ms", "current ms")


def build_gate_table(result: GateResult) -> Fitted:
    table = light_table(f"calib check: {headline(result)}")
    for name, justify in (("configuration", "left"), ("outcome", "left"), ("baseline ms", "right"),
                          ("current ms", "right"), ("current/baseline\n[95% CI]", "right"), ("p", "right"),
                          ("method", "left"), ("note", "left")):
        table.add_column(name, justify=justify, no_wrap=name not in WRAPPING, min_width=WRAPPING.get(name),
                         overflow="fold")
    for outcome in result.outcomes:
        table.add_row(*outcome_cells(outcome), style=_STYLE.get(outcome.outcome, "dim"))
    return Fitted(table, DROPPABLE, where="a wider terminal or --markdown has them")
