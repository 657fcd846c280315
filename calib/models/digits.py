"""A real task with no download: scikit-learn's bundled 8x8 digits, and a small CNN trained on them.

The split and the training are seeded, so the same weights come out on every machine with
the same thread count; they ship in calib/models/data/ (40 KiB) and are retrained, then
cached under $CALIB_CACHE_DIR (default ~/.cache/calib), only if that file is missing.
Inputs are (1, 8, 8) images with pixel values scaled to [0, 1] (sklearn's 0..16 / 16).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from torch import nn

NUM_CLASSES = 10
INPUT_SHAPE = (1, 8, 8)
TEST_FRACTION = 0.2  # 360 of the 1797 images are held out for the accuracy figure
SPLIT_SEED = 0
TRAIN_SEED = 0
WEIGHTS_NAME = "digits_cnn.pt"
SHIPPED_WEIGHTS = Path(__file__).parent / "data" / WEIGHTS_NAME


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 4 * 4, NUM_CLASSES))

    def forward(self, images):
        return self.classifier(self.features(images))


@functools.lru_cache(maxsize=1)
def load_split():
    """(train_images, train_labels, test_images, test_labels) as fp32 [N,1,8,8] / int64 [N] tensors.
    Cached: every precision of a sweep is scored on it; callers must not modify the tensors."""
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = digits.images.astype("float32") / 16.0
    train_x, test_x, train_y, test_y = train_test_split(
        images, digits.target, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=digits.target)
    as_images = lambda array: torch.from_numpy(array).unsqueeze(1)  # noqa: E731 - [N,8,8] -> [N,1,8,8]
    return (as_images(train_x), torch.from_numpy(train_y).long(), as_images(test_x),
            torch.from_numpy(test_y).long())


def test_set():
    """The held-out (images, labels) the accuracy figures are computed on."""
    _, _, test_x, test_y = load_split()
    return test_x, test_y


def train(epochs: int = 20, seed: int = TRAIN_SEED) -> DigitsCNN:
    """Seeded training (split, init and batch order) on one thread, so the reduction order and
    therefore the weights do not depend on the core count; a few seconds."""
    import torch

    train_x, train_y, _, _ = load_split()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(train_x, train_y, epochs, seed)
    finally:
        torch.set_num_threads(threads)


def _train(train_x, train_y, epochs: int, seed: int) -> DigitsCNN:
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    batch_size = 64
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(train_x), generator=generator)
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            optimizer.zero_grad()
            loss_fn(model(train_x[index]), train_y[index]).backward()
            optimizer.step()
    return model.eval()


def cache_dir() -> Path:
    return Path(os.environ.get("CALIB_CACHE_DIR") or Path.home() / ".cache" / "calib")


def build() -> DigitsCNN:
    """The trained model: shipped weights, else cached weights, else train now and cache."""
    import torch

    model = DigitsCNN()
    if next(model.parameters()).is_meta:  # built under torch.device("meta") just to count parameters
        return model
    for path in (SHIPPED_WEIGHTS, cache_dir() / WEIGHTS_NAME):
        if path.exists():
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            return model.eval()
    model = train()
    _save(model, cache_dir() / WEIGHTS_NAME)
    return model


def _save(model: nn.Module, path: Path) -> None:
    import torch

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        torch.save(model.state_dict(), temporary)
        os.replace(temporary, path)
    except OSError:
        pass  # a read-only home only costs retraining next time


def accuracy(model: nn.Module, images, labels) -> float:
    """Fraction of `images` whose top-1 class equals `labels` (fp32, one batch)."""
    import torch

    with torch.inference_mode():
        return float((model(images).argmax(dim=1) == labels).float().mean())
