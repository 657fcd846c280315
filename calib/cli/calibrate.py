"""`calib calibrate`: measure a per-op latency table of this device at each precision (calib.predict)."""

from __future__ import annotations

import click
from rich.text import Text

from calib.cli._common import console, say_kept_previous, split_multi
from calib.cli._outputs import check_output_path
from calib.cli._options import (batch_size_option, device_option, out_option, precision_option, quiet_option,
                                threads_option)
from calib.environment import OtherCpuUse
from calib.errors import UsageError


@click.command(name="calibrate")
@precision_option(required=True, help="fp32, bf16, int8-static (repeat or comma-separate).")
@click.option("--backend", "-b", "engine", type=click.Choice(["torch", "onnxruntime", "openvino"]), default="torch",
              show_default=True,
              help="The engine the table describes. onnxruntime/openvino: the engine's own kernels (its optimized "
                   "or runtime graph, fusion read from the engine), timed by its profiler on real models chosen "
                   "adaptively within --budget-s; torch: eager ops, the op sweep plus real models.")
@device_option("cpu", help="The device the table describes.")
@threads_option(help="Intra-op threads (default: physical cores). Recorded; predict uses it.")
@click.option("--quick", is_flag=True, help="A small sweep, tiny-cnn only and short budgets: seconds, for tests "
                                            "and smoke runs (its predictions are rough).")
@click.option("--sweep", type=click.Choice(["quick", "full", "none", "real"]), default=None,
              help="torch's op sweep (default: full, the designed grid; quick with --quick; none: only --shapes ops "
                   "and models; real: the layer shapes of 14 torchvision families, space-filling first, then "
                   "where the fitted law errs most, within --budget-s).")
@click.option("--shapes", "shapes_file", type=click.Path(exists=True, dir_okay=False),
              help="JSON list of extra ops to time, e.g. "
                   '[{"op": "conv", "shape": [64, 64, 3, 1, 56, 1], "batch": 2}] '
                   "(conv shape: cin, cout, kernel, stride, size, groups; see calib/predict/sweep.py).")
@click.option("--model", "-m", "models", multiple=True,
              help="Real models measured end to end and per layer into the table (catalog names, files, or "
                   "torchvision:NAME; repeat or comma-separate). Default: resnet18, mobilenet_v2, mobilenet_v3_small, efficientnet_b0 "
                   "(tiny-cnn with --quick).")
@click.option("--no-models", is_flag=True, help="Only the op sweep (and --from-results).")
@batch_size_option(type=int, help="Batch sizes of the models (default 1 and 4).")
@click.option("--from-results", "from_results", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="`calib run --layers --no-tune` files of this device whose per-layer tables join the table.")
@click.option("--from", "from_table", type=click.Path(exists=True, dir_okay=False),
              help="(openvino/onnxruntime) Start from another device's table of the same engine: its kernels join "
                   "this table scaled by the ratios measured here, and the models measured first are those whose "
                   "kernels it never saw.")
@click.option("--budget-s", type=float, default=600.0, show_default=True,
              help="Seconds per precision: torch's isolated op sweep (ops past it are left out, and listed); an "
                   "engine's model measurements, after reading the candidates' kernel graphs (models past it are left "
                   "out, and listed).")
@click.option("--clock", type=click.Choice(["wall", "cpu"]), default="wall", show_default=True,
              help="wall: host wall clock, as `calib run`. cpu: the thread's CPU time (needs --threads 1): "
                   "on a shared, busy machine it leaves out the time other processes took.")
@click.option("--revisits", type=click.IntRange(0, 10), default=None,
              help="More fresh processes each model is timed again in, end to end, after all were "
                   "measured; the table prices a model at the median of its processes (a process is a draw of its "
                   "own: 5-15% apart seen). Default 2, 0 with --quick; none with --clock cpu.")
@out_option(help="Table path (default results/<time>-calibration.json).")
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
@quiet_option
def command(precisions, engine, device, threads, quick, sweep, shapes_file, models, no_models, batch_sizes,
            from_results, from_table, budget_s, clock, revisits, out, results_dir, quiet):
    """Time each op kind in isolation over a designed sweep of shapes, and real models per layer, at each
    precision: one versioned table for `calib predict`."""
    import time

    from calib.hardware import resolve_threads
    from calib.predict.calibrate import DEFAULT_MODELS, CalibrationPlan, calibrate
    from calib.predict.engine_calibrate import calibrate_engine
    from calib.predict.engines import ENGINE_MODELS
    from calib.results.store import default_path
    from calib.spec import resolve_device

    inputs = [("--shapes", shapes_file), ("--from-results", from_results), ("--model", models)]
    check_output_path(out, "--out", inputs=inputs, results=True)
    sweep = sweep or ("quick" if quick else "full")
    from calib.predict.engines import check_engine

    check_engine(engine, split_multi(precisions))
    if engine == "torch" and from_table:
        raise UsageError("--from: transfers an engine's kernel table (--backend openvino or onnxruntime)")
    if engine != "torch" and (no_models or shapes_file or from_results or clock != "wall"):
        raise UsageError(f"--backend {engine}: its table is measured on real models with the engine's profiler; "
                         "--no-models, --shapes, --from-results and --clock cpu are torch's")
    defaults = DEFAULT_MODELS if engine == "torch" else ENGINE_MODELS
    chosen = () if no_models else (tuple(split_multi(models)) or defaults["quick" if quick else "full"])
    plan = CalibrationPlan(
        precisions=tuple(dict.fromkeys(split_multi(precisions))), device=resolve_device(device),
        threads=resolve_threads(threads), sweep=sweep, budget_s=budget_s,
        op_budget_s=0.05 if quick else 0.25, models=chosen,
        batch_sizes=tuple(batch_sizes) or ((1,) if quick else (1, 4)), from_results=tuple(from_results),
        extra_ops=_extra_ops(shapes_file), model_max_time_s=0.3 if quick else 2.0,
        layer_budget_s=0.3 if quick else 2.0, clock=clock, from_table=from_table,
        revisits=revisits if revisits is not None else (0 if quick else 2))
    if not plan.device.startswith("cpu"):
        raise UsageError(f"--device {plan.device}: calibration tables are measured on the CPU in this build")
    path = out or default_path(results_dir, "calibration")
    if not out:
        check_output_path(path, "--results-dir", inputs=inputs, results=True)  # before any work, as --out is
    started = time.perf_counter()

    from calib.render.progress import progress_display

    display = progress_display("calib calibrate", None, quiet=quiet, console=console(stderr=True))

    def on_item(index, total, kind, label):  # "fp32 op conv ..." -> op N of M: fp32 conv ...
        display.start(label.replace(f" {kind} ", " ", 1), index=index, total=total, noun=kind)

    with display:
        if engine == "torch":
            report = calibrate(plan, path, on_open=say_kept_previous, on_item=on_item)
        else:
            report = calibrate_engine(plan, engine, path, on_open=say_kept_previous, on_item=on_item)
    out_console = console()
    from calib.render.predict_table import build_calibration_table

    out_console.print(build_calibration_table(report.per_precision,
                                              f"calib calibrate: {engine} on {plan.device}, {plan.threads} "
                                              f"threads, " + (f"{plan.sweep} sweep" if engine == "torch" else
                                                              "kernels of real models"), engine))
    for precision, figures in report.per_precision.items():
        busy = OtherCpuUse.warning(figures.get("other_cpu_percent"))
        if busy:  # the table is saved: a neighbour's load is in its timings (calib predict reads them)
            out_console.print(Text.assemble(("warning:", "yellow"), f" {precision}: {busy}"))
        if figures.get("emulated"):
            out_console.print(f"note: {precision} is emulated on this CPU (no native instructions): the table "
                              "describes emulated timings, valid for predicting this machine only", style="dim")
        steadiness = _steadiness(report.path, precision, engine)
        if steadiness:
            out_console.print(*steadiness)
    out_console.print(f"calibration took {time.perf_counter() - started:.1f} s")
    out_console.print(f"table: {report.path}")


UNSTEADY = 0.10  # the pulse past 10% of its median during calibration: the machine moved while the table was measured


def _steadiness(path, precision: str, engine: str) -> tuple:
    """What the machine's speed did while the table was measured (rich printables): the pulses' range
    (calib.predict.pulse) and the calibration models' drift between fresh processes, with a warning when the pulse
    moved past UNSTEADY; () for a table with neither."""
    import math

    from calib.predict.pulse import reference
    from calib.predict.table import load_view

    view = load_view(path, precision, None, engine)
    pulses = [p for p in view.pulses if p and p > 0]
    parts = []
    if len(pulses) >= 2:
        median = reference(pulses)
        low, high = min(pulses) / median, max(pulses) / median
        parts.append(f"the pulse ranged {low:.2f}-{high:.2f}x its median over {len(pulses)} readings")
    if view.drift:
        from calib.predict.cost_model import drift_half_width

        parts.append(f"the calibration models timed again in fresh processes moved within "
                     f"+-{100 * (math.exp(drift_half_width(view.drift)) - 1):.0f}% of their median 9 times in 10 "
                     f"(up to +-{100 * (math.exp(max(view.drift)) - 1):.0f}%; the first is in every prediction's "
                     "interval)")
    if not parts:
        return ()
    line = Text(f"{precision}: speed during calibration: {'; '.join(parts)}", style="dim")
    if len(pulses) >= 2 and max(high - 1, 1 - low) > UNSTEADY:
        return line, Text.assemble(("warning:", "yellow"), f" {precision}: the machine's speed moved more than "
                                   f"{100 * UNSTEADY:.0f}% while the table was measured; its predictions carry it "
                                   "(calibrate again on a quieter machine for a tighter table)")
    return (line,)


def _extra_ops(path) -> tuple:
    if not path:
        return ()
    import json

    from calib.predict.sweep import OpSpec

    from calib.input_files import read_input

    try:
        data = json.loads(read_input(path, f"--shapes {path}", MAX_SHAPES_BYTES))
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"--shapes {path}: not readable JSON ({exc})") from None
    if not isinstance(data, list) or not data:
        raise UsageError(f"--shapes {path}: expected a JSON list of op specs (at least one)")
    ops = []
    for index, item in enumerate(data, start=1):
        try:
            ops.append(OpSpec.from_dict(item))
        except UsageError as exc:
            raise UsageError(f"--shapes {path}: item {index}: {exc}") from None
    return tuple(ops)


MAX_SHAPES_BYTES = 16 * 1024 * 1024
