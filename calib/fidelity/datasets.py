"""Labelled data for accuracy figures: the digits test split, the user's image folder, or a text file.

--eval-data FILE.jsonl / FILE.csv (Hugging Face text models, calib.models.hf): one row per item with
a `text` and a `label` field (an optional `split` field: train / test). Labels are the model's
id2label names or integers, else the index of the name in sorted order. Texts are tokenized at the
model's --seq-len (padded, truncated). How the outputs become class scores:
  - a sequence-classification head: its logits, on every row except those marked split=train;
  - an encoder without a head: a nearest-centroid classifier (cosine similarity to each class's mean
    L2-normalised embedding) fitted once on the fp32 CPU embeddings of the training split (rows
    marked train, else every second row of each class), applied to every precision's embeddings of
    the test split. The fp32 classifier is kept, so a drop is the precision's alone.

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
from calib.settings import TEXT_DATA_SUFFIXES, FidelitySettings

CENTROID_BATCH = 32


@dataclass
class LabeledSet:
    name: str
    count: int
    batches_of: object  # batch_size -> iterator of (images [batch_size, ...], labels, real_count)
    head: object = None  # first output -> [batch, classes] scores (None: the output is the scores)
    method: str | None = None  # how accuracy is computed, recorded as fidelity["method"]


def labeled_set(model, settings: FidelitySettings) -> LabeledSet | None:
    """The labelled set the accuracy of `model` is measured on, or None when there is none."""
    if settings.eval_data and Path(settings.eval_data).suffix.lower() in TEXT_DATA_SUFFIXES:
        return text_file(model, settings)
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


def text_file(model, settings: FidelitySettings) -> LabeledSet:
    """--eval-data FILE.jsonl/.csv for a Hugging Face text model (see the module docstring)."""
    import torch

    path = Path(settings.eval_data)
    if getattr(model, "tokenize", None) is None or getattr(model, "tokenizer", None) is None:
        raise UsageError(f"--eval-data {path}: text data needs a Hugging Face model with a tokenizer "
                         f"(--model hf:DIR); {model.name} has none")
    rows = read_text_rows(path)
    labels, names = _label_ids([row["label"] for row in rows], getattr(model, "id2label", {}) or {}, path)
    splits = _splits(rows, labels)
    ids = model.tokenize([row["text"] for row in rows])
    all_labels = torch.tensor(labels, dtype=torch.long)
    test = [i for i, split in enumerate(splits) if split != "train"]
    train = [i for i, split in enumerate(splits) if split == "train"]
    if getattr(model, "head", "embedding") == "logits":
        if not any(row["split"] for row in rows):  # nothing is fitted: every row is a test row
            test = list(range(len(rows)))
        head, method = None, (f"the model's sequence-classification head (argmax of its logits) on {len(test)} "
                              f"items of {path.name}")
    else:
        if not train or not test:
            raise UsageError(f"--eval-data {path}: an encoder without a classification head needs train and test "
                             "rows (a split field, or at least two rows per class)")
        centroids = _fp32_centroids(model, ids[train], all_labels[train], len(names))
        head = _centroid_head(centroids)
        method = (f"nearest-centroid (cosine) classifier fitted on the fp32 CPU embeddings of {len(train)} training "
                  f"items of {path.name}, applied to each precision's embeddings of {len(test)} test items")
    test_ids, test_labels = ids[test], all_labels[test]
    return LabeledSet(f"{path} ({len(test)} texts, {len(names)} classes)", len(test),
                      lambda batch_size: _padded_batches(test_ids, test_labels, batch_size), head=head, method=method)


def read_text_rows(path: Path) -> list[dict]:
    """[{"text": str, "label": ..., "split"?: str}] from a .jsonl or .csv file; one-line errors."""
    import csv
    import json

    rows = []
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            if path.suffix.lower() == ".csv":
                numbered = enumerate(csv.DictReader(handle), start=2)
            else:
                numbered = ((number, json.loads(line)) for number, line in enumerate(handle, start=1) if line.strip())
            for number, row in numbered:
                if not isinstance(row, dict) or "text" not in row or "label" not in row \
                        or row["text"] in (None, "") or row["label"] in (None, ""):
                    raise UsageError(f"--eval-data {path}:{number}: each row needs text and label fields")
                rows.append({"text": str(row["text"]), "label": row["label"],
                             "split": str(row.get("split") or "").strip().lower()})
    except json.JSONDecodeError as exc:
        raise UsageError(f"--eval-data {path}:{exc.lineno}: not JSON ({exc.msg})") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"--eval-data {path}: cannot read it ({type(exc).__name__}: {exc})") from None
    if not rows:
        raise UsageError(f"--eval-data {path}: no rows")
    return rows


def _label_ids(values: list, id2label: dict, path: Path) -> tuple[list[int], list[str]]:
    """Class indices: the model's own names (id2label) when every label is one, integers as given, else sorted names."""
    texts = [str(value).strip() for value in values]
    lookup = {str(name): int(index) for index, name in id2label.items()}
    if lookup and all(text in lookup for text in texts):
        return [lookup[text] for text in texts], [str(id2label.get(i, i)) for i in range(max(lookup.values()) + 1)]
    if all(text.lstrip("-").isdigit() for text in texts):
        numbers = [int(text) for text in texts]
        if min(numbers) < 0:
            raise UsageError(f"--eval-data {path}: integer labels must be 0 or more")
        return numbers, [str(n) for n in range(max(numbers) + 1)]
    names = sorted(set(texts))
    return [names.index(text) for text in texts], names


def _splits(rows: list[dict], labels: list[int]) -> list[str]:
    """Each row's split: its own field where given, else every second row of each class is train."""
    if any(row["split"] for row in rows):
        return [row["split"] or "test" for row in rows]
    seen: dict[int, int] = {}
    splits = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        splits.append("train" if seen[label] % 2 == 1 else "test")
    return splits


def _fp32_centroids(model, ids, labels, classes: int):
    """Each class's mean L2-normalised fp32 embedding (the fp32 torch module on the CPU), normalised."""
    import torch

    with torch.inference_mode():
        embeddings = torch.cat([_first(model.module(ids[start:start + CENTROID_BATCH])).float()
                                for start in range(0, len(ids), CENTROID_BATCH)])
    embeddings = torch.nn.functional.normalize(embeddings.flatten(1), dim=1)
    centroids = torch.zeros(classes, embeddings.shape[1])
    for label in range(classes):
        members = embeddings[labels == label]
        if len(members):
            centroids[label] = members.mean(dim=0)
    return torch.nn.functional.normalize(centroids, dim=1)


def _first(outputs):
    return outputs[0] if isinstance(outputs, (tuple, list)) else outputs


def _centroid_head(centroids):
    def head(embeddings):
        import torch

        normalised = torch.nn.functional.normalize(embeddings.float().flatten(1), dim=1)
        return normalised @ centroids.T

    return head
