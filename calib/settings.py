"""Typed settings: what the CLI reads from its options and hands down, validated once, defaults once.

Like optimum-benchmark's per-backend config dataclasses: each group is a frozen dataclass whose
__post_init__ rejects bad values with a one-line UsageError (exit 2) before any work starts.
The CLI builds them (calib.cli._options); everything below receives the group it uses:
  CalibrationSettings -> int8-static on every backend (calib.quant, calib.backends.onnx_convert)
  FidelitySettings    -> the accuracy pass (calib.fidelity)
  Int8Settings        -> PyTorch's int8 path and engine (calib.quant; bench scripts pin them)
  CompileSettings     -> torch.compile (calib.backends.torch_compile)
  LayerSettings       -> the per-layer pass (calib.layers)
The timing settings live with the engine (calib.timing.engine.TimingSettings).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from calib.errors import UsageError
from calib.user_files import parse_eval_spec

# --calib-data: "auto" (the default: the inputs --eval feeds the fp32 reference pass, captured; random
# inputs without --eval), "eval" (those, and an error without --eval), "random", "digits", or a path
# (calib.quant.calibration_data.source_kind says which kinds of path)
CALIBRATION_SOURCES = ("auto", "eval", "random", "digits")
CALIBRATION_PATH_SUFFIXES = (".npy", ".npz", ".jsonl")  # a file of inputs; or file.py:fn, or a folder
DEFAULT_CALIBRATION_ITEMS = 32  # random or given data, when --calib-samples is not given
DEFAULT_CAPTURED_ITEMS = 128  # items of --eval's inputs kept for calibration, when --calib-samples is not given
CALIBRATION_METHODS = ("minmax", "percentile", "entropy")
QSCHEMES = ("symmetric", "affine")
WEIGHT_GRANULARITIES = ("per-channel", "per-tensor")
TEXT_DATA_SUFFIXES = (".jsonl", ".csv")  # --eval-data of text/label rows (calib.fidelity.datasets)
CALIBRATION_FILE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".npy", ".pt")
INT8_PATHS = ("auto", "fx", "pt2e")
ORT_INT8_TYPES = ("u8s8", "s8s8")  # activation/weight types of ONNX Runtime's QDQ int8
MEMORY_FORMATS = ("contiguous", "channels_last")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def check_finite(flag: str, value) -> None:
    """NaN and Inf pass every comparison check the wrong way: refuse them by name."""
    import math

    if value is not None and not math.isfinite(value):
        raise UsageError(f"{flag} {value}: must be a finite number")


def check_percentile(percentile: float) -> None:
    """A percentile observer clips at this percentile of |activations|: below 50 it clips most of them."""
    if not 50 < percentile <= 100:
        raise UsageError(f"--calib-percentile {percentile:g}: must be in (50, 100]")


def _choice(flag: str, value, choices) -> None:
    if value not in choices:
        raise UsageError(f"{flag} {value!r}: choose from {', '.join(choices)}")


@dataclass(frozen=True)
class CalibrationSettings:
    """int8 static calibration: data (auto, eval, random, digits, a folder, .npy/.npz/.jsonl, file.py:fn),
    how many items (None: DEFAULT_CAPTURED_ITEMS of captured --eval inputs, else DEFAULT_CALIBRATION_ITEMS),
    the activation observer (method, percentile, qscheme) and the weight granularity."""
    data: str = "auto"
    samples: int | None = None
    method: str = "minmax"
    percentile: float = 99.99
    qscheme: str = "affine"
    weight_granularity: str = "per-channel"

    def __post_init__(self):
        if self.samples is not None and self.samples <= 0:
            raise UsageError(f"--calib-samples {self.samples}: must be positive")
        _choice("--calib-method", self.method, CALIBRATION_METHODS)
        _choice("--qscheme", self.qscheme, QSCHEMES)
        _choice("--weight-granularity", self.weight_granularity, WEIGHT_GRANULARITIES)
        check_percentile(self.percentile)
        if self.data not in CALIBRATION_SOURCES:
            _check_calibration_path(self.data)

    def items(self, captured: bool = False) -> int:
        """How many calibration items: --calib-samples, else the default for the kind of data."""
        if self.samples is not None:
            return self.samples
        return DEFAULT_CAPTURED_ITEMS if captured else DEFAULT_CALIBRATION_ITEMS

    def to_dict(self) -> dict:
        """As recorded (percentile only where it is used)."""
        recorded = asdict(self)
        if self.method != "percentile":
            recorded.pop("percentile")
        return recorded


def _check_calibration_path(data: str) -> None:
    """--calib-data PATH exists and is a kind calib reads (one-line UsageError before any work)."""
    text = str(data)
    file_part, colon, function = text.rpartition(":")
    if colon and file_part.endswith(".py"):
        if not Path(file_part).is_file():
            raise UsageError(f"--calib-data {data}: no such file {file_part}")
        if not function.isidentifier():
            raise UsageError(f"--calib-data {data}: {function!r} is not a function name")
        return
    path = Path(text)
    if path.suffix.lower() == ".py":
        raise UsageError(f"--calib-data {data}: expected file.py:function (a function returning or yielding "
                         "batches of inputs)")
    if path.suffix.lower() in CALIBRATION_PATH_SUFFIXES:
        if not path.is_file():
            raise UsageError(f"--calib-data {data}: no such file")
        return
    if not path.is_dir():
        raise UsageError(f"--calib-data {data}: not auto, eval, random, digits, a folder, a .npy/.npz/.jsonl "
                         "file or file.py:function")
    if not any(p.suffix.lower() in CALIBRATION_FILE_SUFFIXES for p in path.rglob("*")):
        raise UsageError(f"--calib-data {data}: no images, .npy or .pt files in it")


@dataclass(frozen=True)
class FidelitySettings:
    """The accuracy pass: labelled data (an image folder with its preprocessing, or a .jsonl/.csv of
    text/label rows for text models), the user's evaluation function (--eval path.py:fn, imported by
    the sweep before any timing: calib.fidelity.user_eval) and the budget."""
    eval_data: str | None = None
    eval_size: int | None = None
    eval_mean: tuple[float, ...] | None = None
    eval_std: tuple[float, ...] | None = None
    max_drop: float | None = None
    eval_fn: str | None = None  # path.py:fn

    def __post_init__(self):
        if self.eval_data is not None:
            data = Path(self.eval_data)
            if data.suffix.lower() in TEXT_DATA_SUFFIXES:
                if not data.is_file():
                    raise UsageError(f"--eval-data {self.eval_data}: no such file")
            elif not data.is_dir():
                raise UsageError(f"--eval-data {self.eval_data}: not a directory (expected one sub-folder per "
                                 "class) nor a .jsonl/.csv file of text and label fields")
        if self.eval_fn is not None:
            parse_eval_spec(self.eval_fn)  # the file exists and the name is a name; imported by the sweep
        check_finite("--max-drop", self.max_drop)
        for flag, values in (("--eval-mean", self.eval_mean), ("--eval-std", self.eval_std)):
            for value in values or ():
                check_finite(flag, value)
        if self.eval_size is not None and self.eval_size <= 0:
            raise UsageError(f"--eval-size {self.eval_size}: must be positive")
        if self.eval_std is not None and any(value <= 0 for value in self.eval_std):
            raise UsageError("--eval-std values must be positive")
        if self.max_drop is not None and not self.max_drop >= 0:
            raise UsageError(f"--max-drop {self.max_drop:g}: must be zero or more")

    @classmethod
    def from_cli(cls, eval_data=None, eval_size=None, eval_mean: str | None = None, eval_std: str | None = None,
                 max_drop=None, eval_fn: str | None = None) -> "FidelitySettings":
        """From the command line's text values (--eval-mean 0.485,0.456,0.406)."""
        return cls(eval_data=None if eval_data in (None, "") else str(eval_data), eval_size=eval_size,
                   eval_mean=parse_floats("--eval-mean", eval_mean), eval_std=parse_floats("--eval-std", eval_std),
                   max_drop=max_drop, eval_fn=None if eval_fn in (None, "") else str(eval_fn))


@dataclass(frozen=True)
class Int8Settings:
    """int8 implementation choices: PyTorch's static path (auto: FX, PT2E where FX cannot trace) and
    quantized engine (None: the hardware rule table's, calib.quant.engine), ONNX Runtime's QDQ
    activation/weight types (None: the rule table's). calib.tuning measures these as candidates."""
    path: str = "auto"
    engine: str | None = None
    ort_types: str | None = None
    # Layers kept in float (mixed precision, calib.sensitivity's fallback), named in the namespace of
    # the backend that quantizes: torch module paths, ONNX node names, OpenVINO op names.
    keep_float: tuple[str, ...] = ()
    # The reverse, for the sensitivity pass: when set, only these layers are quantized, everything else float.
    quantize_only: tuple[str, ...] = ()

    def __post_init__(self):
        _choice("int8 path", self.path, INT8_PATHS)
        if self.ort_types is not None:
            _choice("ONNX Runtime int8 types", self.ort_types, ORT_INT8_TYPES)


@dataclass(frozen=True)
class TuneSettings:
    """Candidates (calib.tuning): time each implementation of a configuration briefly, interleaved,
    and keep the fastest whose outputs are as good as the rule's first choice. `enabled` False
    (--no-tune): the rule's first candidate; `pin` ("channels_last", "s8s8", ...): that candidate
    wherever a configuration has one of that name (what a CI gate pins on both sides)."""
    enabled: bool = True
    budget_s: float = 1.5  # of timed rounds per configuration, all candidates together
    rounds: int = 6
    pin: str | None = None

    def __post_init__(self):
        check_finite("tuning budget", self.budget_s)
        if self.budget_s <= 0 or self.rounds < 2:
            raise UsageError("tuning needs a positive budget and at least 2 rounds")


@dataclass(frozen=True)
class CompileSettings:
    """torch.compile for --backend torch-compile."""
    mode: str = "default"

    def __post_init__(self):
        _choice("--compile-mode", self.mode, COMPILE_MODES)


@dataclass(frozen=True)
class LayerSettings:
    """The per-layer pass: `repeats` passes (None: as many as fit `budget_s`, 3 to 50)."""
    budget_s: float = 2.0
    repeats: int | None = None

    def __post_init__(self):
        if self.repeats is not None and self.repeats <= 0:
            raise UsageError(f"layer pass repeats {self.repeats}: must be positive")


def parse_floats(flag: str, text: str | None) -> tuple[float, ...] | None:
    """'0.485,0.456,0.406' -> (0.485, 0.456, 0.406); None stays None."""
    if text in (None, ""):
        return None
    try:
        return tuple(float(part) for part in str(text).split(",") if part.strip())
    except ValueError:
        raise UsageError(f"{flag} {text!r}: expected comma-separated numbers, e.g. 0.485,0.456,0.406") from None
