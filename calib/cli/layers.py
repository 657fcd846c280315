"""`calib layers`: per-layer and per-op-kind tables of a stored result (never re-runs a model)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from calib.cli._common import console, split_multi
from calib.errors import UsageError

if TYPE_CHECKING:
    from calib.results.record import Record


@click.command(name="layers")
@click.argument("result_file", type=click.Path(dir_okay=False))
@click.option("--top", type=int, default=15, show_default=True, help="Show the N slowest layers (0: all).")
@click.option("--precision", "-p", "precisions", multiple=True, help="Only these precisions (repeat or comma-separate).")
@click.option("--compare-precision", help="Put this precision beside each other one, per layer, with the speed-up.")
def command(result_file, top, precisions, compare_precision):
    """Per-layer latency tables stored by `calib run --layers` in RESULT_FILE."""
    from calib.render.layers_table import build_compare_table, build_kind_table, build_layer_table, coverage_line
    from calib.results.record import read_result

    if top < 0:
        raise UsageError("--top must be 0 (all) or positive")
    limit = top or None
    result = read_result(result_file)
    with_layers = [r for r in result.records if r.ok and r.has_layers]
    if not with_layers:
        raise UsageError(f"{result_file}: no per-layer tables in this result; run `calib run ... --layers`")
    wanted = split_multi(precisions)
    chosen = [r for r in with_layers if not wanted or r.precision in wanted]
    if not chosen:
        raise UsageError(f"{result_file}: no per-layer table for precision {', '.join(wanted)}; stored: "
                         f"{', '.join(sorted({r.precision for r in with_layers}))}")
    out = console()
    if not compare_precision:
        for record in chosen:
            out.print(build_layer_table(record, limit))
            out.print(build_kind_table(record))
        return
    pairs = _pairs(with_layers, chosen, compare_precision, result_file)
    for baseline, record in pairs:
        out.print(build_compare_table(baseline, record, limit))
        out.print(f"{compare_precision}: {coverage_line(baseline.layers)}", style="dim")
        out.print(f"{record.precision}: {coverage_line(record.layers)}", style="dim")


def _pairs(with_layers: list[Record], chosen: list[Record], baseline_precision: str, result_file) -> list[tuple]:
    """(baseline record, other record) on the same model, backend, batch size and device."""
    def key(record: Record):
        return record.identity.peer_key

    baselines = {key(r): r for r in with_layers if r.precision == baseline_precision}
    if not baselines:
        raise UsageError(f"{result_file}: no per-layer table for --compare-precision {baseline_precision}")
    pairs = [(baselines[key(r)], r) for r in chosen
             if r.precision != baseline_precision and key(r) in baselines]
    if not pairs:
        raise UsageError(f"{result_file}: nothing to compare with {baseline_precision} "
                         "(need another precision on the same model, backend, batch size and device)")
    return pairs
