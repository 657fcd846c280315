"""`calib check`: the CI gate. Exit 0 pass, 1 regression, 2 usage error or unreadable input,
3 inconclusive (calib.check: what the baseline measured went unjudged; --allow-missing accepts it)."""

from __future__ import annotations

from pathlib import Path

import click

from calib.check import raise_if_regressed
from calib.check.gate import GateSettings, gate
from calib.check.junit import write_junit
from calib.check.markdown import write_markdown
from calib.cli._common import check_output_path, console
from calib.compare.environment import environment_difference
from calib.errors import UsageError
from calib.render.gate_table import build_gate_table
from calib.results.record import read_result


@click.command(name="check")
@click.option("--baseline", required=True, type=click.Path(dir_okay=False), help="Results file of the reference build.")
@click.option("--current", required=True, type=click.Path(dir_okay=False), help="Results file of the build under test.")
@click.option("--tolerance", default="5%", show_default=True,
              help="Slowdown allowed before a configuration can fail (run-to-run noise of the machine).")
@click.option("--alpha", type=float, default=None, help="Significance level of the test (default 0.01).")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False),
              help="Write a markdown summary here (e.g. $GITHUB_STEP_SUMMARY).")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), help="Write JUnit XML here.")
@click.option("--force", is_flag=True, help="Judge even when the two runs' timing settings or machines differ.")
@click.option("--allow-missing", is_flag=True,
              help="Pass (exit 0) although configurations of BASELINE are missing, failed or skipped in CURRENT, "
                   "or CURRENT's run did not finish; they are still listed.")
def command(baseline, current, tolerance, alpha, markdown_path, junit_path, force, allow_missing):
    """Fail (exit 1) when a configuration in CURRENT is slower than in BASELINE by more than
    --tolerance AND the slowdown is statistically significant: paired over the rounds for files
    from `calib ab` (recommended), on the raw samples for separate runs.

    \b
    Exit status:
      0  pass: every configuration of BASELINE was measured again, none regressed
      1  regression: at least one configuration is significantly slower
      2  usage error: bad option, unreadable file, or runs that are not comparable
      3  inconclusive: no regression, but a configuration measured in BASELINE is missing,
         failed or was skipped in CURRENT, CURRENT's run did not finish ("complete": false),
         or nothing was measured in both; --allow-missing makes this a pass

    A configuration skipped in both runs is not measured, and is no reason to fail."""
    check_output_path(markdown_path, "--markdown")  # exit 2 now, never 1 (a "regression") after the gate
    check_output_path(junit_path, "--junit")

    settings = GateSettings.from_cli(tolerance, alpha, allow_missing)
    baseline_result, current_result = read_result(baseline), read_result(current)
    difference = environment_difference(dict(baseline_result.environment), dict(current_result.environment),
                                        Path(baseline).name, Path(current).name)
    if difference and not difference.comparable and not force:
        raise UsageError("; ".join(difference.lines()) + "; timings are not comparable (pass --force to judge anyway)")
    result = gate(baseline_result, current_result, settings)
    result.environment_notes = difference.lines() if difference else []

    out = console()
    out.print(build_gate_table(result))
    for note in result.environment_notes:
        out.print(f"[yellow]warning:[/] {note}")
    for note in result.completeness_notes:
        out.print(f"[yellow]warning:[/] {note}")
    for note in result.method_notes:
        out.print(f"note: {note}", style="dim")
    if markdown_path:
        write_markdown(result, markdown_path)
    if junit_path:
        write_junit(result, junit_path)
    raise_if_regressed(result)
