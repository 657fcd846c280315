"""The per-layer pass finds the layer int8 wrecks, on torch and ONNX Runtime, with the backends' own quantizers."""

from pathlib import Path

import pytest

from calib.backends import RunConfig
from calib.models.loader import load_any
from calib.settings import FidelitySettings, Int8Settings

FRAGILE = str(Path(__file__).with_name("fragile_model.py")) + ":build"


@pytest.fixture(scope="module")
def fragile():
    return load_any(FRAGILE, (16,), None, False)


def _config(precision="int8-static", **int8):
    return RunConfig(precision, "cpu", 1, 1, int8=Int8Settings(**int8))


@pytest.mark.parametrize("backend, fragile_name", [("torch", "fragile"), ("onnxruntime", "/fragile/Gemm")])
def test_ranking_puts_the_fragile_layer_first(fragile, backend, fragile_name):
    from calib.sensitivity.ranking import rank

    ranking = rank(fragile, backend, _config(), FidelitySettings(max_drop=5), latency=backend == "onnxruntime")
    assert ranking.full.passed is False  # all-int8 misses the budget
    first, *rest = ranking.layers
    assert first.layer.name == fragile_name and first.rank == 1
    assert first.evaluation.drop > 50  # top-1 agreement with fp32 collapses with this one layer in int8
    assert all(row.evaluation.drop < 10 for row in rest)
    assert first.evaluation.sqnr_db < min(row.evaluation.sqnr_db for row in rest) - 10
    assert ranking.evaluations == len(ranking.layers) + 2
    if backend == "onnxruntime":  # the latency column comes from the per-layer table of the fp32 graph
        assert all(row.fp32_share is not None for row in ranking.layers)


def test_torch_int8_scope_keeps_named_layers_float(fragile):
    import copy

    from calib.quant import torch_int8

    example = fragile.make_inputs(1)
    counts = {}
    for label, int8 in (("all", Int8Settings()), ("keep", Int8Settings(keep_float=("fragile",))),
                        ("only", Int8Settings(quantize_only=("head",)))):
        _, info = torch_int8.quantize(copy.deepcopy(fragile.module), "int8-static", example, int8=int8)
        counts[label] = (info["quantized_layers"], info["float_layers"])
    assert counts == {"all": (3, 0), "keep": (2, 1), "only": (1, 2)}
    _, info = torch_int8.quantize(copy.deepcopy(fragile.module), "int8-dynamic", example,
                                  int8=Int8Settings(keep_float=("fragile", "first")))
    assert info["quantized_layers"] == 1


def test_unknown_layer_names_are_refused_in_one_line(fragile):
    import copy

    from calib.errors import CalibError
    from calib.quant import torch_int8

    with pytest.raises(CalibError, match="no layer named nope"):
        torch_int8.quantize(copy.deepcopy(fragile.module), "int8-static", fragile.make_inputs(1),
                            int8=Int8Settings(keep_float=("nope",)))


def test_onnx_node_scope(fragile):
    from calib.backends.onnx_convert import node_scope, quantizable_nodes
    from calib.backends.onnxruntime import source_graph
    from calib.errors import CalibError

    source, _ = source_graph(fragile)
    prepared, nodes = quantizable_nodes(source)
    assert [name for name, _ in nodes] == ["/first/Gemm", "/fragile/Gemm", "/head/Gemm"]
    assert node_scope(prepared, Int8Settings(keep_float=("/fragile/Gemm",))) == {"nodes_to_exclude": ["/fragile/Gemm"]}
    assert node_scope(prepared, Int8Settings(quantize_only=("/head/Gemm",))) == {"nodes_to_quantize": ["/head/Gemm"]}
    with pytest.raises(CalibError, match="no node named /x"):
        node_scope(prepared, Int8Settings(keep_float=("/x",)))


def test_bf16_one_layer_at_a_time_casts_that_layer_only(fragile):
    import torch

    from calib.sensitivity.score import prepare_cast

    prepared = prepare_cast(fragile, _config("bf16", quantize_only=("head",)))
    assert prepared.module.head.inner.weight.dtype == torch.bfloat16
    assert prepared.module.first.weight.dtype == torch.float32
    assert prepared.run().dtype == torch.float32


def test_configuration_variant_is_its_own_key_and_label():
    from calib.configuration import Configuration

    plain = Configuration("m", "torch", "int8-static", 1, (1, 16), "cpu")
    mixed = Configuration("m", "torch", "int8-static", 1, (1, 16), "cpu", variant="mixed")
    assert plain.key != mixed.key and plain.row_key != mixed.row_key and plain.peer_key == mixed.peer_key
    assert "variant" not in plain.to_identity()  # files without a variant read as before
    assert Configuration.from_identity(mixed.to_identity()) == mixed
    assert mixed.short_label == "m torch int8-static+mixed b1"
    assert mixed.row_key[-1] == "mixed" and plain.row_key == plain.key[:-1]


def test_openvino_ignored_scope_switches_the_named_op(fragile):
    pytest.importorskip("nncf")
    from calib import fidelity
    from calib.sensitivity.names import layer_names
    from calib.sensitivity.score import evaluate

    names = [layer.name for layer in layer_names(fragile, "openvino", "int8-static")]
    assert names == ["/first/Gemm/WithoutBiases", "/fragile/Gemm/WithoutBiases", "/head/Gemm/WithoutBiases"]
    references, settings = fidelity.references(), FidelitySettings(max_drop=5)
    evaluate(fragile, "openvino", _config("fp32"), settings, references)  # the same-backend reference
    alone = evaluate(fragile, "openvino", _config(quantize_only=(names[1],)), settings, references)
    kept = evaluate(fragile, "openvino", _config(keep_float=(names[1],)), settings, references)
    assert alone.passed is False and kept.passed is True
    assert kept.fidelity and alone.drop > 50


def test_bf16_fallback_keeps_the_cancelling_layers_fp32():
    from calib.sensitivity.fallback import search

    model = load_any(FRAGILE.replace(":build", ":build_cancelling"), (16,), None, False)
    result = search(model, "torch", _config("bf16"), FidelitySettings(), 5)
    assert result.ranking.full.passed is False
    assert set(result.ranking.order[:2]) == {"first", "cancel"}
    assert result.found and set(result.kept_float) == {"first", "cancel"}
    assert result.final.passed is True


def test_mixed_precision_for_bench_scripts(fragile):
    from calib.sensitivity import mixed_precision
    from calib.timing.engine import TimingSettings

    out = mixed_precision(fragile, backend="onnxruntime", max_drop=5, threads=1,
                          timing=TimingSettings(min_time_s=0.05, max_time_s=0.2, warmup_min_time_s=0.01))
    rows = {row["configuration"]: row for row in out["rows"]}
    assert set(rows) == {"fp32", "int8-static", "mixed"}
    assert rows["int8-static"]["passed"] is False and rows["mixed"]["passed"] is True
    assert rows["mixed"]["layers_at_precision"] < rows["int8-static"]["layers_at_precision"]
    assert all(row["median_ms"] > 0 for row in rows.values())
    assert out["records"]["mixed"]["identity"]["variant"] == "mixed"


def test_search_gives_back_what_the_last_group_did_not_need(fragile):
    from calib.sensitivity.fallback import search
    from calib.sensitivity.ranking import rank

    settings = FidelitySettings(max_drop=5)
    ranking = rank(fragile, "torch", _config(), settings, latency=False)
    result = search(fragile, "torch", _config(), settings, 5, ranking=ranking, group=2)
    assert result.kept_float == ("fragile",)  # the group (fragile, next) passed; the next went back to int8
    assert [len(step.kept_float) for step in result.steps] == [2, 1]
    assert result.evaluations == ranking.evaluations + 2 and result.final.passed
