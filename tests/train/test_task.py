"""The factory contract of calib.train.task and the synthetic default."""

from pathlib import Path

import pytest

from calib.errors import ModelLoadError
from calib.models.loader import load_any
from calib.train import build_task

FACTORY = Path(__file__).parent / "residual_factory.py"


def test_a_factory_brings_its_loss_and_batches():
    task = build_task(load_any(f"{FACTORY}:build"))
    (inputs,), target = task.make_batch(2, 5)
    assert inputs.shape == (5, 1, 6, 6) and target.shape == (5,)
    assert task.init == "as built" and task.data == "the factory's make_batch"
    assert task.evaluate is None


def test_without_them_the_batches_are_synthetic_with_labels_for_the_output_width():
    task = build_task(load_any(f"{FACTORY}:build_plain"))
    (inputs,), target = task.make_batch(0, 4)
    assert inputs.shape == (4, 1, 6, 6) and int(target.max()) < 3
    assert "3 classes" in task.data


def test_a_factory_part_that_is_not_callable_is_refused():
    with pytest.raises(ModelLoadError, match="loss_fn is a str"):
        build_task(load_any(f"{FACTORY}:build_bad"))


def test_text_models_count_tokens():
    task = build_task(load_any("tiny-bert"))
    assert task.input_kind == "tokens" and task.items_per_sample() == 16


def test_fashion_mnist_task_reads_the_debian_files():
    from calib.train.fashion import FOLDER
    from calib.train.task import named_task

    if not (FOLDER / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"no Fashion-MNIST under {FOLDER}")
    task = named_task("fashion-cnn")
    (images,), labels = task.make_batch(0, 8)
    assert images.shape == (8, 1, 28, 28) and 0.0 <= float(images.min()) and float(images.max()) <= 1.0
    assert labels.shape == (8,) and int(labels.max()) < 10 and task.evaluate is not None
    assert named_task("resnet18") is None
