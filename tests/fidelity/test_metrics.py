"""Fidelity metrics on constructed tensors: exact values we can work out by hand."""

import math

import pytest
import torch

from calib.fidelity import budget, metrics


def test_identical_outputs_have_zero_error_and_no_noise():
    outputs = torch.randn(4, 10, generator=torch.Generator().manual_seed(0))
    result = metrics.compare([outputs], [outputs.clone()])
    assert result["max_abs"] == 0 and result["mean_abs"] == 0 and result["rel_error"] == 0
    assert result["cosine"] == pytest.approx(1.0, abs=1e-12)
    assert result["sqnr_db"] is None  # infinite: no noise
    assert result["top1_agreement"] == 1.0 and result["top1_items"] == 4
    assert result["nan_count"] == 0 and result["inf_count"] == 0 and result["elements"] == 40


def test_known_noise_gives_the_sqnr_and_errors_worked_out_by_hand():
    reference = torch.ones(1000, 2) * torch.tensor([1.0, -1.0])  # signal power 1 per element
    noise = torch.full_like(reference, 0.01)  # noise power 1e-4 per element -> 40 dB
    result = metrics.compare([reference + noise], [reference])
    assert result["sqnr_db"] == pytest.approx(40.0, abs=1e-4)  # 0.01 is not exact in fp32
    assert result["max_abs"] == pytest.approx(0.01, rel=1e-5)
    assert result["mean_abs"] == pytest.approx(0.01, rel=1e-5)
    assert result["rel_error"] == pytest.approx(0.01, rel=1e-5)
    assert result["cosine"] == pytest.approx(1 / math.sqrt(1 + 1e-4), rel=1e-9)  # (r+n).r / |r+n||r|


def test_random_noise_sqnr_matches_its_power_ratio():
    generator = torch.Generator().manual_seed(1)
    reference = torch.randn(20000, generator=generator)
    noise = 0.1 * torch.randn(20000, generator=generator)
    expected = 10 * math.log10(float((reference ** 2).sum() / (noise ** 2).sum()))
    assert metrics.compare([reference + noise], [reference])["sqnr_db"] == pytest.approx(expected, rel=1e-4)


def test_nan_and_inf_are_counted_and_fail_any_budget():
    reference = torch.randn(2, 10, generator=torch.Generator().manual_seed(2))
    broken = reference.clone()
    broken[0, 3] = float("nan")
    broken[1, 4] = float("inf")
    broken[1, 5] = float("-inf")
    result = metrics.compare([broken], [reference])
    assert result["nan_count"] == 1 and result["inf_count"] == 2
    assert result["max_abs"] == pytest.approx(0.0, abs=1e-12)  # the finite elements are untouched
    fidelity = {**result, "is_reference": False}
    assert budget.judge(fidelity, 100.0)[0] is False
    assert budget.judge(fidelity, None)[0] is False  # loud even without a budget
    assert "NaN x1" in budget.compact(fidelity) and "Inf x2" in budget.compact(fidelity)


def test_top1_agreement_counts_changed_predictions():
    reference = torch.eye(4)  # item i predicts class i
    flipped = reference.clone()
    flipped[0] = torch.tensor([0.0, 2.0, 0.0, 0.0])  # item 0 now predicts class 1
    result = metrics.compare([flipped[:2], flipped[2:]], [reference[:2], reference[2:]])
    assert result["top1_agreement"] == 0.75 and result["top1_items"] == 4


def test_tuple_outputs_and_mismatched_shapes():
    first, second = torch.ones(2, 3), torch.zeros(2, 5)
    assert metrics.compare([(first, second)], [(first, second)])["elements"] == 16
    with pytest.raises(ValueError):
        metrics.compare([first], [second])


def test_budget_readings_by_what_was_measured():
    labelled = {"accuracy": 0.95, "reference_accuracy": 0.97, "accuracy_drop": 2.0, "is_reference": False}
    assert budget.judge(labelled, 1.0)[0] is False and budget.judge(labelled, 2.5)[0] is True
    assert budget.compact(labelled) == "acc 95.0% (-2.0)"
    classifier = {"top1_agreement": 0.97, "top1_items": 100, "cosine": 0.999, "is_reference": False,
                  "reference": "torch fp32"}
    assert budget.judge(classifier, 1.0)[0] is False and budget.judge(classifier, 3.5)[0] is True
    regression = {"cosine": 0.995, "is_reference": False, "reference": "torch fp32"}
    assert budget.judge(regression, 1.0)[0] is True and budget.judge(regression, 0.1)[0] is False
    assert budget.judge(regression, None)[0] is None
    assert budget.judge({"is_reference": True}, 1.0) == (True, "fp32 reference")
