"""torch module -> ONNX file, cached outside git by model hash, opset and input shape.

The exported graph has a dynamic batch axis, so one file serves every --batch-size.
The TorchScript-based exporter (dynamo=False) is tried first: on our catalog it exports
every model, in seconds, with node names that keep the module path (/layer1/layer1.0/conv1/Conv),
which the per-node tables use. The dynamo exporter is the fallback for modules it rejects.
Files over 2 GB are written with external data; the cache keeps each file in its own folder
so its external data travels with it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from calib.errors import CalibError, first_line

OPSET = 17
EXPORT_BATCH_SIZE = 2  # not 1, so no exporter can mistake the batch axis for a constant
MODEL_FILE = "model.onnx"
PROTOBUF_LIMIT_BYTES = 2 * 1024**3 - 64 * 1024**2  # a little under 2 GB: protobuf cannot serialize more


@dataclass(frozen=True)
class ExportedOnnx:
    path: Path
    exporter: str  # "torchscript" | "dynamo" | "file" (the user gave an .onnx)
    opset: int | None
    export_s: float  # 0.0 when taken from the cache
    cached: bool


def cache_root() -> Path:
    """$CALIB_CACHE_DIR/onnx, else ~/.cache/calib/onnx (never inside the repository)."""
    base = os.environ.get("CALIB_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "calib")
    return Path(base) / "onnx"


def export_model(model, opset: int = OPSET) -> ExportedOnnx:
    """Export `model` (a calib LoadedModel) once per (weights, architecture, shape, opset)."""
    import torch

    key = model_key(model, opset)
    folder = cache_root() / key
    path = folder / MODEL_FILE
    marker = folder / "exporter.txt"
    if path.exists() and marker.exists():
        return ExportedOnnx(path, marker.read_text().strip(), opset, 0.0, cached=True)

    module = model.module.eval()
    example = model.make_inputs(EXPORT_BATCH_SIZE)
    with torch.inference_mode():
        outputs = module(*example)
    output_count = len(outputs) if isinstance(outputs, (tuple, list)) else 1
    input_names = ["input"] if len(example) == 1 else [f"input_{i}" for i in range(len(example))]
    output_names = ["output"] if output_count == 1 else [f"output_{i}" for i in range(output_count)]

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=folder.parent))
    started = time.perf_counter()
    errors = []
    try:
        for exporter in ("torchscript", "dynamo"):
            try:
                _export(module, example, staging / MODEL_FILE, exporter, opset, input_names, output_names)
                break
            except Exception as exc:  # noqa: BLE001 - try the other exporter, then report both
                errors.append(f"{exporter}: {type(exc).__name__}: {first_line(exc, 200)}")
                for leftover in staging.iterdir():
                    leftover.unlink() if leftover.is_file() else shutil.rmtree(leftover)
        else:
            raise CalibError(f"{model.name}: torch.onnx.export failed ({'; '.join(errors)})")
        export_s = time.perf_counter() - started
        (staging / "exporter.txt").write_text(exporter)
        shutil.rmtree(folder, ignore_errors=True)  # a half-written folder from a crashed run
        os.replace(staging, folder)  # atomic: a concurrent run sees all of it or none
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportedOnnx(path, exporter, opset, export_s, cached=False)


def _export(module, example, path: Path, exporter: str, opset: int, input_names, output_names) -> None:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation chatter from the TorchScript exporter
        if exporter == "torchscript":
            axes = {name: {0: "batch"} for name in [*input_names, *output_names]}
            torch.onnx.export(module, example, str(path), dynamo=False, opset_version=opset,
                              input_names=input_names, output_names=output_names, dynamic_axes=axes,
                              do_constant_folding=True)
        else:
            batch = torch.export.Dim("batch", min=1)
            shapes = tuple({0: batch} for _ in example)
            program = torch.onnx.export(module, example, dynamo=True, opset_version=max(opset, 18),
                                        input_names=input_names, output_names=output_names,
                                        dynamic_shapes=shapes)
            program.save(str(path), external_data=_too_big_for_protobuf(module))


def _too_big_for_protobuf(module) -> bool:
    from calib.backends.base import module_size_bytes

    return module_size_bytes(module) > PROTOBUF_LIMIT_BYTES


def model_key(model, opset: int) -> str:
    """Hash of weights, architecture (its repr), input shape/kind, opset and torch version."""
    import torch

    digest = hashlib.sha256()
    digest.update(f"{type(model.module).__qualname__}|{model.module!r}|{model.input_kind}|"
                  f"{tuple(model.item_shape)}|opset{opset}|torch{torch.__version__}".encode())
    for name, tensor in model.module.state_dict().items():
        digest.update(name.encode())
        digest.update(str(tensor.dtype).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes() if tensor.dtype != torch.bfloat16
                      else tensor.detach().float().cpu().numpy().tobytes())
    safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in model.name)[:40]
    return f"{safe_name}-{digest.hexdigest()[:16]}"


def file_digest(path: Path) -> str:
    """Content hash of an ONNX file and its external data (cache key for derived files)."""
    digest = hashlib.sha256()
    for part in onnx_files(path):
        with open(part, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def onnx_files(path: Path) -> list[Path]:
    """The .onnx file plus every external-data file it refers to."""
    import onnx
    from onnx.external_data_helper import ExternalDataInfo, _get_all_tensors, uses_external_data

    proto = onnx.load(str(path), load_external_data=False)
    locations = {ExternalDataInfo(t).location for t in _get_all_tensors(proto) if uses_external_data(t)}
    return [Path(path)] + [Path(path).parent / location for location in sorted(locations)]


def onnx_size_bytes(path: Path) -> int:
    return sum(part.stat().st_size for part in onnx_files(path) if part.exists())


def save_onnx(proto, path: Path) -> None:
    """Save, moving weights to one external-data file when the graph passes the protobuf limit."""
    import onnx

    if proto.ByteSize() > PROTOBUF_LIMIT_BYTES:
        onnx.save_model(proto, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=Path(path).name + ".data")
    else:
        onnx.save_model(proto, str(path))
