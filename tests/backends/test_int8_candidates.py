"""Accuracy-preserving int8 candidates per engine (issue 23 item 4), on real OpenVINO/NNCF/ONNX Runtime:
NNCF's recipes (transformer + SmoothQuant where the graph has attention, bias correction, preset, int8 with
bf16 float layers where bf16 is native), ONNX Runtime's calibration methods, and NNCF's accuracy control
scored by a real evaluation of a trained model."""

import pytest

pytest.importorskip("openvino", reason="openvino is not installed (pip install 'calib-bench[openvino]')")
pytest.importorskip("nncf", reason="nncf is not installed (pip install 'calib-bench[openvino]')")

import openvino  # noqa: E402
import torch  # noqa: E402

from calib.backends import get_backend  # noqa: E402
from calib.models.loader import load_model  # noqa: E402
from run_configs import run_config  # noqa: E402

FEW = {"calib_data": "random", "calib_samples": 2}
# CPU feature sets as calib.quant.engine.cpu_features() reports them, from the development machines.
ZEN3 = {"arch": "x86_64", "flags": ["avx2", "fma", "f16c"]}
AMX_XEON = {"arch": "x86_64", "flags": ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile",
                                        "amx_bf16", "amx_int8"]}
ZEN4 = {"arch": "x86_64", "flags": ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"]}


@pytest.fixture(scope="module")
def openvino_backend():
    return get_backend("openvino")


def _ov_model(model, batch_size=1):
    from calib.backends.openvino import read_model

    return read_model(openvino.Core(), model, batch_size)[0]


def test_bf16_native_is_the_hardware_rule(openvino_backend):
    assert openvino_backend.bf16_native(ZEN3)[0] is False
    assert openvino_backend.bf16_native(AMX_XEON)[0] is True
    assert openvino_backend.bf16_native(ZEN4)[0] is True
    assert "avx512_bf16" in openvino_backend.bf16_native(ZEN4)[1]


def test_the_bf16_float_layers_candidate_is_listed_only_where_bf16_is_native(onnx_cache, openvino_backend):
    model = load_model("tiny-cnn")
    ov_model, config = _ov_model(model), run_config("int8-static", options=FEW)
    on_zen3 = [name for name, _ in openvino_backend.recipes(ov_model, model, config, cpu=ZEN3)]
    on_amx = [name for name, _ in openvino_backend.recipes(ov_model, model, config, cpu=AMX_XEON)]
    assert "nncf+bf16" not in on_zen3 and on_amx == ["nncf", "nncf+bf16", *on_zen3[1:]]
    here = [name for name, _ in openvino_backend.candidates(model, config)]
    assert ("nncf+bf16" in here) == openvino_backend.bf16_native()[0]


class _Attention(torch.nn.Module):
    """Self-attention over image patches: an image input, so only the graph says it is a transformer."""

    def __init__(self):
        super().__init__()
        self.patches = torch.nn.Conv2d(3, 16, 4, stride=4)
        self.attention = torch.nn.MultiheadAttention(16, 2, batch_first=True)
        self.head = torch.nn.Linear(16, 10)

    def forward(self, images):
        tokens = self.patches(images).flatten(2).transpose(1, 2)
        mixed, _ = self.attention(tokens, tokens, tokens, need_weights=False)
        return self.head(mixed.mean(1))


def test_attention_is_found_in_the_graph_not_the_input_kind(onnx_cache, openvino_backend):
    with torch.no_grad():
        attention = openvino.convert_model(_Attention().eval(), example_input=torch.randn(1, 3, 16, 16))
        classifier = openvino.convert_model(torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.Softmax(-1)),
                                            example_input=torch.randn(1, 8))
    assert openvino_backend.has_attention(attention)
    assert not openvino_backend.has_attention(classifier)  # a final Softmax feeds no MatMul
    assert not openvino_backend.has_attention(_ov_model(load_model("tiny-cnn")))
    assert openvino_backend.has_attention(_ov_model(load_model("tiny-bert")))


def _build_each(backend, model, config):
    listed = backend.candidates(model, config)
    infos = {}
    for name, candidate in listed:
        with backend.prepare(model, candidate) as prepared:
            outputs = prepared.run()
            assert torch.isfinite(outputs).all(), name
            infos[name] = (dict(prepared.info), prepared.compute_dtype)
    return [name for name, _ in listed], infos


def test_each_nncf_candidate_of_a_cnn_builds_runs_and_says_what_it_did(onnx_cache, openvino_backend):
    names, infos = _build_each(openvino_backend, load_model("tiny-cnn"), run_config("int8-static", options=FEW))
    assert names[0] == "nncf" and {"nncf-bc", "nncf-performance"} <= set(names) and len(names) <= 4
    for name, (info, computed) in infos.items():
        assert computed == "int8" and info["quantized_layers"] > 0, name
        assert info["model_type"] is None and info["smooth_quant"] == "off" and info["attention"] is False
        assert info["quantization_s"] > 0 and info["per_channel"] is True
        assert info["float_layers_hint"] == ("bf16" if name.endswith("+bf16") else "f32"), name
    assert infos["nncf"][0]["preset"] == "mixed" and infos["nncf-performance"][0]["preset"] == "performance"
    assert infos["nncf"][0]["bias_correction"] == "FastBiasCorrection" and infos["nncf"][0]["fast_bias_correction"]
    assert infos["nncf-bc"][0]["bias_correction"] == "BiasCorrection"
    if "nncf+bf16" in infos:  # the float layers' hint is read back from the compiled model: bf16 ran
        info = infos["nncf+bf16"][0]
        assert info["executed"]["hint_compiled"] == "bf16" and info["quantized_model_reused"] is True


def test_each_nncf_candidate_of_a_transformer_builds_and_runs(onnx_cache, openvino_backend):
    names, infos = _build_each(openvino_backend, load_model("tiny-bert"), run_config("int8-static", options=FEW))
    assert names[0] == "nncf-transformer-sq" and {"nncf-transformer", "nncf"} <= set(names) and len(names) <= 4
    first = infos["nncf-transformer-sq"][0]
    assert first["model_type"] == "transformer" and first["smooth_quant_alpha"] == 0.95 and first["attention"]
    assert infos["nncf-transformer"][0]["smooth_quant"] == "off"
    assert infos["nncf-transformer"][0]["model_type"] == "transformer" and infos["nncf"][0]["model_type"] is None


def test_other_precisions_and_pinned_recipes_have_one_candidate(openvino_backend):
    model = load_model("tiny-cnn")
    assert openvino_backend.candidates(model, run_config("fp32")) == [("default", run_config("fp32"))]


def test_onnxruntime_races_calibration_methods_on_the_rule_types(onnx_cache):
    pytest.importorskip("onnxruntime")
    from calib.backends import onnx_convert

    backend = get_backend("onnxruntime")
    model = load_model("tiny-cnn")
    first = onnx_convert.rule_int8_types("cpu").types
    other = "s8s8" if first == "u8s8" else "u8s8"
    names, infos = _build_each(backend, model, run_config("int8-static", options=FEW))
    assert names == [first, f"{first}-entropy", f"{first}-percentile", other]
    methods = {name: (info["calib_method"], info["calibration_method"]) for name, (info, _) in infos.items()}
    assert methods == {first: ("minmax", "MinMax"), f"{first}-entropy": ("entropy", "Entropy"),
                       f"{first}-percentile": ("percentile", "Percentile"), other: ("minmax", "MinMax")}
    assert all(info["per_channel"] is True and info["quantization_s"] > 0 for info, _ in infos.values())
    # --calib-method entropy: the user's method goes first
    assert backend.candidates(model, run_config("int8-static", options={**FEW, "calib_method": "entropy"})
                              )[0][0] == f"{first}-entropy"


# Accuracy control on a real trained model with a real score: digits-cnn on scikit-learn's held-out digits.


def _digits_score():
    from calib.models.digits import test_set

    images, labels = test_set()

    def score(predict) -> float:
        return float((predict((images,)).argmax(1) == labels).float().mean())

    return score


def test_accuracy_control_brings_a_collapsed_int8_back_within_the_budget(onnx_cache):
    from calib.backends import openvino_accuracy

    model, score = load_model("digits-cnn"), _digits_score()
    config = run_config("int8-static", "cpu", 8, 1, FEW)
    generator = torch.Generator().manual_seed(0)
    # calibration ranges far too narrow for the real images: fully int8, the score collapses
    narrow = [(torch.rand(8, 1, 8, 8, generator=generator) * 0.05,) for _ in range(3)]
    ov_model, info = openvino_accuracy.quantize_with_accuracy_control(model, config, score, 0.01, narrow)
    assert info["fp32_score"] > 0.9 and info["int8_full_score"] < info["fp32_score"] - 0.01
    assert info["within_budget"] and info["drop"] <= 0.01 and info["score"] == pytest.approx(score(
        openvino_accuracy.predictor(openvino_accuracy._compile_f32(ov_model, 1), 8)))
    assert info["quantization"] == "nncf.quantize_with_accuracy_control" and info["max_drop"] == 0.01


def test_accuracy_control_keeps_int8_on_real_calibration_and_prepares_it(onnx_cache):
    from calib.backends import openvino_accuracy
    from calib.models.digits import load_split

    model, score = load_model("digits-cnn"), _digits_score()
    config = run_config("int8-static", "cpu", 8, 1, FEW)
    train_images = load_split()[0]
    batches = [(train_images[start:start + 8],) for start in range(0, 32, 8)]
    ov_model, info = openvino_accuracy.quantize_with_accuracy_control(model, config, score, 0.01, batches)
    assert info["within_budget"] and info["fake_quantize_ops"] > 0
    with openvino_accuracy.prepare_quantized(model, config, ov_model, info) as prepared:
        assert prepared.compute_dtype == "int8" and prepared.info["quantized_layers"] > 0
        assert prepared.info["float_layers_hint"] == "f32" and prepared.info["max_drop"] == 0.01
        assert prepared.run().shape == (8, 10)


def test_predict_runs_any_number_of_items_in_chunks_of_the_batch_size(onnx_cache):
    from calib.backends import openvino_accuracy
    from calib.models.digits import test_set

    model = load_model("digits-cnn")
    compiled = openvino_accuracy._compile_f32(_ov_model(model, 8), 1)
    predict = openvino_accuracy.predictor(compiled, 8)
    images = test_set()[0][:13]
    outputs = predict((images,))
    with torch.no_grad():
        expected = model.module(images)
    assert outputs.shape == (13, 10) and torch.allclose(outputs, expected, atol=1e-4)
