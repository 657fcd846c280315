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


def test_an_onnx_file_always_goes_to_onnxruntime(tiny_cnn):
    class OnnxFile:
        module = None

    assert choose(OnnxFile(), "bf16", "cpu")[0] == "onnxruntime"
