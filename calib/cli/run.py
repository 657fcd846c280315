"""`calib run`: parse options, run the sweep, render the table, store the results."""

from __future__ import annotations

import click

from calib.backends.auto import default_backends
from calib.cli._store import store_options
from calib.cli._common import console, open_results
from calib.cli._outputs import Output, check_outputs
from calib.cli._options import (build_spec, calibration_options, candidate_option, configuration_options,
                                pop_calibration, pop_configuration, printout_options)
from calib.configuration import Configuration
from calib.environment import capture
from calib.errors import FailuresFound, UsageError
from calib.hardware import device_report
from calib.models.loader import load_any
from calib.render.printout import Line, emit
from calib.render.run_table import run_printout
from calib.render.sensitivity_table import fallback_blocks
from calib.results.export import write_csv, write_layers_csv
from calib.results.judge import failures, nothing_measured
from calib.sensitivity.fallback import judged_records, run_fallback, unsearched
from calib.settings import CompileSettings, FidelitySettings, LayerSettings, TuneSettings
from calib.scenarios.settings import ScenarioSettings
from calib.sweep import InProcessSweep
from calib.timing.engine import TimingSettings
from calib.worker import DEFAULT_CONVERSION_TIMEOUT_S, DEFAULT_SLACK_S, IsolatedSweep

_TIMING = TimingSettings()  # the defaults --help shows are the engine's own


@click.command(name="run")
@store_options
@click.option("--model", "-m", required=True,
              help="Catalog name (see `calib models`), torchvision:NAME, file.py:factory, .pt, .pt2, .onnx or "
                   "OpenVINO IR .xml.")
@configuration_options(default_backend="auto")
@click.option("--warmup-min-count", type=int, default=_TIMING.warmup_min_count, show_default=True)
@click.option("--warmup-min-time", type=float, default=_TIMING.warmup_min_time_s, show_default=True, help="Seconds.")
@click.option("--min-samples", type=int, default=_TIMING.min_count, show_default=True)
@click.option("--min-time", type=float, default=_TIMING.min_time_s, show_default=True,
              help="Seconds of timed calls at least.")
@click.option("--max-time", type=float, default=_TIMING.max_time_s, show_default=True,
              help="Seconds per configuration at most.")
@click.option("--target-ci", type=float, default=_TIMING.target_ci_rel, show_default=True,
              help="Stop when the 95% CI of the median is this fraction of it.")
@click.option("--timeout", type=float, default=None,
              help="Seconds one configuration may take in all (conversion, timing, checks) before it is "
                   "recorded as failed and the sweep goes on. Default: conversion up to "
                   f"{DEFAULT_CONVERSION_TIMEOUT_S:g} s, then 10x --max-time + {DEFAULT_SLACK_S:g} s. 0: no limit "
                   "(measured in this process).")
@click.option("--no-tune", is_flag=True,
              help="Measure the rule table's first implementation only, instead of timing the candidates "
                   "(memory format, int8 path, ORT int8 types) and keeping the fastest.")
@candidate_option
@click.option("--scenario", type=click.Choice(["single-stream", "multi-stream", "server", "offline"]),
              default="single-stream", show_default=True,
              help="Load scenario (MLPerf's): single-stream times one call at a time; multi-stream runs --streams "
                   "streams back to back (per-query p99); server sends Poisson arrivals at --target-qps and "
                   "times each query from its arrival; offline searches batch size (--batch-size: the sizes "
                   "tried, default 1,4,16) x streams x threads per stream for the most items/s.")
@click.option("--target-qps", type=float, help="Server: the arrival rate (queries/s); with --find-qps, where the "
                                                "search starts.")
@click.option("--latency-bound-ms", type=float, help="Server: the p99 latency bound --find-qps keeps.")
@click.option("--find-qps", is_flag=True, help="Server: search the highest rate whose p99 (MLPerf's early-stopping "
                                               "estimate) stays within --latency-bound-ms; every rate recorded.")
@click.option("--streams", type=int, default=1, show_default=True,
              help="Multi-stream: concurrent streams; server: workers serving the queue.")
@click.option("--scenario-time", type=float, default=ScenarioSettings().duration_s, show_default=True,
              help="Seconds per scenario point: one server rate, the multi-stream run, one offline point.")
@click.option("--layers", is_flag=True, help="Add a per-layer timing pass after each end-to-end measurement.")
@click.option("--layers-csv", type=click.Path(dir_okay=False), help="Write the per-layer tables to this CSV.")
@calibration_options
@click.option("--eval", "eval_fn", metavar="PATH.py:FN",
              help="Your evaluation: calib calls FN(predict) once per configuration, outside the timed region; "
                   "predict(inputs) runs that configuration on a numpy/torch batch and returns numpy outputs; FN "
                   "returns a score in [0, 1] (or a dict with 'score'). Its drop from fp32 is what --max-drop "
                   "judges. Examples: models/eval_digits.py, models/eval_text.py.")
@click.option("--eval-data", type=click.Path(),
              help="Labelled data for accuracy: an image folder (one sub-folder per class), or for a Hugging Face "
                   "text model a .jsonl/.csv file with text and label fields.")
@click.option("--eval-size", type=int, help="Resize eval images to this square size (default: model input).")
@click.option("--eval-mean", help="Per-channel mean, e.g. 0.485,0.456,0.406.")
@click.option("--eval-std", help="Per-channel std, e.g. 0.229,0.224,0.225.")
@click.option("--max-drop", type=float,
              help="Fidelity budget: accuracy points (or cosine/SQNR floor) a precision may lose; a configuration "
                   "over it (or with NaN/Inf) makes the run exit 1.")
@click.option("--fallback", is_flag=True,
              help="With --max-drop: when an int8 precision misses the budget, keep its most sensitive layers fp32, "
                   "a group at a time, until it is within budget, and measure that mixed configuration too "
                   "(calib.sensitivity).")
@click.option("--compile-mode", default=CompileSettings().mode, show_default=True,
              help="torch.compile mode for --backend torch-compile.")
@click.option("--out", type=click.Path(dir_okay=False), help="Results JSON path (default results/<time>-<model>.json).")
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Also write a flat CSV table.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@printout_options
def command(model, warmup_min_count, warmup_min_time, min_samples, min_time, max_time, target_ci, timeout, no_tune,
            candidate, layers,
            layers_csv, eval_fn, eval_data, eval_size, eval_mean, eval_std, max_drop, compile_mode, out, results_dir,
            csv_path, quiet, output_format, verbose, **options):
    """Load, convert, check and time MODEL at each precision; write results/ and print the table."""
    check_outputs([Output("--out", out, results=True), Output("--csv", csv_path), Output("--layers-csv", layers_csv)],
                  inputs=[("--model", model), ("--eval", eval_fn), ("--eval-data", eval_data),
                          ("--calib-data", options.get("calib_data"))])
    configuration = pop_configuration(options)
    scenario = _scenario_settings(options, configuration)
    fallback = options.pop("fallback")
    if fallback and max_drop is None:
        raise UsageError("--fallback needs --max-drop: the budget the mixed configuration must keep")
    if _is_default("backends"):
        configuration["backends"] = default_backends(model)
    others = dict(warmup_min_count=warmup_min_count, warmup_min_time_s=warmup_min_time, min_count=min_samples,
                  target_ci_rel=target_ci)
    if _is_default("min_time"):  # --max-time 0.2 alone: the default --min-time (1 s) gives way; both given: an error
        timing = TimingSettings.within(max_time, **others)
    else:
        timing = TimingSettings(min_time_s=min_time, max_time_s=max_time, **others)
    spec = build_spec(
        model, configuration, timing=timing, calibration=pop_calibration(options),
        fidelity=FidelitySettings.from_cli(eval_data, eval_size, eval_mean, eval_std, max_drop, eval_fn),
        compile=CompileSettings(mode=compile_mode), tune=TuneSettings(enabled=not no_tune, pin=candidate),
        layers=LayerSettings(budget_s=max_time) if layers or layers_csv else None,
        timeout_s=None if timeout == 0 else timeout,  # SweepSpec checks --timeout; 0 here is no limit
        scenario=scenario)
    report = device_report()
    out_console = console()
    with _sweep(spec, in_process=timeout == 0) as sweep:
        writer = open_results(out, results_dir, sweep.model_name, capture(spec.threads, report), report)
        try:
            records = _run_with_progress(spec, sweep, writer, report, quiet)
        except KeyboardInterrupt:
            writer.close()
            click.echo(f"calib: interrupted; {len(writer.records)} finished configuration(s) kept in "
                       f"{writer.path}", err=True)
            raise
    if fallback:  # after the sweep, in this process (calib.sensitivity.fallback)
        for line in unsearched(records):  # --fallback is never silent: what it left alone, and why
            click.echo(line, err=True)
        added = run_fallback(spec, list(records), report, getattr(sweep, "model", None), writer,
                             None if quiet else _say_fallback)
        for mixed in added:
            click.echo(f"fallback: {Configuration.of(mixed).short_label}: {_fallback_outcome(mixed)}", err=True)
        records = list(writer.records)  # the sweep's and the mixed configurations
    writer.finish()
    if csv_path:
        write_csv(records, csv_path)
    if layers_csv:
        write_layers_csv(records, layers_csv)
    printout = run_printout(records, title=f"calib run: {sweep.model_name} on {spec.device}, {spec.threads} threads",
                            layers=spec.layers is not None, source=str(writer.path))
    if fallback:
        printout.blocks.extend(fallback_blocks(records))
    printout.blocks.append(Line(f"results: {writer.path}", "info"))
    emit([printout], output_format, out_console, verbose)
    if fallback:  # an int8 configuration whose mixed configuration keeps the budget does not fail the run
        records = judged_records(records)
    problems = failures(records) or nothing_measured(records)
    if problems:
        raise FailuresFound(problems)


def _scenario_settings(options: dict, configuration: dict):
    """--scenario and its options as a ScenarioSettings (None: single-stream, today's measurement). Offline
    searches batch sizes itself: --batch-size lists the sizes it tries, and its record is per item (b1)."""
    from calib.cli._options import parse_batch_sizes

    name = options.pop("scenario")
    given = dict(target_qps=options.pop("target_qps"), latency_bound_ms=options.pop("latency_bound_ms"),
                 find_qps=options.pop("find_qps"), streams=options.pop("streams"))
    duration_s = options.pop("scenario_time")
    if name == "single-stream":
        extra = [flag for flag, value in (("--target-qps", given["target_qps"]),
                                          ("--latency-bound-ms", given["latency_bound_ms"]),
                                          ("--find-qps", given["find_qps"]), ("--streams", given["streams"] != 1))
                 if value is not None and value is not False]
        if extra:
            raise UsageError(f"{', '.join(extra)}: needs --scenario server or multi-stream")
        return None
    if name == "offline":
        if not _is_default("batch_sizes"):
            given["offline_batch_sizes"] = tuple(parse_batch_sizes(configuration["batch_sizes"]))
        configuration["batch_sizes"] = ("1",)
    if given["latency_bound_ms"] is not None and name != "server":
        raise UsageError(f"--latency-bound-ms belongs to --scenario server, not {name}")
    return ScenarioSettings(name=name, duration_s=duration_s, **given)


def _say_fallback(configuration) -> None:
    click.echo(f"fallback: {configuration.short_label} is over its budget; ranking its layers ...", err=True)


def _fallback_outcome(mixed: dict) -> str:
    """One line: what the search tried and what it found (or why nothing)."""
    search = mixed.get("fallback") or {}
    tried = ", ".join(part for part in (
        f"{search['evaluations']} evaluations" if search.get("evaluations") is not None else "",
        f"{search['layers']} layers" if search.get("layers") is not None else "",
        f"{search['seconds']:.1f} s" if search.get("seconds") is not None else "",
        search.get("method", "")) if part)
    tried = f" ({tried})" if tried else ""
    if mixed.get("status") == "ok":
        return f"found: {search.get('reason')}{tried}, measured as its own configuration"
    return f"none found: {mixed.get('reason')}{tried}"


def _is_default(parameter: str) -> bool:
    return click.get_current_context().get_parameter_source(parameter).name == "DEFAULT"


def _sweep(spec, in_process: bool):
    """In a worker process with the per-configuration limits (calib.worker), or, with --timeout 0,
    in this one."""
    if in_process:
        return InProcessSweep(spec, load_any(spec.model, spec.input_shape, spec.seq_len, spec.trust_model_file))
    return IsolatedSweep(spec)


def _run_with_progress(spec, sweep, writer, report, quiet):
    """The sweep under calib's one progress display (calib.render.progress): configuration N of M, its
    phase as the sweep reports it (converting and tuning, then timing and the checks), elapsed and an ETA."""
    from calib.render.progress import progress_display

    total = sum(1 for _ in spec.cells())
    measuring = ", ".join(["time", "fidelity"] + (["layers"] if spec.layers is not None else []))
    converting = "convert, tune" if spec.tune.enabled else "convert"
    display = progress_display("calib run", total, quiet=quiet, console=console(stderr=True),
                               noun="configuration")
    with display:
        sweep.on_start = lambda configuration: display.start(
            f"{configuration.backend} {configuration.precision} b{configuration.batch_size}", converting)
        sweep.on_prepared = lambda: display.phase(measuring)
        return sweep.run(writer, report, on_done=lambda record: display.finish())
