"""The command line: a thin layer that parses, calls the library and renders.

Subcommands live one per module in this package and are imported only when invoked, so
`calib --help` and `calib device` never pay for (or need) ONNX Runtime or TensorRT.
Errors raised anywhere as calib.errors.CalibError become one line and an exit code here.
"""

from __future__ import annotations

import importlib
import sys

import click

from calib import __version__
from calib.cli._encoding import tolerate
from calib.errors import CalibError
from calib.malloc import steady_malloc
from calib.third_party import quiet_known_noise

# name -> (module, one-line help). Registering a command is one line here.
COMMANDS = {
    "run": ("calib.cli.run", "Load, convert, check and time a model at one or more precisions."),
    "show": ("calib.cli.show", "Re-render a stored results file without running anything."),
    "models": ("calib.cli.models", "List the model catalog."),
    "device": ("calib.cli.device", "What this machine is and which precisions run native, emulated or not at all."),
    "layers": ("calib.cli.layers", "Per-layer latency tables of a stored result."),
    "quant-error": ("calib.cli.quant_error", "Per-layer int8 quantization error of a model."),
    "sensitivity": ("calib.cli.sensitivity", "Which layers cost the accuracy: one layer at a time at int8/fp16/bf16."),
    "compare": ("calib.cli.compare", "Results from several runs or devices side by side."),
    "check": ("calib.cli.check", "CI gate: fail on a statistically significant latency regression."),
    "ab": ("calib.cli.ab", "Measure a baseline and a candidate model interleaved, for a drift-proof CI gate."),
    "report": ("calib.cli.report", "Self-contained HTML (or markdown) report of stored results."),
    "recommend": ("calib.cli.recommend", "The fastest configuration whose accuracy stays within budget."),
    "train": ("calib.cli.train", "Training speed, memory and loss-curve fidelity per precision."),
    "calibrate": ("calib.cli.calibrate", "Measure a per-op latency table for this device and precision."),
    "predict": ("calib.cli.predict", "Predict a model's latency from a calibration table, without running it."),
    "fleet": ("calib.cli.fleet", "One sweep on every device of a Ray cluster, into one store (needs Ray)."),
    "history": ("calib.cli.history", "Each configuration's medians over runs in the store, and its change points."),
    "push": ("calib.cli.push", "Add results files written anywhere to the results store."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module_name, short_help = COMMANDS[name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return _not_built(name, short_help)
            raise
        return module.command

    def format_commands(self, ctx, formatter):
        # Help text without importing every subcommand module.
        rows = [(name, help_text) for name, (_, help_text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _not_built(name, short_help):
    @click.command(name=name, help=short_help)
    def missing():
        raise CalibError(f"'calib {name}' is not available in this build")

    return missing


class CalibGroup(LazyGroup):
    def main(self, *args, standalone_mode=True, **kwargs):
        tolerate()  # help text and one-line errors too (calib.cli._encoding)
        quiet_known_noise()  # a torch deprecation notice torchao triggers on import (calib.third_party)
        steady_malloc()  # timings that do not depend on what the process allocated before (calib.malloc)
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.UsageError as exc:  # one line, like calib's own errors (click would print four)
            where = exc.ctx.command_path if exc.ctx is not None else "calib"
            click.echo(f"calib: error: {exc.format_message()} (see `{where} --help`)", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("calib: interrupted", err=True)
            sys.exit(130)
        except CalibError as exc:
            for line in exc.lines:
                click.echo(f"calib: error: {line}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=CalibGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="calib")
def main():
    """calib: how fast and how accurate a model is at each numeric precision, measured on this machine."""
