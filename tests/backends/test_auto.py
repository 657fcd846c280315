"""`--backend auto`: one concrete backend per precision and device, with a reason."""

import pytest

from calib.backends.auto import choose
from calib.models.loader import load_model

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def tiny_cnn():
    return load_model("tiny-cnn")


@pytest.mark.parametrize("precision, backend", [("fp32", "onnxruntime"), ("int8-static", "onnxruntime"),
                                                ("int8-dynamic", "torch"), ("bf16", "torch"), ("amp-bf16", "torch")])
def test_cpu_choices(tiny_cnn, precision, backend):
    picked, why = choose(tiny_cnn, precision, "cpu")
    assert picked == backend and precision.split("-")[0] in why


def test_an_onnx_file_goes_to_onnxruntime_and_to_openvino_where_onnxruntime_cannot(tiny_cnn):
    import importlib.util

    class OnnxFile:
        module = None

    assert choose(OnnxFile(), "fp32", "cpu")[0] == "onnxruntime"
    # ONNX Runtime has no bf16 path; OpenVINO runs ONNX files at bf16 on x86 CPUs
    expected = "openvino" if _x86() and importlib.util.find_spec("openvino") else "onnxruntime"
    picked, why = choose(OnnxFile(), "bf16", "cpu")
    assert picked == expected and "ONNX" in why


def _x86() -> bool:
    import platform

    return platform.machine().lower() in ("x86_64", "amd64")


def test_engines_lists_every_engine_that_can_run_it_the_rules_pick_first(tiny_cnn):
    import importlib.util

    from calib.backends.auto import engines

    usable, not_usable = engines(tiny_cnn, "fp32", "cpu")
    assert usable[0] == choose(tiny_cnn, "fp32", "cpu")[0] and "torch" in usable and "onnxruntime" in usable
    has_openvino = importlib.util.find_spec("openvino") is not None and _x86()
    assert ("openvino" in usable) == has_openvino
    assert has_openvino or "openvino" in not_usable  # with the reason: not installed, or not x86
    assert "tensorrt" not in usable and "tensorrt" not in not_usable  # a CUDA engine
    usable, not_usable = engines(tiny_cnn, "tf32", "cpu")  # nobody runs tf32 on a CPU: each says why
    assert usable == [] and {"torch", "onnxruntime"} <= set(not_usable)
    assert all("tf32" in reason for reason in not_usable.values())


def test_a_model_file_limits_the_engines():
    from calib.backends.auto import engines

    class OnnxFile:
        module, info = None, {"onnx_path": "m.onnx"}

    class IrFile:
        module, info = None, {"ir_path": "m.xml"}

    usable, not_usable = engines(OnnxFile(), "fp32", "cpu")
    assert usable[0] == "onnxruntime" and "torch" not in usable and "torch module" in not_usable["torch"]
    usable, not_usable = engines(IrFile(), "fp32", "cpu")
    assert "onnxruntime" not in usable and "OpenVINO IR" in not_usable["onnxruntime"]
