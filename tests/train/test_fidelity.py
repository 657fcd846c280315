"""Loss-curve deviation, accuracy drop and the --max-drop budget on hand-made train records."""

from calib.train.record import add_fidelity


def _record(precision, loss, accuracy=None, nonfinite=()):
    return {"identity": {"precision": precision}, "status": "ok", "summary": {"median_ms": 10.0},
            "training": {"loss": loss, "eval": {"accuracy": accuracy, "count": 100} if accuracy is not None else None,
                         "nonfinite": {"loss_steps": list(nonfinite), "grad_steps": []}}}


def test_deviation_is_against_the_baseline_curve_step_by_step():
    records = [_record("fp32", [2.0, 1.0, 0.5]), _record("bf16", [2.0, 1.25, 0.4])]
    add_fidelity(records, "fp32")
    bf16 = records[1]["training"]
    assert bf16["loss_max_deviation"] == 0.25 and bf16["loss_max_deviation_step"] == 1
    assert abs(bf16["loss_final_deviation"] - (-0.1)) < 1e-12
    assert records[1]["fidelity"] is None  # no labels, no NaN: nothing for the accuracy budget


def test_max_drop_fails_an_accuracy_loss_over_it_and_any_nan():
    records = [_record("fp32", [1.0, 0.5], 0.95), _record("amp-bf16", [1.0, 0.6], 0.90),
               _record("bf16", [1.0, 0.5], 0.945), _record("amp-fp16", [1.0, float("nan")], 0.95, nonfinite=[1])]
    add_fidelity(records, "fp32", max_drop=1.0)
    fp32, amp, bf16, fp16 = (r["fidelity"] for r in records)
    assert fp32["is_reference"] and fp32["passed"] is True
    assert abs(amp["accuracy_drop"] - 5.0) < 1e-9 and amp["passed"] is False and "accuracy drop" in amp["judgement"]
    assert bf16["passed"] is True
    assert fp16["passed"] is False and "NaN" in fp16["judgement"] and fp16["compact"].startswith("NaN x1")


def test_without_a_budget_nothing_fails():
    records = [_record("fp32", [1.0], 0.95), _record("amp-bf16", [1.0], 0.5)]
    add_fidelity(records, "fp32")
    assert records[1]["fidelity"]["passed"] is None
