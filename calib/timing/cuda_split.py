"""Where the time goes on a GPU, trtexec's split: host->device copy, GPU compute, device->host copy, and
the host's wall clock around all three, per call, each apart.

calib's timed region (calib.timing.clock.CudaEventTimer) is GPU compute on inputs already on the device:
the model's cost. A deployment also copies each input up and each output back, and the host waits for
both; on a small model the copies can outweigh the compute. This pass measures them in one call:

    host start --[H2D: inputs (pinned) -> GPU]--e1--[compute]--e2--[D2H: outputs -> host]--e3-- host end
    e0 before the H2D; CUDA events e0..e3 on the current stream, the host clock around the call

`enqueue_ms` is the host time to launch the three before it waits (where a launch-bound model shows:
enqueue close to host latency means the CPU, not the GPU, sets the pace; CUDA graphs,
calib.timing.cuda_graph, are the usual cure). A separate pass after the timed region, like the layer
pass: it never disturbs the figures calib reports as the latency. torch is imported inside functions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from calib.timing.stats import summarize

SPLIT_ITERATIONS = 50
SPLIT_WARMUP = 5


@dataclass(frozen=True)
class CudaSplit:
    h2d_ms: tuple[float, ...]
    compute_ms: tuple[float, ...]
    d2h_ms: tuple[float, ...]
    host_ms: tuple[float, ...]
    enqueue_ms: tuple[float, ...]
    input_bytes: int
    output_bytes: int

    def to_json(self) -> dict:
        """Medians (from calib.timing.stats) and the raw per-call times."""
        parts = {"h2d": self.h2d_ms, "compute": self.compute_ms, "d2h": self.d2h_ms, "host": self.host_ms,
                 "enqueue": self.enqueue_ms}
        medians = {f"{name}_median_ms": summarize(list(values), 1).median_ms for name, values in parts.items()}
        return {**medians, "input_bytes": self.input_bytes, "output_bytes": self.output_bytes,
                "iterations": len(self.host_ms), "samples_ms": {name: list(v) for name, v in parts.items()}}


def unavailable_reason(device: str) -> str | None:
    """Why the split cannot run on `device`, or None."""
    if not device.startswith("cuda"):
        return f"the H2D/compute/D2H split needs a CUDA device, not {device}"
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return f"CUDA is not available (torch {torch.__version__}, built for CUDA {torch.version.cuda})"
    return None


def split_times(forward: Callable[..., object], host_inputs: tuple, device: str,
                iterations: int = SPLIT_ITERATIONS, warmup: int = SPLIT_WARMUP,
                clock: Callable[[], int] = time.perf_counter_ns) -> CudaSplit:
    """Time `forward(*device_inputs)` with its copies: `host_inputs` are CPU tensors (pinned here, as
    trtexec's are), copied up each call; every output tensor is copied back."""
    import torch
    from torch.utils._pytree import tree_flatten, tree_map

    reason = unavailable_reason(device)
    if reason:
        raise RuntimeError(reason)
    target = torch.device(device)
    pinned = tuple(x.pin_memory() if isinstance(x, torch.Tensor) else x for x in host_inputs)
    stream = torch.cuda.current_stream(target)
    events = [torch.cuda.Event(enable_timing=True) for _ in range(4)]
    columns: list[list[float]] = [[], [], [], [], []]
    output_bytes = 0
    for index in range(warmup + iterations):
        start = clock()
        events[0].record(stream)
        on_device = tuple(x.to(target, non_blocking=True) if isinstance(x, torch.Tensor) else x for x in pinned)
        events[1].record(stream)
        outputs = forward(*on_device)
        events[2].record(stream)
        on_host = tree_map(lambda t: t.to("cpu", non_blocking=True) if isinstance(t, torch.Tensor) else t, outputs)
        events[3].record(stream)
        enqueued = clock()
        events[3].synchronize()
        end = clock()
        if index < warmup:
            continue
        columns[0].append(events[0].elapsed_time(events[1]))
        columns[1].append(events[1].elapsed_time(events[2]))
        columns[2].append(events[2].elapsed_time(events[3]))
        columns[3].append((end - start) / 1e6)
        columns[4].append((enqueued - start) / 1e6)
        output_bytes = sum(t.numel() * t.element_size() for t in tree_flatten(on_host)[0]
                           if isinstance(t, torch.Tensor))
    input_bytes = sum(x.numel() * x.element_size() for x in pinned if isinstance(x, torch.Tensor))
    return CudaSplit(*(tuple(column) for column in columns), input_bytes=input_bytes, output_bytes=output_bytes)


def split_prepared(prepared, backend: str = "torch", iterations: int = SPLIT_ITERATIONS) -> dict:
    """The split of a calib Prepared (calib.backends.base) on CUDA: its bound inputs copied back to the host
    as the starting point, its torch module (inside its call context, e.g. autocast) as the compute.
    {"value": None, "reason"} where it cannot run: no CUDA, or another engine than torch eager (ONNX Runtime
    copies inside its own run(); torch-compile's Prepared keeps the eager module, not the compiled one)."""
    reason = unavailable_reason(prepared.device)
    if reason is None and (backend != "torch" or prepared.module is None):
        reason = f"the split times the torch backend's module; {backend} is timed as a whole"
    if reason:
        return {"value": None, "reason": reason}
    import contextlib

    import torch

    host_inputs = tuple(x.detach().to("cpu") if isinstance(x, torch.Tensor) else x for x in prepared.inputs)
    context = prepared.call_context or contextlib.nullcontext

    def forward(*inputs):
        with context():
            return prepared.module(*inputs)

    with torch.inference_mode():
        return split_times(forward, host_inputs, prepared.device, iterations).to_json()
