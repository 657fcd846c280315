"""Getting a torch.fx graph of a model and instrumenting it with timestamps.

Instead of an fx.Interpreter (about 11 us of Python per node, twice the runtime of
mobilenet_v3_small), the graph is rewritten: after every op node a call to
`recorder.mark(i)` is inserted and the graph is compiled back to straight-line Python.
Each mark costs one method call and one clock read, a fraction of a microsecond, and that
cost is measured (calibrate_mark_cost) and subtracted.
"""

from __future__ import annotations

import time
import warnings

from calib.errors import first_line

CALL_OPS = ("call_module", "call_function", "call_method")
RECORDER_ATTR = "_calib_layer_recorder"


class TraceFailed(Exception):
    """torch.fx could not trace the model (data-dependent control flow, etc.)."""


def _tracer_class():
    import torch
    from torch import fx

    # torch.nn containers of other layers that the default tracer would keep as one opaque
    # node: trace through them so each attention / feed-forward block gets its own rows.
    containers = (torch.nn.TransformerEncoder, torch.nn.TransformerEncoderLayer, torch.nn.TransformerDecoder,
                  torch.nn.TransformerDecoderLayer, torch.nn.Transformer)

    class LayerTracer(fx.Tracer):
        def is_leaf_module(self, module, qualified_name):
            if isinstance(module, containers):
                return False
            return super().is_leaf_module(module, qualified_name)

    return LayerTracer


def to_graph_module(module):
    """A GraphModule for `module` (itself when it already is one); raises TraceFailed."""
    from torch import fx

    if isinstance(module, fx.GraphModule):
        return module
    try:
        graph = _tracer_class()().trace(module)
    except Exception as exc:  # noqa: BLE001 - any tracing failure means: use the fallback
        raise TraceFailed(f"{type(exc).__name__}: {first_line(exc, 200)}") from None
    return fx.GraphModule(module, graph, class_name=type(module).__name__)


class PerfCounterRecorder:
    """Host clock marks (CPU): marks[i] is the time right after op i-1 returned. `clock` is any
    nanosecond clock (calib.predict's tables may read the thread's CPU time instead)."""

    def __init__(self, count: int, clock=None):
        self.marks = [0] * count
        self._clock = clock or time.perf_counter_ns

    def mark(self, index: int) -> None:
        self.marks[index] = self._clock()

    def durations_ms(self) -> list[float]:
        marks = self.marks
        return [(marks[i + 1] - marks[i]) / 1e6 for i in range(len(marks) - 1)]


class CudaEventRecorder:
    """CUDA events recorded on the stream between ops: no host synchronize inside the pass."""

    def __init__(self, count: int, device):
        import torch

        self._torch = torch
        self._device = device
        self.events = [torch.cuda.Event(enable_timing=True) for _ in range(count)]

    def mark(self, index: int) -> None:
        self.events[index].record()

    def durations_ms(self) -> list[float]:
        self.events[-1].synchronize()
        events = self.events
        return [events[i].elapsed_time(events[i + 1]) for i in range(len(events) - 1)]


def make_recorder(count: int, device: str, host_clock=None):
    if str(device).startswith("cuda"):
        import torch

        return CudaEventRecorder(count, torch.device(device))
    return PerfCounterRecorder(count, host_clock)


def instrument(graph_module, recorder_factory, marks_per_boundary: int = 1):
    """(timed GraphModule sharing the original's weights, recorder, names of the timed op nodes).

    mark(0) runs before the first op and mark(i + 1) right after op i, so op i took
    marks[i + 1] - marks[i]. Node names are those of `graph_module`'s graph (deepcopy keeps them).
    `marks_per_boundary` 2 calls every mark twice (the second read wins): each op's duration then
    holds one more mark, which is how the in-situ cost of a mark is measured (in_situ_mark_cost).
    """
    import copy

    from torch import fx

    graph = copy.deepcopy(graph_module.graph)  # keeps the graph's codegen (pytree in/out specs)
    timed = fx.GraphModule(graph_module, graph, class_name=f"Timed{type(graph_module).__name__}")
    _flatten_module_calls(timed, graph_module)
    nodes = [node for node in graph.nodes if node.op in CALL_OPS]
    recorder = recorder_factory(len(nodes) + 1)
    _attach(timed, recorder, before=nodes[0] if nodes else _output_node(graph), after=nodes,
            marks_per_boundary=marks_per_boundary)
    return timed, recorder, [node.name for node in nodes]


def _flatten_module_calls(timed, graph_module) -> None:
    """Every called module becomes a direct attribute of the timed graph.

    fx's code reaches a module as `getattr(getattr(self.features, "3").block, "1")`: one
    nn.Module.__getattr__ per level on every call, which eager code (a Sequential iterating its
    children) does not pay. On mobilenet_v3_small that made the graph alone 7-12% slower than the
    model it times, all of it charged to the layers. Here each call is one plain attribute read.
    """
    for index, node in enumerate(node for node in timed.graph.nodes if node.op == "call_module"):
        module = graph_module.get_submodule(node.target)
        name = f"_calib_called_{index}"
        timed.add_module(name, module)  # registered, so fx's checks and .to() still see it
        object.__setattr__(timed, name, module)  # and in __dict__, so the read skips Module.__getattr__
        node.target = name


def in_situ_mark_cost(single_passes, double_passes) -> float | None:
    """ms one mark adds to an op's duration inside this model, from passes with one and with two
    marks per boundary: the median over ops of (median doubled - median single).

    An empty graph of marks (calibrate_mark_cost) shows the clock read alone; between real ops a
    mark also pays for what it disturbs (the return to Python, caches, waking OpenMP workers),
    which on many-small-op models is most of what the instrumented pass loses.
    """
    import numpy as np

    if not single_passes or not double_passes:
        return None
    single = np.median(np.asarray(single_passes, dtype=float), axis=0)
    double = np.median(np.asarray(double_passes, dtype=float), axis=0)
    if single.size == 0 or single.shape != double.shape:
        return None
    return float(np.median(double - single))


def bounded_mark_cost(in_situ_ms: float | None, empty_graph_ms: float, per_pass, plain_ms) -> float:
    """The ms subtracted from each node for its mark: the in-situ cost (in_situ_mark_cost), at most what the marks
    can have cost, the instrumented pass's excess over the plain runs (median against median) shared over its
    marks, and never under the clock read alone (empty_graph_ms).

    Why the bound: the doubled pass can run slower for reasons of its own. On DenseNet-121 (torch fp32, in
    calib calibrate's worker, Intel AMX machine kind) it read 0.064 ms a mark, 900x the clock read, while the
    instrumented pass ran no slower than the plain runs (46.6 against 47.8 ms); subtracted from 431 nodes it
    left rows summing to 60% of the model (cats and BatchNorms at 0 ms), and every DenseNet predicted from that
    table came out 20-35% under."""
    import numpy as np

    if not in_situ_ms or in_situ_ms <= empty_graph_ms:
        return empty_graph_ms
    samples = np.asarray(per_pass, dtype=float)
    if samples.ndim != 2 or not samples.size or not plain_ms:
        return in_situ_ms
    excess = float(np.median(samples.sum(axis=1))) - float(np.median(plain_ms))
    return max(empty_graph_ms, min(in_situ_ms, excess / samples.shape[1]))


def calibrate_mark_cost(recorder_factory, run_context, marks: int = 200, repeats: int = 30) -> float:
    """Median ms one mark adds to a node's duration: a graph of marks with no ops between them."""
    import numpy as np
    import torch
    from torch import fx

    graph = fx.Graph()
    probe_input = graph.placeholder("x")
    output = graph.output(probe_input)
    empty = fx.GraphModule(torch.nn.Module(), graph)
    recorder = recorder_factory(marks)
    setattr(empty, RECORDER_ATTR, recorder)
    with graph.inserting_before(output), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recorder_node = graph.get_attr(RECORDER_ATTR)
        for index in range(marks):
            graph.call_method("mark", (recorder_node, index))
    empty.recompile()
    probe = torch.zeros(1)
    samples: list[float] = []
    with run_context():
        for _ in range(repeats):
            empty(probe)
            samples.extend(recorder.durations_ms())
    return float(np.median(samples))


def _output_node(graph):
    return next(node for node in graph.nodes if node.op == "output")


def _attach(timed, recorder, before, after, marks_per_boundary: int = 1) -> None:
    graph = timed.graph
    setattr(timed, RECORDER_ATTR, recorder)
    with graph.inserting_before(before), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fx warns that the recorder is neither a module nor a tensor
        recorder_node = graph.get_attr(RECORDER_ATTR)
        for _ in range(marks_per_boundary):
            graph.call_method("mark", (recorder_node, 0))
    for index, node in enumerate(after):
        for _ in range(marks_per_boundary):
            with graph.inserting_after(node):  # each insert lands right after the op: all before its users
                graph.call_method("mark", (recorder_node, index + 1))
    timed.recompile()
