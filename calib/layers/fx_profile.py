"""Per-layer timing of a torch.fx graph: one fact-finding pass, then timed passes of the
graph instrumented with marks (calib.layers.graph), each node's duration corrected by the
measured cost of one mark."""

from __future__ import annotations

import time

from calib.layers import facts as layer_facts
from calib.layers.graph import (CALL_OPS, bounded_mark_cost, calibrate_mark_cost, in_situ_mark_cost, instrument,
                                make_recorder, to_graph_module)
from calib.layers.kinds import op_kind_of, target_name
from calib.layers.passes import build_table, choose_repeats, run_passes, warmup_count

METHOD = "fx-graph"


def profile_fx(module, inputs: tuple, run_context, device: str, end_to_end_ms: float | None, settings=None,
               expected_compute: str | None = None, configuration: str = "", sync=None, host_clock=None) -> dict:
    """The layer table of `module` on `inputs`; raises graph.TraceFailed when fx cannot trace it.
    `host_clock` (nanoseconds; default perf_counter) times the marks and the plain runs on the CPU."""
    started = time.perf_counter()
    graph_module = to_graph_module(module)
    with run_context():
        node_facts = collect_facts(graph_module, inputs)

    def recorder_factory(count):
        return make_recorder(count, device, host_clock)

    timed, recorder, names = instrument(graph_module, recorder_factory)
    doubled, doubled_recorder, _ = instrument(graph_module, recorder_factory, marks_per_boundary=2)
    empty_graph_cost_ms = calibrate_mark_cost(recorder_factory, run_context)
    repeats = choose_repeats(end_to_end_ms, settings)

    def timed_pass():
        timed(*inputs)
        return recorder.durations_ms()

    def doubled_pass():
        doubled(*inputs)
        return doubled_recorder.durations_ms()

    doubled_passes: list[list[float]] = []
    with run_context():
        per_pass, plain_ms = run_passes(timed_pass, lambda: module(*inputs), repeats,
                                        warmup_count(end_to_end_ms), sync,
                                        probe_pass=doubled_pass, probe_passes=doubled_passes, host_clock=host_clock)
    in_situ_ms = in_situ_mark_cost(per_pass, doubled_passes)
    # What a mark costs between real ops, when that is measurable above the clock read alone and the instrumented
    # passes ran that much slower than the plain runs.
    mark_cost_ms = bounded_mark_cost(in_situ_ms, empty_graph_cost_ms, per_pass, plain_ms)
    return build_table([(name, node_facts.get(name, {})) for name in names], per_pass, mark_cost_ms, plain_ms,
                       method=METHOD, end_to_end_ms=end_to_end_ms, expected_compute=expected_compute,
                       configuration=configuration, started=started, repeats=repeats,
                       overhead_ms_per_node=mark_cost_ms, mark_cost_empty_graph_ms=empty_graph_cost_ms,
                       mark_cost_in_situ_ms=in_situ_ms,
                       timer=_timer_name(device, host_clock))


def _timer_name(device: str, host_clock) -> str:
    if str(device).startswith("cuda"):
        return "cuda_event"
    return "perf_counter" if host_clock is None else getattr(host_clock, "__name__", "host_clock")


def collect_facts(graph_module, inputs: tuple) -> dict[str, dict]:
    """name -> shapes, dtypes, params, FLOPs, bytes and compute dtype of every op node (one real run)."""
    import torch
    from torch import fx

    modules = dict(graph_module.named_modules())
    found: dict[str, dict] = {}

    class FactsInterpreter(fx.Interpreter):
        def run_node(self, node):
            if node.op not in CALL_OPS:
                return super().run_node(node)
            with self._set_current_node(node):
                args, kwargs = self.fetch_args_kwargs_from_env(node)
                result, flops = layer_facts.run_counting_flops(lambda: getattr(self, node.op)(node.target, args, kwargs))
            module = modules.get(node.target) if node.op == "call_module" else None
            found[node.name] = _facts_of(node, module, layer_facts.tensors_in((args, kwargs)),
                                         layer_facts.tensors_in(result), flops)
            return result

    with torch.inference_mode():
        FactsInterpreter(graph_module).run(*inputs)
    return found


def _facts_of(node, module, input_tensors: list, output_tensors: list, counted_flops: int | None) -> dict:
    target = target_name(node.op, node.target, module)
    kind = op_kind_of(target)
    return {
        **layer_facts.describe(kind, module, input_tensors, output_tensors, counted_flops),
        "target": target, "module_path": _module_path(node),
        "fed_by_dequantize": any("dequantize" in str(getattr(arg, "target", "")) for arg in node.all_input_nodes),
    }


def _module_path(node) -> str:
    if node.op == "call_module":
        return str(node.target)
    stack = node.meta.get("nn_module_stack") or {}
    if stack:
        path = list(stack.values())[-1]
        return str(path[0] if isinstance(path, tuple) else path)
    return ""
