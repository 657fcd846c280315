"""`calib device`: what this machine is and which precisions run native, emulated or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import click

from calib.errors import UsageError

_STATUS_STYLE = {"native": "green", "emulated": "yellow", "unsupported": "red"}


@click.command(name="device", help="What this machine is and which precisions run native, emulated or not at all.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="Read /proc, /sys and /etc under DIR (a captured machine); no live GPU query.")
@click.option("--cpuinfo", "cpuinfo_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Analyse pasted /proc/cpuinfo or lscpu output from FILE.")
@click.option("--probe", is_flag=True, help="Measure matmul/conv throughput per precision to check each verdict.")
@click.option("--probe-time", type=float, default=None,
              help="Seconds of measurement per precision per device (implies --probe; default: ~10 s in all).")
@click.option("--threads", type=int, default=None, help="torch threads for the CPU probe (default: physical cores).")
def command(as_json, root, cpuinfo_file, probe, probe_time, threads):
    from calib.hardware import device_report
    from calib.hardware.report import report_from_cpu_text

    probe = probe or probe_time is not None
    if probe and (root is not None or cpuinfo_file is not None):
        raise UsageError("--probe measures this machine; it cannot be combined with --root or --cpuinfo")
    if probe_time is not None and probe_time <= 0:
        raise UsageError("--probe-time must be a positive number of seconds")
    if threads is not None and threads < 1:
        raise UsageError("--threads must be at least 1")

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
        _render(report)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"--cpuinfo {path}: {exc.strerror or exc}") from None


def _render(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from calib.hardware.measured import disagreements

    console = Console(width=max(100, Console().width or 100))
    cpu = report["cpu"]
    cores = f"{cpu.get('physical_cores') or '?'} physical / {cpu.get('logical_cores') or '?'} logical cores"
    console.print(f"[bold]CPU[/]  {cpu.get('model') or 'unknown model'}  ({cpu.get('vendor') or '?'}, "
                  f"{cpu.get('arch')}, {cores}, governor: {cpu.get('governor') or 'not readable'})")
    console.print(f"     precision flags: {' '.join(cpu.get('precision_flags') or []) or 'none'}")
    jetson = report.get("jetson")
    if jetson:
        console.print(f"[bold]Jetson[/]  {jetson.get('model') or '?'}  soc {jetson.get('soc') or '?'} "
                      f"({jetson.get('family') or 'unknown SoC'}), L4T {jetson.get('l4t') or '?'}, "
                      f"power mode {jetson.get('power_mode') or 'not queried'}")
    if not any(d["kind"] == "cuda" for d in report["devices"]):
        console.print(f"[bold]GPU[/]  none: {report.get('gpu_note')}")
    for device in report["devices"]:
        console.print(_device_table(device, Table))
    if report.get("probe"):
        console.print(_probe_table(report["probe"], Table))
    for warning in (report.get("probe") or {}).get("warnings", []):
        console.print(f"[bold yellow]warning[/] {warning}")
    for line in disagreements(report):
        console.print(f"[bold red]measurement disagrees[/] {line}")


def _device_title(device: dict) -> str:
    if device["kind"] == "cpu":
        return f"cpu: {device.get('name')}"
    extra = [f"compute capability {device.get('compute_capability')}"]
    if device.get("memory_gb"):
        extra.append(f"{device['memory_gb']} GiB")
    if device.get("sm_count"):
        extra.append(f"{device['sm_count']} SMs")
    extra.append("tensor cores: " + (", ".join(device.get("tensor_cores") or []) or "none"))
    return f"{device['id']}: {device.get('name')} ({'; '.join(extra)})"


def _device_table(device: dict, table_class):
    probed = any("measured" in v for v in device["precisions"].values())
    table = table_class(title=_device_title(device), title_justify="left", expand=True)
    table.add_column("precision", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    if probed:
        table.add_column("measured", no_wrap=True)
    table.add_column("evidence", ratio=1)
    for precision, verdict in device["precisions"].items():
        status = verdict["status"]
        row = [precision, f"[{_STATUS_STYLE[status]}]{status}[/]"]
        if probed:
            row.append(_measured_cell(verdict.get("measured") or {}))
        table.add_row(*row, verdict["evidence"])
    return table


def _measured_cell(measured: dict) -> str:
    from calib.hardware.measured import ratio_text

    if not measured.get("probed"):
        return "not probed"
    text = f"{ratio_text(measured['ratio_to_fp32'])} fp32 ({measured['op']})"
    if measured.get("agrees") is False:
        return f"[bold red]{text} DISAGREES[/]"
    return text


def _probe_table(probe: dict, table_class):
    from calib.hardware.measured import ratio_text

    settings = probe["settings"]
    table = table_class(title=f"probe: {settings['time_per_compute_s']:g} s per precision, {settings['threads']} CPU "
                              f"threads, torch {settings['torch']}", title_justify="left")
    for name in ("device", "compute", "op", "shape", "GFLOP/s", "x fp32", "calls"):
        table.add_column(name, justify="right" if name in ("GFLOP/s", "x fp32", "calls") else "left")
    for device_id, computes in probe["devices"].items():
        for compute, outcome in computes.items():
            if not outcome["probed"]:
                table.add_row(device_id, compute, "-", "not probed", "-", "-", outcome.get("reason") or "")
                continue
            for op, measured in outcome["ops"].items():
                ratio = measured.get("ratio_to_fp32")
                table.add_row(device_id, compute, op, measured["shape"], f"{measured['gflops']:.3g}",
                              ratio_text(ratio) if ratio else "-", str(measured["calls"]))
    return table
