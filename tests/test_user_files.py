"""calib/user_files.py: the user's .py files, below the settings floor; the old names still answer."""

import pytest

from calib import user_files
from calib.errors import UserEvalError
from calib.settings import FidelitySettings


def test_eval_spec(tmp_path):
    path = tmp_path / "ev.py"
    path.write_text("def evaluate(predict):\n    return 1.0\n")
    assert user_files.parse_eval_spec(f"{path}:fn") == (path, "fn")
    assert user_files.parse_eval_spec(str(path)) == (path, "evaluate")
    with pytest.raises(UserEvalError, match="no such file"):
        user_files.parse_eval_spec(str(tmp_path / "missing.py"))
    with pytest.raises(UserEvalError, match="is not a function name"):
        user_files.parse_eval_spec(f"{path}:not-a-name")
    with pytest.raises(UserEvalError, match="--eval .*: no such file"):
        FidelitySettings(eval_fn=str(tmp_path / "missing.py"))  # checked without importing calib.fidelity


def test_import_file_leaves_no_half_imported_module(tmp_path):
    import sys

    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_text("VALUE = 3\n")
    bad.write_text("raise RuntimeError('no')\n")
    assert user_files.import_file(good, "calib_test").VALUE == 3
    before = set(sys.modules)
    with pytest.raises(RuntimeError):
        user_files.import_file(bad, "calib_test")
    assert set(sys.modules) == before


def test_the_old_names_are_the_same_functions():
    from calib.fidelity.user_eval import parse_spec
    from calib.models.loader import import_file

    assert parse_spec is user_files.parse_eval_spec and import_file is user_files.import_file
