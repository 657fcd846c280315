"""`calib ab`: time a baseline and a current model in alternating rounds (calib.interleave),
write one results file per side, and optionally gate right away like `calib check`."""

from __future__ import annotations

import click

from pathlib import Path

from calib.check import raise_if_regressed
from calib.check.gate import GateSettings, gate
from calib.check.markdown import write_markdown
from calib.cli._store import store_options
from calib.cli._common import console, open_results, split_multi
from calib.cli._outputs import Output, check_outputs
from calib.cli._options import (build_spec, calibration_options, candidate_option, configuration_options,
                                pop_calibration, pop_configuration, printout_options,
                                quiet_option)
from calib.environment import capture
from calib.errors import FailuresFound, UsageError
from calib.hardware import device_report
from calib.interleave import (DEFAULT_MAX_ROUNDS, DEFAULT_ROUND_TIME_S, DEFAULT_ROUNDS, InterleaveSettings,
                              check_pairable, run_ab)
from calib.models.loader import check_inputs_fit, load_any
from calib.render.ab_table import build_pair_table
from calib.render.gate_table import build_gate_table
from calib.render.printout import Printout, emit
from calib.results.judge import failures, nothing_measured
from calib.results.record import as_record
from calib.results.store import default_path, load_result
from calib.settings import TuneSettings
from calib.sweep import guard_busy


@click.command(name="ab")
@store_options
@click.option("--baseline-model", required=True,
              help="The reference build: file.py:factory, .pt, .pt2, catalog name or torchvision:NAME.")
@click.option("--current-model", required=True, help="The build under test (same kinds as --baseline-model).")
@configuration_options
@candidate_option
@calibration_options
@click.option("--rounds", type=int, default=DEFAULT_ROUNDS, show_default=True,
              help="Alternating rounds per configuration (the minimum; see --max-rounds).")
@click.option("--max-rounds", type=int, default=DEFAULT_MAX_ROUNDS, show_default=True,
              help="Add rounds past --rounds, two at a time, until the gate's verdict at --tolerance is settled "
                   "or this many have run.")
@click.option("--instances", type=int, default=InterleaveSettings.instances, show_default=True,
              help="Prepare each model afresh this many times over the rounds (averages out memory layout; "
                   "lower it for models slow to convert).")
@click.option("--round-time", type=float, default=DEFAULT_ROUND_TIME_S, show_default=True,
              help="Seconds per side per round.")
@click.option("--warmup-min-time", type=float, default=InterleaveSettings.warmup_min_time_s, show_default=True,
              help="Seconds of warm-up per side before the first round.")
@click.option("--baseline-out", type=click.Path(dir_okay=False),
              help="Baseline results file (default results/<time>-...-baseline.json).")
@click.option("--current-out", type=click.Path(dir_okay=False),
              help="Current results file (default results/<time>-...-current.json).")
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
@click.option("--tolerance", default=None,
              help="Gate right away with this tolerance (e.g. 5%), exit codes as `calib check`.")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False),
              help="With --tolerance: write the gate's markdown summary here.")
@quiet_option
@printout_options
def command(baseline_model, current_model, rounds, max_rounds, instances, round_time, warmup_min_time, baseline_out,
            current_out, results_dir, tolerance, markdown_path, quiet, candidate, output_format, verbose, **options):
    """Measure BASELINE and CURRENT models interleaved (ABBA rounds) so the machine's drift hits
    both alike; then `calib check --baseline BASE --current CUR` judges them with a paired test."""
    configuration = pop_configuration(options)
    if "auto" in split_multi(configuration["backends"]):
        raise UsageError("--backend auto is not available in calib ab: name the backend, both sides must use it")
    check_outputs([Output("--baseline-out", baseline_out, results=True),
                   Output("--current-out", current_out, results=True), Output("--markdown", markdown_path)],
                  inputs=[("--baseline-model", baseline_model), ("--current-model", current_model),
                          ("--calib-data", options.get("calib_data"))])
    if markdown_path and tolerance is None:
        raise UsageError("--markdown writes the gate's summary: give --tolerance too (or run `calib check` later)")
    gate_settings = GateSettings.from_cli(tolerance) if tolerance is not None else None
    settings = InterleaveSettings(rounds=rounds, max_rounds=max_rounds, round_time_s=round_time,
                                  warmup_min_time_s=warmup_min_time, instances=instances,
                                  stop_rule=gate_settings or GateSettings())
    spec = build_spec(baseline_model, configuration, calibration=pop_calibration(options),
                      tune=TuneSettings(enabled=False, pin=candidate))
    baseline_loaded, current_loaded = _load(baseline_model, spec), _load(current_model, spec)
    check_pairable(baseline_loaded, current_loaded)
    guard_busy(spec)  # --busy wait / error (calib.hardware.busy): before either results file is opened
    report = device_report()
    environment = capture(spec.threads, report)
    # both paths before either file is opened: two long model names can share a default name
    # (default_path keeps 40 characters of it)
    base_name, cur_name = f"{baseline_loaded.name}-baseline", f"{current_loaded.name}-current"
    base_path = Path(baseline_out or default_path(results_dir, base_name))
    cur_path = Path(current_out or default_path(results_dir, cur_name))
    if base_path.resolve() == cur_path.resolve():
        raise UsageError(f"--baseline-out and --current-out are the same file ({base_path})")
    base_writer = open_results(base_path, results_dir, base_name, environment, report,
                               flag="--baseline-out" if baseline_out else "--results-dir")
    cur_writer = open_results(cur_path, results_dir, cur_name, environment, report,
                              flag="--current-out" if current_out else "--results-dir")

    from calib.render.progress import progress_display

    # calib's one progress display (calib.render.progress): configuration N of M, round k of up to --max-rounds
    display = progress_display("calib ab", sum(1 for _ in spec.cells()), quiet=quiet, console=console(stderr=True),
                               noun="configuration")

    def on_start(configuration):
        display.start(f"{baseline_loaded.name} / {current_loaded.name} {configuration.backend} "
                      f"{configuration.precision} b{configuration.batch_size}",
                      f"convert, then {rounds}-{max_rounds} rounds x {round_time:g} s per side")

    def on_round(number):
        display.phase(f"round {number} of up to {max_rounds} ({round_time:g} s per side)")

    try:
        with display:
            pairs = run_ab(spec, baseline_loaded, current_loaded, _ExampleBatchNoted(base_writer, baseline_loaded),
                           _ExampleBatchNoted(cur_writer, current_loaded), report, settings, on_start,
                           on_round=on_round)
    except KeyboardInterrupt:
        base_writer.close()
        cur_writer.close()
        click.echo(f"calib: interrupted; finished configurations kept in {base_path} and {cur_path}", err=True)
        raise
    base_writer.finish()
    cur_writer.finish()
    printout = Printout(title=f"calib ab: {baseline_loaded.name} / {current_loaded.name}", source=str(cur_path))
    printout.table(build_pair_table(pairs, baseline_loaded.name, current_loaded.name))
    printout.warnings((f"{role} {as_record(record).label}", warning) for pair in pairs
                      for role, record in zip(("baseline", "current"), pair) for warning in record["warnings"])
    results_line = f"results: {base_path} (baseline), {cur_path} (current)"
    if gate_settings is None:
        printout.lines([f"gate them: calib check --baseline {base_path} --current {cur_path}"])
        printout.lines([results_line], kind="info")
        emit([printout], output_format, console(), verbose)
        records = [record for pair in pairs for record in pair]
        problems = list(dict.fromkeys(failures(records) or nothing_measured(records)))  # both sides may say it
        if problems:  # without a gate, exit 1 as `calib run` does: never 0 for what did not run
            raise FailuresFound(problems)
        return
    _gate(base_path, cur_path, gate_settings, markdown_path, printout, results_line, output_format, verbose)


class _ExampleBatchNoted:
    """A results writer that adds the example-inputs batch warning to each record before storing it, as
    `calib run` records it: the rounds run at --batch-size, not at the batch of a factory's example inputs."""

    def __init__(self, writer, model):
        self.writer, self.model = writer, model

    def add(self, record: dict) -> None:
        warning = self.model.example_batch_warning(record["identity"]["batch_size"])
        if warning and warning not in record["warnings"]:
            record["warnings"].append(warning)
        self.writer.add(record)


def _load(model_spec: str, spec):
    if model_spec.endswith(".onnx"):
        raise UsageError(f"{model_spec}: calib ab times torch models; compare ONNX files with two `calib run`s")
    loaded = load_any(model_spec, spec.input_shape, spec.seq_len, spec.trust_model_file)
    check_inputs_fit(loaded)  # a shape the model cannot take: one line before any file is opened
    return loaded


def _gate(base_path, cur_path, settings, markdown_path, printout, results_line, output_format, verbose) -> None:
    """What `calib check` would do with the two files just written (same environment by construction),
    printed after the pair table in the same --format."""
    result = gate(load_result(base_path), load_result(cur_path), settings)
    printout.table(build_gate_table(result))
    printout.lines([results_line], kind="info")
    emit([printout], output_format, console(), verbose)
    if markdown_path:
        write_markdown(result, markdown_path)
    raise_if_regressed(result)
