"""digits-cnn: a real task that needs no download, trained deterministically."""

import torch

from calib.models import digits
from calib.models.catalog import get_entry
from calib.models.loader import load_model


def test_catalog_entry_builds_the_trained_model():
    entry = get_entry("digits-cnn")
    assert entry.input_shape == digits.INPUT_SHAPE == (1, 8, 8)
    model = load_model("digits-cnn")
    images, labels = digits.test_set()
    assert len(labels) == 360
    assert digits.accuracy(model.module, images, labels) > 0.90
    assert model.module(model.make_inputs(2)[0]).shape == (2, digits.NUM_CLASSES)


def test_training_from_scratch_is_seeded_and_reaches_90_percent(tmp_path, monkeypatch):
    first = digits.train(epochs=5)
    second = digits.train(epochs=5)
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)
    images, labels = digits.test_set()
    assert digits.accuracy(first, images, labels) > 0.90


def test_missing_shipped_weights_are_trained_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setattr(digits, "SHIPPED_WEIGHTS", tmp_path / "absent.pt")
    monkeypatch.setenv("CALIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(digits, "train", lambda: digits.DigitsCNN().eval())  # the training itself is tested above
    digits.build()
    assert (tmp_path / "cache" / digits.WEIGHTS_NAME).exists()


def test_parameter_count_under_meta_device_needs_no_weights():
    with torch.device("meta"):
        model = digits.build()
    assert sum(p.numel() for p in model.parameters()) < 20_000
