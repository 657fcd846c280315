"""`calib compare`: results of several runs or devices side by side."""

from __future__ import annotations

import click

from calib.cli._common import console
from calib.store.db import KINDS


@click.command(name="compare")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--store", "store_url", metavar="URL",
              help="Also show the latest run of each device class in this store (sqlite:///path.db or "
                   "postgresql://user@host/db), after FILES when both are given.")
@click.option("-m", "--model", metavar="NAME", help="With --store: the latest run of each device class that "
                                                     "measured this model, and only its records.")
@click.option("--kind", type=click.Choice([*KINDS, "any"]),
              default="run", show_default=True, help="With --store: which command's runs.")
def command(files, store_url, model, kind):
    """Align the configurations of results FILES (one column per file and device) and show
    medians with CIs, speed-up over fp32, native/emulated marks and ratios between runs.

    With --store URL, the latest run of each device class in the store joins them, one column each
    (labelled device_class@date): the Jetson-against-i7 view without copying files. FILES and --store
    together merge: the files come first (the first column is the reference of the ratios), then the
    store's device classes in name order.

    Differences in settings that change timings (threads, governor, power mode, library
    versions) or that define a configuration (a training run's optimizer, learning rate, steps;
    int8-static's calibration) are named as warnings: side by side is the point here. `calib check`, which
    passes or fails a build, refuses them unless --force."""
    from pathlib import Path

    from calib.compare.align import align
    from calib.compare.defining import configuration_difference
    from calib.compare.environment import against_first
    from calib.errors import UsageError
    from calib.render.compare_table import LEGEND, build_compare_table
    from calib.results.record import read_result

    if not files and store_url is None:
        raise UsageError("give results FILES, --store URL, or both")
    if store_url is None and (model is not None or kind != "run"):
        raise UsageError("-m/--model and --kind choose runs of a store: give --store URL")
    results = [read_result(path) for path in files]
    from_store = _store_results(store_url, model, kind) if store_url is not None else []
    results += from_store
    differences = against_first([(Path(r.path).name, dict(r.environment)) for r in results])
    unlike = [found for found in (configuration_difference(results[0], other, Path(results[0].path).name,
                                                           Path(other.path).name) for other in results[1:]) if found]
    columns, rows = align(results)
    title = f"calib compare: {len(files)} file(s)" + (f", {len(from_store)} device class(es) from the store"
                                                      if store_url is not None else "")
    out = console()
    out.print(build_compare_table(columns, rows, title=f"{title}, {len(columns)} column(s)"))
    out.print(LEGEND, style="dim")
    for difference in differences:
        for line in difference.lines():
            out.print(f"[yellow]warning:[/] {line}")
    for found in unlike:  # side by side is the point here; `calib check` refuses them unless --force
        out.print(f"[yellow]warning:[/] {found.line()}")


def _store_results(store_url: str, model: str | None, kind: str) -> list:
    from calib.compare.store import latest_results
    from calib.store import open_existing
    from calib.errors import UsageError

    store = open_existing(store_url)
    try:
        found = latest_results(store, model=model, kind=kind)
    finally:
        store.close()
    if not found:
        looked = [f"kind {kind}"] if kind != "any" else []
        looked += [f"model {model}"] if model else []
        raise UsageError(f"no runs in the store {store.shown}" + (f" (looked for {', '.join(looked)})" if looked else ""))
    return found
