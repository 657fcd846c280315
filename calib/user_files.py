"""The user's own Python files that calib runs: a `path.py:function` spec read without importing anything,
and a .py file imported as a module of its own.

On the foundation floor, so that checking an option's spec at construction (calib.settings, --eval) needs
nothing above it; the importers are calib.models.loader (file.py:factory), calib.fidelity.user_eval
(--eval) and calib.quant.calibration_data (--calib-data file.py:fn)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from calib.errors import UserEvalError

EVAL_FLAG = "--eval"
DEFAULT_EVAL_FUNCTION = "evaluate"  # --eval path.py without :fn


def parse_eval_spec(spec: str) -> tuple[Path, str]:
    """'dir/f.py:fn' -> (Path('dir/f.py'), 'fn'); the file must exist (checked without importing it)."""
    text = str(spec).strip()
    path_text, colon, function_name = text.rpartition(":")
    if not colon or not path_text.endswith(".py"):  # no ':fn', or a ':' inside the path only
        path_text, function_name = text, DEFAULT_EVAL_FUNCTION
    path = Path(path_text)
    if path.suffix != ".py":
        raise UserEvalError(f"{EVAL_FLAG} {spec}: expected path.py:function")
    if not function_name.isidentifier():
        raise UserEvalError(f"{EVAL_FLAG} {spec}: {function_name!r} is not a function name")
    if not path.is_file():
        raise UserEvalError(f"{EVAL_FLAG} {spec}: no such file {path}")
    return path, function_name


def import_file(path: Path, prefix: str):
    """Import a user's .py file as a module of its own (named from its resolved path); whatever it
    raises is raised, and the half-imported module is not left in sys.modules."""
    module_name = f"{prefix}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module
