"""Labelled data for accuracy figures: the digits test split, or the user's image folder.

--eval-data DIR is a torchvision ImageFolder (one sub-folder per class). Labels are the folder
names when they are all integers ("0", "207", ...), else the index of the name in sorted order.
Preprocessing: with --eval-size S, resize the shorter side to S and center-crop to the model's
input (the usual Resize(256) + CenterCrop(224)); without it, resize straight to the input size.
Then scale to [0, 1] and, with --eval-mean/--eval-std, normalize per channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from calib.errors import UsageError
from calib.settings import FidelitySettings


@dataclass
class LabeledSet:
    name: str
    count: int
    batches_of: object  # batch_size -> iterator of (images [batch_size, ...], labels, real_count)


def labeled_set(model, settings: FidelitySettings) -> LabeledSet | None:
    """The labelled set the accuracy of `model` is measured on, or None when there is none."""
    if settings.eval_data:
        return image_folder(model, settings)
    if model.name == "digits-cnn" and model.source == "catalog":
        from calib.models import digits

        images, labels = digits.test_set()
        return LabeledSet(f"digits test split ({len(labels)} images)", len(labels),
                          lambda batch_size: _padded_batches(images, labels, batch_size))
    return None


def _padded_batches(images, labels, batch_size: int):
    """Every call gets exactly `batch_size` items (static-shape engines need it): the last batch is
    padded by repeating its final item, and real_count says how many to keep."""
    import torch

    for start in range(0, len(labels), batch_size):
        chunk, chunk_labels = images[start:start + batch_size], labels[start:start + batch_size]
        real_count = len(chunk_labels)
        if real_count < batch_size:
            chunk = torch.cat([chunk, chunk[-1:].expand(batch_size - real_count, *chunk.shape[1:])])
        yield chunk, chunk_labels, real_count


def image_folder(model, settings: FidelitySettings) -> LabeledSet:
    import torch

    folder = Path(settings.eval_data)
    if not folder.is_dir():
        raise UsageError(f"--eval-data {folder}: not a directory (expected one sub-folder per class)")
    if model.input_kind != "image" or len(model.item_shape) != 3:
        raise UsageError(f"--eval-data needs an image model with a (C,H,W) input; {model.name} takes "
                         f"{model.input_kind} of shape {model.item_shape}")
    dataset = _dataset(folder, model.item_shape, settings)

    def batches_of(batch_size: int):
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
        for images, labels in loader:
            yield from _padded_batches(images, labels, batch_size)

    return LabeledSet(f"{folder} ({len(dataset)} images, {len(dataset.classes)} classes)", len(dataset), batches_of)


def _dataset(folder: Path, item_shape: tuple[int, ...], settings: FidelitySettings):
    from torchvision import datasets, transforms

    channels, height, width = item_shape
    steps = []
    if channels == 1:
        steps.append(transforms.Grayscale(1))
    elif channels != 3:
        raise UsageError(f"--eval-data: images become 1 or 3 channels; the model takes {channels}")
    size = settings.eval_size
    if size:
        steps += [transforms.Resize(int(size)), transforms.CenterCrop((height, width))]
    else:
        steps.append(transforms.Resize((height, width)))
    steps.append(transforms.ToTensor())
    mean, std = _channels("--eval-mean", settings.eval_mean, channels), _channels(
        "--eval-std", settings.eval_std, channels)
    if (mean is None) != (std is None):
        raise UsageError("--eval-mean and --eval-std go together")
    if mean is not None:  # std values are positive: FidelitySettings checked it
        steps.append(transforms.Normalize(mean, std))
    try:
        dataset = datasets.ImageFolder(str(folder), transform=transforms.Compose(steps))
    except (FileNotFoundError, RuntimeError) as exc:  # no class folders, or no images in them
        raise UsageError(f"--eval-data {folder}: {exc}") from None
    if all(name.isdigit() for name in dataset.classes):
        numbered = [int(name) for name in dataset.classes]
        dataset.target_transform = numbered.__getitem__
    return dataset


def _channels(flag: str, given: tuple[float, ...] | None, channels: int) -> list[float] | None:
    """One value per channel (a single value stands for all of them)."""
    if given is None:
        return None
    values = list(given)
    if len(values) == 1:
        values = values * channels
    if len(values) != channels:
        raise UsageError(f"{flag} {','.join(f'{v:g}' for v in values)}: {len(values)} values for a "
                         f"{channels}-channel input")
    return values
