"""`calib show --fidelity`: every fidelity number of every configuration (calib.fidelity)."""

from __future__ import annotations

from rich.text import Text

from calib.render.fit import Fitted, light_table
from calib.results.record import Fidelity, Record, as_records

# Left out first, in this order, where the terminal is too narrow (calib.render.fit).
DROPPABLE = ("mean abs", "rel err", "NaN", "Inf", "max abs", "sample", "reference", "cosine", "top-1 agree")
# Text columns wrap, down to these widths; numbers and verdicts are kept whole.
TEXT_COLUMNS = {"sample": 12, "reference": 8, "why": 20}


def _number(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _sqnr(fidelity: Fidelity) -> str:
    if fidelity.sqnr_db is not None:
        return f"{fidelity.sqnr_db:.1f}"
    return "inf" if fidelity.max_abs == 0 else "-"


def _verdict(fidelity: Fidelity) -> Text:
    passed = fidelity.passed
    if passed is None:
        return Text("-", style="dim")
    return Text("pass", style="green") if passed else Text("FAIL", style="bold red")


def build_fidelity_table(records: list[Record | dict], title: str | None = "fidelity against fp32") -> Fitted:
    """One row per configuration that ran; columns a reader needs to trust a precision."""
    records = as_records(records)
    many_models = len({r.identity.model for r in records}) > 1
    many_backends = len({r.identity.backend for r in records}) > 1
    samples = {r.fidelity.sample for r in records if r.fidelity}
    one_sample = samples.pop() if len(samples) == 1 else None
    # The run table's light box: eighteen columns of borders would cost a sixth of 120 columns.
    table = light_table(title, caption=f"compared on {one_sample}" if one_sample else None, caption_justify="left")
    columns = [("model", many_models), ("backend", many_backends), ("precision", True), ("batch", True),
               ("sample", one_sample is None), ("reference", True), ("accuracy", True), ("drop", True),
               ("top-1 agree", True), ("cosine", True), ("SQNR dB", True), ("max abs", True), ("mean abs", True),
               ("rel err", True), ("NaN", True), ("Inf", True), ("budget", True), ("why", True)]
    shown = [name for name, keep in columns if keep]
    for name in shown:
        left = name in ("model", "backend", "precision", "sample", "reference", "budget", "why")
        table.add_column(name, justify="left" if left else "right", no_wrap=name not in TEXT_COLUMNS,
                         min_width=TEXT_COLUMNS.get(name), overflow="fold")
    for record in records:
        ident = record.identity
        fidelity = record.fidelity
        cells = {"model": ident.model, "backend": ident.backend, "precision": ident.precision_label,
                 "batch": str(ident.batch_size)}
        if not fidelity:
            cells["why"] = record.status if not record.ok else "not checked"
            table.add_row(*[cells.get(name, "") for name in shown], style="dim")
            continue
        drop = fidelity.accuracy_drop
        cells.update({
            "sample": fidelity.sample or "-", "reference": fidelity.reference or "none",
            "accuracy": _percent(fidelity.accuracy),
            "drop": "-" if drop is None or fidelity.is_reference else f"{drop:.2f}",
            "top-1 agree": _percent(fidelity.top1_agreement),
            "cosine": _number(fidelity.cosine, ".6f"), "SQNR dB": _sqnr(fidelity),
            "max abs": _number(fidelity.max_abs, ".3g"), "mean abs": _number(fidelity.mean_abs, ".3g"),
            "rel err": _number(fidelity.rel_error, ".3g"),
            "NaN": _number(fidelity.nan_count, ""), "Inf": _number(fidelity.inf_count, ""),
            "budget": _verdict(fidelity), "why": fidelity.judgement or "",
        })
        style = "red" if record.fidelity_failed else None
        table.add_row(*[cells.get(name, "") for name in shown], style=style)
    return Fitted(table, DROPPABLE, where="`calib show --fidelity FILE` on a wider terminal or the JSON has them")
