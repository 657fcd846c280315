"""An --eval function for an image classifier: accuracy on a folder of labelled images.

    # write scikit-learn's digits test split as an image folder (one sub-folder per class), once:
    python models/eval_digits.py write-folder /tmp/digits-folder
    # then measure digits-cnn with its accuracy on that folder as the score:
    CALIB_EVAL_FOLDER=/tmp/digits-folder calib run --model digits-cnn --eval models/eval_digits.py:image_folder \
        -p fp32 -p bf16 -p int8-static --max-drop 1
    # or, without a folder, on the same split read straight from scikit-learn:
    calib run --model digits-cnn --eval models/eval_digits.py:evaluate -p fp32 -p int8-dynamic

calib calls the function once per configuration (outside the timed region) with `predict`:
predict(batch) runs that configuration's prepared model (any backend, any precision) on a numpy
array or torch tensor batch and returns numpy outputs. `predict.item_shape` is one input item's
shape as calib measures it ((1, 8, 8) for digits-cnn), so the same function serves any image size.
The function returns a score in [0, 1] (higher is better), or a dict with "score" and other numbers.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

BATCH = 64
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm")


def image_folder(predict):
    """Top-1 accuracy on $CALIB_EVAL_FOLDER: class folders named by class index ("0", "1", ...) or
    by name (the index is the name's place in sorted order). Images are resized to the model's
    input and scaled to [0, 1]; grey or RGB as the model's channel count says."""
    from PIL import Image

    folder = Path(os.environ.get("CALIB_EVAL_FOLDER", ""))
    if not folder.is_dir():
        raise ValueError("set CALIB_EVAL_FOLDER to a folder of class sub-folders")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    numbered = all(name.isdigit() for name in classes)
    channels, height, width = predict.item_shape
    items = [(path, int(name) if numbered else index)
             for index, name in enumerate(classes)
             for path in sorted((folder / name).iterdir()) if path.suffix.lower() in IMAGE_SUFFIXES]
    correct = 0
    for start in range(0, len(items), BATCH):
        chunk = items[start:start + BATCH]
        images = []
        for path, _ in chunk:
            image = Image.open(path).convert("L" if channels == 1 else "RGB").resize((width, height))
            array = np.asarray(image, dtype=np.float32) / 255.0
            images.append(array[None] if channels == 1 else array.transpose(2, 0, 1))
        logits = predict(np.stack(images))
        labels = np.array([label for _, label in chunk])
        correct += int((logits.argmax(axis=1) == labels).sum())
    return {"score": correct / len(items), "items": len(items)}


def evaluate(predict):
    """Top-1 accuracy of digits-cnn on scikit-learn's digits test split (the 360 images calib holds out)."""
    images, labels = _digits_test_split()
    logits = predict(images)  # one call of 360 items: calib splits it where a backend takes one batch size only
    predicted = logits.argmax(axis=1)
    return {"score": float((predicted == labels).mean()), "items": int(len(labels)),
            "errors": int((predicted != labels).sum())}


def _digits_test_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images.astype(np.float32) / 16.0)[:, None]  # [N, 1, 8, 8] in [0, 1], as digits-cnn takes
    _, test_x, _, test_y = train_test_split(images, digits.target, test_size=0.2, random_state=0,
                                            stratify=digits.target)
    return test_x, test_y


def write_folder(target: str) -> None:
    """The digits test split as PNG files in one sub-folder per class (for image_folder)."""
    from PIL import Image

    images, labels = _digits_test_split()
    for index, (image, label) in enumerate(zip(images, labels)):
        folder = Path(target) / str(int(label))
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((image[0] * 255).round().astype(np.uint8)).save(folder / f"{index:04d}.png")
    print(f"wrote {len(labels)} images to {target}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write-folder":
        write_folder(sys.argv[2])
    else:
        sys.exit("usage: python models/eval_digits.py write-folder DIR")
