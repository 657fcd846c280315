"""`calib compare`: results of several runs or devices side by side."""

from __future__ import annotations

import click

from calib.cli._common import console


@click.command(name="compare")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def command(files):
    """Align the configurations of results FILES (one column per file and device) and show
    medians with CIs, speed-up over fp32, native/emulated marks and ratios between runs.

    Differences in settings that change timings (threads, governor, power mode, library
    versions) are named as warnings: side by side is the point here. `calib check`, which
    passes or fails a build, refuses them unless --force."""
    from pathlib import Path

    from calib.compare.align import align
    from calib.compare.environment import against_first
    from calib.render.compare_table import LEGEND, build_compare_table
    from calib.results.record import read_result

    results = [read_result(path) for path in files]
    differences = against_first([(Path(r.path).name, dict(r.environment)) for r in results])
    columns, rows = align(results)
    out = console()
    out.print(build_compare_table(columns, rows, title=f"calib compare: {len(files)} file(s), {len(columns)} column(s)"))
    out.print(LEGEND, style="dim")
    for difference in differences:
        for line in difference.lines():
            out.print(f"[yellow]warning:[/] {line}")
