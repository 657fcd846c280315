"""NVIDIA GPUs: queried live through torch, or derived from a Jetson's SoC table.

torch is imported only inside `live_gpus`, so `--root` analysis never touches CUDA.
"""

from __future__ import annotations

from calib.dtypes import TENSOR_CORE_CC
from calib.hardware.verdict import parse_cc

# Tensor-core data types by the compute capability that introduced them (the one table: calib.dtypes).
TENSOR_CORE_TYPES = list(TENSOR_CORE_CC.items())


def tensor_core_types(compute_capability: str | None) -> list[str]:
    cc = parse_cc(compute_capability)
    return [name for name, minimum in TENSOR_CORE_TYPES if cc is not None and cc >= minimum]


def _gpu_entry(index: int, name: str, compute_capability: str, **extra) -> dict:
    return {"id": f"cuda:{index}", "kind": "cuda", "name": name, "compute_capability": compute_capability,
            "tensor_cores": tensor_core_types(compute_capability), **extra}


def live_gpus() -> tuple[list[dict], str | None]:
    """(devices, reason there are none). Never raises: a broken CUDA stack is a finding, not a crash."""
    try:
        import torch
    except ImportError:
        return [], "torch is not installed"
    try:
        if not torch.cuda.is_available():
            return [], "no CUDA device (torch.cuda.is_available() is False)"
        devices = []
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            devices.append(_gpu_entry(
                index, props.name, f"{props.major}.{props.minor}",
                memory_gb=round(props.total_memory / 2**30, 1), sm_count=props.multi_processor_count,
                capability_source=None, source="torch.cuda"))
        return devices, None
    except Exception as exc:  # driver/runtime mismatch and friends
        return [], f"CUDA present but not usable: {exc}"


def soc_gpu(jetson: dict, reason: str) -> dict | None:
    """The Jetson's integrated GPU from the SoC table, for when CUDA cannot tell us."""
    compute_capability = jetson.get("gpu_compute_capability")
    if not compute_capability:
        return None
    name = f"{jetson.get('family')} integrated {jetson.get('gpu_architecture')} GPU"
    identified = f", identified from its {jetson['identified_from']}" if jetson.get("identified_from") else ""
    source = f"compute capability {compute_capability} from the SoC table ({jetson['soc']}{identified}); {reason}"
    return _gpu_entry(0, name, compute_capability, memory_gb=None, sm_count=None,
                      capability_source=source, source="soc-table")
