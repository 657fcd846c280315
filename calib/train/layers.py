"""Per-module forward and backward time of training steps (`calib train --layers`).

Forward: calib.layers.hooks' pre/post-hook timer (exclusive time per module, the hooks' own cost
measured on a chain of Identity modules and subtracted).
Backward: module backward hooks break on in-place ops (resnet's ReLU(inplace=True)), so the
autograd graph is used instead. After the forward, every autograd node a module's call created
is found by walking from its outputs back to its inputs' nodes (children first, so a container
keeps only its own functional ops, e.g. a residual add); a post-hook on each node stamps the
time, and the time since the previous stamp is the owning module's. Nodes the loss created are
the "(loss)" row. Rows are medians over the hooked steps, in calib.layers.table's format, with
`forward_ms` and `backward_ms` beside `median_ms` (their sum). On CUDA every stamp synchronizes.
"""

from __future__ import annotations

import time

import numpy as np

from calib.layers.hooks import _CallTimer, calibrate_hook_cost
from calib.layers.kinds import op_kind_of
from calib.layers.table import finish_table

METHOD = "train-hooks"
LOSS_ROW = "(loss)"


def _tensors(value) -> list:
    import torch

    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    return []


class BackwardTimer:
    """Attributes each autograd node to the module whose call created it, and times the nodes."""

    def __init__(self, sync=None):
        self._sync = sync
        self._clock = time.perf_counter_ns
        self._calls: list[tuple[str, list, set]] = []
        self._boundaries: list[set] = []
        self.owner: dict = {}
        self.times_ns: dict[str, int] = {}
        self._last = 0

    def attach(self, root) -> list:
        handles = []
        for path, module in root.named_modules():
            handles.append(module.register_forward_pre_hook(self._pre))
            handles.append(module.register_forward_hook(self._post(path)))
        return handles

    def _pre(self, module, args):
        self._boundaries.append({t.grad_fn for t in _tensors(args) if t.grad_fn is not None})

    def _post(self, path):
        def hook(module, args, output):
            boundary = self._boundaries.pop()
            self._calls.append((path, [t.grad_fn for t in _tensors(output) if t.grad_fn is not None], boundary))
        return hook

    def claim(self, loss) -> None:
        """After the forward: give every node an owner (calls in completion order: children first),
        hook it, and start the clock. Walking happens here, outside the timed forward."""
        self.owner, self.times_ns = {}, {}
        for path, roots, boundary in self._calls:
            self._walk(roots, boundary, path)
        self._walk([loss.grad_fn], set(), LOSS_ROW)
        self._calls = []
        if self._sync:
            self._sync()
        self._last = self._clock()

    def _walk(self, roots, boundary, path) -> None:
        pending, seen = list(roots), set()
        while pending:
            node = pending.pop()
            if node is None or node in boundary or node in seen:
                continue
            seen.add(node)
            if node not in self.owner:
                self.owner[node] = path
                node.register_hook(self._stamp(path))
            pending.extend(next_node for next_node, _ in node.next_functions)

    def _stamp(self, path):
        def hook(grad_inputs, grad_outputs):
            if self._sync:
                self._sync()
            now = self._clock()
            self.times_ns[path] = self.times_ns.get(path, 0) + now - self._last
            self._last = now
        return hook

    def ms(self) -> dict[str, float]:
        return {path: took / 1e6 for path, took in self.times_ns.items()}


def profile_training(model, run_step, steps: int, end_to_end_ms: float | None, device: str, sync=None,
                     compute_dtype: str | None = None) -> dict:
    """Hook `model`, call run_step(forward_timer_reset, claim) `steps` times, and build the table.

    run_step(claim) runs one training step and calls claim(loss) between the forward and backward."""
    started = time.perf_counter()
    hook_sync = sync if str(device).startswith("cuda") else None
    inside_ms, outside_ms = calibrate_hook_cost(_no_context, hook_sync)
    forward, backward = _CallTimer(hook_sync), BackwardTimer(hook_sync)
    order: list[str] = []
    classes: dict[str, str] = {}
    dtypes: dict[str, str] = {}
    shapes: dict[str, list] = {}
    params: dict[str, int] = {}

    def note(path):
        def hook(module, args, output):
            if path not in classes:
                order.append(path)
                classes[path] = type(module).__name__
                outputs = _tensors(output)
                params[path] = sum(p.numel() for p in module.parameters(recurse=False))
                if outputs:
                    dtypes[path] = str(outputs[0].dtype).replace("torch.", "")
                    shapes[path] = list(outputs[0].shape)
        return hook

    handles = [module.register_forward_hook(note(path)) for path, module in model.named_modules()]
    handles += forward.attach(model) + backward.attach(model)
    forward_passes, backward_passes, child_calls = [], [], {}
    try:
        for _ in range(steps):
            forward.reset()
            run_step(backward.claim)
            forward_passes.append(forward.exclusive_ms())
            child_calls = forward.child_calls
            backward_passes.append(backward.ms())
    finally:
        for handle in handles:
            handle.remove()
    rows = []
    root_name = type(model).__name__
    for path in order + [LOSS_ROW]:
        correction = inside_ms + outside_ms * child_calls.get(path, 0)
        forward_ms = (max(0.0, float(np.median([p.get(path, 0.0) for p in forward_passes])) - correction)
                      if path != LOSS_ROW else 0.0)
        backward_ms = float(np.median([p.get(path, 0.0) for p in backward_passes]))
        has_children = path != LOSS_ROW and any(other.startswith(f"{path}.") or (path == "" and other)
                                                for other in order)
        kind = "other" if path == LOSS_ROW else op_kind_of(classes[path])
        rows.append({"name": path or root_name, "op_kind": kind, "module_path": path,
                     "target": LOSS_ROW if path == LOSS_ROW else classes[path] + (" (own ops)" if has_children else ""),
                     "forward_ms": forward_ms, "backward_ms": backward_ms, "median_ms": forward_ms + backward_ms,
                     "output_dtype": dtypes.get(path), "output_shape": shapes.get(path),
                     "params": params.get(path), "compute_dtype": dtypes.get(path) if not has_children else None})
    return finish_table(rows, end_to_end_ms, METHOD, overhead_correction_ms_per_node=inside_ms + outside_ms,
                        pass_s=time.perf_counter() - started, repeats=steps,
                        forward_sum_ms=sum(row["forward_ms"] for row in rows),
                        backward_sum_ms=sum(row["backward_ms"] for row in rows),
                        expected_compute=compute_dtype)


class _no_context:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
