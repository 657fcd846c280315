"""Assemble the `calib device --json` object: CPU, Jetson identity, devices and their verdicts.

Cheap by design (calib run stores it with every result): file reads, and with `live_gpu`
one torch.cuda query. No probing here; see calib.hardware.microbench for measurements.
"""

from __future__ import annotations

from calib.errors import UsageError
from calib.hardware.cpu import detect_cpu
from calib.hardware.cpuinfo import parse_cpu_text
from calib.hardware.cuda import live_gpus, soc_gpu
from calib.hardware.engines import engines_for
from calib.hardware.jetson import detect_jetson
from calib.hardware.rules import PRECISION_FLAGS
from calib.hardware.verdict import device_verdicts

# 1: first version (cpu, jetson, devices[].precisions[].{status,evidence,compute,rule,engine})
# 2: devices[].engines[].{backend,role,installed,version,install} (calib.hardware.engines)
# 3: energy_counters[].{counter,covers,present,name,reason} (calib.energy.counters_report)
REPORT_SCHEMA_VERSION = 3


def cpu_device(cpu: dict) -> dict:
    device = {"id": "cpu", "kind": "cpu", "name": cpu.get("model") or cpu.get("arch"), "arch": cpu.get("arch"),
              "flags": cpu.get("flags", [])}
    device["precisions"] = device_verdicts(device)
    return device


def build_report(cpu: dict, jetson: dict | None, gpus: list[dict], gpu_note: str | None,
                 check_installed: bool = True) -> dict:
    """`check_installed` False for a captured machine (--root, --cpuinfo): its engines are listed, not
    looked up in this Python environment."""
    present = set(cpu.get("flags") or [])
    cpu = {**cpu, "precision_flags": [f for f in PRECISION_FLAGS.get(cpu.get("arch"), []) if f in present]}
    devices = [cpu_device(cpu)]
    if not gpus and jetson:
        integrated = soc_gpu(jetson, gpu_note or "CUDA not queried")
        gpus = [integrated] if integrated else []
    for gpu in gpus:
        devices.append({**gpu, "precisions": device_verdicts(gpu)})
    for device in devices:
        device["engines"] = engines_for(device["kind"], cpu.get("arch"), check_installed)
    # Devices carry their flags for the rules; the JSON keeps them once, under "cpu".
    devices[0] = {key: value for key, value in devices[0].items() if key != "flags"}
    return {"schema_version": REPORT_SCHEMA_VERSION, "cpu": cpu, "jetson": jetson, "devices": devices,
            "gpu_note": gpu_note}


def device_report(root=None, live_gpu: bool = True) -> dict:
    from calib.energy import counters_report

    cpu = detect_cpu(root)
    jetson = detect_jetson(root)
    if root is not None:
        gpus, note = [], "not queried: analysing files under --root"
    elif live_gpu:
        gpus, note = live_gpus()
    else:
        gpus, note = [], "not queried (live_gpu=False)"
    report = build_report(cpu, jetson, gpus, note, check_installed=root is None)
    report["energy_counters"] = counters_report(root, live=live_gpu)  # which counters this machine has
    if root is None:  # this process's allocator (calib.malloc): whether timings here repeat whatever ran before
        from calib.malloc import malloc_state

        report["malloc"] = malloc_state()

    return report


def report_from_cpu_text(text: str, source: str) -> dict:
    """A report for pasted /proc/cpuinfo or lscpu text: the CPU only, nothing live."""
    info = parse_cpu_text(text)
    if info.arch == "unknown" and not info.flags:
        raise UsageError(f"{source}: no CPU description found (expected /proc/cpuinfo or lscpu output)")
    cpu = {**info.as_dict(), "governor": None, "source": source}
    return build_report(cpu, None, [], "not queried: analysing pasted CPU text", check_installed=False)
