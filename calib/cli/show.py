"""`calib show`: re-render stored results without running anything."""

from __future__ import annotations

import click

from calib.cli._common import console


@click.command(name="show")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--fidelity", "show_fidelity", is_flag=True, help="Also print the full fidelity table.")
@click.option("--env", "show_env", is_flag=True, help="Also print each file's environment.")
def command(files, show_fidelity, show_env):
    """Re-render the run table of one or more results FILES."""
    from calib.render.run_table import build_run_table, note_lines, tuning_lines, warning_lines
    from calib.results.record import read_result

    out = console()
    for path in files:
        result = read_result(path)
        env = result.environment
        title = (f"{path}: calib {result.calib_version} on {env.get('host')} "
                 f"({env.get('cpu_model')}), {env.get('threads')} threads, {result.created}")
        from calib.render.train_table import is_train_result, print_train_results

        records = list(result.records)
        if is_train_result(records):  # a `calib train` file: its own table (calib.render.train_table)
            print_train_results(records, out, title=title)
            continue
        out.print(build_run_table(records, title=title))
        for line in warning_lines(records):
            out.print(f"[yellow]warning:[/] {line}")
        for line in tuning_lines(records):
            out.print(line, style="dim")
        for line in note_lines(records):
            out.print(line, style="dim")
        if show_fidelity:
            from calib.render.fidelity_table import build_fidelity_table

            out.print(build_fidelity_table(records))
        if show_env:
            for key, value in env.items():
                if key != "cpu_flags":
                    out.print(f"  {key}: {value}")
