"""Energy per inference from the machine's own counters, or null with the reason there is none.

  counter_for(device, root=None) -> (counter, None) | (None, reason)   # the counter that covers `device`
  meter_for(device) -> EnergyMeter                                     # idle(), region(), result(items)
  counters_report(root=None, live=True) -> [{"counter", "present", "name", "reason"}]   # `calib device`

Which counter covers which device:
  cpu      RAPL (calib.energy.rapl); on a Jetson, the board's INA3221 input rail (calib.energy.ina3221)
  cuda:N   NVML's energy counter, else its power samples (calib.energy.nvml); on a Jetson (no NVML),
           the board's input rail, which covers the integrated GPU with the rest of the board
A machine without any (a VM: RAPL hidden; no GPU) gets a null energy with the reason, never a 0.
"""

from __future__ import annotations

from calib.energy.meter import EnergyMeter


def counter_for(device: str, root=None):
    """(counter, None) or (None, reason); `root` reads a captured /sys (sysfs counters only)."""
    from calib.energy.ina3221 import rail_power

    if device.startswith("cuda"):
        from calib.energy.nvml import gpu_counter

        counter, reason = gpu_counter(device)
    else:
        from calib.energy.rapl import rapl_counter

        counter, reason = rapl_counter(root)
    if counter is not None:
        return counter, None
    rails, _ = rail_power(root)  # a Jetson's board rails; elsewhere the first counter's reason is the one
    return (rails, None) if rails is not None else (None, reason)


def meter_for(device: str, **kwargs) -> EnergyMeter:
    counter, reason = counter_for(device)
    return EnergyMeter(counter, reason, **kwargs)


def counters_report(root=None, live: bool = True) -> list[dict]:
    """Every kind of counter calib can read, present or absent with the reason (`calib device`)."""
    from calib.energy.ina3221 import find_rails
    from calib.energy.rapl import find_zones

    zones, reason = find_zones(root)
    entries = [{"counter": "rapl", "covers": "cpu", "present": bool(zones),
                "name": " + ".join(z.name for z in zones) or None, "reason": reason}]
    if root is not None or not live:
        names, reason = [], "not queried: " + ("analysing files under --root" if root is not None else "live_gpu=False")
    else:
        from calib.energy.nvml import present

        names, reason = present()
    entries.append({"counter": "nvml", "covers": "cuda", "present": bool(names), "name": "; ".join(names) or None,
                    "reason": reason})
    rails, reason = find_rails(root)
    entries.append({"counter": "ina3221", "covers": "jetson board", "present": bool(rails),
                    "name": " + ".join(rail.name for rail in rails) or None, "reason": reason})
    return entries


__all__ = ["EnergyMeter", "counter_for", "meter_for", "counters_report"]
