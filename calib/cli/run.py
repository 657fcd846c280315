"""`calib run`: parse options, run the sweep, render the table, store the results."""

from __future__ import annotations

import sys

import click

from calib.cli._common import console, split_multi
from calib.cli._options import (calibration_options, configuration_options, parse_batch_sizes,
                                pop_calibration)
from calib.errors import UsageError


@click.command(name="run")
@click.option("--model", "-m", required=True, help="Catalog name (see `calib models`), file.py:factory, .pt, .pt2 or .onnx.")
@configuration_options
@click.option("--warmup-min-count", type=int, default=3, show_default=True)
@click.option("--warmup-min-time", type=float, default=0.5, show_default=True, help="Seconds.")
@click.option("--min-samples", type=int, default=20, show_default=True)
@click.option("--min-time", type=float, default=1.0, show_default=True, help="Seconds of timed calls at least.")
@click.option("--max-time", type=float, default=10.0, show_default=True, help="Seconds per configuration at most.")
@click.option("--target-ci", type=float, default=0.01, show_default=True,
              help="Stop when the 95%% CI of the median is this fraction of it.")
@click.option("--layers", is_flag=True, help="Add a per-layer timing pass after each end-to-end measurement.")
@click.option("--layers-csv", type=click.Path(dir_okay=False), help="Write the per-layer tables to this CSV.")
@calibration_options
@click.option("--eval-data", type=click.Path(), help="Image-folder dataset (one sub-folder per class) for accuracy.")
@click.option("--eval-size", type=int, help="Resize eval images to this square size (default: model input).")
@click.option("--eval-mean", help="Per-channel mean, e.g. 0.485,0.456,0.406.")
@click.option("--eval-std", help="Per-channel std, e.g. 0.229,0.224,0.225.")
@click.option("--max-drop", type=float, help="Fidelity budget: accuracy points (or cosine/SQNR floor) a precision may lose.")
@click.option("--compile-mode", default=None, help="torch.compile mode for --backend torch-compile.")
@click.option("--out", type=click.Path(dir_okay=False), help="Results JSON path (default results/<time>-<model>.json).")
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Also write a flat CSV table.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def command(model, precisions, backends, batch_sizes, device, threads, input_shape, seq_len, warmup_min_count,
            warmup_min_time, min_samples, min_time, max_time, target_ci, layers, layers_csv, eval_data, eval_size,
            eval_mean, eval_std, max_drop, compile_mode, out, results_dir, csv_path, quiet, **calibration):
    """Load, convert, check and time MODEL at each precision; write results/ and print the table."""
    from calib.hardware import device_report, physical_cores
    from calib.models.loader import parse_shape
    from calib.results.store import ResultWriter, default_path
    from calib.sweep import SweepSpec, resolve_device, validate
    from calib.timing.engine import TimingSettings
    from calib.environment import capture
    from calib.render.run_table import build_run_table, note_lines, warning_lines

    batches = parse_batch_sizes(batch_sizes)
    if threads is not None and threads <= 0:
        raise UsageError("--threads must be positive")
    if min_time < 0 or max_time <= 0 or min_samples <= 0 or target_ci <= 0:
        raise UsageError("timing options must be positive")
    spec = SweepSpec(
        model=model, backends=split_multi(backends), precisions=split_multi(precisions), batch_sizes=batches,
        device=resolve_device(device), threads=threads or physical_cores(),
        timing=TimingSettings(warmup_min_count=warmup_min_count, warmup_min_time_s=warmup_min_time,
                              min_count=min_samples, min_time_s=min_time, max_time_s=max_time,
                              target_ci_rel=target_ci),
        input_shape=parse_shape(input_shape), seq_len=seq_len, layers=layers or bool(layers_csv),
        options={**pop_calibration(calibration), "eval_data": eval_data, "eval_size": eval_size,
                 "eval_mean": eval_mean, "eval_std": eval_std, "max_drop": max_drop, "compile_mode": compile_mode, "model_spec": model},
    )
    if model.endswith(".onnx") and click.get_current_context().get_parameter_source("backends").name == "DEFAULT":
        spec.backends = ["onnxruntime"]  # an ONNX file runs on ONNX Runtime unless --backend says otherwise
    validate(spec)
    loaded = _load(spec)
    report = device_report()
    path = out or default_path(results_dir, loaded.name)
    writer = ResultWriter(path, capture(spec.threads, report), report)
    out_console = console()
    records = _run_with_progress(spec, loaded, writer, report, quiet, out_console)
    out_console.print(build_run_table(records, title=f"calib run: {loaded.name} on {spec.device}, "
                                                     f"{spec.threads} threads"))
    if spec.layers:
        from calib.render.layers_table import print_layer_tables  # per-layer tables (calib.layers)

        print_layer_tables(records, out_console)
    for line in warning_lines(records):
        out_console.print(f"[yellow]warning:[/] {line}")
    for line in note_lines(records):
        out_console.print(line, style="dim")
    for record in records:  # what --backend auto picked, and why
        if record.get("backend_choice"):
            choice = record["backend_choice"]
            out_console.print(f"auto: {record['identity']['precision']} -> {choice['picked']}: {choice['why']}",
                              style="dim")
    if csv_path:
        from calib.results.export import write_csv

        write_csv(records, csv_path)
    if layers_csv:
        from calib.results.export import write_layers_csv

        write_layers_csv(records, layers_csv)
    out_console.print(f"results: {writer.path}")
    failed = [r for r in records if r["status"] == "failed"]
    if failed:
        for record in failed:
            click.echo(f"calib: error: {record['identity']['precision']} on {record['identity']['backend']} "
                       f"failed: {record['reason']}", err=True)
        sys.exit(1)


def _load(spec):
    from calib.models.loader import load_model

    if spec.model.endswith(".onnx"):
        from calib.backends.onnx_model import load_onnx_model  # ONNX files: onnxruntime backend only

        return load_onnx_model(spec.model, spec.input_shape)
    return load_model(spec.model, spec.input_shape, spec.seq_len)


def _run_with_progress(spec, loaded, writer, report, quiet, out_console):
    from calib.sweep import run_sweep

    total = sum(1 for _ in spec.configurations())
    if quiet or not out_console.is_terminal:
        def on_start(identity):
            if not quiet:
                click.echo(f"measuring {identity['model']} {identity['backend']} {identity['precision']} "
                           f"b{identity['batch_size']} ...", err=True)
        return run_sweep(spec, loaded, writer, report, on_start=on_start)

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console(stderr=True), transient=True) as progress:
        task = progress.add_task("starting", total=total)

        def on_start(identity):
            progress.update(task, description=f"{identity['backend']} {identity['precision']} b{identity['batch_size']}")

        def on_done(record):
            progress.advance(task)

        return run_sweep(spec, loaded, writer, report, on_start=on_start, on_done=on_done)
