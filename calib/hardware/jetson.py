"""Recognise an NVIDIA Jetson board and its SoC from the device tree and /etc/nv_tegra_release.

The SoC (from the device tree's `compatible` list) fixes the integrated GPU's compute
capability, so verdicts for `cuda:0` can be given even where CUDA cannot be initialised.
The board's marketing name is only displayed; nothing is decided from it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from calib.hardware.system_files import read_first, read_text


@dataclass(frozen=True)
class Soc:
    family: str
    gpu_architecture: str
    compute_capability: str
    note: str = ""


# device-tree compatible "nvidia,tegraNNN" -> what that SoC's integrated GPU is.
SOCS: dict[str, Soc] = {
    "tegra210": Soc("Jetson Nano / TX1", "Maxwell", "5.3"),
    "tegra186": Soc("Jetson TX2", "Pascal", "6.2"),
    "tegra194": Soc("Jetson Xavier", "Volta", "7.2"),
    "tegra234": Soc("Jetson Orin", "Ampere", "8.7"),
    "tegra264": Soc("Jetson Thor", "Blackwell", "11.0", "CUDA 12.8-12.9 call it 10.1; CUDA 13 renamed it 11.0"),
}

_MODEL_PATHS = ("/proc/device-tree/model", "/sys/firmware/devicetree/base/model")
_COMPATIBLE_PATHS = ("/proc/device-tree/compatible", "/sys/firmware/devicetree/base/compatible")
_RELEASE = re.compile(r"#\s*R(?P<major>\d+)\s*\(release\),\s*REVISION:\s*(?P<revision>[\d.]+)"
                      r"(?:,\s*GCID:\s*(?P<gcid>\d+))?(?:,\s*BOARD:\s*(?P<board>[^,\s]+))?")


def parse_model(text: str) -> str:
    """Real device-tree strings end in NUL; pasted copies do not."""
    return text.replace("\x00", " ").strip()


def parse_compatible(text: str) -> list[str]:
    """The real file is a NUL-separated list; a copy through a terminal glues the entries together.

    Glued entries are split where a vendor prefix ("nvidia,") starts again.
    """
    if "\x00" in text:
        return [entry.strip() for entry in text.split("\x00") if entry.strip()]
    return [entry for entry in re.split(r"(?<=.)(?=nvidia,)", text.strip()) if entry]


def parse_tegra_release(text: str) -> dict | None:
    match = _RELEASE.search(text)
    if not match:
        return None
    return {"l4t": f"{match['major']}.{match['revision']}", "gcid": match["gcid"], "board": match["board"]}


def soc_of(compatible: list[str]) -> str | None:
    for entry in compatible:
        found = re.search(r"nvidia,(tegra\d+)", entry)
        if found:
            return found.group(1)
    return None


def power_mode() -> str | None:
    """`nvpmodel -q` on a live Jetson; None where the tool is absent or says nothing useful."""
    if shutil.which("nvpmodel") is None:
        return None
    try:
        output = subprocess.run(["nvpmodel", "-q"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"NV Power Mode:\s*(\S+)", output)
    return found.group(1) if found else None


def detect_jetson(root=None) -> dict | None:
    model_text = read_first(root, *_MODEL_PATHS)
    compatible = parse_compatible(read_first(root, *_COMPATIBLE_PATHS) or "")
    release_text = read_text(root, "/etc/nv_tegra_release")
    soc = soc_of(compatible)
    release = parse_tegra_release(release_text) if release_text else None
    if soc is None and release is None:
        return None
    known = SOCS.get(soc) if soc else None
    return {
        "model": parse_model(model_text) if model_text else None,
        "soc": soc,
        "family": known.family if known else None,
        "compatible": compatible,
        "l4t": release["l4t"] if release else None,
        "l4t_gcid": release["gcid"] if release else None,
        "gpu_architecture": known.gpu_architecture if known else None,
        "gpu_compute_capability": known.compute_capability if known else None,
        "gpu_note": known.note if known and known.note else None,
        "power_mode": power_mode() if root is None else None,
    }
