"""Per-layer timing of a torch.fx graph: one fact-finding pass, then timed passes of the
graph instrumented with marks (calib.layers.graph), each node's duration corrected by the
measured cost of one mark."""

from __future__ import annotations

import contextlib
import time

import numpy as np

from calib.layers import facts as layer_facts
from calib.layers.graph import CALL_OPS, calibrate_mark_cost, instrument, make_recorder, to_graph_module
from calib.layers.kinds import op_kind_of, target_name
from calib.layers.passes import choose_repeats, run_passes, warmup_count
from calib.layers.table import finish_table

METHOD = "fx-graph"


def profile_fx(module, inputs: tuple, run_context, device: str, end_to_end_ms: float | None, spec=None,
               expected_compute: str | None = None, configuration: str = "", sync=None) -> dict:
    """The layer table of `module` on `inputs`; raises graph.TraceFailed when fx cannot trace it."""
    started = time.perf_counter()
    graph_module = to_graph_module(module)
    with run_context():
        node_facts = collect_facts(graph_module, inputs)

    def recorder_factory(count):
        return make_recorder(count, device)

    timed, recorder, names = instrument(graph_module, recorder_factory)
    mark_cost_ms = calibrate_mark_cost(recorder_factory, run_context)
    repeats = choose_repeats(end_to_end_ms, spec)

    def timed_pass():
        timed(*inputs)
        return recorder.durations_ms()

    with run_context():
        per_pass, plain_ms = run_passes(timed_pass, lambda: module(*inputs), repeats,
                                        warmup_count(end_to_end_ms), sync)
    samples = np.asarray(per_pass)  # passes x nodes
    corrected = np.clip(samples - mark_cost_ms, 0.0, None)
    medians = np.median(corrected, axis=0)
    p90s = np.percentile(corrected, 90, axis=0)
    rows = []
    for index, name in enumerate(names):
        row = {"name": name, **node_facts.get(name, {}), "median_ms": float(medians[index]),
               "p90_ms": float(p90s[index])}
        row["flag"] = layer_facts.flag_for(row.get("op_kind", "other"), row.get("compute_dtype"), expected_compute,
                                           configuration, row.pop("fed_by_dequantize", False))
        rows.append(row)
    return finish_table(
        rows, end_to_end_ms, METHOD, overhead_correction_ms_per_node=mark_cost_ms,
        pass_s=time.perf_counter() - started, repeats=repeats,
        instrumented_ms=float(np.median(samples.sum(axis=1))),
        interleaved_end_to_end_ms=float(np.median(plain_ms)) if plain_ms else None,
        coverage_interleaved=(float(medians.sum()) / float(np.median(plain_ms))) if plain_ms else None,
        timer="cuda_event" if str(device).startswith("cuda") else "perf_counter")


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

    with torch.inference_mode(), contextlib.ExitStack():
        FactsInterpreter(graph_module).run(*inputs)
    return found


def _facts_of(node, module, input_tensors: list, output_tensors: list, counted_flops: int | None) -> dict:
    target = target_name(node.op, node.target, module)
    kind = op_kind_of(target)
    params, weight_dtype, param_bytes = layer_facts.module_weights(module)
    flops = counted_flops or layer_facts.formula_flops(kind, module, input_tensors, output_tensors)
    input_dtypes = [layer_facts.dtype_name(t.dtype) for t in input_tensors]
    output_dtype = layer_facts.dtype_name(output_tensors[0].dtype) if output_tensors else None
    return {
        "op_kind": kind, "target": target, "module_path": _module_path(node),
        "input_shapes": ", ".join(layer_facts.shape_text(t) for t in input_tensors),
        "input_dtypes": ", ".join(input_dtypes),
        "output_shape": ", ".join(layer_facts.shape_text(t) for t in output_tensors),
        "output_dtype": output_dtype, "weight_dtype": weight_dtype, "params": params, "flops": int(flops),
        "bytes": layer_facts.bytes_moved(input_tensors, output_tensors, param_bytes),
        "compute_dtype": layer_facts.compute_dtype_of(kind, input_dtypes, output_dtype, weight_dtype),
        "flops_source": "flop_counter" if counted_flops else ("formula" if flops else None),
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
