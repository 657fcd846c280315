"""Calibration inputs for int8 static quantization, shared by every backend.

--calib-data auto (the default): the inputs the user's --eval feeds the fp32 reference pass, captured
  (see `Capture`): a deterministic, evenly spaced subset of them; without --eval, seeded random inputs.
--calib-data eval: the captured --eval inputs, and an error when there are none.
--calib-data random: seeded inputs of the model's shape (ranges are then synthetic: fine for timing,
  not for the accuracy of a trained model, which it can wreck).
--calib-data digits: scikit-learn's bundled digits images, resized and repeated to the model's image shape.
--calib-data DIR: images (png/jpg) or .npy/.pt tensors in DIR, matched to the input shape.
--calib-data FILE.npy / FILE.npz: an array of items (N, *item_shape) (an .npz: one array per model input,
  in order).
--calib-data FILE.py:fn: fn() returns or yields batches (a tensor/array, or a tuple of them per model
  input), as NNCF's Dataset takes them.
--calib-data FILE.jsonl: for text models, one {"text": ...} per line, tokenized by the model's tokenizer.

Every backend calls `calibration_inputs`; `describe` says where the data came from (the record keeps it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from calib.errors import UsageError
from calib.settings import CALIBRATION_FILE_SUFFIXES, CalibrationSettings

CAPTURE_KEEP = 2048  # items kept while --eval runs (every stride-th: the stride doubles when full)
CAPTURE_BYTES = 256 * 2**20  # ... and at most this much memory (at least 64 items)


@dataclass(frozen=True)
class Captured:
    """Inputs the user's evaluation fed to predict() during the fp32 reference pass."""
    items: tuple  # one tuple of per-input tensors per item, without the batch dimension
    seen: int  # items the evaluation passed in all
    origin: str  # e.g. "--eval models/eval_digits.py:evaluate"

    def subset(self, count: int) -> list[tuple]:
        """`count` items evenly spaced over what was kept (deterministic; every class of a sorted set)."""
        if count >= len(self.items):
            return list(self.items)
        step = len(self.items) / count
        return [self.items[int(i * step)] for i in range(count)]


class Capture:
    """Wraps a predict()'s run_on and keeps the items it is given (every stride-th, bounded)."""

    def __init__(self, run_on, keep: int = CAPTURE_KEEP):
        self.run_on, self.keep = run_on, keep
        self.items: list[tuple] = []
        self.seen = 0
        self.stride = 1

    def __call__(self, tensors: tuple):
        count = int(tensors[0].shape[0]) if tensors[0].dim() > 0 else 0
        if count and not self.items and self.seen == 0:
            item_bytes = sum(t[0].numel() * t.element_size() for t in tensors) or 1
            self.keep = max(64, min(self.keep, CAPTURE_BYTES // item_bytes))
        for index in range(count):
            if (self.seen + index) % self.stride == 0:
                self.items.append(tuple(t[index].detach().clone() for t in tensors))
        self.seen += count
        while len(self.items) > self.keep:  # keep every other one: the stride doubles
            self.items = self.items[::2]
            self.stride *= 2
        return self.run_on(tensors)

    def captured(self, origin: str) -> Captured | None:
        return Captured(tuple(self.items), self.seen, origin) if self.items else None


def keep_captured(model, captured: Captured | None) -> None:
    """Attach the captured inputs to the loaded model: its int8 calibration draws from them."""
    if captured is not None:
        model.captured_calibration = captured


def captured_of(model) -> Captured | None:
    return getattr(model, "captured_calibration", None)


def source_kind(model, settings: CalibrationSettings) -> str:
    """What the data is: "eval" (captured), "random", "digits", "folder", "npy", "npz", "function", "jsonl"."""
    data = settings.data
    if data == "auto":
        return "eval" if captured_of(model) is not None else "random"
    if data == "eval":
        if captured_of(model) is None:
            raise UsageError("--calib-data eval: no inputs were captured (it needs --eval, whose function must call "
                             "predict() during the fp32 pass)")
        return "eval"
    if data in ("random", "digits"):
        return data
    file_part, colon, _ = str(data).rpartition(":")
    if colon and file_part.endswith(".py"):
        return "function"
    suffix = Path(data).suffix.lower()
    return {".npy": "npy", ".npz": "npz", ".jsonl": "jsonl"}.get(suffix, "folder")


def describe(model, settings: CalibrationSettings) -> dict:
    """Where the calibration data of this model and settings comes from, and how its ranges are observed
    (method, percentile, qscheme, weight granularity), as the record keeps it: the settings that define an
    int8-static configuration besides its identity (calib check refuses to judge runs where they differ)."""
    kind = source_kind(model, settings)
    described = {"source": kind, "data": settings.data, "items": settings.items(captured=kind == "eval")}
    described.update({key: value for key, value in settings.to_dict().items() if key not in ("data", "samples")})
    if kind == "eval":
        captured = captured_of(model)
        described.update(items=min(described["items"], len(captured.items)), origin=captured.origin,
                         evaluated_items=captured.seen,
                         text=f"{min(described['items'], len(captured.items))} of the {captured.seen} inputs "
                              f"{captured.origin} fed the fp32 pass (evenly spaced)")
    elif kind == "random":
        described["text"] = f"{described['items']} seeded random inputs" + (
            " (no --eval to capture real inputs from)" if settings.data == "auto" else "")
    else:
        described["text"] = f"{described['items']} items from {settings.data}"
    return described


def random_calibration_warning(model, settings: CalibrationSettings) -> str | None:
    """int8-static calibrated on random inputs for a model with trained weights: what to pass instead."""
    if getattr(model, "weights", "user") == "random" or source_kind(model, settings) != "random":
        return None
    return ("int8-static calibrated on random inputs: a trained model's activation ranges come from real data, "
            "and random ones can wreck its accuracy; pass --eval path.py:fn (its inputs are captured for "
            "calibration) or --calib-data DIR|inputs.npy|file.py:fn")


def calibration_inputs(model, settings: CalibrationSettings, batch_size: int = 1) -> list[tuple]:
    """A list of input tuples (each one call's inputs at `batch_size`), fp32/int64 on the CPU."""
    kind = source_kind(model, settings)
    count = settings.items(captured=kind == "eval")
    if kind == "eval":
        return _batched(captured_of(model).subset(count), batch_size)
    if kind == "function":
        return _from_function(settings.data, model, count, batch_size)
    if kind in ("npy", "npz", "jsonl"):  # a FIFO or a device named x.npy would block or never end
        _check_regular(Path(settings.data))
    if kind in ("npy", "npz"):
        return _batched(_from_arrays(Path(settings.data), model, count), batch_size)
    if kind == "jsonl":
        return _batched(_from_text(Path(settings.data), model, count), batch_size)
    if kind == "random" or model.input_kind == "tokens":
        return [_random_inputs(model, batch_size, seed=1000 + i) for i in range(max(1, count // batch_size))]
    items = _digits(count) if kind == "digits" else _from_dir(Path(settings.data), count)
    shaped = [(_match_shape(item, model.item_shape),) for item in items]
    return _batched(shaped, batch_size)


def _check_regular(path: Path) -> None:
    import stat

    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise UsageError(f"--calib-data {path}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise UsageError(f"--calib-data {path}: not a regular file")


def _random_inputs(model, batch_size: int, seed: int) -> tuple:
    """Seeded random inputs: N(0, 1) in the shape of each float input. A factory's example inputs are not
    used as they are (a real example repeated would quietly calibrate on real data); integer inputs (token
    ids) are the model's own seeded ones."""
    import torch

    inputs = model.make_inputs(batch_size, seed=seed)
    if model.example_inputs is None:
        return inputs
    generator = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(t.shape, generator=generator) if t.is_floating_point() else t for t in inputs)


def timed_calibration(observed_module, batches) -> float:
    """Run every calibration batch through the observed model; seconds it took."""
    import torch

    started = time.perf_counter()
    with torch.no_grad():
        for batch in batches:
            observed_module(*batch)
    return time.perf_counter() - started


def _batched(items: list[tuple], batch_size: int) -> list[tuple]:
    """Items (tuples of per-input tensors) stacked into calls of `batch_size` (a short last batch is
    filled by repeating items from the start: a graph with a fixed batch takes only full ones)."""
    import torch

    if not items:
        raise UsageError("no calibration items")
    if len(items) < batch_size:
        items = (items * batch_size)[:batch_size]
    usable = len(items) - len(items) % batch_size
    items = items[:usable] if usable else items
    return [tuple(torch.stack([item[k] for item in items[i:i + batch_size]]) for k in range(len(items[0])))
            for i in range(0, len(items), batch_size)]


def _as_tensor(value):
    import numpy as np
    import torch

    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
    else:
        tensor = torch.from_numpy(np.ascontiguousarray(np.asarray(value)))
    if tensor.is_floating_point() and tensor.dtype != torch.float32:
        tensor = tensor.float()
    return tensor


def _from_function(spec: str, model, count: int, batch_size: int) -> list[tuple]:
    """file.py:fn returning or yielding batches; split into items, then re-batched at `batch_size`."""
    from calib.user_files import call_user, described, import_file

    file_part, _, name = spec.rpartition(":")
    try:
        module = import_file(Path(file_part), "calib_user_calibration")
        function = getattr(module, name)
        produced = call_user(function)
    except AttributeError:
        raise UsageError(f"--calib-data {spec}: {file_part} has no function {name!r}") from None
    except Exception as exc:  # noqa: BLE001 - the user's function, said in one line (sys.exit() included)
        raise UsageError(f"--calib-data {spec} failed ({described(exc)})") from None
    items: list[tuple] = []

    def collect():  # a generator's body runs here, as it is iterated: the user's code too
        for batch in produced:
            tensors = tuple(_as_tensor(t) for t in (batch if isinstance(batch, (tuple, list)) else (batch,)))
            if tensors[0].dim() == len(model.item_shape):  # one item, without the batch dimension
                tensors = tuple(t.unsqueeze(0) for t in tensors)
            items.extend(tuple(t[i] for t in tensors) for i in range(int(tensors[0].shape[0])))
            if len(items) >= count:
                break

    try:
        call_user(collect)
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise UsageError(f"--calib-data {spec}: its batches could not be read ({described(exc)})") from None
    if not items:
        raise UsageError(f"--calib-data {spec}: the function gave no batches")
    return _batched(items[:count], batch_size)


def _from_arrays(path: Path, model, count: int) -> list[tuple]:
    import numpy as np

    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - a bad file, said in one line
        raise UsageError(f"--calib-data {path}: cannot read it ({type(exc).__name__}: {exc})") from None
    arrays = [loaded[key] for key in loaded.files] if path.suffix.lower() == ".npz" else [loaded]
    tensors = [_as_tensor(array) for array in arrays]
    if tensors[0].dim() == len(model.item_shape):
        tensors = [t.unsqueeze(0) for t in tensors]
    if len(tensors) == 1 and model.input_kind != "tokens" and tuple(tensors[0].shape[1:]) != tuple(model.item_shape):
        return [(_match_shape(t, model.item_shape),) for t in tensors[0][:count]]
    return [tuple(t[i] for t in tensors) for i in range(min(count, int(tensors[0].shape[0])))]


def _from_text(path: Path, model, count: int) -> list[tuple]:
    import json

    if getattr(model, "tokenize", None) is None:
        raise UsageError(f"--calib-data {path}: text needs a Hugging Face model with a tokenizer (--model hf:DIR)")
    texts = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(f"--calib-data {path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict) or not row.get("text"):
                raise UsageError(f"--calib-data {path}:{number}: each row needs a text field")
            texts.append(str(row["text"]))
            if len(texts) >= count:
                break
    if not texts:
        raise UsageError(f"--calib-data {path}: no rows")
    ids = model.tokenize(texts)
    return [(ids[i],) for i in range(int(ids.shape[0]))]


def _digits(count: int):
    import torch
    from sklearn.datasets import load_digits

    images = load_digits().images[:count] / 16.0  # 8x8, values 0..16
    return [torch.tensor(image, dtype=torch.float32).unsqueeze(0) for image in images]


def _from_dir(folder: Path, count: int):
    import numpy as np
    import torch

    from calib.errors import first_line

    if not folder.is_dir():
        raise UsageError(f"--calib-data {folder}: not random, digits or a directory")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in CALIBRATION_FILE_SUFFIXES)
    if not files:
        raise UsageError(f"--calib-data {folder}: no images, .npy or .pt files in it")
    items = []
    for path in files:
        if not path.is_file():  # a FIFO named x.png would block the reader
            raise UsageError(f"--calib-data {folder}: {path} is not a regular file")
        try:
            if path.suffix == ".npy":
                tensor = torch.from_numpy(np.load(path, allow_pickle=False)).float()
            elif path.suffix == ".pt":
                tensor = torch.load(path, map_location="cpu", weights_only=True).float()
            else:
                from torchvision.io import ImageReadMode, read_image

                tensor = read_image(str(path), ImageReadMode.RGB).float() / 255.0
        except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file, said in one line with its name
            raise UsageError(f"--calib-data {folder}: {path} cannot be read ({type(exc).__name__}: "
                             f"{first_line(exc, 160)})") from None
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
