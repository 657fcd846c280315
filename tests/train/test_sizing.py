"""The default batch is lowered only where the measured need does not fit, and then it is said."""

from calib.train.settings import TrainSettings
from calib.train.sizing import fit_batch, largest_batch

MIB = 2 ** 20


def test_largest_batch_halves_until_the_estimate_fits():
    assert largest_batch(8, fixed=100 * MIB, per_sample=10 * MIB, available=10_000 * MIB) == 8
    assert largest_batch(8, fixed=100 * MIB, per_sample=100 * MIB, available=600 * MIB) == 1
    assert largest_batch(8, fixed=10 * MIB, per_sample=100 * MIB, available=700 * MIB) == 2


def test_fit_batch_measures_two_steps_and_says_when_it_lowered(mlp_task):
    settings = TrainSettings(steps=2, batch_size=64, eval=False)
    roomy = fit_batch(mlp_task, settings, "cpu")
    assert roomy.batch_size == 64 and roomy.note is None and not roomy.to_dict()["lowered"]
    short = fit_batch(mlp_task, settings, "cpu", available=1)
    assert short.batch_size == 1 and short.to_dict()["lowered"]
    assert short.note.startswith("batch lowered from 64 to 1 for memory") and "--batch-size" in short.note
