"""Round trip of the tiny catalog models through export and ONNX Runtime at each precision."""

import pytest

pytest.importorskip("onnxruntime")

import torch  # noqa: E402

from calib.backends import get_backend  # noqa: E402
from calib.errors import PrecisionUnavailable  # noqa: E402
from calib.models.loader import load_model  # noqa: E402
from run_configs import run_config

OPTIONS = {"calib_data": "random", "calib_samples": 8, "calib_method": "minmax"}


@pytest.fixture(scope="module")
def tiny_cnn():
    return load_model("tiny-cnn")


def _prepare(model, precision, batch_size=2, options=OPTIONS):
    return get_backend("onnxruntime").prepare(model, run_config(precision, "cpu", batch_size, 1, options))


def _cosine(a, b):
    return torch.nn.functional.cosine_similarity(a.float().flatten(), b.float().flatten(), dim=0).item()


@pytest.mark.parametrize("precision, storage, atol, min_cosine", [
    ("fp32", "float32", 1e-4, 0.9999),
    ("fp16", "float16", 2e-2, 0.999),
    ("int8-dynamic", "int8", None, 0.95),
    ("int8-static", "int8", None, 0.95),
])
def test_each_precision_runs_and_matches_torch(onnx_cache, tiny_cnn, precision, storage, atol, min_cosine):
    prepared = _prepare(tiny_cnn, precision)
    try:
        outputs = prepared.run()
        reference = tiny_cnn.module(*tiny_cnn.make_inputs(2)).detach()
        assert isinstance(outputs, torch.Tensor) and outputs.shape == reference.shape
        if atol is not None:
            assert torch.allclose(outputs.float(), reference, atol=atol)
        assert _cosine(outputs, reference) >= min_cosine
        assert prepared.storage_dtype == storage
        assert prepared.model_size_bytes > 0 and prepared.module is None
        info = prepared.info
        assert info["providers"] == ["CPUExecutionProvider"] and info["intra_op_threads"] == 1
        assert info["graph_optimization_level"].startswith("ORT_ENABLE")
        assert info["exporter"] == "torchscript" and info["opset"]
        assert not any(callable(value) for value in info.values())  # info goes to JSON as it is
    finally:
        prepared.close()


def test_static_int8_records_types_and_calibration(onnx_cache, tiny_cnn):
    prepared = _prepare(tiny_cnn, "int8-static", options={**OPTIONS, "calib_method": "percentile",
                                                          "calib_percentile": 99.9})
    try:
        info = prepared.info
        assert info["quant_format"] == "QDQ" and info["per_channel"] is True
        assert info["calib_method"] == "percentile" and info["calib_percentile"] == 99.9
        assert (info["activation_type"], info["weight_type"]) in {("uint8", "int8"), ("int8", "int8")}
        assert info["int8_types_why"].startswith(("u8s8", "s8s8"))
        assert info["calibration_s"] > 0 and info["calib_batches"] == 4  # 8 samples at batch size 2
    finally:
        prepared.close()


def test_int8_is_smaller_than_fp32(onnx_cache):
    model = load_model("tiny-mlp")  # Linear weights dominate the file, so int8 shows
    sizes = {}
    for precision in ("fp32", "int8-static"):
        prepared = _prepare(model, precision)
        sizes[precision] = prepared.model_size_bytes
        prepared.close()
    assert sizes["int8-static"] < sizes["fp32"] / 2


def test_token_model_round_trip(onnx_cache):
    model = load_model("tiny-bert")
    prepared = _prepare(model, "fp32", batch_size=1)
    try:
        reference = model.module(*model.make_inputs(1)).detach()
        assert torch.allclose(prepared.run(), reference, atol=1e-4)
    finally:
        prepared.close()


@pytest.mark.parametrize("precision", ["bf16", "amp-fp16", "amp-bf16"])
def test_unconverted_precisions_are_unavailable_with_a_reason(tiny_cnn, precision):
    with pytest.raises(PrecisionUnavailable, match="onnxruntime"):
        _prepare(tiny_cnn, precision)


def test_export_is_cached_by_model_and_shape(onnx_cache, tiny_cnn):
    from calib.backends.onnx_export import export_model

    first = export_model(tiny_cnn)
    again = export_model(tiny_cnn)
    assert again.cached and again.path == first.path and again.export_s == 0.0
    assert onnx_cache in first.path.parents
    other_shape = load_model("tiny-cnn", input_shape=(3, 16, 16))
    assert export_model(other_shape).path != first.path


def _int8_types_on(monkeypatch, arch, flags):
    from calib.backends import onnx_convert

    monkeypatch.setattr(onnx_convert, "cpu_features", lambda: {"arch": arch, "flags": flags})
    activation, weight, why = onnx_convert.int8_types("cpu")
    return f"{activation.name}/{weight.name}", why


def test_int8_types_follow_the_hardware_rule_table(monkeypatch):
    pair, why = _int8_types_on(monkeypatch, "x86_64", ["avx2", "fma"])
    assert pair == "QUInt8/QInt8" and why.startswith("u8s8") and "VNNI" in why and "rule x86_64" in why
    # Measured on an AMX Xeon: u8s8 2.2x fp32, s8s8 slower than fp32. VNNI and AMX keep u8s8.
    for flags in (["avx2", "avx512f", "avx512_vnni"], ["avx2", "avx512f", "amx_int8", "amx_tile"]):
        assert _int8_types_on(monkeypatch, "x86_64", flags)[0] == "QUInt8/QInt8"
    pair, why = _int8_types_on(monkeypatch, "aarch64", ["asimd", "asimddp"])
    assert pair == "QInt8/QInt8" and "asimddp" in why
    assert _int8_types_on(monkeypatch, "x86_64", [])[0] == "QInt8/QInt8"  # ORT's default
    from calib.backends import onnx_convert

    activation, weight, why = onnx_convert.int8_types("cuda:0")
    assert (activation.name, weight.name) == ("QInt8", "QInt8") and why.startswith("s8s8")


def test_preprocessing_a_graph_leaves_nothing_in_the_working_directory(tmp_path, monkeypatch):
    """ONNX Runtime's symbolic shape inference saves its partial graph into the current directory when it
    cannot infer every shape (magika's graph): calib runs it in a scratch directory."""
    magika = pytest.importorskip("magika")
    from pathlib import Path

    from calib.backends import onnx_convert

    graph = next(Path(magika.__file__).parent.glob("models/*/model.onnx"), None)
    if graph is None:
        pytest.skip("magika ships no ONNX graph here")
    monkeypatch.setenv("CALIB_CACHE_DIR", str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    onnx_convert._preprocessed(graph)
    assert list(work.iterdir()) == []
