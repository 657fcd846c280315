"""A small trained model whose int8-static quantization collapses when calibrated on random inputs.

    calib run -m models/collapse.py:build --eval models/eval_collapse.py:evaluate -p fp32 -p int8-static \
        -b torch --calib-data random                      # int8 collapses (score near chance)
    python models/collapse.py models/data/collapse_calib  # writes 64 real calibration items (.npy)
    calib run ... --calib-data models/data/collapse_calib   # int8 holds (within a point or two of fp32)

What it is: a 3-conv CNN trained here (seeded, about a second on 2 cores) on scikit-learn's digits
(8x8, 10 classes), whose real inputs are dim: the pixel intensities scaled to [0, SCALE] = [0, 0.01]
(as a camera's frames in the dark). It is trained on the digits at [0, 1] and the scale is then folded
into the first convolution (its weights divided by SCALE: the same function, exactly, of the dim
input). Calibrated on seeded N(0, 1) inputs, the input's quantization range is about [-4, 4] (a step
of ~0.03): every real pixel rounds to the same level and the activations' ranges are ~100x too wide,
so the digits are lost (chance, about 10%). Calibrated on real inputs, the ranges are the task's and
int8 keeps fp32's accuracy (about 94%).

Data: the first TRAIN_ITEMS of the 1797 digits train the model (and the calibration items are drawn
from them); the rest (797) are the evaluation (models/eval_collapse.py). Input: (N, 1, 8, 8) float32.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np

TRAIN_ITEMS = 1000
SCALE = 0.01  # real inputs lie in [0, SCALE]
SEED = 0
STEPS = 500


@functools.lru_cache(maxsize=1)
def digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digits as the model sees them: (N, 1, 8, 8) float32 in [0, SCALE], labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (data.images / 16.0 * SCALE).astype(np.float32)[:, None]
    return images, data.target.astype(np.int64)


def split(part: str) -> tuple[np.ndarray, np.ndarray]:
    """'train' (the first TRAIN_ITEMS) or 'test' (the other 797)."""
    images, labels = digits()
    return (images[:TRAIN_ITEMS], labels[:TRAIN_ITEMS]) if part == "train" else \
        (images[TRAIN_ITEMS:], labels[TRAIN_ITEMS:])


def _net():
    from torch import nn

    # The last conv takes the 4x4 map to 1x1, so Flatten never reshapes a spatial (maybe channels_last) tensor.
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1, stride=2), nn.ReLU(),
                         nn.Conv2d(32, 64, 4), nn.ReLU(), nn.Flatten(), nn.Linear(64, 10))


@functools.lru_cache(maxsize=1)
def _trained_state() -> dict:
    import torch

    generator_state, threads = torch.random.get_rng_state(), torch.get_num_threads()
    torch.manual_seed(SEED)
    torch.set_num_threads(1)  # the same sums in the same order on any machine: the same weights
    try:
        net = _net()
        images, labels = split("train")
        x, y = torch.from_numpy(images) / SCALE, torch.from_numpy(labels)  # trained at [0, 1]
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
        order = torch.Generator().manual_seed(SEED)
        for _ in range(STEPS):
            batch = torch.randint(0, len(x), (128,), generator=order)
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
            optimizer.step()
    finally:
        torch.random.set_rng_state(generator_state)
        torch.set_num_threads(threads)
    with torch.no_grad():
        net[0].weight /= SCALE  # fold the scale in: net(x / SCALE) == folded(x)
    return {name: value.detach().clone() for name, value in net.state_dict().items()}


def build():
    """The trained model (eval mode) and an example batch (1, 1, 8, 8) of seeded N(0, 1) values.

    The example is random on purpose: calib's `--calib-data random` (and its cosine check on seeded
    inputs) uses a factory's example inputs, repeated, so a real digit here would quietly calibrate
    on real data."""
    import torch

    net = _net()
    net.load_state_dict(_trained_state())
    return net.eval(), torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(SEED))


def calibration_items(count: int = 64) -> np.ndarray:
    """`count` real inputs from the training part (evenly spaced), none of them in the evaluation."""
    images = split("train")[0]
    return images[:: max(1, len(images) // count)][:count]


def write_calibration(folder: str | Path, count: int = 64) -> Path:
    """One (1, 8, 8) .npy file per item in `folder`: what `calib run --calib-data FOLDER` reads."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for index, item in enumerate(calibration_items(count)):
        np.save(folder / f"{index:03d}.npy", item)
    return folder


if __name__ == "__main__":
    print(write_calibration(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("data") / "collapse_calib"))
