import textwrap

import numpy as np
import pytest
import torch

from calib.errors import UsageError
from calib.fidelity.user_eval import EvalScore, Predictor, checked_score, load_eval, parse_spec


def _write(tmp_path, body: str, name: str = "ev.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def test_load_and_score_a_dict_with_extras(tmp_path):
    path = _write(tmp_path, """
        import numpy as np
        def fn(predict):
            out = predict(np.ones((3, 2), dtype=np.float32))
            return {"score": float(out.sum()) / 24, "items": out.shape[0]}
    """)
    user_eval = load_eval(f"{path}:fn")
    result = user_eval.score(Predictor(lambda inputs: inputs[0] * 2, batch_size=1))
    assert isinstance(result, EvalScore)
    assert result.score == pytest.approx(0.5) and result.extras == {"items": 3} and result.seconds >= 0


def test_default_function_name_is_evaluate(tmp_path):
    path = _write(tmp_path, "def evaluate(predict):\n    return 1\n")
    assert load_eval(str(path)).function_name == "evaluate"
    assert parse_spec(f"{path}:other")[1] == "other"


@pytest.mark.parametrize("spec_of, message", [
    (lambda p: f"{p.parent / 'missing.py'}:fn", "no such file"),
    (lambda p: f"{p}:nothere", "has no function 'nothere'"),
    (lambda p: f"{p}:VALUE", "not a function"),
    (lambda p: f"{p.with_suffix('.txt')}:fn", "expected path.py:function"),
])
def test_bad_specs_are_one_line_usage_errors(tmp_path, spec_of, message):
    path = _write(tmp_path, "VALUE = 3\ndef fn(predict):\n    return 0.5\n")
    with pytest.raises(UsageError) as caught:
        load_eval(spec_of(path))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_import_error_is_one_line(tmp_path):
    path = _write(tmp_path, "import not_a_module_anywhere\n")
    with pytest.raises(UsageError, match="cannot import .*ModuleNotFoundError"):
        load_eval(f"{path}:fn")


@pytest.mark.parametrize("returned, message", [
    (None, "not a score"), ("0.5", "not a score"), (True, "not a score"), (93.0, "must be in \\[0, 1\\]"),
    (float("nan"), "must be in"), ({"accuracy": 0.9}, "without a 'score' key"),
    ({"score": 0.9, "note": "text"}, "extras must be numbers"),
])
def test_non_scores_are_refused(returned, message):
    with pytest.raises(UsageError, match=message):
        checked_score("f.py:fn", returned)


def test_numpy_and_torch_scalars_are_scores():
    assert checked_score("f.py:fn", np.float32(0.25))[0] == pytest.approx(0.25)
    assert checked_score("f.py:fn", torch.tensor(0.75))[0] == pytest.approx(0.75)


def test_function_that_raises_is_one_line(tmp_path):
    path = _write(tmp_path, "def fn(predict):\n    raise RuntimeError('broken\\nsecond line')\n")
    with pytest.raises(UsageError, match="raised RuntimeError: broken$"):
        load_eval(f"{path}:fn").score(Predictor(lambda inputs: inputs[0], 1))


def test_predictor_splits_and_pads_for_a_fixed_batch_backend():
    seen = []

    def run_on(inputs):  # a fixed-batch graph: 4 items per call only
        assert inputs[0].shape[0] == 4
        seen.append(inputs[0].shape[0])
        return inputs[0].to(torch.bfloat16) * 3, inputs[0][:, :1]

    predict = Predictor(run_on, batch_size=4, fixed_batch=True)
    first, second = predict(np.arange(20, dtype=np.float64).reshape(10, 2))
    assert first.dtype == np.float32 and first.shape == (10, 2) and second.shape == (10, 1)
    np.testing.assert_allclose(first[:, 0], np.arange(0, 20, 2) * 3)
    assert seen == [4, 4, 4]
    assert "split into batches of 4" in predict.describe() and "2 padding items" in predict.describe()


def test_predictor_falls_back_to_the_bound_batch_when_refused():
    def run_on(inputs):
        if inputs[0].shape[0] != 2:
            raise RuntimeError("Got invalid dimensions for input")
        return inputs[0] + 1

    predict = Predictor(run_on, batch_size=2)
    out = predict(torch.zeros(5, 3))
    assert out.shape == (5, 3) and (out == 1).all()
    assert "a batch of 5 failed (RuntimeError" in predict.describe()


def test_predictor_takes_tuples_for_multi_input_models():
    predict = Predictor(lambda inputs: inputs[0] + inputs[1], batch_size=1)
    np.testing.assert_array_equal(predict((np.ones((2, 2)), torch.ones(2, 2))), np.full((2, 2), 2.0))
    with pytest.raises(UsageError, match="same batch size"):
        predict((np.ones((2, 2)), np.ones((3, 2))))
