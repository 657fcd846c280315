"""The per-layer pass on real (tiny) models: methods, coverage, provenance flags, dispatch."""

import contextlib

import pytest
import torch
from torch import nn

from calib import layers, sweep
from calib.backends.base import Prepared
from calib.layers.graph import calibrate_mark_cost, instrument, make_recorder, to_graph_module
from calib.layers.table import ROW_KEYS
from calib.models.catalog import get_entry
from calib.settings import LayerSettings


class DataDependent(nn.Module):
    """Python control flow on a tensor value: torch.fx cannot trace it."""

    def __init__(self):
        super().__init__()
        self.first = nn.Linear(8, 8)
        self.second = nn.Linear(8, 4)

    def forward(self, x):
        x = self.first(x)
        if x.sum() > 0:
            x = torch.relu(x)
        return self.second(x)


class KeepsOneLayerFp32(nn.Module):
    """A bf16 model whose head is upcast to fp32: the mixed-precision fallback to catch."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(16, 16)
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        return self.head(self.body(x).float())


def test_fx_table_has_every_field_and_coverage():
    module = get_entry("tiny-cnn").build().eval()
    inputs = (torch.randn(1, 3, 32, 32),)
    table = layers.profile_module(module, inputs, end_to_end_ms=2.0, expected_compute="float32", configuration="fp32")
    assert table["method"] == "fx-graph"
    assert table["repeats"] >= 3 and table["pass_s"] > 0
    assert table["overhead_correction_ms_per_node"] is not None
    assert table["coverage"] == pytest.approx(table["sum_ms"] / 2.0)
    assert table["sum_ms"] == pytest.approx(sum(row["median_ms"] for row in table["layers"]))
    assert table["coverage_interleaved"] > 0
    assert len(table["layers"]) == 8
    for row in table["layers"]:
        assert set(ROW_KEYS) <= set(row)
        # median_ms is the layer's share of the median pass, which can be its slowest of 3 passes:
        # only its own median across passes is bounded by its p90
        assert row["p90_ms"] >= row["layer_median_ms"] >= 0 and row["median_ms"] >= 0
    assert sum(row["share"] for row in table["layers"]) == pytest.approx(1.0)
    kinds = {group["op_kind"]: group["count"] for group in table["by_kind"]}
    assert kinds["conv"] == 2 and kinds["linear"] == 1


def test_untraceable_model_falls_back_to_module_hooks():
    module = DataDependent().eval()
    table = layers.profile_module(module, (torch.randn(2, 8),), end_to_end_ms=1.0)
    assert table["method"] == "module-hooks"
    assert "control flow" in table["trace_error"]
    names = [row["name"] for row in table["layers"]]
    assert {"first", "second"} <= set(names)
    first = next(row for row in table["layers"] if row["name"] == "first")
    assert first["flops"] == 2 * 2 * 8 * 8 and first["op_kind"] == "linear"
    with pytest.raises(Exception):
        layers.profile_module(module, (torch.randn(2, 8),), end_to_end_ms=1.0, method="fx")


def test_text_encoder_uses_hooks_with_attention_rows():
    module = get_entry("tiny-bert").build().eval()
    table = layers.profile_module(module, (torch.randint(0, 1000, (1, 16)),), end_to_end_ms=1.0)
    assert table["method"] == "module-hooks"
    attention = [row for row in table["layers"] if row["op_kind"] == "attention"]
    assert len(attention) == 2 and all(row["flops"] > 0 for row in attention)


def test_fp32_layer_in_bf16_model_is_flagged():
    module = KeepsOneLayerFp32().eval()
    module.body.to(torch.bfloat16)
    table = layers.profile_module(module, (torch.randn(2, 16, dtype=torch.bfloat16),), end_to_end_ms=1.0,
                                  expected_compute="bfloat16", configuration="bf16")
    rows = {row["name"]: row for row in table["layers"]}
    assert rows["body"]["compute_dtype"] == "bfloat16" and rows["body"]["flag"] is None
    assert rows["head"]["compute_dtype"] == "float32"
    assert rows["head"]["flag"] == "fp32 in bf16"


def test_autocast_compute_dtype_is_recorded():
    module = get_entry("tiny-mlp").build().eval()
    table = layers.profile_module(module, (torch.randn(2, 64),), end_to_end_ms=1.0,
                                  call_context=lambda: torch.autocast("cpu", dtype=torch.bfloat16),
                                  expected_compute="bfloat16", configuration="amp-bf16")
    linear_rows = [row for row in table["layers"] if row["op_kind"] == "linear"]
    assert linear_rows and all(row["compute_dtype"] == "bfloat16" and row["flag"] is None for row in linear_rows)


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
def test_int8_fx_graph_is_profiled():
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    module = get_entry("tiny-cnn").build().eval()
    example = (torch.randn(1, 3, 32, 32),)
    prepared = prepare_fx(module, get_default_qconfig_mapping("x86"), example)
    prepared(*example)
    quantized = convert_fx(prepared)
    table = layers.profile_module(quantized, example, end_to_end_ms=1.0, expected_compute="int8",
                                  configuration="int8")
    assert table["method"] == "fx-graph"
    convs = [row for row in table["layers"] if row["op_kind"] == "conv"]
    assert convs and all(row["compute_dtype"] == "int8" and row["flops"] > 0 for row in convs)
    assert any(row["op_kind"] == "quantize" for row in table["layers"])


def test_instrumented_graph_computes_the_same_outputs():
    module = get_entry("tiny-cnn").build().eval()
    graph_module = to_graph_module(module)
    timed, recorder, names = instrument(graph_module, lambda count: make_recorder(count, "cpu"))
    x = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        assert torch.equal(timed(x), module(x))
    durations = recorder.durations_ms()
    assert len(durations) == len(names) and all(d >= 0 for d in durations)
    cost_ms = calibrate_mark_cost(lambda count: make_recorder(count, "cpu"), contextlib.nullcontext)
    assert 0 <= cost_ms < 0.1  # a mark is a method call and a clock read, far below 100 us


def test_doubled_marks_compute_the_same_outputs_and_cost_one_mark_more():
    from calib.layers.graph import in_situ_mark_cost

    module = get_entry("tiny-cnn").build().eval()
    graph_module = to_graph_module(module)
    doubled, recorder, names = instrument(graph_module, lambda count: make_recorder(count, "cpu"),
                                          marks_per_boundary=2)
    marks = [node for node in doubled.graph.nodes if node.op == "call_method" and node.target == "mark"]
    assert len(marks) == 2 * (len(names) + 1)
    # every module call is one plain attribute read, the very module of the original (shared weights)
    called = [node for node in doubled.graph.nodes if node.op == "call_module"]
    assert called and all(node.target.startswith("_calib_called_") for node in called)
    assert all(vars(doubled)[node.target] is doubled.get_submodule(node.target) for node in called)
    assert {id(doubled.get_submodule(node.target)) for node in called} <= {id(m) for m in module.modules()}
    x = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        assert torch.equal(doubled(x), module(x))
    assert len(recorder.durations_ms()) == len(names)
    # A known law: every op gains exactly 0.004 ms per extra mark; one op's noise does not move the median.
    single = [[1.0, 2.0, 0.5], [1.2, 2.0, 0.5], [1.0, 2.1, 0.6]]
    double = [[1.004, 2.004, 0.504], [1.204, 2.004, 0.504], [1.004, 2.104, 9.0]]
    assert in_situ_mark_cost(single, double) == pytest.approx(0.004)
    assert in_situ_mark_cost([], double) is None


def test_fx_table_records_both_mark_costs():
    module = get_entry("tiny-cnn").build().eval()
    table = layers.profile_module(module, (torch.randn(1, 3, 32, 32),), end_to_end_ms=2.0,
                                  settings=LayerSettings(repeats=5), expected_compute="float32", configuration="fp32")
    assert table["mark_cost_empty_graph_ms"] >= 0
    assert table["mark_cost_in_situ_ms"] is not None
    assert (table["mark_cost_empty_graph_ms"] <= table["overhead_correction_ms_per_node"]
            <= max(table["mark_cost_empty_graph_ms"], table["mark_cost_in_situ_ms"]))


def test_a_mark_is_charged_no_more_than_the_instrumented_pass_lost_to_the_plain_runs():
    """The in-situ cost read from the doubled pass (calib.layers.graph.in_situ_mark_cost) is subtracted from every
    node only as far as the instrumented passes ran slower than the plain ones: DenseNet-121's doubled pass read
    0.064 ms a mark while its instrumented pass was no slower than the model, and its rows summed to 60% of it."""
    from calib.layers.graph import bounded_mark_cost

    per_pass = [[1.0, 2.0, 0.5, 0.5]] * 5  # 4 marked nodes, 4.0 ms a pass
    assert bounded_mark_cost(0.064, 7e-5, per_pass, [4.1, 4.0, 4.2]) == 7e-5  # no slower than plain: the clock read
    assert bounded_mark_cost(0.064, 7e-5, per_pass, [3.9, 3.8, 3.96]) == pytest.approx(0.025)  # 0.1 ms over 4 marks
    assert bounded_mark_cost(0.004, 7e-5, per_pass, [3.0]) == 0.004  # a pass 1 ms slower: the in-situ cost holds
    assert bounded_mark_cost(None, 7e-5, per_pass, [3.0]) == 7e-5


def test_profile_dispatch_for_modules_and_backend_profilers():
    backend_table = {"method": "ort-profiler", "layers": []}
    calls = []

    def profile_layers(end_to_end_ms, spec):
        calls.append((end_to_end_ms, spec))
        return backend_table

    no_module = Prepared(run=lambda: None, device="cpu", storage_dtype="float32", compute_dtype="float32",
                         model_size_bytes=0, info={"other": 1}, profile_layers=profile_layers)
    assert sweep._layers(no_module, 5.0, "spec") is backend_table  # the backend's profiler, not calib.layers
    assert calls == [(5.0, "spec")] and "profile_layers" not in no_module.info  # kept out of the JSON
    bare = Prepared(run=lambda: None, device="cpu", storage_dtype="float32", compute_dtype="float32",
                    model_size_bytes=0)
    assert layers.profile(bare, 5.0, None) is None

    module = get_entry("tiny-mlp").build().eval()
    inputs = (torch.randn(1, 64),)
    prepared = Prepared(run=lambda: module(*inputs), device="cpu", storage_dtype="float32", compute_dtype="float32",
                        model_size_bytes=0, module=module, inputs=inputs)
    table = layers.profile(prepared, 1.0, None)
    assert table["method"] == "fx-graph" and len(table["layers"]) == 3


def test_failed_layer_pass_keeps_a_reason_instead_of_raising():
    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    inputs = (torch.randn(1, 4),)
    prepared = Prepared(run=lambda: None, device="cpu", storage_dtype="float32", compute_dtype="float32",
                        model_size_bytes=0, module=Broken(), inputs=inputs)
    table = layers.profile(prepared, 1.0, None)
    assert table["method"] == "failed" and "boom" in table["reason"] and table["layers"] == []
