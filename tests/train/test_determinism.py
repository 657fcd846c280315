"""Same seed: same initial weights, batches and loss curve; the driver's fidelity figures follow."""

from calib.train import TrainSettings, train_all
from calib.train.candidates import tune_settings
from calib.train.loop import train_precision
from calib.train.precisions import get_train_precision


def test_two_fp32_runs_with_one_seed_give_identical_loss_curves(digits_task):
    settings = TrainSettings(steps=6, batch_size=16)
    first = train_precision(digits_task, get_train_precision("fp32"), settings, "cpu")
    second = train_precision(digits_task, get_train_precision("fp32"), settings, "cpu")
    assert first.loss == second.loss and len(first.loss) == 6


def test_batches_are_a_function_of_the_step(digits_task):
    import torch

    (a,), labels_a = digits_task.make_batch(3, 8)
    (b,), labels_b = digits_task.make_batch(3, 8)
    (c,), _ = digits_task.make_batch(4, 8)
    assert torch.equal(a, b) and torch.equal(labels_a, labels_b) and not torch.equal(a, c)


def test_records_carry_deviation_from_the_baseline_curve(digits_task):
    settings = TrainSettings(steps=4, batch_size=16)
    records = train_all(digits_task, ["fp32", "amp-bf16", "tf32"], settings, "cpu", None,
                        tune=tune_settings(False, None))  # the race: tests/train/test_candidates.py
    fp32, amp, tf32 = records
    assert fp32["training"]["loss_max_deviation"] == 0.0
    deviations = [abs(a - b) for a, b in zip(amp["training"]["loss"], fp32["training"]["loss"])]
    assert amp["training"]["loss_max_deviation"] == max(deviations)
    assert len(amp["timing"]["samples_ms"]) == 3 and len(amp["timing"]["warmup_ms"]) == 1  # 4 steps, 1 warm-up
    assert amp["summary"]["count"] == 3
    assert amp["fidelity"]["accuracy"] is not None and "accuracy_drop" in amp["fidelity"]
    assert tf32["status"] == "skipped" and "CUDA" in tf32["reason"]
