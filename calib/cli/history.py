"""`calib history`: each configuration's series of medians in the store, and where its level moved."""

from __future__ import annotations

import json

import click

from calib.cli._common import console
from calib.store.changepoints import DEFAULT_MAX_PVALUE


@click.command(name="history")
@click.option("--store", "store_url", metavar="URL",
              help="The store to read: sqlite:///path.db or postgresql://user@host/db (default: CALIB_STORE, "
                   "else <results-dir>/calib.db).")
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Where the default store lives (<results-dir>/calib.db).")
@click.option("-m", "--model", metavar="NAME", help="Only this model's series.")
@click.option("--precision", metavar="NAME", help="Only this precision's series.")
@click.option("--device-class", metavar="NAME", help="Only this device class (see `calib compare --store`).")
@click.option("--backend", metavar="NAME", help="Only this backend's series.")
@click.option("--branch", metavar="NAME", help="Only runs that measured this git branch.")
@click.option("--json", "as_json", is_flag=True, help="Print the series as JSON (a list) instead of a table.")
@click.option("--max-pvalue", type=click.FloatRange(0, 1, min_open=True), default=DEFAULT_MAX_PVALUE,
              show_default=True, help="A change point is kept when the t-test between its neighbouring segments "
                                      "gives p at most this.")
def command(store_url, results_dir, model, precision, device_class, backend, branch, as_json, max_pvalue):
    """Per configuration and device class: the medians of every run in the store, oldest first, with
    their intervals, and the change points in them: where the level moved, by how much (ratio of the
    medians after and before) and how surely (p-value of a t-test on log medians)."""
    from calib.store import open_existing
    from calib.store.history import build_series

    store = open_existing(store_url, results_dir)
    try:
        series = build_series(store, model=model, precision=precision, device_class=device_class, backend=backend,
                              branch=branch, max_pvalue=max_pvalue)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([one.to_json() for one in series], indent=2))
        return
    out = console()
    if not series:
        filters = [f"{name} {value}" for name, value in (("model", model), ("precision", precision),
                                                           ("device class", device_class), ("backend", backend),
                                                           ("branch", branch)) if value is not None]
        out.print(f"calib history: no records match in {store.shown}"
                  + (f" ({', '.join(filters)})" if filters else ""))
        return
    from calib.render.history_table import LEGEND, build_history_table

    out.print(build_history_table(series, title=f"calib history: {len(series)} series in {store.shown}"))
    out.print(LEGEND.format(max_pvalue=max_pvalue), style="dim")


