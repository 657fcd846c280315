"""`calib show`: re-render stored results without running anything."""

from __future__ import annotations

import click

from calib.cli._common import console
from calib.cli._options import printout_options


@click.command(name="show")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--fidelity", "show_fidelity", is_flag=True, help="Also print the full fidelity table.")
@click.option("--env", "show_env", is_flag=True, help="Also print each file's environment.")
@printout_options
def command(files, show_fidelity, show_env, output_format, verbose):
    """Re-render the run table of one or more results FILES."""
    from calib.render.printout import emit
    from calib.render.run_table import run_printout
    from calib.render.train_table import is_train_result, train_printout
    from calib.results.record import read_result

    printouts = []
    for path in files:
        result = read_result(path)
        env = result.environment
        title = (f"{path}: calib {result.calib_version} on {env.get('host')} "
                 f"({env.get('cpu_model')}), {env.get('threads')} threads, {result.created}")
        records = list(result.records)
        if is_train_result(records):  # a `calib train` file: its own table (calib.render.train_table)
            printouts.append(train_printout(records, title=title, source=str(path)))
            continue
        printout = run_printout(records, title=title, source=str(path))
        if show_fidelity:
            from calib.render.fidelity_table import build_fidelity_table

            printout.table(build_fidelity_table(records))
        if show_env:
            printout.lines([f"  {key}: {value}" for key, value in env.items() if key != "cpu_flags"], "info")
        printouts.append(printout)
    emit(printouts, output_format, console(), verbose)
