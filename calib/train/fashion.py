"""Data and model of a labelled training task with no download: Fashion-MNIST from the Debian package
`dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist, 60k training and 10k test 28x28 images), and a
small CNN trained on it from a seeded init. `calib train -m fashion-cnn` (the task: calib.train.task);
eval = accuracy on the first EVAL_IMAGES test images."""

from __future__ import annotations

import functools
import gzip
import os
from pathlib import Path

from calib.errors import ModelLoadError

FOLDER = Path(os.environ.get("CALIB_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
EVAL_IMAGES = 2000
INPUT_SHAPE = (1, 28, 28)


def _read(name: str, offset: int):
    import numpy as np

    path = FOLDER / name
    if not path.exists():
        raise ModelLoadError(f"fashion-cnn: {path} is missing (install the Debian package dataset-fashion-mnist, "
                             "or point CALIB_FASHION_MNIST at a folder with the four idx .gz files)")
    with gzip.open(path, "rb") as handle:
        return np.frombuffer(handle.read(), dtype=np.uint8, offset=offset)


@functools.lru_cache(maxsize=1)
def load_split():
    """(train_images, train_labels, test_images, test_labels): fp32 [N,1,28,28] in [0, 1] and int64 [N]."""
    import torch

    def images(name):
        return torch.from_numpy(_read(name, 16).reshape(-1, 1, 28, 28).astype("float32") / 255.0)

    def labels(name):
        return torch.from_numpy(_read(name, 8).astype("int64"))

    return (images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
            images("t10k-images-idx3-ubyte.gz")[:EVAL_IMAGES], labels("t10k-labels-idx1-ubyte.gz")[:EVAL_IMAGES])


def build_model():
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
