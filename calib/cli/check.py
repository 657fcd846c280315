"""`calib check`: the CI gate. Exit 0 pass, 1 regression, 2 usage error or unreadable input,
3 inconclusive (calib.check: what the baseline measured went unjudged; --allow-missing accepts it).
Against one baseline file (calib.check.gate) or, with --history, against the recent history of each
configuration in a results store (calib.check.history)."""

from __future__ import annotations

from pathlib import Path

import click

from calib.check import raise_if_regressed
from calib.check.comparable import defining_notes, refuse_not_a_run
from calib.check.gate import GateSettings, gate
from calib.check.junit import write_junit
from calib.check.markdown import write_markdown
from calib.cli._common import console
from calib.cli._outputs import Output, check_outputs
from calib.compare.environment import environment_difference
from calib.errors import UsageError
from calib.render.gate_table import build_gate_table
from calib.results.record import read_result

_HISTORY_ONLY = ("--store", "--window", "--base-branch", "--device-class")


@click.command(name="check")
@click.option("--baseline", type=click.Path(dir_okay=False),
              help="Results file of the reference build (or --history).")
@click.option("--history", is_flag=True,
              help="Judge CURRENT against the last --window runs of each configuration in --store (same device "
                   "class, base branch) instead of one baseline file.")
@click.option("--current", required=True, type=click.Path(dir_okay=False), help="Results file of the build under test.")
@click.option("--store", "store_url", metavar="URL",
              help="With --history: the results store (sqlite:///path.db or postgresql://user@host/db; "
                   "default: CALIB_STORE, else results/calib.db).")
@click.option("--window", type=int, default=None,
              help="With --history: how many of the latest runs of a configuration make its history [default: 10].")
@click.option("--base-branch", metavar="NAME",
              help="With --history: the branch whose runs make the history [default: main, else master, else the "
                   "branch most runs of the device class measured].")
@click.option("--device-class", metavar="NAME",
              help="With --history: the device class whose runs make the history [default: CURRENT's].")
@click.option("--tolerance", default="5%", show_default=True,
              help="Slowdown allowed before a configuration can fail (run-to-run noise of the machine).")
@click.option("--alpha", type=float, default=None, help="Significance level of the test (default 0.01).")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False),
              help="Write a markdown summary here (e.g. $GITHUB_STEP_SUMMARY).")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), help="Write JUnit XML here.")
@click.option("--force", is_flag=True,
              help="Judge even when the two runs' timing settings or machines differ, or the settings that define "
                   "a configuration do (training: optimizer, learning rate, momentum, steps, warm-up steps, seed, "
                   "init scale, compile; int8-static: calibration data source and items, method, percentile, "
                   "qscheme, weight granularity); the difference is named in the verdict (--history: keep runs of "
                   "other settings in the history).")
@click.option("--allow-missing", is_flag=True,
              help="Pass (exit 0) although configurations of BASELINE are missing, failed or skipped in CURRENT, "
                   "CURRENT's run did not finish, or (--history) a configuration's history is too short; they are "
                   "still listed.")
def command(baseline, history, current, store_url, window, base_branch, device_class, tolerance, alpha,
            markdown_path, junit_path, force, allow_missing):
    """Fail (exit 1) when a configuration in CURRENT is slower than in BASELINE by more than
    --tolerance AND the slowdown is statistically significant: paired over the rounds for files
    from `calib ab` (recommended), on the raw samples for separate runs.

    With --history (instead of --baseline), each configuration of CURRENT is judged against its last
    --window ok runs in --store on the same device class and the base branch, CURRENT's own run left
    out: a one-sided t-test of log(current median) against the log medians of those runs, shifted by
    log(1 + tolerance), with their run-to-run spread (a prediction interval of one more run).

    \b
    Exit status:
      0  pass: every configuration of BASELINE was measured again, none regressed
      1  regression: at least one configuration is significantly slower
      2  usage error: bad option, unreadable file or store, or runs that are not comparable
      3  inconclusive: no regression, but a configuration measured in BASELINE is missing,
         failed or was skipped in CURRENT, CURRENT's run did not finish ("complete": false),
         nothing was measured in both, or (--history) a configuration has fewer than 3 runs
         of history; --allow-missing makes this a pass

    A configuration skipped in both runs is not measured, and is no reason to fail.

    Refused (exit 2, one line) before judging: a calibration table (calib calibrate) or a prediction
    (calib predict) given as BASELINE or CURRENT, which hold no measured run; runs whose timing settings
    (threads, governor, library versions) or machines differ; runs whose settings that define a
    configuration differ (a training run's optimizer, learning rate or steps; int8-static's calibration
    data, method, qscheme or weight granularity). --force judges the last two anyway, naming the
    difference."""
    if (baseline is None) == (not history):
        raise UsageError("give exactly one of --baseline FILE or --history (with --store URL)")
    if baseline is not None:
        given = [name for name, value in zip(_HISTORY_ONLY, (store_url, window, base_branch, device_class))
                 if value is not None]
        if given:
            raise UsageError(f"{', '.join(given)} go(es) with --history, not --baseline")
    # exit 2 now, never 1 (a "regression") after the gate; never over the files it judges
    check_outputs([Output("--markdown", markdown_path), Output("--junit", junit_path)],
                  inputs=[("--baseline", baseline), ("--current", current)])

    settings = GateSettings.from_cli(tolerance, alpha, allow_missing)
    if history:
        current_result = read_result(current)
        refuse_not_a_run(current_result, "--current", current)
        result = _history_gate(current_result, settings, store_url, window, base_branch, device_class, force)
    else:
        result = _file_gate(baseline, current, settings, force)

    out = console()
    out.print(build_gate_table(result))
    if history:
        out.print(f"{result.baseline_path}:", style="dim", highlight=False)
        for window in result.windows:
            out.print(f"  {window.describe()}", style="dim", highlight=False, soft_wrap=True)
    for note in result.environment_notes:
        out.print(f"[yellow]warning:[/] {note}")
    for note in result.completeness_notes:
        out.print(f"[yellow]warning:[/] {note}")
    for note in result.method_notes:
        out.print(f"note: {note}", style="dim")
    if markdown_path:
        if history:
            from calib.check.history import history_markdown

            write_markdown(result, markdown_path, render=history_markdown)
        else:
            write_markdown(result, markdown_path)
    if junit_path:
        write_junit(result, junit_path)
    raise_if_regressed(result)


def _file_gate(baseline, current, settings, force):
    baseline_result, current_result = read_result(baseline), read_result(current)
    refuse_not_a_run(baseline_result, "--baseline", baseline)
    refuse_not_a_run(current_result, "--current", current)
    names = Path(baseline).name, Path(current).name
    difference = environment_difference(dict(baseline_result.environment), dict(current_result.environment), *names)
    if difference and not difference.comparable and not force:
        raise UsageError("; ".join(difference.lines()) + "; timings are not comparable (pass --force to judge anyway)")
    defining = defining_notes(baseline_result, current_result, *names, force)
    result = gate(baseline_result, current_result, settings)
    result.environment_notes = (difference.lines() if difference else []) + defining
    return result


def _history_gate(current_result, settings, store_url, window, base_branch, device_class, force):
    from calib.check.history import (DEFAULT_WINDOW, HistoryScope, current_device_class, default_branch,
                                     gate_history)
    from calib.store import open_existing

    store = open_existing(store_url)
    try:
        chosen_class = device_class or current_device_class(current_result)
        scope = HistoryScope(chosen_class, base_branch or default_branch(store, chosen_class),
                             DEFAULT_WINDOW if window is None else window, force)
        return gate_history(store, current_result, settings, scope)
    finally:
        store.close()
