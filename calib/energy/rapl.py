"""RAPL: the CPU's own energy counters, read from /sys/class/powercap/intel-rapl* (Linux powercap).

Each zone's `energy_uj` is a cumulative microjoule count that wraps to 0 after `max_energy_range_uj`;
a difference across one wrap is recovered by adding the range (two wraps in one region cannot be told
apart, so a region must be shorter than the wrap period: minutes at full power). AMD CPUs use the same
`intel-rapl` zones since Linux 5.8. Since Linux 5.10 `energy_uj` is readable by root only (the
PLATYPUS side channel), so "present but not readable" is its own reason.

Which zones: the top-level ones (`package-N`, one per socket) and each package's `dram` sub-zone; a
`psys` zone (the whole platform, on laptops) already contains them, so it is used alone where present.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from calib.hardware.system_files import read_text, system_path

POWERCAP = "/sys/class/powercap"


@dataclass(frozen=True)
class RaplZone:
    name: str  # "package-0", "dram", "psys"
    path: Path  # the zone's folder (under the root)
    max_range_uj: int

    def read_uj(self) -> int:
        return int(self.path.joinpath("energy_uj").read_text().strip())


def wrapped_delta(before_uj: int, after_uj: int, max_range_uj: int) -> int:
    """Microjoules between two readings of one counter, across at most one wrap to 0."""
    return after_uj - before_uj if after_uj >= before_uj else after_uj + max_range_uj - before_uj


def find_zones(root=None) -> tuple[list[RaplZone], str | None]:
    """(the zones to sum, None), or ([], why there are none / why they cannot be read)."""
    base = system_path(root, POWERCAP)
    if not base.is_dir():
        return [], f"no RAPL counters on this {_machine_kind(root)} ({POWERCAP} is absent)"
    top = sorted(p for p in base.glob("intel-rapl:*") if p.name.count(":") == 1)
    if not top:
        return [], f"no RAPL counters on this {_machine_kind(root)} ({POWERCAP} has no intel-rapl zones)"
    zones, unreadable = [], []
    for folder in top:
        zones.append(_zone(folder, unreadable))
        zones.extend(_zone(sub, unreadable) for sub in sorted(folder.glob(f"{folder.name}:*"))
                     if (read_text(None, str(sub / "name")) or "").strip() == "dram")
    zones = [z for z in zones if z is not None]
    psys = [z for z in zones if z.name == "psys"]
    zones = psys or zones
    if unreadable and not zones:
        return [], (f"RAPL counters present but not readable ({unreadable[0]}: energy_uj is root-only since "
                    "Linux 5.10; run as root or make it readable)")
    return zones, None


def _zone(folder: Path, unreadable: list[str]) -> RaplZone | None:
    name = (read_text(None, str(folder / "name")) or folder.name).strip()
    max_range = read_text(None, str(folder / "max_energy_range_uj"))
    try:
        zone = RaplZone(name, folder, int(max_range.strip()) if max_range else 0)
        zone.read_uj()
    except (OSError, ValueError):
        unreadable.append(str(folder / "energy_uj"))
        return None
    return zone


def _machine_kind(root) -> str:
    """"VM" when the CPU says it runs under a hypervisor (RAPL is then normally hidden), else "machine"."""
    cpuinfo = read_text(root, "/proc/cpuinfo") or ""
    return "VM" if " hypervisor" in cpuinfo else "machine"


class RaplCounter:
    """The chosen zones as one cumulative counter: `joules()` since construction, wraps unwrapped.
    Read it at least once per wrap period (the meter reads at the start and end of a region)."""

    kind = "energy"
    idle_s = 0.25  # the counters advance every millisecond or so: a quarter second of idle is plenty

    def __init__(self, zones: list[RaplZone]):
        self.zones = list(zones)
        self.name = "rapl " + "+".join(z.name for z in self.zones)
        self._last = [z.read_uj() for z in self.zones]
        self._total_uj = 0

    def joules(self) -> float:
        for index, zone in enumerate(self.zones):
            now = zone.read_uj()
            self._total_uj += wrapped_delta(self._last[index], now, zone.max_range_uj)
            self._last[index] = now
        return self._total_uj / 1e6


def rapl_counter(root=None) -> tuple[RaplCounter | None, str | None]:
    zones, reason = find_zones(root)
    return (RaplCounter(zones), None) if zones else (None, reason)
