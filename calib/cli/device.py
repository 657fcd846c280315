"""`calib device`: what this machine is and which precisions run native, emulated or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import click

from calib.cli._common import console
from calib.cli._options import threads_option
from calib.errors import UsageError


@click.command(name="device", help="What this machine is and which precisions run native, emulated or not at all.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="Read /proc, /sys and /etc under DIR (a captured machine); no live GPU query.")
@click.option("--cpuinfo", "cpuinfo_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Analyse pasted /proc/cpuinfo or lscpu output from FILE.")
@click.option("--probe", is_flag=True, help="Measure matmul/conv throughput per precision to check each verdict.")
@click.option("--probe-time", type=float, default=None,
              help="Seconds of measurement per precision per device (implies --probe; default: ~10 s in all).")
@threads_option(help="torch threads for the CPU probe (default: physical cores).")
def command(as_json, root, cpuinfo_file, probe, probe_time, threads):
    from calib.hardware import check_threads, device_report
    from calib.hardware.report import report_from_cpu_text

    probe = probe or probe_time is not None
    if probe and (root is not None or cpuinfo_file is not None):
        raise UsageError("--probe measures this machine; it cannot be combined with --root or --cpuinfo")
    if probe_time is not None and probe_time <= 0:
        raise UsageError("--probe-time must be a positive number of seconds")
    check_threads(threads)

    if cpuinfo_file is not None:
        report = report_from_cpu_text(_read(cpuinfo_file), str(cpuinfo_file))
    elif root is not None:
        if not root.is_dir():
            raise UsageError(f"--root {root}: no such directory")
        report = device_report(root=root, live_gpu=False)
        if not report["cpu"].get("flags") and report["jetson"] is None:
            raise UsageError(f"--root {root}: found neither proc/cpuinfo nor Jetson identity files under it")
    else:
        report = device_report()

    if probe:
        from calib.hardware import probe as run_probe
        from calib.hardware.measured import apply_probe
        if not as_json:
            budget = f"{probe_time:g} s per precision per device" if probe_time else "about 10 s"
            click.echo(f"probing ({budget}) ...", err=True)
        from calib.hardware import verdict_for

        engine = (verdict_for(report, "cpu", "int8-dynamic") or {}).get("engine")
        report = apply_probe(report, run_probe(time_per_compute_s=probe_time, threads=threads,
                                               quantized_engine=engine))

    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        from calib.render.device_table import print_device_report

        print_device_report(report, console())


def _read(path: Path) -> str:
    """A pasted /proc/cpuinfo or lscpu output: a regular file of at most MAX_CPUINFO_BYTES (a FIFO hung here)."""
    from calib.input_files import read_input_text

    return read_input_text(path, f"--cpuinfo {path}", MAX_CPUINFO_BYTES)


MAX_CPUINFO_BYTES = 16 * 1024 * 1024  # /proc/cpuinfo of a 256-core machine is about 400 KiB
