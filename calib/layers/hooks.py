"""Fallback for models torch.fx cannot trace: forward hooks on every module.

Each module call is timed between its pre- and post-hook; a row is a module's exclusive
time (its own time minus its children's), so a container's own functional ops keep a row
and nothing is counted twice. The hooks' own cost is measured on a chain of Identity
modules and subtracted. On CUDA each hook synchronizes (this path cannot keep events
per call cheaply), so on CUDA the fx method is the accurate one.
"""

from __future__ import annotations

import time

import numpy as np

from calib.layers import facts as layer_facts
from calib.layers.kinds import op_kind_of
from calib.layers.passes import build_table, choose_repeats, run_passes, warmup_count

METHOD = "module-hooks"


class _CallTimer:
    """Hooks that accumulate, per module path, inclusive and children's time of one pass."""

    def __init__(self, sync=None, clock=None):
        self.inclusive: dict[str, int] = {}
        self.children: dict[str, int] = {}
        self.child_calls: dict[str, int] = {}
        self._stack: list[tuple[str, int]] = []
        self._sync = sync
        self._clock = clock or time.perf_counter_ns

    def reset(self) -> None:
        self.inclusive, self.children, self.child_calls = {}, {}, {}

    def attach(self, root) -> list:
        handles = []
        for path, module in root.named_modules():
            handles.append(module.register_forward_pre_hook(self._pre(path)))
            handles.append(module.register_forward_hook(self._post(path)))
        return handles

    def _pre(self, path):
        def hook(module, args):
            if self._sync:
                self._sync()
            self._stack.append((path, self._clock()))
        return hook

    def _post(self, path):
        def hook(module, args, output):
            if self._sync:
                self._sync()
            _, start = self._stack.pop()
            took = self._clock() - start
            self.inclusive[path] = self.inclusive.get(path, 0) + took
            if self._stack:
                parent = self._stack[-1][0]
                self.children[parent] = self.children.get(parent, 0) + took
                self.child_calls[parent] = self.child_calls.get(parent, 0) + 1
        return hook

    def exclusive_ms(self) -> dict[str, float]:
        return {path: (took - self.children.get(path, 0)) / 1e6 for path, took in self.inclusive.items()}


def profile_hooks(module, inputs: tuple, run_context, device: str, end_to_end_ms: float | None, settings=None,
                  expected_compute: str | None = None, configuration: str = "", sync=None,
                  trace_error: str | None = None, host_clock=None) -> dict:
    import torch

    started = time.perf_counter()
    hook_sync = sync if str(device).startswith("cuda") else None
    inside_ms, outside_ms = calibrate_hook_cost(run_context, hook_sync, host_clock=host_clock)
    with run_context(), torch.inference_mode():
        module_facts, call_order = collect_module_facts(module, inputs)
    timer = _CallTimer(hook_sync, host_clock)
    handles = timer.attach(module)
    repeats = choose_repeats(end_to_end_ms, settings)
    passes_child_calls: list[dict[str, int]] = []

    def timed_pass():
        timer.reset()
        module(*inputs)
        passes_child_calls.append(timer.child_calls)
        exclusive = timer.exclusive_ms()
        return [exclusive.get(path, 0.0) for path in call_order]

    def plain_run():
        for handle in handles:  # the plain run must not pay for hooks
            handle.remove()
        try:
            module(*inputs)
        finally:
            handles[:] = timer.attach(module)

    try:
        with run_context(), torch.inference_mode():
            per_pass, plain_ms = run_passes(timed_pass, plain_run, repeats, warmup_count(end_to_end_ms), sync,
                                            host_clock=host_clock)
    finally:
        for handle in handles:
            handle.remove()
    child_calls = passes_child_calls[-1] if passes_child_calls else {}
    correction = np.asarray([inside_ms + outside_ms * child_calls.get(path, 0) for path in call_order])
    root_name = type(module).__name__
    return build_table([(path or root_name, module_facts.get(path, {})) for path in call_order], per_pass,
                       correction, plain_ms, method=METHOD, end_to_end_ms=end_to_end_ms,
                       expected_compute=expected_compute, configuration=configuration, started=started,
                       repeats=repeats, overhead_ms_per_node=inside_ms + outside_ms, trace_error=trace_error,
                       timer="perf_counter+sync" if hook_sync else (
                           "perf_counter" if host_clock is None else getattr(host_clock, "__name__", "host_clock")))


def collect_module_facts(root, inputs: tuple) -> tuple[dict[str, dict], list[str]]:
    """(path -> facts of its first call, paths in first-call order) from one real run."""
    from torch.utils.flop_counter import FlopCounterMode

    facts: dict[str, dict] = {}
    order: list[str] = []
    handles = []
    for path, module in root.named_modules():
        def hook(module, args, output, path=path):
            if path in facts:
                return
            input_tensors, output_tensors = layer_facts.tensors_in(args), layer_facts.tensors_in(output)
            has_children = any(True for _ in module.children())
            kind = op_kind_of(type(module).__name__)  # MultiheadAttention's own ops are attention
            # A container's own row holds only its functional ops: its children's weights and FLOPs are theirs.
            facts[path] = {**layer_facts.describe(kind, None if has_children and kind != "attention" else module,
                                                  input_tensors, output_tensors, None),
                           "target": type(module).__name__ + (" (own ops)" if has_children else ""),
                           "module_path": path}
        handles.append(module.register_forward_hook(hook))
        handles.append(module.register_forward_pre_hook(lambda m, a, path=path: order.append(path)
                                                        if path not in order else None))
    counter = FlopCounterMode(display=False)
    try:
        with counter:
            root(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    _add_exclusive_flops(facts, counter.get_flop_counts(), type(root).__name__)
    return facts, order


def _add_exclusive_flops(facts: dict[str, dict], counts: dict, root_name: str) -> None:
    """FlopCounterMode counts per module inclusively; a row gets its own minus its children's."""
    inclusive = {}
    for path in facts:
        key = f"{root_name}.{path}" if path else root_name
        inclusive[path] = int(sum((counts.get(key) or {}).values()))
    children: dict[str, list[str]] = {}
    for path in facts:
        if path:
            children.setdefault(_called_parent(path, facts), []).append(path)
    for path, row in facts.items():
        counted = max(0, inclusive[path] - sum(inclusive[c] for c in children.get(path, [])))
        if counted:  # otherwise keep the shape formula's estimate from describe()
            row["flops"], row["flops_source"] = counted, "flop_counter"


def _called_parent(path: str, called: dict) -> str:
    """Nearest ancestor that was itself called (ModuleList containers never are)."""
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        candidate = ".".join(parts[:cut])
        if candidate in called:
            return candidate
    return ""


def calibrate_hook_cost(run_context, sync=None, modules: int = 50, repeats: int = 20,
                        host_clock=None) -> tuple[float, float]:
    """(ms a hooked module's own row gains, ms its parent's row gains per hooked child call)."""
    import torch

    class Chain(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.steps = torch.nn.ModuleList(torch.nn.Identity() for _ in range(modules))

        def forward(self, x):
            for step in self.steps:
                x = step(x)
            return x

    chain, probe = Chain(), torch.zeros(1)
    plain_ms, identity_ms, hooked_total_ms = [], [], []
    clock = host_clock or time.perf_counter_ns
    timer = _CallTimer(sync, host_clock)
    with run_context(), torch.inference_mode():
        for _ in range(repeats):
            start = clock()
            chain(probe)
            plain_ms.append((clock() - start) / 1e6)
        handles = timer.attach(chain)
        for _ in range(repeats):
            timer.reset()
            chain(probe)
            exclusive = timer.exclusive_ms()
            identity_ms.append(float(np.median([exclusive[f"steps.{i}"] for i in range(modules)])))
            hooked_total_ms.append(sum(exclusive.values()))
        for handle in handles:
            handle.remove()
    # Rows sum to the root's hooked time; what that exceeds the plain run by, per hooked call,
    # is the hooks' cost. The part inside a module's own window (all of an Identity's time,
    # bar a negligible forward) goes to its row, the rest to its parent's.
    per_call = max(0.0, (float(np.median(hooked_total_ms)) - float(np.median(plain_ms))) / modules)
    inside = min(float(np.median(identity_ms)), per_call)
    return inside, per_call - inside
