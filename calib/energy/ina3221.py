"""Jetson power rails: the INA3221 monitors under /sys/bus/i2c/devices, read as jtop (jetson-stats) reads them.

Each monitor is an I2C device whose `name` contains "ina3221". Two driver layouts exist:
  - JetPack 5+ (hwmon): `hwmon/hwmonN/inK_label` names channel K; `inK_input` is its bus voltage (mV)
    and `currK_input` its current (mA). Labels containing "NC" are unconnected; channel 7 is the
    "sum of shunt voltages", not a rail.
  - JetPack 4 (iio): `iio:deviceN/rail_name_K` names channel K; `in_powerK_input` is its power (mW).
These are instantaneous power readings, not energy counters: the meter samples and integrates them.
The board's input rail (VDD_IN, or POM_5V_IN on Xavier) covers everything; where neither is present
the rails are summed, as jtop does for its total.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from calib.hardware.system_files import system_path

I2C_DEVICES = "/sys/bus/i2c/devices"
TOTAL_RAILS = ("VDD_IN", "POM_5V_IN")
SHUNT_SUM_CHANNEL = 7


@dataclass(frozen=True)
class Rail:
    name: str
    power_mw: Path | None = None  # iio: power directly
    voltage_mv: Path | None = None  # hwmon: volts x amps
    current_ma: Path | None = None

    def watts(self) -> float:
        if self.power_mw is not None:
            return _number(self.power_mw) / 1e3
        return _number(self.voltage_mv) * _number(self.current_ma) / 1e6


def _number(path: Path) -> float:
    """"1234" or "32760 ma" (some limit files carry a unit): the leading number."""
    return float(path.read_text().split()[0])


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def find_rails(root=None) -> tuple[list[Rail], str | None]:
    """(every connected rail, None) or ([], why there are none)."""
    base = system_path(root, I2C_DEVICES)
    if not base.is_dir():
        return [], f"no INA3221 power monitors (not a Jetson: {I2C_DEVICES} is absent)"
    rails: list[Rail] = []
    for device in sorted(base.iterdir()):
        if "ina3221" not in (_read(device / "name") or ""):
            continue
        for folder in sorted(device.glob("hwmon/hwmon*")):
            rails.extend(_hwmon_rails(folder))
        for folder in sorted(device.glob("iio:device*")):
            rails.extend(_iio_rails(folder))
    if not rails:
        return [], f"no INA3221 power monitors (not a Jetson: no ina3221 device under {I2C_DEVICES})"
    return rails, None


def _hwmon_rails(folder: Path) -> list[Rail]:
    rails = []
    for label in sorted(folder.glob("in*_label")):
        channel = label.name[2:-len("_label")]
        name = _read(label) or ""
        if not channel.isdigit() or int(channel) == SHUNT_SUM_CHANNEL or "NC" in name.split():
            continue
        voltage, current = folder / f"in{channel}_input", folder / f"curr{channel}_input"
        if voltage.exists() and current.exists():
            rails.append(Rail(name, voltage_mv=voltage, current_ma=current))
    return rails


def _iio_rails(folder: Path) -> list[Rail]:
    rails = []
    for label in sorted(folder.glob("rail_name_*")):
        channel = label.name[len("rail_name_"):]
        power = folder / f"in_power{channel}_input"
        if power.exists():
            rails.append(Rail(_read(label) or f"rail {channel}", power_mw=power))
    return rails


def board_rails(rails: list[Rail]) -> list[Rail]:
    """The rail that covers the whole board where there is one, else all of them (summed by the reader)."""
    for name in TOTAL_RAILS:
        total = [rail for rail in rails if rail.name == name]
        if total:
            return total
    return rails


class RailPower:
    """The board's power now (W), for the meter's sampler."""

    kind = "power"

    def __init__(self, rails: list[Rail]):
        self.rails = board_rails(rails)
        self.name = "ina3221 " + "+".join(rail.name for rail in self.rails)

    def watts(self) -> float:
        return sum(rail.watts() for rail in self.rails)


def rail_power(root=None) -> tuple[RailPower | None, str | None]:
    rails, reason = find_rails(root)
    return (RailPower(rails), None) if rails else (None, reason)
