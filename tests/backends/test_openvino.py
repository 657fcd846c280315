"""The OpenVINO backend on the tiny CNN: each precision runs, the fp32 hint is f32, what ran is read back."""

import pytest

pytest.importorskip("openvino", reason="openvino is not installed (pip install 'calib-bench[openvino]')")

import torch  # noqa: E402

from calib.backends import get_backend  # noqa: E402
from calib.errors import PrecisionUnavailable  # noqa: E402
from calib.layers.table import ROW_KEYS  # noqa: E402
from calib.models.loader import load_any, load_model  # noqa: E402
from calib.precisions import PRECISIONS  # noqa: E402
from run_configs import run_config  # noqa: E402

OPTIONS = {"calib_data": "random", "calib_samples": 8, "calib_method": "minmax"}


@pytest.fixture(scope="module")
def openvino_backend():
    return get_backend("openvino")


@pytest.fixture(scope="module")
def tiny_cnn():
    return load_model("tiny-cnn")


@pytest.fixture(scope="module")
def prepared(onnx_cache, openvino_backend, tiny_cnn):
    """fp32, bf16 and int8-static prepared once for the module (NNCF takes a few seconds)."""
    precisions = ["fp32", "bf16"]
    if openvino_backend.unsupported_reason("int8-static", "cpu") is None:  # NNCF is there
        precisions.append("int8-static")
    items = {precision: openvino_backend.prepare(tiny_cnn, run_config(precision, "cpu", 2, 1, OPTIONS))
             for precision in precisions}
    yield items
    for item in items.values():
        item.release()


def _get(prepared, precision):
    if precision not in prepared:
        pytest.skip("nncf is not installed: int8-static on openvino is skipped")
    return prepared[precision]


def _cosine(a, b):
    return torch.nn.functional.cosine_similarity(a.float().flatten(), b.float().flatten(), dim=0).item()


@pytest.mark.parametrize("precision, min_cosine", [("fp32", 0.99999), ("bf16", 0.99), ("int8-static", 0.95)])
def test_each_precision_runs_and_matches_torch(prepared, tiny_cnn, precision, min_cosine):
    item = _get(prepared, precision)
    outputs = item.run()
    reference = tiny_cnn.module(*tiny_cnn.make_inputs(2)).detach()
    assert isinstance(outputs, torch.Tensor) and outputs.shape == reference.shape
    assert _cosine(outputs, reference) >= min_cosine
    assert item.module is None and item.model_size_bytes > 0 and item.conversion_s > 0
    info = item.info
    assert info["compile_s"] > 0 and info["exporter"] == "torchscript" and info["frontend"] == "onnx"
    properties = info["compiled_properties"]
    assert properties["PERFORMANCE_HINT"] == "LATENCY" and properties["INFERENCE_NUM_THREADS"] == 1
    assert properties["NUM_STREAMS"] == 1
    assert not any(callable(value) for value in info.values())  # info goes to JSON as it is
    other = item.run_on(tiny_cnn.make_inputs(2, seed=7))  # the accuracy pass's entry point
    assert other.shape == reference.shape and not torch.equal(other, outputs)
    assert torch.equal(item.run(), outputs)  # run_on left the bound inputs alone


def test_the_fp32_hint_really_is_f32(prepared, openvino_backend):
    info = prepared["fp32"].info
    # read back from compiled.get_property: on a bf16 CPU the plugin's default would be bf16
    assert info["compiled_properties"]["INFERENCE_PRECISION_HINT"] == "f32"
    assert info["executed"]["hint_requested"] == "f32"
    assert set(info["executed"]["executed_precisions"]) == {"f32"}
    assert info["executed"]["layers_in_requested_precision"] == info["executed"]["layers_checked"] > 0
    assert openvino_backend.compile_properties("f32", 2)["INFERENCE_PRECISION_HINT"] == "f32"
    assert prepared["fp32"].warnings == [] and prepared["fp32"].compute_dtype == "float32"


def test_bf16_says_what_really_ran(prepared, openvino_backend):
    item = prepared["bf16"]
    executed = item.info["executed"]
    assert executed["requested"] == "bf16" and executed["heavy_layers"] == 3  # two convs and the classifier
    if "BF16" in openvino_backend.capabilities():
        assert executed["heavy_in_requested_precision"] > 0 and item.compute_dtype == "bfloat16"
    else:  # an AVX2 CPU: the hint falls back to f32 without an error, and calib says so
        assert executed["hint_compiled"] == "f32" and executed["heavy_in_requested_precision"] == 0
        assert item.compute_dtype == "float32" and executed["fallback_count"] == executed["layers_checked"]
        assert len(item.warnings) == 1 and "fell back" in item.warnings[0] and "bf16" in item.warnings[0]


def test_int8_layers_are_int8_in_the_runtime_graph(prepared):
    item = _get(prepared, "int8-static")
    info = item.info
    executed = info["executed"]
    assert executed["heavy_layers"] == 3 and executed["heavy_in_requested_precision"] == 3
    assert all(kernel.lower().endswith("_i8") for kernel in executed["heavy_kernels"])
    assert info["quantized_layers"] == 3 and info["float_layers"] == 0
    assert info["quantization"] == "nncf.quantize" and info["subset_size"] == 4  # 8 samples at batch size 2
    assert info["preset"] == "mixed" and info["range_estimator"].startswith("min/max")
    assert item.storage_dtype == "int8" and item.warnings == []
    assert item.model_size_bytes < prepared["fp32"].model_size_bytes


@pytest.mark.parametrize("precision", ["fp32", "int8-static"])
def test_per_layer_rows_and_precision_counts(prepared, precision):
    table = _get(prepared, precision).profile_layers(1.0, None)
    assert table["method"] == "openvino-perf-count" and table["repeats"] >= 5 and table["coverage"] > 0
    rows = table["layers"]
    assert rows and set(ROW_KEYS) <= set(rows[0])
    convs = [row for row in rows if row["op_kind"] == "conv"]
    assert len(convs) == 2 and all(row["provider"] for row in convs)
    wanted = "int8" if precision == "int8-static" else "float32"
    assert all(row["compute_dtype"] == wanted for row in convs)
    assert convs[0]["flops"] > 0 and convs[0]["output_shape"].startswith("2x")
    assert sum(table["executed_dtypes"].values()) == len(rows)


def test_an_openvino_ir_loads_and_runs(onnx_cache, tmp_path, openvino_backend, tiny_cnn):
    import openvino

    from calib.backends.auto import choose
    from calib.backends.onnx_export import export_model

    xml = tmp_path / "tiny.xml"
    openvino.save_model(openvino.Core().read_model(str(export_model(tiny_cnn).path)), str(xml))
    model = load_any(str(xml))
    assert model.module is None and model.item_shape == (3, 32, 32) and model.info["ir_path"] == str(xml.resolve())
    assert choose(model, "fp32", "cpu")[0] == "openvino"
    with openvino_backend.prepare(model, run_config("fp32", "cpu", 2, 1)) as item:
        assert item.info["frontend"] == "xml" and item.info["exporter"] == "file"
        outputs = item.run()
    inputs = model.make_inputs(2)
    assert torch.allclose(outputs, tiny_cnn.module(*inputs).detach(), atol=1e-4)


def test_every_precision_has_an_answer(openvino_backend):
    runs = {"fp32", "bf16", "fp16", "int8-static"}
    for name in PRECISIONS:
        reason = openvino_backend.unsupported_reason(name, "cpu")
        assert (reason is None) == (name in runs), name
        assert "CPU plugin only" in openvino_backend.unsupported_reason(name, "cuda:0")
    assert "int8-static" in openvino_backend.unsupported_reason("int8-dynamic", "cpu")  # says what to run instead


def test_a_skipped_precision_raises_with_its_reason(openvino_backend, tiny_cnn):
    with pytest.raises(PrecisionUnavailable, match="autocast"):
        openvino_backend.prepare(tiny_cnn, run_config("amp-bf16", "cpu", 1, 1))


@pytest.mark.parametrize("method, described, mapped", [
    ("minmax", "min/max", True), ("percentile", "quantile 99.9%", True), ("entropy", "NNCF's default", False)])
def test_calibration_methods_map_to_nncf_range_estimators(openvino_backend, method, described, mapped):
    pytest.importorskip("nncf")
    from calib.settings import CalibrationSettings

    estimator, text, not_mapped = openvino_backend._range_estimator(CalibrationSettings(method=method, percentile=99.9))
    assert text.startswith(described) and (estimator is not None) == mapped and (not not_mapped) == mapped
    if method == "percentile":
        assert estimator.max.quantile_outlier_prob == pytest.approx(1e-3)
