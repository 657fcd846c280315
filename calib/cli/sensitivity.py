"""`calib sensitivity`: which layers cost the accuracy, one layer at a time at the precision."""

from __future__ import annotations

import json

import click

from calib.cli._common import console
from calib.cli._outputs import check_output_path
from calib.cli._options import (backend_option, batch_size_option, build_spec, calibration_options, out_option,
                                precision_option, pop_calibration, quiet_option, threads_option,
                                trust_model_file_option)


@click.command(name="sensitivity")
@click.option("--model", "-m", required=True,
              help="Catalog name (see `calib models`), file.py:factory, .pt, .pt2, .onnx or OpenVINO IR .xml.")
@precision_option(multiple=False, default="int8-static", show_default=True,
                  help="int8-static, int8-dynamic, or fp16/bf16 (torch).")
@backend_option(multiple=False, default="torch", show_default=True, help="torch, onnxruntime or openvino.")
@batch_size_option(multiple=False, type=int, default=1, show_default=True)
@threads_option(help="Intra-op threads (default: physical cores).")
@click.option("--input-shape", help="One input item without batch, e.g. 3,224,224.")
@click.option("--seq-len", type=int, help="Sequence length for text models.")
@trust_model_file_option
@calibration_options
@click.option("--eval", "eval_fn", help="Score each layer with your function path.py:fn (as `calib run --eval`).")
@click.option("--eval-data", type=click.Path(), help="Labelled data for accuracy (as `calib run --eval-data`).")
@click.option("--max-drop", type=float, help="Budget the all-layers figure is judged against (points).")
@click.option("--top", type=int, default=20, show_default=True, help="Show the N most sensitive layers (0: all).")
@click.option("--no-latency", is_flag=True, help="Skip the per-layer latency tables (fp32 and the precision).")
@out_option(help="Also write the ranking as JSON here.")
@quiet_option
def command(model, precision, backend, batch_size, threads, input_shape, seq_len, trust_model_file, eval_fn,
            eval_data, max_drop, top, no_latency, out, quiet, **options):
    """Quantize (or cast) one layer at a time, everything else fp32, score each with the fidelity pass
    (your --eval score, else accuracy on labelled data, else agreement with fp32) and rank the layers,
    with each layer's share of the per-layer latency: what keeping it float costs."""
    import torch

    from rich.text import Text

    from calib import fidelity
    from calib.environment import OtherCpuUse
    from calib.lifecycle import other_cpu_use
    from calib.errors import UsageError
    from calib.models.loader import load_any
    from calib.precisions import get_precision
    from calib.render.sensitivity_table import build_ranking_table, ranking_lines
    from calib.sensitivity.ranking import check_precision, rank
    from calib.settings import FidelitySettings
    from calib.sweep import prepare_sweep

    if top < 0:
        raise UsageError("--top must be 0 or positive")
    get_precision(precision)
    check_precision(backend, precision)
    check_output_path(out, "--out", inputs=[("--model", model), ("--eval", eval_fn), ("--eval-data", eval_data),
                                            ("--calib-data", options.get("calib_data"))])
    user_eval = {"eval_fn": eval_fn} if eval_fn else {}
    settings = FidelitySettings.from_cli(eval_data, None, None, None, max_drop, **user_eval)
    configuration = {"precisions": ("fp32", precision), "backends": (backend,), "batch_sizes": (str(batch_size),),
                     "device": "cpu", "threads": threads, "input_shape": input_shape, "seq_len": seq_len,
                     "trust_model_file": trust_model_file}
    spec = build_spec(model, configuration, calibration=pop_calibration(options), fidelity=settings)
    loaded = load_any(model, spec.input_shape, seq_len, trust_model_file)
    references = fidelity.references()
    prepare_sweep(spec, loaded, references)
    torch.set_num_threads(spec.threads)
    from calib.render.progress import progress_display

    display = progress_display("calib sensitivity", None, quiet=quiet, console=console(stderr=True), noun="layer")

    def on_layer(index, total, layer):
        display.start(layer.name, "fidelity", index=index, total=total)

    def on_phase(name):  # after the last layer: the fp32 and precision per-layer timings (no ETA of their own)
        display.finish()
        display.phase(f"per-layer {name}, fp32 and {precision}")

    watch = other_cpu_use()  # the per-layer latency shares are timings: a neighbour's load makes them no evidence
    with display:
        ranking = rank(loaded, backend, spec.run_config(precision, spec.batch_sizes[0]), settings, references,
                       latency=not no_latency, on_layer=on_layer, on_phase=on_phase)
    other_cpu_percent = watch.stop() if watch else None
    if not ranking.layers:
        raise UsageError(f"{loaded.name}: no layer to switch on {backend} at {precision}")
    screen = console()
    screen.print(build_ranking_table(ranking, top or None))
    for line in ranking_lines(ranking):
        screen.print(line, style="dim")
    if getattr(loaded, "weights", None) == "random":
        from calib.render.run_table import RANDOM_WEIGHTS_RANKING_NOTE

        screen.print(f"note: {RANDOM_WEIGHTS_RANKING_NOTE}")
    busy = OtherCpuUse.warning(other_cpu_percent)
    if busy:
        screen.print(Text.assemble(("warning:", "yellow"), f" {busy}"))
    if out:
        with open(out, "w") as handle:
            json.dump({**ranking.to_dict(), "other_cpu_percent": other_cpu_percent}, handle, indent=1, default=str)
        screen.print(f"written: {out}")
