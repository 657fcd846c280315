"""NVIDIA GPUs through NVML (the `nvidia-ml-py` package, module `pynvml`): energy, power, other processes.

`nvmlDeviceGetTotalEnergyConsumption` (Volta and newer) is a cumulative millijoule counter since the
driver loaded: read at the start and end of a region, like RAPL. Older GPUs have only
`nvmlDeviceGetPowerUsage` (milliwatts, averaged by the driver over about a second): the meter samples
it and integrates, a coarser figure that says so in its counter name. pynvml is imported only here,
inside functions: `calib device` and `calib --help` must work where it is not installed.

A CUDA index is not always NVML's (CUDA_VISIBLE_DEVICES, PCI order): the GPU is found by its PCI bus
id from torch where torch reports it, by index otherwise.
"""

from __future__ import annotations

import os

NOT_INSTALLED = "NVML not available (nvidia-ml-py not installed)"


def _nvml():
    """(pynvml, None) initialised, or (None, reason)."""
    try:
        import pynvml
    except ImportError:
        return None, NOT_INSTALLED
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001 - NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return None, f"NVML not available (nvmlInit failed: {exc})"
    return pynvml, None


def _handle(pynvml, cuda_index: int):
    bus_id = _pci_bus_id(cuda_index)
    if bus_id is not None:
        try:
            return pynvml.nvmlDeviceGetHandleByPciBusId(bus_id)
        except Exception:  # noqa: BLE001 - fall back to the index
            pass
    return pynvml.nvmlDeviceGetHandleByIndex(cuda_index)


def _pci_bus_id(cuda_index: int) -> str | None:
    try:
        import torch

        props = torch.cuda.get_device_properties(cuda_index)
        return f"{props.pci_domain_id:08X}:{props.pci_bus_id:02X}:{props.pci_device_id:02X}.0"
    except Exception:  # noqa: BLE001 - older torch without the PCI fields, or no CUDA
        return None


def cuda_index(device: str) -> int | None:
    if not device.startswith("cuda"):
        return None
    index = device.partition(":")[2] or "0"
    return int(index) if index.isdigit() else None


class NvmlEnergy:
    """The GPU's cumulative energy counter: `joules()` since construction."""

    kind = "energy"

    def __init__(self, pynvml, handle, index: int):
        self._read = lambda: pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        self.name = f"nvml cuda:{index} total energy"
        self._start_mj = self._read()

    def joules(self) -> float:
        return (self._read() - self._start_mj) / 1e3


class NvmlPower:
    """The GPU's power now (W), for GPUs without the energy counter (before Volta)."""

    kind = "power"

    def __init__(self, pynvml, handle, index: int):
        self._read = lambda: pynvml.nvmlDeviceGetPowerUsage(handle)
        self.name = f"nvml cuda:{index} power samples"
        self._read()

    def watts(self) -> float:
        return self._read() / 1e3


def _nvml_for(device: str, not_cuda: str):
    """(pynvml, the GPU's index, None) for a CUDA device, or (None, None, why not: `not_cuda` or NVML's reason)."""
    index = cuda_index(device)
    if index is None:
        return None, None, not_cuda
    pynvml, reason = _nvml()
    return (pynvml, index, None) if pynvml is not None else (None, None, reason)


def gpu_counter(device: str):
    """(NvmlEnergy or NvmlPower, None) for a CUDA device, or (None, reason)."""
    pynvml, index, reason = _nvml_for(device, f"NVML measures NVIDIA GPUs, not {device}")
    if pynvml is None:
        return None, reason
    try:
        handle = _handle(pynvml, index)
    except Exception as exc:  # noqa: BLE001
        return None, f"NVML has no handle for {device}: {exc}"
    try:
        return NvmlEnergy(pynvml, handle, index), None
    except Exception as energy_error:  # noqa: BLE001 - NotSupported before Volta
        try:
            return NvmlPower(pynvml, handle, index), None
        except Exception as power_error:  # noqa: BLE001
            return None, (f"NVML on {device} reports neither energy ({energy_error}) nor power "
                          f"({power_error})")


def present() -> tuple[list[str], str | None]:
    """The GPUs NVML sees, as "index: name" (for `calib device`), or ([], why none)."""
    pynvml, reason = _nvml()
    if pynvml is None:
        return [], reason
    try:
        names = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(index))
            names.append(f"{index}: {name.decode() if isinstance(name, bytes) else name}")
    except Exception as exc:  # noqa: BLE001
        return [], f"NVML not usable: {exc}"
    return names, None if names else "NVML sees no GPU"


def other_gpu_processes(device: str) -> tuple[list[dict] | None, str | None]:
    """Other processes holding a compute context on the GPU: ([{"pid", "name", "used_bytes"}], None),
    or (None, why this could not be asked). In a container NVML may report host pids: a pid that is
    not ours and not visible here is listed with name None."""
    pynvml, index, reason = _nvml_for(device, f"{device} is not a CUDA device")
    if pynvml is None:
        return None, reason
    try:
        running = pynvml.nvmlDeviceGetComputeRunningProcesses(_handle(pynvml, index))
    except Exception as exc:  # noqa: BLE001
        return None, f"NVML cannot list the processes on {device}: {exc}"
    own = _calib_pids()
    others = [{"pid": p.pid, "name": _process_name(p.pid), "used_bytes": getattr(p, "usedGpuMemory", None)}
              for p in running if p.pid not in own]
    unseen = [p for p in others if p["name"] is None]
    if len(unseen) == 1 and _holds_cuda_context():
        # In a container NVML reports host pids, so this process shows up under a pid it cannot see: one
        # unseen pid while we hold a context is taken to be ourselves, not another process.
        others.remove(unseen[0])
    return others, None


def _calib_pids() -> set[int]:
    """This process, and its parent when that is calib itself (calib.worker measures in a child)."""
    pids = {os.getpid()}
    try:
        import psutil

        parent = psutil.Process().parent()
        # `calib ...` (the console script) or `python -m calib ...`
        if parent is not None and any(os.path.basename(part) == "calib" for part in parent.cmdline()[:3]):
            pids.add(parent.pid)
    except Exception:  # noqa: BLE001 - psutil cannot see the parent: only this process
        pass
    return pids


def _holds_cuda_context() -> bool:
    import sys

    torch = sys.modules.get("torch")
    try:
        return bool(torch is not None and torch.cuda.is_initialized())
    except Exception:  # noqa: BLE001
        return False


def _process_name(pid: int) -> str | None:
    try:
        import psutil

        return psutil.Process(pid).name()
    except Exception:  # noqa: BLE001 - gone, or another pid namespace
        return None
