"""GradScaler bookkeeping for amp-fp16: skipped (overflowing) steps counted, the scale recorded."""

from calib.train import TrainSettings
from calib.train.loop import train_precision
from calib.train.precisions import get_train_precision


def test_injected_overflow_skips_steps_and_halves_the_scale(mlp_task):
    # 2^40 times the loss overflows fp16 in the backward of the autocast matmuls: every step skips
    settings = TrainSettings(steps=4, batch_size=4, init_scale=2.0 ** 40)
    run = train_precision(mlp_task, get_train_precision("amp-fp16"), settings, "cpu")
    assert run.skipped_steps == [0, 1, 2, 3]
    assert run.scale == [2.0 ** 39, 2.0 ** 38, 2.0 ** 37, 2.0 ** 36]
    assert run.nonfinite_grad_steps == [0, 1, 2, 3]  # the unscaled grads held the Inf the scaler found
    assert run.nonfinite_loss_steps == []  # the loss itself stayed finite


def test_a_small_scale_skips_nothing(mlp_task):
    settings = TrainSettings(steps=4, batch_size=4, init_scale=2.0 ** 4)
    run = train_precision(mlp_task, get_train_precision("amp-fp16"), settings, "cpu")
    assert run.skipped_steps == [] and run.scale == [16.0] * 4
    assert run.dtypes["compute"] == "float16"


def test_a_skipped_step_leaves_the_weights_alone(mlp_task):
    import torch

    from calib.train.setup import build_setup

    settings = TrainSettings(steps=2, batch_size=4, init_scale=2.0 ** 40)
    setup = build_setup(mlp_task, get_train_precision("amp-fp16"), settings, "cpu")
    before = [p.detach().clone() for p in setup.model.parameters()]
    inputs, target = mlp_task.make_batch(0, 4)
    with setup.forward_context():
        loss = mlp_task.loss_fn(setup.model(*inputs).float(), target)
    setup.scaler.scale(loss).backward()
    setup.scaler.step(setup.optimizer)
    setup.scaler.update()
    assert all(torch.equal(a, b) for a, b in zip(before, setup.model.parameters()))
