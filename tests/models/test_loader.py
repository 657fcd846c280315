import pytest
import torch

from calib.errors import UsageError
from calib.models.loader import load_model, parse_shape


def test_catalog_model_inputs_are_seeded_and_batched():
    model = load_model("tiny-cnn")
    first, second = model.make_inputs(3), model.make_inputs(3)
    assert first[0].shape == (3, 3, 32, 32)
    assert torch.equal(first[0], second[0])


def test_text_model_takes_seq_len():
    model = load_model("tiny-bert", seq_len=24)
    (tokens,) = model.make_inputs(2)
    assert tokens.shape == (2, 24) and tokens.dtype == torch.int64
    assert model.module(tokens).shape == (2, 2)


def test_torchscript_and_export_files(tmp_path):
    module = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU()).eval()
    example = torch.randn(1, 8)
    scripted = tmp_path / "m.pt"
    torch.jit.trace(module, example).save(str(scripted))
    exported = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(module, (example,)), str(exported))
    for path in (scripted, exported):
        loaded = load_model(str(path), input_shape=(8,))
        (inputs,) = loaded.make_inputs(1)
        assert loaded.module(inputs).shape == (1, 4)


def test_files_without_shape_ask_for_it(tmp_path):
    path = tmp_path / "m.pt"
    torch.jit.trace(torch.nn.Linear(2, 2), torch.randn(1, 2)).save(str(path))
    with pytest.raises(UsageError, match="--input-shape"):
        load_model(str(path))


def test_parse_shape():
    assert parse_shape("3,224,224") == (3, 224, 224)
    assert parse_shape("3x8x8") == (3, 8, 8)
    with pytest.raises(UsageError):
        parse_shape("3,a")
