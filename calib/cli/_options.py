"""Option groups shared by several commands, defined once so their names and defaults agree, and
the one place that turns them into typed settings (calib.settings) and a spec (calib.spec)."""

from __future__ import annotations

import click

from calib.settings import CalibrationSettings

_CALIBRATION = CalibrationSettings()  # the defaults shown in --help are the settings' own
CALIBRATION_KEYS = ("calib_data", "calib_samples", "calib_method", "calib_percentile", "qscheme",
                    "weight_granularity")
CONFIGURATION_KEYS = ("precisions", "backends", "batch_sizes", "device", "threads", "input_shape", "seq_len",
                      "trust_model_file", "busy")


def _apply(command, decorators):
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def calibration_options(command):
    """int8 calibration: what `calib run`, `calib ab` and `calib quant-error` all take."""
    from calib.settings import CALIBRATION_METHODS, QSCHEMES, WEIGHT_GRANULARITIES

    return _apply(command, [
        click.option("--calib-data", default=_CALIBRATION.data, show_default=True,
                     help="int8 calibration data. auto: the inputs --eval feeds the fp32 pass (captured), else random; "
                          "eval, random, digits, an image/.npy folder, inputs.npy/.npz, texts.jsonl (text models), "
                          "or file.py:fn returning or yielding batches."),
        click.option("--calib-samples", type=int, default=_CALIBRATION.samples,
                     help="Calibration items (default: 128 captured from --eval, else 32)."),
        click.option("--calib-method", type=click.Choice(CALIBRATION_METHODS), default=_CALIBRATION.method,
                     show_default=True),
        click.option("--calib-percentile", type=float, default=_CALIBRATION.percentile, show_default=True),
        click.option("--qscheme", type=click.Choice(QSCHEMES), default=_CALIBRATION.qscheme, show_default=True,
                     help="Activation quantization scheme."),
        click.option("--weight-granularity", type=click.Choice(WEIGHT_GRANULARITIES),
                     default=_CALIBRATION.weight_granularity, show_default=True),
    ])


def pop_calibration(kwargs: dict) -> CalibrationSettings:
    """Take the calibration options out of a command's keyword arguments, validated."""
    values = {key: kwargs.pop(key) for key in CALIBRATION_KEYS}
    return CalibrationSettings(data=values["calib_data"], samples=values["calib_samples"],
                               method=values["calib_method"], percentile=values["calib_percentile"],
                               qscheme=values["qscheme"], weight_granularity=values["weight_granularity"])


# One spelling per concept in every command (issue 22): --precision/-p, --backend/-b, --batch-size (no short
# flag: -b is --backend), --device, --threads, --out (the file a command writes), --quiet/-q (every
# long-running command). The commands take these, so a flag means the same wherever it appears.
def precision_option(*, multiple: bool = True, **kwargs):
    return click.option("--precision", "-p", *(("precisions",) if multiple else ()), multiple=multiple, **kwargs)


def backend_option(*, multiple: bool = True, **kwargs):
    return click.option("--backend", "-b", *(("backends",) if multiple else ()), multiple=multiple, **kwargs)


def batch_size_option(*, multiple: bool = True, **kwargs):
    return click.option("--batch-size", *(("batch_sizes",) if multiple else ()), multiple=multiple, **kwargs)


def device_option(default: str = "auto", help: str = "auto, cpu, cuda or cuda:N."):
    return click.option("--device", default=default, show_default=True, help=help)


def threads_option(help: str = "Intra-op threads (default: physical cores). Recorded."):
    return click.option("--threads", type=int, help=help)


def out_option(help: str = "Results JSON path (default results/<time>-<model>.json)."):
    return click.option("--out", type=click.Path(dir_okay=False), help=help)


quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress lines.")


def printout_options(command):
    """--format and -v: how the tables after the work are written (calib.render.printout)."""
    from calib.render.printout import FORMATS

    return _apply(command, [
        click.option("--format", "output_format", type=click.Choice(FORMATS), default="table", show_default=True,
                     help="table: for people (a pipe or file gets every column at full width); json, csv (the main "
                          "table) or markdown: for machines and pull requests, every column, cells as the table "
                          "shows them (the results file holds the raw samples)."),
        click.option("--verbose", "-v", is_flag=True,
                     help="Each configuration's own warnings (otherwise one line per kind of warning), and the "
                          "candidates tuned and the engine auto picked."),
    ])


def configuration_options(command=None, *, default_backend: str = "torch"):
    """What to measure: precisions, backends, batch sizes, device, threads, input shape (`run`, `ab`).
    `calib run` races every engine by default (`default_backend="auto"`); `calib ab` pins torch, so a
    gate compares like with like."""
    if command is None:
        return lambda decorated: configuration_options(decorated, default_backend=default_backend)
    return _apply(command, [
        precision_option(default=["fp32"], show_default=True,
                         help="fp32 tf32 fp16 bf16 amp-fp16 amp-bf16 int8-dynamic int8-static fp8; "
                              "repeat or comma-separate."),
        backend_option(default=[default_backend], show_default=True,
                       help="torch, torch-compile, onnxruntime, openvino, tensorrt, or auto (every installed engine "
                            "that can run the precision, raced; the fastest that keeps the accuracy wins); "
                            "repeat for several."),
        batch_size_option(help="One or more batch sizes (default 1)."),
        device_option(),
        threads_option(),
        click.option("--input-shape",
                     help="One input item without batch, e.g. 3,224,224 (needed for .pt/.pt2/.onnx files)."),
        click.option("--seq-len", type=int, help="Sequence length for text models."),
        trust_model_file_option,
        busy_option,
    ])


# calib.hardware.busy.BUSY_MODES, spelled here so --help imports nothing to list them (SweepSpec checks them)
busy_option = click.option(
    "--busy", type=click.Choice(("warn", "wait", "error")), default="warn", show_default=True,
    help="Other processes on the GPU (NVML) or using the CPU before measuring: warn (measure, and say so), "
         "wait (until quiet, up to 2 minutes, then warn) or error (refuse, exit 3).")


trust_model_file_option = click.option(
    "--trust-model-file", is_flag=True,
    help="Load a .pt2 whose pickles need more than tensors, or that holds pickled objects or compiled code; "
         "loading it may run code from the file. Only for files you trust.")


candidate_option = click.option(
    "--candidate", default=None,
    help="Pin one implementation where a configuration has several (channels_last, contiguous, fx, pt2e, "
         "u8s8, s8s8): what `calib run` measured and chose is in its table's tuning lines.")


def pop_configuration(kwargs: dict) -> dict:
    return {key: kwargs.pop(key) for key in CONFIGURATION_KEYS}


def parse_batch_sizes(batch_sizes) -> list[int]:
    from calib.cli._common import split_multi
    from calib.errors import UsageError

    try:
        return [int(b) for b in split_multi(batch_sizes)] or [1]
    except ValueError:
        raise UsageError(f"--batch-size {batch_sizes}: expected integers") from None


def build_spec(model: str, configuration: dict, **settings):
    """The one spec builder (`calib run`, `calib ab`): the configuration options parsed and
    checked, plus typed settings groups (calib.spec.SweepSpec's fields) passed through."""
    from calib.cli._common import split_multi
    from calib.errors import UsageError
    from calib.hardware import resolve_threads
    from calib.models.loader import parse_shape
    from calib.spec import SweepSpec, resolve_device, validate

    threads, seq_len = configuration["threads"], configuration["seq_len"]
    if seq_len is not None and seq_len <= 0:
        raise UsageError(f"--seq-len {seq_len}: must be positive")
    spec = SweepSpec(model=model, backends=split_multi(configuration["backends"]),
                     precisions=split_multi(configuration["precisions"]),
                     batch_sizes=parse_batch_sizes(configuration["batch_sizes"]),
                     device=resolve_device(configuration["device"]), threads=resolve_threads(threads),
                     input_shape=parse_shape(configuration["input_shape"]), seq_len=seq_len,
                     trust_model_file=configuration["trust_model_file"], busy=configuration.get("busy", "warn"),
                     **settings)
    validate(spec)
    return spec
