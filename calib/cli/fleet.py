"""`calib fleet`: one sweep on every device of a Ray cluster, into one store (calib.fleet).

`calib fleet run` takes the options of `calib run` (the same click parameters, so names, defaults and help
agree) and forwards those given to each node's own `calib run`; the exceptions are the files a node would
write on its own disk (--out, --csv, --layers-csv), --device-class (each node has its own), and --timeout,
which here limits a node's whole sweep (`calib run`'s per-configuration limit is --config-timeout).
Ray is imported only when a fleet command runs (calib.fleet.require_ray says how to install it)."""

from __future__ import annotations

import click
from click.core import ParameterSource

from calib.cli._common import console, split_multi
from calib.cli.run import command as run_command

# calib run's parameters a fleet run does not offer, and those the driver keeps for itself
_NOT_OFFERED = ("out", "csv_path", "layers_csv", "store_url", "store_device_class", "timeout")
_DRIVER_OWN = ("results_dir", "quiet", "store_commit", "store_branch")

_address_option = click.option(
    "--address", envvar="RAY_ADDRESS", required=True, metavar="HOST:PORT",
    help="The Ray cluster's GCS address (the head's `ray start --head --port`), or auto for one started on this "
         "machine. Default: RAY_ADDRESS.")


@click.group(name="fleet", help="One sweep on every device of a Ray cluster, into one store (needs Ray: "
                                "pip install 'calib-bench[fleet]'). A device joins with `ray start --address HEAD "
                                "--resources '{\"calib\": 1}'`; docs/fleet.md.")
def command():
    pass


@command.command(name="nodes")
@_address_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
def nodes(address, as_json):
    """Every alive node: those offering the calib resource with their device class, what `calib device` says
    about them (from a small task pinned to each) and their calib and torch versions; the others as not used."""
    import json

    from calib.fleet import FleetError, RESOURCE, require_ray

    require_ray()
    from calib.fleet.cluster import alive_nodes, connected, describe_nodes
    from calib.render.fleet_table import nodes_table

    driver = _driver_versions()
    with connected(address):
        descriptions = describe_nodes(alive_nodes())
    if as_json:
        click.echo(json.dumps({"address": address, "driver": driver,
                               "nodes": [d.to_json() for d in descriptions]}, indent=2))
    else:
        console().print(nodes_table(descriptions, driver, address))
    if not any(d.node.offers_calib for d in descriptions):
        raise FleetError(f"no alive node of {address} offers the {RESOURCE} resource: start Ray on each device "
                         f"with --resources '{{\"{RESOURCE}\": 1}}' (docs/fleet.md)")


def _run_parameters() -> list[click.Parameter]:
    return [p for p in run_command.params if p.name not in _NOT_OFFERED]


def _fleet_parameters() -> list[click.Parameter]:
    timeout_help = next(p.help for p in run_command.params if p.name == "timeout")
    decorators = [
        _address_option,
        click.option("--devices", metavar="CLASS,...",
                     help="Only the nodes of these device classes (see `calib fleet nodes`); default: every node "
                          "offering calib."),
        click.option("--store", "store_url", metavar="URL",
                     help="The store every node's records go into: postgresql://user@host/db (a node that can "
                          "reach it writes there itself) or sqlite:///path.db on this machine (default: CALIB_STORE, "
                          "else <results-dir>/calib.db)."),
        click.option("--timeout", "node_timeout", type=float, metavar="S",
                     help="Seconds a node's whole sweep may take; past it the node's run is interrupted, what it "
                          "finished is kept and the rest recorded as failed. Default: no limit."),
        click.option("--config-timeout", type=float, metavar="S", help=f"calib run's --timeout: {timeout_help}"),
        click.option("--allow-mixed-versions", is_flag=True,
                     help="Run on nodes whose calib or torch differs from this driver's (each run records its own)."),
    ]

    def collect(**_):
        pass

    for decorator in reversed(decorators):
        collect = decorator(collect)
    return list(collect.__click_params__)[::-1] + _run_parameters()


def forwarded_argv(context: click.Context, parameters: list[click.Parameter]) -> list[str]:
    """The `calib run` options the user gave (never the defaults: the node applies its own, as `calib run`
    would), spelled as on a command line."""
    argv: list[str] = []
    for parameter in parameters:
        if not isinstance(parameter, click.Option) or parameter.name in _DRIVER_OWN:
            continue
        if context.get_parameter_source(parameter.name) in (None, ParameterSource.DEFAULT):
            continue
        value = context.params[parameter.name]
        flag = next((o for o in parameter.opts if o.startswith("--")), parameter.opts[0])
        if parameter.is_flag:
            if value:
                argv.append(flag)
            elif parameter.secondary_opts:
                argv.append(parameter.secondary_opts[0])
        elif parameter.multiple:
            for item in value:
                argv += [flag, str(item)]
        elif value is not None:
            argv += [flag, str(value)]
    return argv


def _driver_versions() -> dict:
    """This machine's calib and torch (torch's from its metadata: the driver never imports it)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from calib import __version__

    try:
        torch_version = version("torch")
    except PackageNotFoundError:
        torch_version = None
    return {"calib": __version__, "torch": torch_version, "python": platform.python_version()}


def _run(address, devices, store_url, node_timeout, config_timeout, allow_mixed_versions, results_dir, quiet,
         store_commit, store_branch, model, precisions, backends, batch_sizes, device, input_shape, **_):
    """Run `calib run`'s sweep on every node offering calib (of the --devices classes), pinned to it, each node
    measuring with its own calib and hardware; records go into one store as each configuration finishes.
    Prints the devices side by side at the end."""
    from calib.fleet import require_ray

    require_ray()
    import time

    from calib.backends.auto import default_backends
    from calib.cli._options import parse_batch_sizes
    from calib.errors import FailuresFound, UsageError
    from calib.fleet.cluster import alive_nodes, connected, describe_nodes
    from calib.fleet.driver import FleetRun
    from calib.fleet.plan import check_versions, plan_sweep, select
    from calib.store import open_store, resolve_url
    from calib.store.identity import git_info

    context = click.get_current_context()
    for name, value in (("--timeout", node_timeout), ("--config-timeout", config_timeout)):
        if value is not None and not value >= 0:
            raise UsageError(f"{name} {value:g}: must be a number of seconds (0: no limit)")
    if context.get_parameter_source("backends") == ParameterSource.DEFAULT:
        backends = default_backends(model)
    sweep = plan_sweep(model, split_multi(backends), split_multi(precisions), parse_batch_sizes(batch_sizes), device,
                       _item_shape(input_shape))
    argv = forwarded_argv(context, _run_parameters())
    if config_timeout is not None:
        argv += ["--timeout", f"{config_timeout:g}"]
    url = resolve_url(store_url, results_dir)
    store = open_store(url) if url else None  # a bad URL or a dead server: exit 2 before any node works
    git = git_info(store_commit, store_branch)
    driver = _driver_versions()
    wanted = split_multi([devices]) if devices else None
    say = lambda line: click.echo(line, err=True)  # noqa: E731
    started = time.monotonic()
    with connected(address):
        descriptions = describe_nodes(alive_nodes(), url)
        chosen, left_out = select(descriptions, wanted, address)
        for line in left_out + [f"mixed versions: {d}" for d in check_versions(chosen, driver, allow_mixed_versions)]:
            say(f"calib: warning: {line}")
        if not quiet:
            say(f"fleet: {len(chosen)} node(s) of {address}: {', '.join(d.label for d in chosen)}")
        fleet = FleetRun(chosen, argv, sweep, store=store, store_url=url, results_dir=results_dir,
                         timeout_s=node_timeout or None, git=git)
        progress = _progress(fleet, quiet, say)
        fleet.on_change = progress
        try:
            with progress:
                runs = fleet.run()
        except KeyboardInterrupt:
            kept = sum(run.measured for run in fleet.runs)
            say(f"calib: interrupted; {kept} finished configuration(s) kept"
                + (f" in {store.shown}" if store is not None else "") + f" and {results_dir}/")
            raise
    elapsed = time.monotonic() - started
    out = console()
    _print_side_by_side(runs, store, out)
    for run in runs:
        out.print(f"{run.label}: {run.state}, {run.measured}/{run.total} measured, {run.local_path}"
                  + (f" ({run.reason})" if run.reason else ""), style="dim" if run.state == "done" else None)
    out.print(f"fleet: {len(runs)} node(s) in {elapsed:.1f} s")
    if store is not None:
        out.print(f"store: {store.shown} (each node's series: calib history --store {store.shown})")
    problems = _problems(runs)
    if problems:
        raise FailuresFound(problems)


def _item_shape(input_shape: str | None) -> tuple:
    try:
        return tuple(int(part) for part in split_multi([input_shape])) if input_shape else ()
    except ValueError:
        return ()  # the node's calib run says what is wrong with it


def _progress(fleet, quiet: bool, say):
    from calib.render.fleet_table import LiveProgress, PlainProgress

    err_console = console(stderr=True)
    if quiet:
        return PlainProgress(lambda line: None)
    if err_console.is_terminal:
        return LiveProgress(err_console, fleet.runs)
    return PlainProgress(say)


def _print_side_by_side(runs, store, out) -> None:
    """The devices side by side as `calib compare --store` shows them: the latest run of each device class
    of this fleet, read back from the store (one column each, a row per configuration). Without a store,
    the nodes' own results files, the same way."""
    from calib.compare.align import align
    from calib.render.compare_table import LEGEND, build_compare_table

    from calib.store.db import StoreError

    results = None
    if store is not None:
        classes = list(dict.fromkeys(run.description.device_class for run in runs if run.header is not None))
        try:
            latest = {row["device_class"]: row["id"] for row in store.latest_runs(kind="run")}
            results = [store.result_file(latest[name]) for name in classes if name in latest]
        except StoreError as error:  # the runs are in the local files; the table is read from those
            click.echo(f"calib: warning: {error}", err=True)
    if results is None:
        results = [dict(run.payload(), _path=run.label) for run in runs if run.records]
    if not results:
        return
    columns, rows = align(results)
    out.print(build_compare_table(columns, rows, title=f"calib fleet run: {len(results)} device class(es) side by side"))
    out.print(LEGEND, style="dim")


def _problems(runs) -> list[str]:
    """A line for each node that did not finish, and for each configuration it measured that fails."""
    from calib.results.judge import failures

    lines = []
    for run in runs:
        lines += [f"{run.label}: {line}" for line in failures(run.records[:run.measured])]
        if run.state != "done":
            lines.append(f"{run.label}: {run.reason}")
    return lines


command.add_command(click.Command(name="run", callback=_run, params=_fleet_parameters(), help=_run.__doc__,
                                  short_help="Run calib run's sweep on every node, into one store."))
