"""`calib predict`: a model's latency from a calibration table, without running it (calib.predict)."""

from __future__ import annotations

import click
from rich.text import Text

from calib.cli._store import store_options
from calib.cli._common import console, open_results
from calib.cli._outputs import check_output_path
from calib.cli._options import batch_size_option, device_option, out_option, quiet_option
from calib.configuration import check_batch_size
from calib.environment import capture
from calib.errors import FailuresFound, UsageError
from calib.hardware import device_report
from calib.models.loader import parse_shape
from calib.predict.models import load_named
from calib.predict.onnx_walk import load_onnx_graph
from calib.predict.predictor import check_failures, check_record, predict_record
from calib.predict.pulse import MODES, speed_line, speed_scale
from calib.predict.table import TableMismatch, device_name, load_view, predictor_of
from calib.render.predict_table import (build_breakdown_table, build_layers_compared_table, build_prediction_table,
                                        build_top_nodes_table, layers_compared_line)
from calib.render.printout import warning_lines
from calib.render.run_table import warning_pairs


@click.command(name="predict")
@store_options
@click.option("--model", "-m", required=True,
              help="Catalog name, torchvision:NAME, file.py:factory, .pt2 or .onnx (its graph is walked, not run).")
@click.option("--precision", "-p", required=True, help="The precision to predict; the table must hold it.")
@click.option("--table", "-t", "table_path", required=True, type=click.Path(dir_okay=False),
              help="A `calib calibrate` file.")
@click.option("--backend", "-b", "engine", type=click.Choice(["torch", "onnxruntime", "openvino"]), default=None,
              help="The engine to predict for (default: the table's); a table of another engine is refused.")
@batch_size_option(type=int, help="Default 1; repeat for several.")
@device_option("cpu", help="The device to predict for; the table must describe it.")
@click.option("--input-shape", help="One input item without the batch, e.g. 3,160,160 (default: the model's).")
@click.option("--check", is_flag=True, help="Also measure the model (the table's engine, calib's timing, as "
                                            "`calib run -b ENGINE`) and print predicted against measured.")
@click.option("--layers", is_flag=True, help="With --check: also profile the model's layers (an engine's kernels) "
                                             "as calibration profiled the table's models, and show where the "
                                             "prediction went wrong: per op kind and the layers priced furthest off.")
@click.option("--max-time", type=float, default=3.0, show_default=True, help="Seconds of timing per --check.")
@click.option("--speed", "speed_mode", type=click.Choice(MODES), default="auto", show_default=True,
              help="Scale the prediction by the machine's speed now against its speed during calibration (same "
                   "device only). auto: a short fixed workload (the pulse, about 1 s) says whether the machine "
                   "moved past 5%; if it did, the table's two quickest calibration models are timed again (seconds) "
                   "and their median now / table scales. pulse: by the pulse alone. anchors: always time them. "
                   "off: never.")
@click.option("--pulse", is_flag=True, help="Same as --speed pulse.")
@click.option("--top", type=int, default=10, show_default=True, help="Most expensive nodes shown (0: none).")
@out_option()
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
@quiet_option
def command(model, precision, table_path, engine, batch_sizes, device, input_shape, check, layers, max_time,
            speed_mode, pulse, top, out, results_dir, quiet):
    """Predict MODEL's end-to-end latency at PRECISION on the device TABLE describes, from its graph,
    with a per-layer breakdown and an interval; --check measures it too."""
    import torch

    check_output_path(out, "--out", inputs=[("--table", table_path), ("--model", model)], results=True)
    batch_sizes = tuple(check_batch_size(b) for b in batch_sizes) or (1,)
    if max_time <= 0:
        raise UsageError(f"--max-time {max_time:g}: must be positive")
    if layers and not check:
        raise UsageError("--layers compares the prediction with the model's measured layers: add --check")
    view = load_view(table_path, precision, device, engine)
    report = device_report()
    torch.set_num_threads(view.threads)
    environment = capture(view.threads, report)
    here = device_name(environment, view.device)
    if check and view.device_name and here != view.device_name:
        raise TableMismatch(f"--check: the table describes {view.device_name}, this machine is {here}; a measurement "
                            "here would not check a prediction for that device")
    loaded = _load(model, parse_shape(input_shape), view.backend)
    predictor = predictor_of(view)
    speed_mode = "pulse" if pulse else speed_mode
    if not quiet and speed_mode != "off":
        console(stderr=True).print("checking the machine's speed against the table's (a pulse, about 1 s; if it moved, "
                                   "the table's two quickest models timed again, seconds)", style="dim")
    speed = speed_scale(view, here, mode=speed_mode)
    writer = open_results(out, results_dir, f"predict-{loaded.name}", environment, report)
    writer.payload["predicted_from"] = {"table": str(table_path), "describes": view.description,
                                        "table_environment": view.environment}
    from calib.render.progress import progress_display

    # --check measures: calib's one progress display (calib.render.progress), model N of M (one per batch size);
    # a prediction alone takes a moment and shows none
    display = progress_display("calib predict", len(batch_sizes), quiet=quiet or not check,
                               console=console(stderr=True), noun="model")
    records = []
    try:
        with display:
            for batch_size in batch_sizes:
                display.start(f"{loaded.name} {precision} b{batch_size}", "predict, measure")
                record, _ = predict_record(loaded, view, predictor, batch_size, report, speed)
                if check:
                    display.phase(f"measure ({max_time:g} s)")
                    check_record(record, loaded, view, batch_size, report, max_time_s=max_time, layers=layers)
                writer.add(record)
                records.append(record)
    except BaseException:
        writer.close()
        raise
    writer.finish()
    _print(records, view, top, check)
    console().print(f"results: {writer.path}")
    problems = check_failures(records)
    if problems:
        raise FailuresFound(problems)


def _load(model: str, input_shape, engine: str = "torch"):
    if model.endswith(".onnx") and engine == "torch":  # walked as torch ops; an engine compiles the file itself
        return load_onnx_graph(model, input_shape)
    return load_named(model, input_shape)


def _print(records, view, top: int, check: bool) -> None:
    out_console = console()
    out_console.print(build_prediction_table(records, f"calib predict: {view.description} (table {view.path})"))
    if view.emulated:
        out_console.print(f"note: the table describes emulated {view.precision} (this CPU has no native "
                          f"{view.precision} instructions): the prediction is for emulated {view.precision}",
                          style="dim")
    for record in records[:1]:
        out_console.print(build_breakdown_table(record))
        if top:
            out_console.print(build_top_nodes_table(record, top))
        prediction = record["prediction"]
        if prediction["uncosted"]:
            keys = sorted({n.get("key") or n["op_kind"] for n in prediction["uncosted"]})
            share = prediction.get("unpredictable_flop_share") or 0.0
            counted = any(n.get("flops") for n in prediction["uncosted"])
            weight = (f"{100 * share:.1f}% of the model's FLOPs" if counted else
                      "their FLOPs not counted (ops the FLOP counter does not know)")
            out_console.print(f"incomplete: {len(prediction['uncosted'])} node(s) unpredictable, kernels the table "
                              f"never saw ({', '.join(keys[:6])}), {weight}; charged "
                              "the per-op overhead only, so the prediction is a lower bound", style="yellow")
        out_console.print(f"graph: {prediction['nodes']} nodes ({prediction['method']}, walked in "
                          f"{prediction['walk_s']:.1f} s); node sum {prediction['node_sum_ms']:.3f} ms x whole-model "
                          f"factor {prediction['factor']:.3f} + {prediction.get('overhead_ms') or 0:.3f} ms per "
                          f"inference; interval from the table's models left out one at a "
                          f"time ({len(prediction['validation'])} held out)"
                          + (f", with the machine's drift between fresh processes (+-{100 * prediction['drift']:.0f}%)"
                             if prediction.get("drift") else ""), style="dim")
    speed = records[0]["prediction"].get("speed") if records else None
    if speed:
        out_console.print(speed_line(speed), style="dim")
    if check:  # what the ground truth was measured with, and whether anything else ran meanwhile
        from calib.environment import OtherCpuUse

        others = [r.get("other_cpu_percent") for r in records if r.get("other_cpu_percent") is not None]
        quiet = others and not any(OtherCpuUse.busy(percent) for percent in others)
        out_console.print(f"check: measured with calib's {view.backend} backend (as `calib run -b {view.backend}`), "
                          "one configuration at a time; " + (
                              f"other processes used at most {max(others):.0f}% of a core: a quiet machine"
                              if quiet else "other processes were busy meanwhile (see the warnings): the error "
                              "column carries their load" if others else "other processes' CPU use unknown"),
                          style="dim")
    for record in records:  # --layers: where the prediction went wrong
        compared = (record.get("prediction") or {}).get("layers_compared")
        if compared:
            out_console.print(build_layers_compared_table(record))
            out_console.print(layers_compared_line(compared), style="dim")
    for line in warning_lines(warning_pairs(records)):  # --check's timing: a busy machine, an unstable run
        out_console.print(Text.assemble(("warning:", "yellow"), " ", line))
