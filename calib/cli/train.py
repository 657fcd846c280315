"""`calib train`: train MODEL a few steps per precision; speed, memory and loss fidelity in one table."""

from __future__ import annotations

from dataclasses import dataclass, replace

import click

from calib.cli._store import store_options
from calib.cli._common import console, open_results, split_multi
from calib.cli._outputs import check_output_path
from calib.cli._options import (batch_size_option, candidate_option, device_option, out_option, precision_option,
                                printout_options, quiet_option, threads_option, trust_model_file_option)
from calib.environment import capture
from calib.errors import FailuresFound, UsageError
from calib.hardware import device_report, resolve_threads
from calib.models.loader import load_any, parse_shape
from calib.render.printout import Line, emit
from calib.render.train_table import train_printout
from calib.results.judge import failures, nothing_measured
from calib.settings import FidelitySettings
from calib.spec import resolve_device
from calib.train import build_task, train_all
from calib.models.hf import is_hf_spec
from calib.train.candidates import tune_settings
from calib.train.driver import configurations, ordered_precisions
from calib.train.sizing import fit_batch
from calib.train.text import hf_task
from calib.train.settings import (CHECKPOINTING, DEFAULT_INIT_SCALE, DEFAULT_LAYER_STEPS, DEFAULT_STEPS, OPTIMIZERS,
                                  TrainSettings)
from calib.train.task import named_task, train_defaults


@click.command(name="train")
@store_options
@click.option("--model", "-m", required=True,
              help="Catalog name (see `calib models`), fashion-cnn (Fashion-MNIST), hf:DIR (a Hugging Face model, "
                   "trained on real tokenized text: see --hf-head) or file.py:factory; the factory may return "
                   "(module, example_inputs, loss_fn, make_batch): see calib/train/task.py.")
@precision_option(default=["fp32"], show_default=True,
                  help="fp32 tf32 amp-fp16 amp-bf16 bf16 fp8 int8-qat; repeat or comma-separate.")
@click.option("--baseline", default="fp32", show_default=True,
              help="The precision the Δ columns and the loss deviation are against (trained first; added if "
                   "not in --precision).")
@click.option("--steps", type=int, help=f"Training steps per precision (default: the model's, else {DEFAULT_STEPS}).")
@click.option("--warmup-steps", type=int, help="Untimed first steps (default: a quarter of --steps, 1 to 5).")
@click.option("--activation-checkpointing", "checkpointing", multiple=True, default=["none"], show_default=True,
              help="none, selective (every 2nd block recomputed in backward) or full (every block); repeat or "
                   "comma-separate: a dimension of the sweep, like a precision.")
@batch_size_option(multiple=False, type=int,
                   help="Training batch (default: the model's, lowered when memory is short, and said).")
@click.option("--input-shape", help="One input item without batch, e.g. 3,224,224 (the catalog's size is the "
                                    "default).")
@click.option("--seq-len", type=int, help="Sequence length for text models.")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default="sgd", show_default=True)
@click.option("--lr", type=float, help="Learning rate (default: the model's, else 0.01 SGD / 1e-3 AdamW).")
@click.option("--seed", type=int, default=0, show_default=True, help="Initial weights, batches and dropout.")
@click.option("--init-scale", type=float, default=DEFAULT_INIT_SCALE, show_default=True,
              help="GradScaler's first loss scale (amp-fp16).")
@click.option("--layers", is_flag=True, help="Per-module forward and backward time per precision (hooked steps "
                                             "after the timed ones).")
@click.option("--layer-steps", type=int,
              help=f"Hooked steps for --layers, their median shown (default: the model's, else {DEFAULT_LAYER_STEPS}).")
@click.option("--compile", "use_compile", is_flag=True,
              help="torch.compile the model: compiled and eager are raced as candidates (compiled is the rule's "
                   "first); compile time kept apart.")
@click.option("--no-tune", is_flag=True, help="Do not race the candidates (memory format, compiled/eager): train "
                                              "with the rule's first.")
@candidate_option
@click.option("--hf-head", type=click.Choice(["classification", "masked-lm"]),
              help="hf:DIR: the head to train (default: masked-lm for a *ForMaskedLM checkpoint, else "
                   "classification over --text-data's labels).")
@click.option("--text-data", type=click.Path(dir_okay=False),
              help="hf:DIR: JSON lines {text, label, split} to train on (default: the repository's "
                   "models/data/text_topics_large.jsonl).")
@click.option("--no-eval", is_flag=True, help="Skip the accuracy eval of labelled tasks.")
@click.option("--max-drop", type=float,
              help="Accuracy points (labelled tasks) a precision may lose against the baseline after the steps; "
                   "over it, or a NaN/Inf loss, makes the run exit 1 (and `calib check` fail).")
@device_option()
@threads_option()
@trust_model_file_option
@out_option()
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
@quiet_option
@printout_options
def command(model, precisions, baseline, steps, warmup_steps, checkpointing, batch_size, input_shape, seq_len,
            optimizer, lr, seed, init_scale, layers, layer_steps, use_compile, no_tune, candidate, hf_head, text_data,
            no_eval, max_drop, device, threads, trust_model_file, out, results_dir, quiet, output_format, verbose):
    """Train MODEL for the same steps, on the same batches from the same initial weights, at each precision;
    print samples/s, peak memory and the loss curve's deviation from the baseline; write results/."""
    check_output_path(out, "--out", inputs=[("--model", model)], results=True)
    names, added = ordered_precisions(split_multi(precisions), baseline)
    max_drop = FidelitySettings(max_drop=max_drop).max_drop  # the budget's own rule (calib.settings)
    threads = resolve_threads(threads)
    if seq_len is not None and seq_len <= 0:
        raise UsageError(f"--seq-len {seq_len}: must be positive")
    modes = split_multi(checkpointing)
    for mode in modes:
        if mode not in CHECKPOINTING:
            raise UsageError(f"--activation-checkpointing {mode!r}: choose from {', '.join(CHECKPOINTING)}")
    device = resolve_device(device)
    defaults = train_defaults(model, device)
    shape = parse_shape(input_shape) or defaults.get("input_shape")
    if seq_len is not None:
        shape = None  # the loader reads --seq-len for text models
    settings = TrainSettings(steps=steps if steps is not None else defaults.get("steps", DEFAULT_STEPS),
                             warmup_steps=warmup_steps,
                             batch_size=batch_size if batch_size is not None else defaults.get("batch_size", 8),
                             optimizer=optimizer, lr=lr if lr is not None else defaults.get(f"lr_{optimizer}"),
                             seed=seed, init_scale=init_scale, layers=layers,
                             layer_steps=layer_steps if layer_steps is not None else defaults.get(
                                 "layer_steps", DEFAULT_LAYER_STEPS),
                             compile=use_compile, eval=not no_eval)
    sweep = Sweep(names, modes, baseline, tune_settings(not no_tune, candidate), batch_size is None, max_drop, added)
    _train(model, sweep, settings, shape, seq_len, device, threads, trust_model_file, out, results_dir, quiet,
           output_format, verbose, hf_head, text_data)


@dataclass(frozen=True)
class Sweep:
    """What one invocation trains: the precisions, the checkpointing settings, the baseline, how candidates are
    chosen, whether the batch is calib's default (and so may be lowered for memory), the --max-drop budget."""
    precisions: list
    checkpointing: list
    baseline: str
    tune: object
    default_batch: bool
    max_drop: float | None
    added_baseline: bool = False


def _task(model, settings, shape, seq_len, trust_model_file, hf_head, text_data):
    if is_hf_spec(model):
        return hf_task(model, seq_len or (shape[0] if shape else None), settings.seed, hf_head, text_data)
    if hf_head or text_data:
        raise UsageError("--hf-head and --text-data are for hf:DIR models")
    return named_task(model, settings.seed) or build_task(load_any(model, shape, seq_len, trust_model_file),
                                                          settings.seed)


def _train(model, sweep, settings, shape, seq_len, device, threads, trust_model_file, out, results_dir, quiet,
           output_format, verbose, hf_head, text_data):
    import torch

    torch.set_num_threads(threads)
    task = _task(model, settings, shape, seq_len, trust_model_file, hf_head, text_data)
    task.check_batch(settings.batch_size)
    fit = None
    if sweep.default_batch:  # calib's default batch: lowered where this machine has no room for it (said)
        fit = fit_batch(task, settings, device)
        settings = replace(settings, batch_size=fit.batch_size)
        if fit.note and not quiet:
            click.echo(f"calib: {fit.note}", err=True)
    report = device_report()
    writer = open_results(out, results_dir, f"train-{task.name}", capture(threads, report), report)
    names, baseline = sweep.precisions, sweep.baseline
    if sweep.added_baseline and not quiet:
        click.echo(f"calib: training the baseline {baseline} too: the deviations are against its curve", err=True)

    from calib.render.progress import progress_display

    # calib's one progress display (calib.render.progress): precision N of M, what its run does, elapsed, an ETA
    phase = ", ".join([f"{settings.steps} steps of batch {settings.batch_size}"]
                      + (["eval"] if settings.eval and task.evaluate is not None else [])
                      + (["layers"] if settings.layers else []))
    display = progress_display("calib train", len(configurations(names, sweep.checkpointing, baseline)), quiet=quiet,
                               console=console(stderr=True),
                               noun="precision" if len(sweep.checkpointing) == 1 else "configuration")

    def on_start(name):
        display.start(f"{task.name} {name}", phase)

    try:
        with display:
            display.phase("first fp32 steps (untimed)")
            records = train_all(task, names, settings, device, report, writer, baseline=baseline, on_start=on_start,
                                max_drop=sweep.max_drop, checkpointing=sweep.checkpointing, tune=sweep.tune,
                                batch_fit=fit.to_dict() if fit is not None else None)
    except KeyboardInterrupt:
        writer.close()
        click.echo(f"calib: interrupted; {len(writer.records)} finished precision(s) kept in {writer.path}", err=True)
        raise
    writer.finish()
    out_console = console()
    shape_text = "x".join(str(d) for d in task.item_shape)
    printout = train_printout(records, title=f"calib train: {task.name} [{shape_text}] batch {settings.batch_size} "
                                             f"on {device}, {threads} threads", source=str(writer.path))
    if fit is not None and fit.note:
        printout.blocks.append(Line(fit.note, "info"))
    printout.blocks.append(Line(f"results: {writer.path}", "info"))
    emit([printout], output_format, out_console, verbose)
    problems = failures(records) or nothing_measured(records)
    if problems:
        raise FailuresFound(problems)
