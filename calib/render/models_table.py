"""`calib models`: the catalog, one row per model."""

from __future__ import annotations

from calib.render.fit import Fitted, light_table


def build_models_table(entries, parameter_counts: dict[str, int] | None) -> Fitted:
    """Catalog entries with their parameter counts (None: not counted); "item shape" is the default
    shape of one input item, without the batch."""
    table = light_table()
    for header in ("name", "family", "input", "item shape", "parameters", "description"):
        table.add_column(header, justify="right" if header == "parameters" else "left",
                         no_wrap=header != "description", min_width=20 if header == "description" else None,
                         overflow="fold")
    for entry in entries:
        count = None if parameter_counts is None else parameter_counts.get(entry.name)
        table.add_row(entry.name, entry.family, entry.input_kind, "x".join(str(d) for d in entry.input_shape),
                      "-" if count is None else _human(count), entry.description + (" (tiny)" if entry.tiny else ""))
    return Fitted(table, ("family",), where="a wider terminal shows it")


def _human(count: int) -> str:
    return f"{count / 1e6:.2f} M" if count >= 1e6 else f"{count / 1e3:.1f} K"
