"""Turn a --model argument into a module plus seeded example inputs.

Accepted: a catalog name, `torchvision:NAME` (any torchvision classifier), `file.py:factory` (factory
returns an nn.Module, or a tuple (module, example_inputs)), a TorchScript file (.pt/.ts/.jit) or a
torch.export file (.pt2).
Files other than .py need --input-shape, since nothing in them says what the input is.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from pathlib import Path

from calib.errors import ModelLoadError, UsageError, first_line
from calib.models.base import SEED, LoadedModel
from calib.models.catalog import CATALOG, get_entry
from calib.models.onnx_model import load_onnx_model
from calib.models.openvino_model import load_ir_model
from calib.models.torchvision_model import PREFIX, is_torchvision_name, load_torchvision
from calib.user_files import call_user, described, import_file  # import_file also calib.quant.calibration_data's (--calib-data file.py:fn)


# One input item past this many elements (8 GiB of fp32) is refused as it is parsed.
MAX_ITEM_ELEMENTS = 2 ** 31


def check_inputs_fit(model) -> None:
    """One fp32 call at batch 1 on the inputs calib will feed (--input-shape / --seq-len) before any work: a
    shape the model cannot take is the user's to fix (exit 2, one line), not a traceback deep in a conversion
    or a failure of every configuration. The model's code runs supervised (calib.user_files.call_user)."""
    import torch

    if model.module is None:
        return
    inputs = model.make_inputs(1)
    try:
        with torch.inference_mode():
            call_user(model.module, *inputs)
    except Exception as exc:  # noqa: BLE001 - whatever the model raises, it is about these inputs
        shapes = ", ".join("x".join(map(str, t.shape)) for t in inputs)
        raise UsageError(f"{model.name} cannot take inputs of shape {shapes} ({described(exc, 160)}): "
                         "check --input-shape / --seq-len") from None


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    parts = [part.strip() for part in text.replace("x", ",").split(",")]
    try:
        if not all(parts):  # "3,x", "3,,224": a dimension is missing
            raise ValueError(text)
        dims = tuple(int(part) for part in parts)
    except ValueError:
        raise UsageError(f"--input-shape {text!r}: expected comma-separated integers, e.g. 3,224,224") from None
    if not dims or any(d <= 0 for d in dims):
        raise UsageError(f"--input-shape {text!r}: dimensions must be positive integers")
    if math.prod(dims) > MAX_ITEM_ELEMENTS:
        raise UsageError(f"--input-shape {text}: one item is {math.prod(dims):,} elements, more than the "
                         f"{MAX_ITEM_ELEMENTS:,} calib takes")
    return dims


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL: no such file
        return False


def load_any(spec: str, input_shape: tuple[int, ...] | None = None, seq_len: int | None = None,
             trust_code: bool = False) -> LoadedModel:
    """Every kind of model `calib run` takes: catalog names, file.py:factory, .pt, .pt2, .onnx and OpenVINO
    IR .xml (a graph has no torch module: only the onnxruntime and openvino backends run it), and Hugging
    Face model directories (hf:DIR, or a DIR with config.json: calib.models.hf)."""
    if spec.startswith("hf:") or _is_file(Path(spec) / "config.json"):
        from calib.models.hf import load_hf  # torch and transformers: only when a Hugging Face model is asked for

        return load_hf(spec, seq_len, input_shape)
    if spec.endswith(".onnx"):
        return load_onnx_model(spec, input_shape)
    if spec.endswith(".xml"):  # an OpenVINO IR (.xml + .bin): only the openvino backend runs it
        return load_ir_model(spec, input_shape)
    return load_model(spec, input_shape, seq_len, trust_code)


def load_model(spec: str, input_shape: tuple[int, ...] | None = None, seq_len: int | None = None,
               trust_code: bool = False) -> LoadedModel:
    """A torch model: catalog name, torchvision:NAME (calib.models.torchvision_model), file.py:factory,
    .pt (TorchScript) or .pt2 (torch.export). trust_code: load a .pt2 whose pickles need more than the
    weights-only unpickler (see load_exported); a .py factory always runs its code, by design."""
    import torch

    torch.manual_seed(SEED)
    if spec in CATALOG:
        entry = get_entry(spec)
        module = entry.build().eval()
        shape = input_shape or entry.input_shape
        vocab = getattr(module, "vocab_size", None)
        if entry.input_kind == "tokens":
            shape = (seq_len,) if seq_len else (input_shape or entry.input_shape)
        return LoadedModel(spec, module, entry.input_kind, tuple(shape), source="catalog",
                           family=entry.family, vocab_size=vocab, weights=entry.weights)

    if spec.startswith(PREFIX):
        return load_torchvision(spec[len(PREFIX):], input_shape)
    path_text, _, factory_name = spec.partition(":")
    path = Path(path_text)
    if path.suffix == ".py" or factory_name:
        return _load_python(path, factory_name or "build", input_shape, seq_len)
    if path.suffix == ".onnx":
        raise UsageError(f"{spec}: ONNX files run with --backend onnxruntime")
    if path.suffix in (".pt", ".ts", ".jit", ".pt2"):
        if not _is_file(path):
            raise ModelLoadError(f"{spec}: no such file")
        if input_shape is None:
            raise UsageError(f"{spec}: a {path.suffix} file does not say its input; give --input-shape (without batch)")
        try:
            fixed_batch = None
            if path.suffix == ".pt2":
                exported = load_exported(path, trust_code)
                fixed_batch = exported_fixed_batch(exported)
                module = exported.module()
            else:
                module = torch.jit.load(str(path), map_location="cpu").eval()
        except ModelLoadError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure to read is the user's file
            raise ModelLoadError(f"{spec}: cannot load ({type(exc).__name__}: {first_line(exc)})") from None
        return LoadedModel(path.name, module, "image" if len(input_shape) > 1 else "features", input_shape,
                           source=str(path), fixed_batch=fixed_batch,
                           fixed_batch_hint="export it with a dynamic batch: torch.export.export(model, args, "
                                            "dynamic_shapes=({0: torch.export.Dim('batch')},))")
    if not _is_file(path) and is_torchvision_name(spec):  # the bare name, as calib predict has taken it
        return load_torchvision(spec, input_shape)
    raise UsageError(f"unknown model {spec!r}; choose from: {', '.join(CATALOG)} "
                     "(or torchvision:NAME, or a file: path.py:factory, .pt TorchScript, .pt2 torch.export)")


def exported_fixed_batch(exported) -> int | None:
    """The batch size a torch.export program is specialised to (its first input's first dimension is a
    plain int), or None when that dimension is symbolic (exported with a dynamic batch)."""
    for node in exported.graph.nodes:
        if node.op != "placeholder" or node.name not in exported.graph_signature.user_inputs:
            continue
        value = node.meta.get("val")
        shape = getattr(value, "shape", None)
        if shape is None or len(shape) == 0:
            return None
        return shape[0] if isinstance(shape[0], int) else None
    return None


# torch.load then uses its weights-only unpickler even where the caller passes weights_only=False
# (torch.export.load does, for sample inputs and pickled weights or constants). Public in torch.load's docs.
_FORCE_WEIGHTS_ONLY, _FORCE_NO_WEIGHTS_ONLY = "TORCH_FORCE_WEIGHTS_ONLY_LOAD", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"
TRUST_OPTION = "--trust-model-file"


def load_exported(path: Path, trust_code: bool = False):
    """torch.export.load without running code the file brings along, unless trust_code.

    torch.export.load unpickles the archive's sample inputs, and any pickled weights and constants,
    falling back to the unrestricted unpickler when the weights-only one refuses (a pickle that calls
    os.system ran inside it). Here every torch.load it makes is forced to the weights-only unpickler
    (tensors, containers, plain numbers: no arbitrary callables), and an archive is refused before
    loading when it holds what torch loads outside torch.load: Python objects it unpickles with plain
    pickle (opaque_obj_*), TorchBind objects (custom_obj_*), or AOTInductor compiled code. The bytes
    are read once, so the file checked is the file loaded."""
    import io
    import pickle

    import torch

    data = Path(path).read_bytes()
    if trust_code:
        return torch.export.load(io.BytesIO(data))
    _refuse_code_members(path, data)
    saved = {name: os.environ.pop(name, None) for name in (_FORCE_WEIGHTS_ONLY, _FORCE_NO_WEIGHTS_ONLY)}
    os.environ[_FORCE_WEIGHTS_ONLY] = "1"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": the refusal below says it all
            return torch.export.load(io.BytesIO(data))
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f"calls {found.group(1)}" if found else "needs more than tensors and plain containers"
        raise ModelLoadError(f"{path}: refused: a pickle inside it {what}, which the weights-only unpickler does "
                             f"not allow (it could run code); pass {TRUST_OPTION} to load a file you trust") from None
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _refuse_code_members(path: Path, data: bytes) -> None:
    """Refuse an archive holding members torch.export.load would load outside torch.load (with
    plain pickle, the TorchBind unpickler or as a shared library). Read with torch's own archive
    reader, so that it sees the members torch will see."""
    import io

    from torch.export.pt2_archive import PT2ArchiveReader

    try:
        reader = PT2ArchiveReader(io.BytesIO(data))
        names = reader.get_file_names()
    except Exception:  # noqa: BLE001 - not this format: torch's older-format reader unpickles only with torch.load
        return
    for name in names:
        lowered = name.lower()
        if "aotinductor/" in lowered:
            what = f"AOTInductor compiled code ({name}), which loading runs"
        elif lowered.endswith(".json") and "config" in lowered and re.search(
                rb"(custom|opaque)_obj_", reader.read_bytes(name).lower()):
            what = f"pickled Python or TorchBind objects (listed in {name}), which torch unpickles without restriction"
        else:
            continue
        raise ModelLoadError(f"{path}: refused: it holds {what}; pass {TRUST_OPTION} to load a file you trust")


def _load_python(path: Path, factory_name: str, input_shape, seq_len) -> LoadedModel:
    import torch

    if not _is_file(path):
        raise ModelLoadError(f"{path}: no such file")
    try:
        user_module = import_file(path, "calib_user")
    except Exception as exc:  # noqa: BLE001
        raise ModelLoadError(f"{path}: cannot import ({described(exc, 300)})") from None
    factory = getattr(user_module, factory_name, None)
    if not callable(factory):
        raise ModelLoadError(f"{path}: has no callable {factory_name!r} (use path.py:factory)")
    try:
        built = call_user(factory)
    except Exception as exc:  # noqa: BLE001 - sys.exit() in it included (calib.user_files.call_user)
        raise ModelLoadError(f"{path}:{factory_name}() failed ({described(exc, 300)})") from None
    example, train_parts = None, ()
    if isinstance(built, tuple):
        built, example, train_parts = built[0], built[1], tuple(built[2:4])
        example = tuple(example) if isinstance(example, (tuple, list)) else (example,)
    if not isinstance(built, torch.nn.Module):
        raise ModelLoadError(f"{path}:{factory_name}() returned {type(built).__name__}, not an nn.Module")
    if example is None and input_shape is None:
        raise UsageError(f"{path}:{factory_name}: give --input-shape or return (module, example_inputs)")
    kind = "tokens" if example is not None and not example[0].is_floating_point() else "image"
    shape = tuple(example[0].shape[1:]) if example is not None else input_shape
    if kind == "tokens" and seq_len:
        shape = (seq_len,)
    return LoadedModel(f"{path.stem}:{factory_name}", built.eval(), kind, shape, source=str(path),
                       example_inputs=example if example is not None and input_shape is None else None,
                       vocab_size=getattr(built, "vocab_size", None), train_parts=train_parts)
