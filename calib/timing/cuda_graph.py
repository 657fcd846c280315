"""CUDA graphs as a candidate: capture one inference once, then replay it with a single launch.

A small model on a fast GPU is often launch-bound: the host spends longer issuing a hundred kernels
than the GPU spends running them (calib.timing.cuda_split's enqueue time shows it). A CUDA graph
records the kernels once and replays them as one launch, as trtexec's --useCudaGraph does. It is a
candidate, not a rule: it needs static shapes and addresses and no host sync inside the forward, and it
can lose (capture cost, memory held by the graph's pool), so it is measured against the eager call.

Where each engine stands (GRAPH_SUPPORT): torch eager captures here (torch.cuda.CUDAGraph);
torch.compile does it itself with --compile-mode reduce-overhead; ONNX Runtime's CUDA provider has
its own `enable_cuda_graph` option (with I/O binding), not yet wired into calib; TensorRT's is
trtexec's --useCudaGraph. torch is imported inside functions: importing this module on a CPU machine
costs nothing, and `capture` says why it cannot run there.
"""

from __future__ import annotations

import contextlib
from typing import Callable

from calib.errors import first_line

GRAPH_SUPPORT = {
    "torch": (True, "torch.cuda.CUDAGraph capture of the eager module (calib.timing.cuda_graph)"),
    "torch-compile": (False, "torch.compile captures its own graphs: --compile-mode reduce-overhead"),
    "onnxruntime": (False, "ONNX Runtime's CUDA provider option enable_cuda_graph (with I/O binding) is not "
                           "wired into calib yet"),
    "tensorrt": (False, "TensorRT replays graphs itself (trtexec --useCudaGraph); not wired into calib yet"),
    "openvino": (False, "OpenVINO runs on CPUs and Intel GPUs: no CUDA graphs"),
}
CAPTURE_WARMUP = 3  # runs on a side stream before capture: lazy init (cuBLAS handles, autotuning) stays out


def supported(backend: str, device: str) -> tuple[bool, str]:
    """(can calib capture this engine's call on `device`, why / how)."""
    if not device.startswith("cuda"):
        return False, f"CUDA graphs need a CUDA device, not {device}"
    return GRAPH_SUPPORT.get(backend, (False, f"no CUDA graph support known for {backend}"))


def capture(forward: Callable[..., object], static_inputs: tuple,
            context: Callable[[], object] | None = None) -> tuple[Callable[[], object] | None, str | None]:
    """(replay, None): `replay()` re-runs the captured call on `static_inputs` (write new data into them
    in place) and returns the same static outputs; or (None, why it could not be captured)."""
    try:
        import torch
    except ImportError:
        return None, "torch is not installed"
    if not torch.cuda.is_available():
        return None, "CUDA graphs need a CUDA device (torch.cuda.is_available() is False)"
    context = context or contextlib.nullcontext
    cache = torch.is_autocast_cache_enabled()
    # autocast's cast cache is freed on leaving autocast, under the graph's feet: capture without it
    # (torch's CUDA graph notes: autocast needs cache_enabled=False)
    torch.set_autocast_cache_enabled(False)
    try:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side), context():
            for _ in range(CAPTURE_WARMUP):
                forward(*static_inputs)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph), context():
            static_outputs = forward(*static_inputs)
    except Exception as exc:  # noqa: BLE001 - dynamic shapes, a host sync in forward, an uncapturable op
        return None, f"capture failed: {type(exc).__name__}: {first_line(exc)}"
    finally:
        torch.set_autocast_cache_enabled(cache)

    def replay():
        graph.replay()
        return static_outputs

    return replay, None


def capture_prepared(prepared, backend: str) -> tuple[Callable[[], object] | None, str | None]:
    """The graph candidate of a calib Prepared (calib.backends.base): its module on its bound inputs."""
    ok, why = supported(backend, prepared.device)
    if not ok:
        return None, why
    if prepared.module is None:
        return None, "no torch module to capture"
    import torch

    with torch.inference_mode():
        return capture(prepared.module, tuple(prepared.inputs), prepared.call_context)
