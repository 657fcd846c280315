"""int8 QAT: fake-quant modules are inserted, train, and convert to a real int8 model."""

from calib.train import TrainSettings
from calib.train.loop import train_precision
from calib.train.precisions import get_train_precision


def test_qat_inserts_fake_quant_and_converts_to_int8(digits_task):
    settings = TrainSettings(steps=3, batch_size=16, lr=0.05)
    run = train_precision(digits_task, get_train_precision("int8-qat"), settings, "cpu", {"engine": "fbgemm"})
    assert run.info["qat"]["fake_quant_modules"] > 0
    assert run.dtypes["probe"]["fake_quant_modules"] == run.info["qat"]["fake_quant_modules"]
    assert run.dtypes["weights"] == ["float32"]
    evaluation = run.eval
    assert evaluation["int8_modules"] == 3  # two conv(+relu) and the linear
    assert 0.0 <= evaluation["int8_accuracy"] <= 1.0 and 0.0 <= evaluation["accuracy"] <= 1.0


def test_convert_gives_quantized_modules(digits_task):
    import torch

    from calib.train.qat import convert_qat
    from calib.train.setup import build_setup

    setup = build_setup(digits_task, get_train_precision("int8-qat"), TrainSettings(steps=2, batch_size=4), "cpu",
                        {"engine": "fbgemm"})
    converted, seconds, quantized = convert_qat(setup.model, "fbgemm")
    kinds = {m._get_name() for m in converted.modules()}
    assert "QuantizedConvReLU2d" in kinds and "QuantizedLinear" in kinds and quantized == 3
    (images,), _ = digits_task.make_batch(0, 4)
    assert converted(images).shape == (4, 10) and seconds >= 0
    assert not any("FakeQuantize" in kind for kind in kinds)
    assert torch.backends.quantized.engine == "fbgemm"
