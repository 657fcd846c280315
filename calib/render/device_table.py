"""`calib device`: the machine in a few lines, one verdict table per device, the probe's table."""

from __future__ import annotations

from rich.markup import escape

from calib.render.fit import Fitted, light_table

_STATUS_STYLE = {"native": "green", "emulated": "yellow", "unsupported": "red"}


def print_device_report(report: dict, console) -> None:
    """The CPU (and Jetson) lines, a table per device, the probe, then its warnings."""
    from calib.hardware.measured import disagreements

    cpu = report["cpu"]
    cores = f"{cpu.get('physical_cores') or '?'} physical / {cpu.get('logical_cores') or '?'} logical cores"
    console.print(f"[bold]CPU[/]  {cpu.get('model') or 'unknown model'}  ({cpu.get('vendor') or '?'}, "
                  f"{cpu.get('arch')}, {cores}, governor: {cpu.get('governor') or 'not readable'})")
    console.print(f"     precision flags: {' '.join(cpu.get('precision_flags') or []) or 'none'}")
    jetson = report.get("jetson")
    if jetson:
        console.print(f"[bold]Jetson[/]  {escape(jetson_identity(jetson))}, L4T {jetson.get('l4t') or '?'}, "
                      f"power mode {jetson.get('power_mode') or 'not queried'}")
        if jetson.get("identity_evidence"):
            console.print(f"        identified by: {escape(jetson['identity_evidence'])}")
    if not any(d["kind"] == "cuda" for d in report["devices"]):
        console.print(f"[bold]GPU[/]  none: {report.get('gpu_note')}")
    for device in report["devices"]:
        console.print(build_device_table(device))
        for line in engine_lines(device):
            console.print(line)
    for line in energy_lines(report.get("energy_counters")):
        console.print(line)
    if report.get("malloc"):
        console.print(escape(f"malloc: {report['malloc']['mode']} ({report['malloc']['note']})"))
    if report.get("probe"):
        from calib.hardware.measured import probe_notes

        console.print(build_probe_table(report["probe"], probe_notes(report)))
    for warning in (report.get("probe") or {}).get("warnings", []):
        console.print(f"[bold yellow]warning[/] {warning}")
    for line in disagreements(report):
        console.print(f"[bold red]measurement disagrees[/] {line}")


def jetson_identity(jetson: dict) -> str:
    """"model, module pNNNN-SSSS on carrier pNNNN, soc tegraNNN (family)", each part only when known."""
    parts = [jetson.get("model") or "model not readable"]
    if jetson.get("module"):
        module = f"{jetson['module']} module ({jetson['module_part']}"
        parts.append(module + (f" on carrier {jetson['carrier_part']})" if jetson.get("carrier_part") else ")"))
    if jetson.get("soc"):
        parts.append(f"soc {jetson['soc']} ({jetson.get('family')})")
    elif jetson.get("soc_candidates"):
        parts.append("soc " + " or ".join(jetson["soc_candidates"]) + " (ambiguous)")
    else:
        parts.append("soc unknown")
    return ", ".join(parts)


def engine_lines(device: dict) -> list[str]:
    """The engines calib can run on this device: installed ones with their versions, then the missing
    ones with the install hint (calib.hardware.engines; absent in reports made before it)."""
    engines = device.get("engines")
    if not engines:
        return []
    if all(engine.get("installed") is None for engine in engines):
        listed = ", ".join(f"{engine['backend']} ({engine['role']})" for engine in engines)
        return [escape(f"engines for {device['id']}: {listed}; not looked up on a captured machine")]
    installed = [engine for engine in engines if engine.get("installed")]
    lines = [escape(f"engines on {device['id']}: " + "; ".join(
        f"{engine['backend']} {engine.get('version') or ''}".rstrip() + f" ({engine['role']})"
        for engine in installed)) + ("  [dim](--backend auto measures them against each other)[/]"
                                     if len(installed) > 1 else "")]
    missing = [engine for engine in engines if engine.get("installed") is False]
    if missing:
        lines.append(escape("  not installed: " + "; ".join(f"{engine['backend']} ({engine['install']})"
                                                            for engine in missing)))
    return lines


def energy_lines(counters: list[dict] | None) -> list[str]:
    """Which energy counters exist (calib.energy): what `calib run` records joules per inference from, and
    why the others are absent (absent in reports made before them)."""
    if not counters:
        return []
    present = [f"{c['counter']} ({c['name']})" for c in counters if c.get("present")]
    lines = [escape("energy counters: " + ("; ".join(present) if present else
                                           "none (records carry energy null with the reason)"))]
    lines.extend(escape(f"  no {c['counter']}: {c['reason']}") for c in counters if not c.get("present"))
    return lines


def device_title(device: dict) -> str:
    if device["kind"] == "cpu":
        return f"cpu: {device.get('name')}"
    extra = [f"compute capability {device.get('compute_capability')}"]
    if device.get("memory_gb"):
        extra.append(f"{device['memory_gb']} GiB")
    if device.get("sm_count"):
        extra.append(f"{device['sm_count']} SMs")
    extra.append("tensor cores: " + (", ".join(device.get("tensor_cores") or []) or "none"))
    return f"{device['id']}: {device.get('name')} ({'; '.join(extra)})"


def build_device_table(device: dict) -> Fitted:
    """One row per precision: its verdict, what the probe measured, and the evidence (which wraps)."""
    probed = any("measured" in v for v in device["precisions"].values())
    table = light_table(device_title(device))
    table.add_column("precision", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    if probed:
        table.add_column("measured", no_wrap=True)
    table.add_column("evidence", min_width=20, overflow="fold")
    for precision, verdict in device["precisions"].items():
        status = verdict["status"]
        # the flags decide the status; the words say what the probe measured ("native, no gain measured")
        words = verdict.get("measured_verdict") or status
        style = _STATUS_STYLE[status] if words == status else "bold yellow"
        row = [precision, f"[{style}]{escape(words)}[/]"]
        if probed:
            row.append(_measured_cell(verdict.get("measured") or {}))
        table.add_row(*row, escape(verdict["evidence"]))
    return Fitted(table)


def _measured_cell(measured: dict) -> str:
    from calib.hardware.measured import ratio_text

    if not measured.get("probed"):
        return "not probed"
    text = f"{ratio_text(measured['ratio_to_fp32'])} fp32 ({measured['op']})"
    slower = measured.get("slower_ops") or {}
    if slower:  # the ops that lost time in this type, beside the one that decides
        text += "; " + ", ".join(f"{op} {ratio_text(ratio)}" for op, ratio in slower.items())
    if measured.get("agrees") is False:
        return f"[bold red]{text} DISAGREES[/]"
    return text


def build_probe_table(probe: dict, notes: dict[tuple[str, str], str] | None = None) -> Fitted:
    """Each probed op's throughput per device and compute type, at the shape it ran (`nhwc`: a
    channels_last conv); the note says why a type was not probed, where flags and measurement
    disagree (`notes`: calib.hardware.measured.probe_notes), and where a shape was scaled down."""
    from calib.hardware.measured import ratio_text

    settings = probe["settings"]
    table = light_table(f"probe: {settings['time_per_compute_s']:g} s per precision, {settings['threads']} CPU "
                        f"threads, torch {settings['torch']}")
    for name in ("device", "compute", "op", "shape", "GFLOP/s", "x fp32", "calls", "note"):
        table.add_column(name, justify="right" if name in ("GFLOP/s", "x fp32", "calls") else "left",
                         no_wrap=name != "note", min_width=16 if name == "note" else None, overflow="fold")
    for device_id, computes in probe["devices"].items():
        for compute, outcome in computes.items():
            if not outcome["probed"]:
                table.add_row(device_id, compute, "-", "-", "-", "-", "-",
                              f"not probed: {outcome.get('reason') or '?'}")
                continue
            disagreement = (notes or {}).get((device_id, compute))
            for op, measured in outcome["ops"].items():
                ratio = measured.get("ratio_to_fp32")
                row_notes = [f"[bold red]{escape(disagreement)}[/]"] if disagreement else []
                disagreement = None  # once per compute type, on its first row
                if measured.get("fp32_reference"):
                    row_notes.append(f"vs fp32 at this shape ({measured['fp32_reference']['gflops']:.3g} GFLOP/s)")
                if measured.get("scaled_from"):
                    row_notes.append(escape(f"{measured['scaled_from']} would not fit the time"))
                table.add_row(device_id, compute, op, measured["shape"], f"{measured['gflops']:.3g}",
                              ratio_text(ratio) if ratio else "-", str(measured["calls"]), "; ".join(row_notes))
    return Fitted(table, ("calls", "shape"), where="`calib device --probe --json` has them")
