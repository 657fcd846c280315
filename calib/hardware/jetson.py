"""Recognise an NVIDIA Jetson board and its SoC from the device tree and /etc/nv_tegra_release.

The SoC fixes the integrated GPU's compute capability, so verdicts for `cuda:0` can be given
even where CUDA cannot be initialised. It is read, most certain first, from:
  1. the `compatible` list's SoC entry ("nvidia,tegra234");
  2. the module part number in that list ("nvidia,p3737-0000+p3701-0005": carrier p3737, module
     p3701) -- real captures often keep only this first NUL-separated entry;
  3. the device-tree model string ("NVIDIA Orin NX Developer Kit": JetPack 5 strings may lack
     the word "Jetson");
  4. the L4T release, which narrows the SoC to a few candidates and says so.
Names are displayed; the SoC decides. Which evidence decided is part of the result.
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


@dataclass(frozen=True)
class Module:
    name: str
    soc: str  # a SOCS key; the compute capability comes from there (one table)

    @property
    def compute_capability(self) -> str:
        return SOCS[self.soc].compute_capability


# Part numbers ("pNNNN" for a module family, "pNNNN-SSSS" for one SKU, more specific wins) that
# name a module, or a complete developer kit whose compatible list starts with its own number.
# Sources: the Linux kernel's Documentation/devicetree/bindings/arm/tegra.yaml (which parts go
# with which nvidia,tegraNNN), NVIDIA's Jetson Linux guides and l4t_initrd_flash.sh (p3767 SKUs:
# its recovery-mode USB ids list Orin NX 16GB p3767-0000, 8GB -0001, Orin Nano 8GB -0003, 4GB -0004),
# and jetson-stats' MODULE_NAME_TABLE (rbonghi/jetson_stats jtop/core/jetson_variables.py).
# Thor: p3834 is tegra264 in the kernel bindings (-0008 in the AGX Thor Developer Kit); that -0008
# is the T5000 and -0000 the T4000 comes from OE4T meta-tegra and vendor BSPs, not NVIDIA's docs.
MODULES: dict[str, Module] = {
    "p3834": Module("Jetson Thor", "tegra264"),
    "p3834-0008": Module("Jetson AGX Thor T5000", "tegra264"),
    "p3834-0000": Module("Jetson T4000", "tegra264"),
    "p3701": Module("Jetson AGX Orin", "tegra234"),
    "p3701-0000": Module("Jetson AGX Orin 32GB (developer kit)", "tegra234"),
    "p3701-0004": Module("Jetson AGX Orin 32GB", "tegra234"),
    "p3701-0005": Module("Jetson AGX Orin 64GB", "tegra234"),
    "p3701-0008": Module("Jetson AGX Orin Industrial", "tegra234"),
    "p3767": Module("Jetson Orin NX / Orin Nano", "tegra234"),
    "p3767-0000": Module("Jetson Orin NX 16GB", "tegra234"),
    "p3767-0001": Module("Jetson Orin NX 8GB", "tegra234"),
    "p3767-0003": Module("Jetson Orin Nano 8GB", "tegra234"),
    "p3767-0004": Module("Jetson Orin Nano 4GB", "tegra234"),
    "p3767-0005": Module("Jetson Orin Nano 8GB (developer kit)", "tegra234"),
    "p3668": Module("Jetson Xavier NX", "tegra194"),
    "p3668-0003": Module("Jetson Xavier NX 16GB", "tegra194"),
    "p2888": Module("Jetson AGX Xavier", "tegra194"),
    "p2888-0008": Module("Jetson AGX Xavier Industrial", "tegra194"),
    "p2972": Module("Jetson AGX Xavier (developer kit)", "tegra194"),
    "p3636": Module("Jetson TX2 NX", "tegra186"),
    "p3310": Module("Jetson TX2", "tegra186"),
    "p3489": Module("Jetson TX2i / TX2 4GB", "tegra186"),
    "p3489-0000": Module("Jetson TX2i", "tegra186"),
    "p3489-0888": Module("Jetson TX2 4GB", "tegra186"),
    "p2771": Module("Jetson TX2 (developer kit)", "tegra186"),
    "p3448": Module("Jetson Nano", "tegra210"),
    "p3448-0003": Module("Jetson Nano 2GB", "tegra210"),
    "p3450": Module("Jetson Nano (developer kit)", "tegra210"),
    "p3541": Module("Jetson Nano 2GB (developer kit)", "tegra210"),
    "p2180": Module("Jetson TX1", "tegra210"),
    "p2371-2180": Module("Jetson TX1 (developer kit)", "tegra210"),
}

# Carrier boards: shown, never decisive. p3509 (the Xavier NX developer kit carrier) also hosts
# TX2 NX and Orin NX modules, and p3449 (the Nano carrier) Xavier NX ones: a carrier says no SoC.
CARRIERS = {"p3737": "AGX Orin carrier", "p3768": "Orin Nano carrier", "p3509": "Xavier NX carrier",
            "p3449": "Nano carrier", "p2822": "AGX Xavier carrier", "p2597": "TX1/TX2 carrier",
            "p3740": "IGX Orin carrier", "p3971": "Thor reference carrier", "p4071": "AGX Thor carrier"}

# The model string when nothing better is there, first match wins ("Orin Nano" before "Nano").
# JetPack 4 called the AGX Xavier developer kit "Jetson-AGX".
_MODEL_SOCS = [(r"\bthor\b", "tegra264"), (r"\borin\b", "tegra234"), (r"\bxavier\b|jetson-agx", "tegra194"),
               (r"\btx2\b", "tegra186"), (r"\bnano\b|\btx1\b", "tegra210")]

# L4T major release -> the SoCs it supports (JetPack 4 / 5 / 6 / 7). Only narrows, except R38,
# which NVIDIA's 38.x guide says supports the Thor family only.
L4T_SOCS = {"32": ("tegra210", "tegra186", "tegra194"), "34": ("tegra194", "tegra234"),
            "35": ("tegra194", "tegra234"), "36": ("tegra194", "tegra234"), "38": ("tegra264",),
            "39": ("tegra234", "tegra264")}

_MODEL_PATHS = ("/proc/device-tree/model", "/sys/firmware/devicetree/base/model")
_COMPATIBLE_PATHS = ("/proc/device-tree/compatible", "/sys/firmware/devicetree/base/compatible")
_RELEASE = re.compile(r"#\s*R(?P<major>\d+)\s*\(release\),\s*REVISION:\s*(?P<revision>[\d.]+)"
                      r"(?:,\s*GCID:\s*(?P<gcid>\d+))?(?:,\s*BOARD:\s*(?P<board>[^,\s]+))?")
_PART = re.compile(r"^(?P<part>p\d{4})(?:-(?P<sku>\d{4}))?")


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
    return {"l4t": f"{match['major']}.{match['revision']}", "major": match["major"], "gcid": match["gcid"],
            "board": match["board"]}


def soc_of(compatible: list[str]) -> str | None:
    for entry in compatible:
        found = re.search(r"nvidia,(tegra\d+)", entry)
        if found:
            return found.group(1)
    return None


def part_numbers(compatible: list[str]) -> list[str]:
    """"pNNNN-SSSS" (or "pNNNN") of every nvidia entry, modules (after a '+') before carriers."""
    modules, others = [], []
    for entry in compatible:
        if not entry.startswith("nvidia,"):
            continue
        pieces = entry[len("nvidia,"):].split("+")
        for index, piece in enumerate(pieces):
            match = _PART.match(piece)
            if match:
                number = match["part"] + (f"-{match['sku']}" if match["sku"] else "")
                (modules if index > 0 else others).append(number)
    return list(dict.fromkeys(modules + others))


def module_of(numbers: list[str]) -> tuple[str, Module] | None:
    """The first part number that names a module (its SKU if listed, else its family)."""
    for number in numbers:
        for key in (number, number.split("-")[0]):
            if key in MODULES:
                return number, MODULES[key]
    return None


def soc_from_model(model: str | None) -> str | None:
    if not model or not re.search(r"nvidia|jetson", model, re.IGNORECASE):
        return None
    return next((soc for pattern, soc in _MODEL_SOCS if re.search(pattern, model, re.IGNORECASE)), None)


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


def _identify(compatible: list[str], model: str | None, release: dict | None) -> dict:
    """soc, identified_from, identity_evidence, soc_candidates and the module/carrier parts."""
    numbers = part_numbers(compatible)
    module = module_of(numbers)
    carrier = next((n for n in numbers if n.split("-")[0] in CARRIERS), None)
    found = {"module": module[1].name if module else None, "module_part": module[0] if module else None,
             "carrier_part": carrier, "soc_candidates": None}
    listed = soc_of(compatible)
    if listed:
        evidence = f"SoC entry nvidia,{listed} in the device-tree compatible list"
        if module and module[1].soc != listed:
            evidence += f" (module {module[0]} would say {module[1].soc}; the SoC entry wins)"
        return {**found, "soc": listed, "identified_from": "compatible", "identity_evidence": evidence}
    if module:
        return {**found, "soc": module[1].soc, "identified_from": "module part number",
                "identity_evidence": f"module part number {module[0]} ({module[1].name}) in the device-tree "
                                     f"compatible list, which has no nvidia,tegraNNN entry"}
    by_model = soc_from_model(model)
    if by_model:
        return {**found, "soc": by_model, "identified_from": "model string",
                "identity_evidence": f"device-tree model {model!r} (no SoC entry or known part number)"}
    candidates = L4T_SOCS.get(release["major"]) if release else None
    if candidates and len(candidates) == 1:
        return {**found, "soc": candidates[0], "identified_from": "L4T release",
                "identity_evidence": f"L4T R{release['major']} supports only {SOCS[candidates[0]].family} "
                                     f"({candidates[0]}); no device-tree identity"}
    if candidates:
        names = " or ".join(f"{SOCS[soc].family} ({soc}, compute capability {SOCS[soc].compute_capability})"
                            for soc in candidates)
        evidence = (f"ambiguous: L4T R{release['major']} runs on {names}; no device-tree identity, so no GPU "
                    "verdicts")
        return {**found, "soc": None, "identified_from": None, "identity_evidence": evidence,
                "soc_candidates": list(candidates)}
    return {**found, "soc": None, "identified_from": None,
            "identity_evidence": "no SoC entry, known part number, model or L4T release identifies the SoC"}


def detect_jetson(root=None) -> dict | None:
    model_text = read_first(root, *_MODEL_PATHS)
    model = parse_model(model_text) if model_text else None
    compatible = parse_compatible(read_first(root, *_COMPATIBLE_PATHS) or "")
    release_text = read_text(root, "/etc/nv_tegra_release")
    release = parse_tegra_release(release_text) if release_text else None
    nvidia_tree = any(entry.startswith("nvidia,") for entry in compatible)
    if not nvidia_tree and release is None and soc_from_model(model) is None:
        return None
    identity = _identify(compatible, model, release)
    known = SOCS.get(identity["soc"]) if identity["soc"] else None
    return {
        "model": model,
        "soc": identity["soc"],
        "family": known.family if known else None,
        "module": identity["module"],
        "module_part": identity["module_part"],
        "carrier_part": identity["carrier_part"],
        "identified_from": identity["identified_from"],
        "identity_evidence": identity["identity_evidence"],
        "soc_candidates": identity["soc_candidates"],
        "compatible": compatible,
        "l4t": release["l4t"] if release else None,
        "l4t_gcid": release["gcid"] if release else None,
        "gpu_architecture": known.gpu_architecture if known else None,
        "gpu_compute_capability": known.compute_capability if known else None,
        "gpu_note": known.note if known and known.note else None,
        "power_mode": power_mode() if root is None else None,
    }
