"""calib run --eval path.py:fn: the score per configuration, its drop, the budget, and one-line errors."""

import textwrap

import pytest

from calib.cli import main
from calib.results.store import load_result

KNOWN = """
    import numpy as np
    def known(predict):
        out = predict(np.ones((7, 64), dtype=np.float32))   # any batch size
        assert out.shape[0] == 7 and out.dtype == np.float32
        return {"score": 0.75, "rows": out.shape[0]}
    def agreement(predict):
        # the share of fixed inputs whose argmax is LABELS's: bf16 may move some of them
        x = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
        return float((predict(x).argmax(1) == LABELS).mean())
    def bad(predict):
        return "high"
"""


def _eval_file(tmp_path, extra=""):
    path = tmp_path / "my_eval.py"
    path.write_text(textwrap.dedent(KNOWN) + extra)
    return path


def _run(runner, args):
    return runner.invoke(main, args, catch_exceptions=False)


def test_eval_score_is_recorded_with_its_drop(runner, fast_options, tmp_path):
    path, out = _eval_file(tmp_path), tmp_path / "r.json"
    result = _run(runner, ["run", "-b", "torch", "--model", "tiny-mlp", "-p", "fp32,int8-dynamic", "--eval", f"{path}:known",
                           "--max-drop", "1", "--timeout", "0", "--out", str(out), *fast_options])
    assert result.exit_code == 0, result.output
    fp32, int8 = (record["fidelity"] for record in load_result(out)["records"])
    assert fp32["score"] == 0.75 and fp32["score_reference"] == "itself" and fp32["score_extras"] == {"rows": 7}
    assert int8["score"] == 0.75 and int8["score_drop"] == 0 and int8["score_reference"] == "torch fp32"
    assert int8["passed"] is True and "--eval score drop 0.00" in int8["judgement"]
    assert int8["score_s"] >= 0 and "7 items" in int8["predict"]
    assert "score 75.0 (ref)" in result.output and "score 75.0 (+0.0)" in result.output


def test_eval_drop_over_budget_fails_the_run(runner, fast_options, tmp_path):
    labels = "\nimport numpy as _np\nLABELS = _np.arange(64) % 3\n"
    path, out = _eval_file(tmp_path, labels), tmp_path / "r.json"
    result = _run(runner, ["run", "--model", "tiny-mlp", "-p", "fp32,bf16", "--eval", f"{path}:agreement",
                           "--max-drop", "0", "--timeout", "0", "--out", str(out), *fast_options])
    records = load_result(out)["records"]
    fidelity = records[1]["fidelity"]
    assert fidelity["score_drop"] == pytest.approx(100 * (fidelity["reference_score"] - fidelity["score"]))
    assert (result.exit_code == 1) == (fidelity["score_drop"] > 0)


@pytest.mark.parametrize("spec, message", [
    ("{dir}/nowhere.py:fn", "--eval {dir}/nowhere.py:fn: no such file"),
    ("{path}:missing", "has no function 'missing'"),
    ("{path}:bad", "returned str 'high', not a score"),
])
def test_bad_eval_exits_2_with_one_line_before_any_timing(runner, fast_options, tmp_path, spec, message):
    path, out = _eval_file(tmp_path), tmp_path / "r.json"
    spec = spec.format(dir=tmp_path, path=path)
    result = runner.invoke(main, ["run", "--model", "tiny-mlp", "-p", "fp32,bf16", "--eval", spec,
                                  "--out", str(out), *fast_options])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message.format(dir=tmp_path) in lines[0], result.output
    assert not out.exists()  # nothing was timed


def test_the_kept_candidates_score_is_not_evaluated_twice(runner, fast_options, tmp_path):
    """calib.tuning scores candidates with --eval; the fidelity pass reuses the kept one's score."""
    import json

    calls = tmp_path / "calls.txt"
    evaluation = tmp_path / "counting.py"
    evaluation.write_text(
        "import numpy as np\n"
        f"CALLS = {str(calls)!r}\n"
        "def evaluate(predict):\n"
        "    open(CALLS, 'a').write('x')\n"
        "    predict(np.zeros((2, *predict.item_shape), dtype=np.float32))\n"
        "    return 0.5\n")
    fast_options.remove("--no-tune")  # race the memory formats
    out = tmp_path / "r.json"
    result = _run(runner, ["run", "-b", "torch", "--model", "tiny-cnn", "-p", "fp32", "--eval",
                           f"{evaluation}:evaluate", "--timeout", "0", "--out", str(out), *fast_options])
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())["records"][0]
    scored = [c for c in record["tuning"]["candidates"] if c.get("score") is not None]
    assert scored and record["fidelity"]["score"] == 0.5 and record["fidelity"]["predict"]
    assert len(calls.read_text()) == 1 + len(scored)  # the reference pass, then each scored candidate once
