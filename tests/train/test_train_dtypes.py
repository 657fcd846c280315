"""What each precision keeps in which dtype, read back from the tensors of a real (tiny) run."""

from calib.train import TrainSettings
from calib.train.loop import train_precision
from calib.train.precisions import get_train_precision

SETTINGS = TrainSettings(steps=3, batch_size=4, optimizer="adamw")


def _dtypes(task, name):
    return train_precision(task, get_train_precision(name), SETTINGS, "cpu").dtypes


def test_amp_keeps_fp32_weights_grads_and_optimizer_state(mlp_task):
    dtypes = _dtypes(mlp_task, "amp-bf16")
    assert dtypes["weights"] == dtypes["grads"] == dtypes["optimizer_state"] == ["float32"]
    assert dtypes["compute"] == "bfloat16"
    assert dtypes["probe"]["autocast"] == ["bfloat16"]


def test_bf16_cast_keeps_everything_in_bf16(mlp_task):
    dtypes = _dtypes(mlp_task, "bf16")
    assert dtypes["weights"] == dtypes["grads"] == dtypes["optimizer_state"] == ["bfloat16"]
    assert dtypes["compute"] == "bfloat16"
    assert dtypes["probe"]["autocast"] == []


def test_fp32_is_fp32_throughout(mlp_task):
    dtypes = _dtypes(mlp_task, "fp32")
    assert dtypes["weights"] == dtypes["grads"] == dtypes["optimizer_state"] == ["float32"]
    assert dtypes["compute"] == "float32"
