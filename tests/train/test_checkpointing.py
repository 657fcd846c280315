"""Activation checkpointing: which blocks are wrapped, that it changes no result, and that it lowers the
peak memory of a small transformer's training step (measured, not assumed)."""

import pytest
import torch

from calib.train.checkpointing import Checkpointed, apply_checkpointing, find_blocks


def _encoder(layers=4, hidden=32, ffn=128):
    layer = torch.nn.TransformerEncoderLayer(hidden, 2, ffn, dropout=0.0, batch_first=True)
    return torch.nn.Sequential(torch.nn.Linear(8, hidden), torch.nn.TransformerEncoder(
        layer, layers, enable_nested_tensor=False))


def test_blocks_are_the_most_repeated_module_kind():
    kind, places = find_blocks(_encoder(layers=4))
    assert kind == "TransformerEncoderLayer" and len(places) == 4
    import torchvision

    kind, places = find_blocks(torchvision.models.resnet18(weights=None))
    assert kind == "BasicBlock" and len(places) == 8


@pytest.mark.parametrize("mode, wrapped", [("none", 0), ("selective", 2), ("full", 4)])
def test_selective_wraps_every_second_block_full_every_block(mode, wrapped):
    model = _encoder(layers=4)
    info = apply_checkpointing(model, mode)
    assert sum(isinstance(m, Checkpointed) for m in model.modules()) == wrapped == info["blocks"]


def test_checkpointing_changes_no_loss_and_no_gradient():
    torch.manual_seed(0)
    plain = _encoder()
    checkpointed = _encoder()
    checkpointed.load_state_dict(plain.state_dict())
    apply_checkpointing(checkpointed, "full")
    inputs = torch.randn(2, 5, 8)
    losses = []
    for model in (plain, checkpointed):
        loss = model(inputs).pow(2).mean()
        loss.backward()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    assert torch.allclose(plain[0].weight.grad, checkpointed[0].weight.grad, rtol=1e-5, atol=1e-7)


def test_full_checkpointing_lowers_a_small_transformers_peak_memory():
    """6 layers at 512 tokens: the activations (not the 0.3 MB of weights) are the peak, and full
    checkpointing keeps one layer's at a time."""
    from calib.train.loop import train_precision
    from calib.train.precisions import get_train_precision
    from calib.train.settings import TrainSettings
    from calib.train.task import TrainTask

    torch.manual_seed(0)
    module = _encoder(layers=6, hidden=32, ffn=128)
    inputs = torch.randn(16, 512, 8)

    task = TrainTask("small-transformer", module, "features", (512, 8), lambda out, target: out.pow(2).mean(),
                     lambda step, batch: ((inputs[:batch],), torch.zeros(batch)), "seeded features")
    peaks = {}
    for mode in ("none", "none", "full"):  # the first run pays torch's one-off allocations: not compared
        settings = TrainSettings(steps=2, warmup_steps=1, batch_size=16, eval=False, activation_checkpointing=mode)
        run = train_precision(task, get_train_precision("fp32"), settings, "cpu")
        peaks[mode] = run.memory["peak_bytes"]
    assert peaks["none"] > 20 * 2 ** 20  # the activations were seen
    assert peaks["full"] < 0.6 * peaks["none"], peaks
