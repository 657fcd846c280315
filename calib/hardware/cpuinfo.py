"""Parse CPU descriptions: `/proc/cpuinfo` (x86-64 and AArch64) and `lscpu` output.

Both come to us as text that often went through a terminal or a markdown file first, so the
parser is lenient about indentation, tab-vs-space padding, blank lines that hold a space,
`...` elision lines, and `lscpu` values wrapped at the terminal width (even mid-token).
It returns plain data; nothing here decides what a flag means for a precision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# AArch64 cpuinfo has no "model name"; the implementer/part codes name the core. Display only:
# verdicts never read these names.
_ARM_IMPLEMENTERS = {"0x41": "ARM", "0x4e": "NVIDIA", "0x51": "Qualcomm", "0x61": "Apple", "0xc0": "Ampere",
                     "0x48": "HiSilicon", "0x46": "Fujitsu"}
_ARM_PARTS = {
    ("0x41", "0xd03"): "Cortex-A53", ("0x41", "0xd07"): "Cortex-A57", ("0x41", "0xd08"): "Cortex-A72",
    ("0x41", "0xd0b"): "Cortex-A76", ("0x41", "0xd0c"): "Neoverse-N1", ("0x41", "0xd40"): "Neoverse-V1",
    ("0x41", "0xd42"): "Cortex-A78AE", ("0x41", "0xd49"): "Neoverse-N2", ("0x41", "0xd4f"): "Neoverse-V2",
    ("0x41", "0xd83"): "Neoverse-V3AE", ("0x41", "0xd84"): "Neoverse-V3", ("0x41", "0xd85"): "Cortex-X925",
    ("0x41", "0xd87"): "Cortex-A725", ("0x4e", "0x004"): "NVIDIA Carmel",
}
_X86_VENDORS = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD", "HygonGenuine": "Hygon"}

# A line that starts an lscpu field: optional indentation (tree layout), a capitalised key, a colon.
_LSCPU_KEY = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Z][^:]*?):(?P<gap>\s*)(?P<value>.*)$")
_LSCPU_MARKERS = re.compile(r"^\s*(Architecture|Flags|Model name|Vendor ID)\s*:", re.MULTILINE)


@dataclass
class CpuInfo:
    arch: str  # "x86_64", "aarch64", "armv7l" or "unknown"
    vendor: str | None
    model: str | None
    flags: list[str]  # present on every core (a feature only some cores have cannot be relied on)
    flags_on_some_cores: list[str] = field(default_factory=list)
    logical_cores: int | None = None
    physical_cores: int | None = None
    source_format: str = "cpuinfo"  # "cpuinfo" or "lscpu"

    def as_dict(self) -> dict:
        return {"arch": self.arch, "vendor": self.vendor, "model": self.model, "flags": self.flags,
                "flags_on_some_cores": self.flags_on_some_cores, "logical_cores": self.logical_cores,
                "physical_cores": self.physical_cores, "source_format": self.source_format}


def parse_cpu_text(text: str) -> CpuInfo:
    """Either `/proc/cpuinfo` or `lscpu` output; the format is recognised from its keys."""
    if _LSCPU_MARKERS.search(text):
        return parse_lscpu(text)
    return parse_proc_cpuinfo(text)


def parse_proc_cpuinfo(text: str) -> CpuInfo:
    blocks = _cpuinfo_blocks(text)
    processors = [b for b in blocks if "processor" in b or "flags" in b or "Features" in b]
    if not processors:
        processors = blocks or [{}]
    common = _merged(processors)
    flag_sets = [set((b.get("flags") or b.get("Features") or "").split()) for b in processors]
    flag_sets = [s for s in flag_sets if s] or [set()]
    everywhere = set.intersection(*flag_sets)
    somewhere = set.union(*flag_sets) - everywhere
    arch = _cpuinfo_arch(common)
    vendor, model = _cpuinfo_identity(arch, processors, common)
    return CpuInfo(arch=arch, vendor=vendor, model=model, flags=sorted(everywhere),
                   flags_on_some_cores=sorted(somewhere), logical_cores=_cpuinfo_logical(processors, common),
                   physical_cores=_cpuinfo_physical(arch, processors, common), source_format="cpuinfo")


def _cpuinfo_blocks(text: str) -> list[dict[str, str]]:
    blocks, current = [], {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or ":" not in line:  # blank, " " separators, "..." elisions
            if not line and current:
                blocks.append(current)
                current = {}
            continue
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "processor" and "processor" in current:  # blocks not separated by a blank line
            blocks.append(current)
            current = {}
        current[key] = value.strip()
    if current:
        blocks.append(current)
    return blocks


def _merged(blocks: list[dict[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for block in blocks:
        for key, value in block.items():
            merged.setdefault(key, value)
    return merged


def _cpuinfo_arch(fields: dict[str, str]) -> str:
    if "vendor_id" in fields or "flags" in fields:
        return "x86_64"
    if "CPU implementer" in fields or "Features" in fields:
        version = fields.get("CPU architecture", "8").strip()
        if version.isdigit() and int(version) < 8:
            return "armv7l"
        return "aarch64"
    return "unknown"


def _cpuinfo_identity(arch: str, processors: list[dict], fields: dict) -> tuple[str | None, str | None]:
    if arch == "x86_64":
        vendor_id = fields.get("vendor_id")
        return _X86_VENDORS.get(vendor_id, vendor_id), fields.get("model name")
    implementer = fields.get("CPU implementer", "").lower()
    vendor = _ARM_IMPLEMENTERS.get(implementer, implementer or None)
    # big.LITTLE parts (GB10: X925 + A725) are listed in order of first appearance.
    parts = []
    for block in processors:
        name = _ARM_PARTS.get((block.get("CPU implementer", "").lower(), block.get("CPU part", "").lower()))
        if name is None and block.get("CPU part"):
            name = f"part {block['CPU part']}"
        if name and name not in parts:
            parts.append(name)
    model = " + ".join(parts) or fields.get("model name") or fields.get("Hardware")
    return vendor, model


def _cpuinfo_logical(processors: list[dict], fields: dict) -> int | None:
    # A pasted excerpt may hold one entry; "siblings" still says how many threads a socket has.
    listed = len(processors) if processors[0] else 0
    return max(listed, _int(fields.get("siblings")) or 0) or None


def _cpuinfo_physical(arch: str, processors: list[dict], fields: dict) -> int | None:
    cores = {(b.get("physical id"), b.get("core id")) for b in processors if "core id" in b}
    per_socket = _int(fields.get("cpu cores")) or 0
    if cores or per_socket:
        return max(len(cores), per_socket)
    if arch != "x86_64" and processors[0]:
        return len(processors)  # the ARM cores calib meets have no SMT
    return None


def lscpu_fields(text: str) -> dict[str, list[str]]:
    """Key -> values of `lscpu` output (a hybrid CPU lists "Model name" and "Flags" once per core type), with terminal-wrapped values joined back together.

    A wrapped line is indented at least to the column where its field's value starts. The
    terminal broke the text at a fixed width, mid-token included, so the pieces are joined
    exactly at that column with nothing inserted: a leading space in a piece is a real space.
    """
    fields: dict[str, list[str]] = {}
    key, value_column = None, None
    for raw in text.splitlines():
        line = raw.rstrip("\n\r")
        indent = len(line) - len(line.lstrip(" "))
        if key is not None and value_column is not None and line.strip() and indent >= value_column:
            fields[key][-1] += line[value_column:]
            continue
        match = _LSCPU_KEY.match(line)
        if not match:
            key, value_column = None, None
            continue
        key = match["key"].strip()
        value = match["value"]
        fields.setdefault(key, []).append(value)
        value_column = match.start("value") if value.strip() else None
    return {k: [v.strip() for v in values] for k, values in fields.items()}


def parse_lscpu(text: str) -> CpuInfo:
    all_fields = lscpu_fields(text)
    fields = {key: values[0] for key, values in all_fields.items()}
    flag_sets = [set(v.split()) for v in all_fields.get("Flags", [])] or [set()]
    everywhere = set.intersection(*flag_sets)
    models = list(dict.fromkeys(all_fields.get("Model name", [])))
    vendor_id = fields.get("Vendor ID")
    arch = fields.get("Architecture") or _arch_from_vendor_and_flags(vendor_id, everywhere)
    logical = _int(fields.get("CPU(s)"))
    threads = _int(fields.get("Thread(s) per core")) or 1
    per_group = _int(fields.get("Core(s) per socket")) or _int(fields.get("Core(s) per cluster"))
    groups = _int(fields.get("Socket(s)")) or _int(fields.get("Cluster(s)")) or 1
    physical = per_group * groups if per_group else (logical // threads if logical else None)
    return CpuInfo(arch=arch, vendor=_X86_VENDORS.get(vendor_id, vendor_id), model=" + ".join(models) or None,
                   flags=sorted(everywhere), flags_on_some_cores=sorted(set.union(*flag_sets) - everywhere),
                   logical_cores=logical,
                   physical_cores=physical, source_format="lscpu")


def _arch_from_vendor_and_flags(vendor_id: str | None, flags: set[str]) -> str:
    """For an lscpu excerpt pasted without its "Architecture:" line."""
    if vendor_id in _X86_VENDORS or {"sse2", "lm"} <= flags:
        return "x86_64"
    if "asimd" in flags:
        return "aarch64"
    return "unknown"


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
