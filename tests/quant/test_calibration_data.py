"""Where int8 calibration data comes from (calib.quant.calibration_data): inputs captured from the user's
--eval, files of inputs, a function's batches; each source named in the record."""

import numpy as np
import pytest
import torch

from calib.errors import UsageError
from calib.models.loader import load_model
from calib.quant.calibration_data import (Capture, calibration_inputs, captured_of, describe, keep_captured,
                                          random_calibration_warning, source_kind)
from calib.settings import CalibrationSettings


def test_capture_keeps_every_item_then_an_evenly_strided_subset_within_its_bound():
    seen = []
    capture = Capture(lambda tensors: seen.append(tensors[0].shape[0]) or tensors[0], keep=64)
    for start in range(0, 300, 30):
        capture((torch.arange(start, start + 30, dtype=torch.float32).reshape(30, 1),))
    assert sum(seen) == 300 and capture.seen == 300  # predict still got every batch whole
    kept = [int(item[0]) for item in capture.items]
    assert len(kept) <= 64 and kept == list(range(0, 300, capture.stride))
    captured = capture.captured("--eval x.py:evaluate")
    subset = [int(item[0]) for item in captured.subset(8)]
    assert len(subset) == 8 and subset == sorted(subset) and subset[0] == 0 and subset[-1] > 200


def test_auto_calibrates_on_captured_eval_inputs_and_says_so():
    model = load_model("tiny-mlp")
    settings = CalibrationSettings()
    assert source_kind(model, settings) == "random"
    capture = Capture(lambda tensors: tensors[0])
    capture((torch.full((40, *model.item_shape), 0.5),))
    keep_captured(model, capture.captured("--eval e.py:evaluate"))
    assert source_kind(model, settings) == "eval" and captured_of(model).seen == 40
    batches = calibration_inputs(model, settings, batch_size=4)
    assert len(batches) == 10 and all(torch.equal(b[0], torch.full((4, *model.item_shape), 0.5)) for b in batches)
    described = describe(model, settings)
    assert described["source"] == "eval" and described["items"] == 40 and "--eval e.py:evaluate" in described["text"]
    assert source_kind(model, CalibrationSettings(data="random")) == "random"  # asked for: kept


def test_random_calibration_of_a_users_model_warns_with_what_to_pass():
    user = load_model("tiny-mlp")
    user.weights = "user"
    assert "pass --eval" in random_calibration_warning(user, CalibrationSettings())
    catalog = load_model("tiny-mlp")  # random weights: random calibration is all there is to say
    assert catalog.weights == "random" and random_calibration_warning(catalog, CalibrationSettings()) is None


def test_eval_source_without_captured_inputs_is_a_usage_error():
    with pytest.raises(UsageError, match="no inputs were captured"):
        calibration_inputs(load_model("tiny-mlp"), CalibrationSettings(data="eval"))


def test_npy_npz_and_function_sources(tmp_path):
    model = load_model("tiny-mlp")
    shape = model.item_shape
    items = np.arange(12 * int(np.prod(shape)), dtype=np.float32).reshape(12, *shape)
    np.save(tmp_path / "x.npy", items)
    np.savez(tmp_path / "x.npz", items)
    (tmp_path / "gen.py").write_text(
        "import numpy as np\n"
        f"def batches():\n    for i in range(3):\n        yield np.full((4, {', '.join(map(str, shape))}), i, "
        "dtype=np.float64)\n")
    for data in (str(tmp_path / "x.npy"), str(tmp_path / "x.npz")):
        settings = CalibrationSettings(data=data, samples=8)
        batches = calibration_inputs(model, settings, batch_size=4)
        assert len(batches) == 2 and torch.equal(batches[0][0], torch.from_numpy(items[:4]))
    settings = CalibrationSettings(data=f"{tmp_path / 'gen.py'}:batches")
    assert source_kind(model, settings) == "function"
    batches = calibration_inputs(model, settings, batch_size=2)
    assert len(batches) == 6 and batches[0][0].dtype == torch.float32 and float(batches[-1][0].max()) == 2


@pytest.mark.parametrize("data, message", [("missing.npy", "no such file"), ("x.py", "expected file.py:function"),
                                           ("nowhere/", "not auto, eval, random, digits")])
def test_bad_calibration_paths_are_one_line_usage_errors(tmp_path, monkeypatch, data, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=message):
        CalibrationSettings(data=data)
