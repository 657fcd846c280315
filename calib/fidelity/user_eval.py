"""--eval path.py:fn: the user's own evaluation, called once per configuration, outside the timed region.

    def fn(predict) -> float | dict:
        outputs = predict(inputs)      # numpy array / torch tensor batch, or a tuple for multi-input models
        ...
        return 0.93                    # a score in [0, 1], higher is better
        # or {"score": 0.93, "top5": 0.99, "items": 500}: the score plus any other numbers to record

`predict(inputs)` runs the prepared model of one configuration (any backend, any precision) and
returns numpy arrays (float32 for float outputs: numpy has no bfloat16): one array for a single
output, else a tuple in output order. Any batch size: a backend whose graph takes one batch size
only (a fixed-batch export) gets the inputs split into calls of that size, the last one padded by
repeating its final item, and the padding trimmed from the outputs; `Predictor.describe()` says
what was done, and the record keeps it. `predict.item_shape` is the shape of one input item calib
measures (e.g. (128,) token ids at --seq-len 128: pad text to it, as exported graphs fix that
dimension) and `predict.batch_size` the configuration's batch size.

The public API (the mixed-precision fallback search reuses it):
    user_eval = load_eval("models/eval_digits.py:evaluate")   # UsageError (exit 2) on a bad spec
    result = user_eval.score(predict)                        # EvalScore(score, extras, seconds)
    predictor = Predictor(run_on, batch_size, fixed_batch)   # a predict() over a Prepared's run_on
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from calib.errors import UserEvalError, first_line
from calib.user_files import EVAL_FLAG as FLAG
from calib.user_files import UserCodeExit, UserCodeTimeout, call_user, described, import_file
from calib.user_files import parse_eval_spec as parse_spec  # the spec's check, which calib.settings also makes


@dataclass(frozen=True)
class EvalScore:
    score: float  # in [0, 1], higher is better
    extras: dict = field(default_factory=dict)  # the other numbers the function returned
    seconds: float = 0.0  # wall time of the call (predictions included)


@dataclass(frozen=True)
class UserEval:
    spec: str  # as given: path.py:fn
    path: Path
    function_name: str
    function: Callable = field(repr=False, compare=False)
    limit_s: float | None = None  # seconds one call may take (calib.user_files.call_user); None: no limit

    def score(self, predict: Callable) -> EvalScore:
        """Call the function once with `predict`, supervised (calib.user_files.call_user: sys.exit() in it is
        its failure, and `limit_s` holds); its return value checked (UserEvalError if not a score)."""
        started = time.perf_counter()
        try:
            returned = call_user(self.function, predict, limit_s=self.limit_s)
        except UserEvalError:
            raise
        except (UserCodeExit, UserCodeTimeout) as exc:
            raise UserEvalError(f"{FLAG} {self.spec}: {described(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - whatever it raises is about the user's function
            raise UserEvalError(f"{FLAG} {self.spec} raised {type(exc).__name__}: {first_line(exc, 200)}") from None
        seconds = time.perf_counter() - started
        score, extras = checked_score(self.spec, returned)
        return EvalScore(score, extras, seconds)


def load_eval(spec: str) -> UserEval:
    """Import `path.py:fn` (fn defaults to `evaluate`); one-line UsageError when it cannot be used."""
    path, function_name = parse_spec(spec)
    try:
        module = import_file(path, "calib_user_eval")
    except Exception as exc:  # noqa: BLE001 - an import error of the user's file, said in one line
        raise UserEvalError(f"{FLAG} {spec}: cannot import {path} ({described(exc)})") from None
    function = getattr(module, function_name, None)
    if function is None:
        raise UserEvalError(f"{FLAG} {spec}: {path} has no function {function_name!r}")
    if not callable(function):
        raise UserEvalError(f"{FLAG} {spec}: {function_name} in {path} is a {type(function).__name__}, "
                            "not a function")
    return UserEval(spec, path, function_name, function)


def checked_score(spec: str, returned) -> tuple[float, dict]:
    """(score, extras) from what the function returned, or UserEvalError saying what is wrong."""
    extras: dict = {}
    if isinstance(returned, dict):
        if "score" not in returned:
            raise UserEvalError(f"{FLAG} {spec} returned a dict without a 'score' key "
                                f"(keys: {', '.join(map(str, returned)) or 'none'})")
        for key, value in returned.items():
            if key == "score":
                continue
            if not _is_number(value):
                raise UserEvalError(f"{FLAG} {spec} returned {key!r}: {_shown(value)}; extras must be numbers")
            extras[str(key)] = float(value) if not isinstance(value, numbers.Integral) else int(value)
        returned = returned["score"]
    if not _is_number(returned):
        raise UserEvalError(f"{FLAG} {spec} returned {_shown(returned)}, not a score (a number in [0, 1] or a "
                            "dict with a 'score' key)")
    score = float(returned)
    if not (math.isfinite(score) and 0.0 <= score <= 1.0):
        raise UserEvalError(f"{FLAG} {spec} returned score {score:g}: a score must be in [0, 1] (higher is better; "
                            "give accuracy 0.93, not 93)")
    return score, extras


def _is_number(value) -> bool:
    """A real number (numpy and 0-d torch scalars included), not a bool."""
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Real):
        return True
    item = getattr(value, "item", None)
    shape = getattr(value, "shape", None)
    if item is not None and shape is not None and tuple(shape) in ((), (1,)):
        return isinstance(item(), numbers.Real) and not isinstance(item(), bool)
    return False


def _shown(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


class Predictor:
    """predict(inputs) over a prepared model's `run_on` (one call at the bound batch size).

    `fixed_batch`: the backend takes `batch_size` items per call only, so every request is split
    into calls of that size (the last padded). Otherwise a request goes in whole; if the backend
    refuses it, and calls of `batch_size` work, every later request is split too (and that is said)."""

    def __init__(self, run_on: Callable[[tuple], object], batch_size: int, fixed_batch: bool = False,
                 item_shape: tuple[int, ...] | None = None):
        self.run_on, self.batch_size, self.fixed_batch = run_on, batch_size, fixed_batch
        self.item_shape = tuple(item_shape) if item_shape is not None else None  # one item, e.g. (128,) tokens
        self.split = fixed_batch
        self.split_reason = "its graph takes one batch size only" if fixed_batch else ""
        self.requests = self.items = self.backend_calls = self.padded_items = 0

    def __call__(self, inputs):
        tensors = _as_tensors(inputs)
        count = int(tensors[0].shape[0]) if tensors[0].dim() > 0 else 1
        if any(t.dim() == 0 or int(t.shape[0]) != count for t in tensors):
            raise UserEvalError(f"predict(): every input needs the same batch size as the first ({count})")
        self.requests += 1
        self.items += count
        if not self.split and count != self.batch_size:
            try:
                return _as_numpy(self._call(tensors))
            except Exception as exc:  # noqa: BLE001 - the backend refused this batch size: try its own
                try:
                    outputs = self._split_calls(tensors, count)
                except Exception:  # noqa: BLE001 - the split calls fail too: the first error is the real one
                    self.backend_calls += 1
                    raise exc from None
                self.split = True
                self.split_reason = f"a batch of {count} failed ({type(exc).__name__}: {first_line(exc, 120)})"
                return outputs
        if self.split and count != self.batch_size:
            return self._split_calls(tensors, count)
        return _as_numpy(self._call(tensors))

    def _call(self, tensors: tuple):
        self.backend_calls += 1
        return self.run_on(tensors)

    def _split_calls(self, tensors: tuple, count: int):
        import torch

        pieces = []
        for start in range(0, count, self.batch_size):
            chunk = tuple(t[start:start + self.batch_size] for t in tensors)
            real = int(chunk[0].shape[0])
            if real < self.batch_size:
                pad = self.batch_size - real
                chunk = tuple(torch.cat([t, t[-1:].expand(pad, *t.shape[1:])]) for t in chunk)
                self.padded_items += pad
            outputs = _output_list(self._call(chunk))
            pieces.append([o[:real] for o in outputs])
        joined = [torch.cat([piece[index] for piece in pieces]) for index in range(len(pieces[0]))]
        return _as_numpy(joined[0] if len(joined) == 1 else tuple(joined))

    def describe(self) -> str:
        """What was done with the user's batches, for the record."""
        if not self.requests:
            return "predict() was not called"
        said = (f"{self.requests} predict() call{'s' if self.requests != 1 else ''}, {self.items} items, "
                f"{self.backend_calls} backend call{'s' if self.backend_calls != 1 else ''}")
        if self.split:
            said += (f"; split into batches of {self.batch_size} ({self.split_reason})"
                     + (f", {self.padded_items} padding items trimmed" if self.padded_items else ""))
        else:
            said += "; batches passed whole"
        return said


def _as_tensors(inputs) -> tuple:
    import numpy
    import torch

    items = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
    tensors = []
    for item in items:
        if isinstance(item, torch.Tensor):
            tensors.append(item.detach().cpu())
        elif isinstance(item, numpy.ndarray) or isinstance(item, (list, numbers.Number)):
            array = numpy.asarray(item)
            if array.dtype == numpy.float64:
                array = array.astype(numpy.float32)
            tensors.append(torch.from_numpy(numpy.ascontiguousarray(array)))
        else:
            raise UserEvalError(f"predict() takes numpy arrays or torch tensors (or a tuple of them), "
                                f"not {type(item).__name__}")
    if not tensors:
        raise UserEvalError("predict() got no inputs")
    return tuple(tensors)


def _output_list(outputs) -> list:
    if isinstance(outputs, (tuple, list)):
        return list(outputs)
    if isinstance(outputs, dict):
        return list(outputs.values())
    return [outputs]


def _as_numpy(outputs):
    import torch

    arrays = []
    for output in _output_list(outputs):
        if isinstance(output, torch.Tensor):
            output = output.detach().cpu()
            if output.is_floating_point() and output.dtype != torch.float64:
                output = output.float()  # bf16/fp16 outputs: numpy has no bfloat16
            arrays.append(output.numpy())
        else:
            import numpy

            arrays.append(numpy.asarray(output))
    return arrays[0] if len(arrays) == 1 else tuple(arrays)


__all__ = ["EvalScore", "UserEval", "UserEvalError", "Predictor", "load_eval", "parse_spec", "checked_score"]
