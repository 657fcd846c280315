"""Calibration inputs for int8 static quantization, shared by every backend.

--calib-data random: seeded inputs of the model's shape (ranges are then synthetic:
  fine for timing, not for accuracy).
--calib-data digits: scikit-learn's bundled digits images, resized and repeated to the
  model's image shape (no download).
--calib-data DIR: images (png/jpg) or .npy/.pt tensors in DIR, matched to the input shape.
"""

from __future__ import annotations

import time
from pathlib import Path

from calib.errors import UsageError
from calib.settings import CALIBRATION_FILE_SUFFIXES, CalibrationSettings



def calibration_inputs(model, settings: CalibrationSettings, batch_size: int = 1) -> list[tuple]:
    """A list of input tuples (each one call's inputs at `batch_size`), fp32/int64 on the CPU."""
    source, count = settings.data, settings.samples
    if source == "random" or model.input_kind == "tokens":
        return [model.make_inputs(batch_size, seed=1000 + i) for i in range(max(1, count // batch_size))]
    if source == "digits":
        items = _digits(count)
    else:
        items = _from_dir(Path(source), count)
    shaped = [_match_shape(item, model.item_shape) for item in items]
    return [(_stack(shaped[i:i + batch_size]),) for i in range(0, len(shaped) - batch_size + 1, batch_size)]


def timed_calibration(observed_module, batches) -> float:
    """Run every calibration batch through the observed model; seconds it took."""
    import torch

    started = time.perf_counter()
    with torch.no_grad():
        for batch in batches:
            observed_module(*batch)
    return time.perf_counter() - started


def _stack(items):
    import torch

    return torch.stack(items)


def _digits(count: int):
    import torch
    from sklearn.datasets import load_digits

    images = load_digits().images[:count] / 16.0  # 8x8, values 0..16
    return [torch.tensor(image, dtype=torch.float32).unsqueeze(0) for image in images]


def _from_dir(folder: Path, count: int):
    import numpy as np
    import torch

    if not folder.is_dir():
        raise UsageError(f"--calib-data {folder}: not random, digits or a directory")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in CALIBRATION_FILE_SUFFIXES)
    if not files:
        raise UsageError(f"--calib-data {folder}: no images, .npy or .pt files in it")
    items = []
    for path in files:
        if path.suffix == ".npy":
            tensor = torch.from_numpy(np.load(path)).float()
        elif path.suffix == ".pt":
            tensor = torch.load(path, map_location="cpu", weights_only=True).float()
        else:
            from torchvision.io import ImageReadMode, read_image

            tensor = read_image(str(path), ImageReadMode.RGB).float() / 255.0
        items.extend(tensor.unbind(0) if tensor.dim() == 4 else [tensor])
        if len(items) >= count:
            break
    return items[:count]


def _match_shape(item, shape: tuple[int, ...]):
    """Resize an image-like tensor (C,H,W or H,W) to `shape`; repeat or trim channels."""
    import torch
    import torch.nn.functional as F

    if tuple(item.shape) == tuple(shape):
        return item
    if len(shape) != 3:
        if item.numel() < int(torch.tensor(shape).prod()):
            raise UsageError(f"calibration item of shape {tuple(item.shape)} cannot fill input shape {shape}")
        return item.flatten()[: int(torch.tensor(shape).prod())].reshape(shape)
    if item.dim() == 2:
        item = item.unsqueeze(0)
    channels, height, width = shape
    item = F.interpolate(item.unsqueeze(0), size=(height, width), mode="bilinear", align_corners=False)[0]
    if item.shape[0] != channels:
        item = item[:1].repeat(channels, 1, 1) if channels != 1 else item.mean(0, keepdim=True)
    return item
