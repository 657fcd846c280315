"""--eval-data image folders: loading, preprocessing, labels, and the mistakes users make."""

import json

import numpy as np
import pytest
from PIL import Image

from calib.cli import main
from calib.errors import UsageError
from calib.fidelity.datasets import image_folder
from calib.settings import FidelitySettings
from calib.models.loader import load_model


def _folder(root, classes=("0", "1"), per_class=3, size=(20, 12)):
    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            pixels = rng.integers(0, 255, size=(size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{index}.png")
    return root


def _settings(**options) -> FidelitySettings:
    """What `calib run --eval-data ... --eval-mean ...` builds from its options."""
    return FidelitySettings.from_cli(**options)


def test_image_folder_matches_the_model_input_and_numbers_labels(tmp_path):
    model = load_model("tiny-cnn")  # (3, 32, 32)
    labeled = image_folder(model, _settings(eval_data=str(_folder(tmp_path / "data", classes=("3", "7")))))
    assert labeled.count == 6 and "2 classes" in labeled.name
    batches = list(labeled.batches_of(4))
    assert [real for _, _, real in batches] == [4, 2]
    images, labels, _ = batches[1]
    assert tuple(images.shape) == (4, 3, 32, 32)  # padded to the batch size
    assert sorted(set(batches[0][1].tolist() + labels.tolist())) == [3, 7]  # integer folder names are the labels


def test_resize_crop_and_normalize(tmp_path):
    model = load_model("digits-cnn")  # (1, 8, 8): grayscale
    options = {"eval_data": str(_folder(tmp_path / "data")), "eval_size": 10, "eval_mean": "0.5", "eval_std": "0.25"}
    images, _, _ = next(image_folder(model, _settings(**options)).batches_of(6))
    assert tuple(images.shape) == (6, 1, 8, 8)
    assert images.min() < 0 < images.max()  # normalized around the mean


@pytest.mark.parametrize("options, message", [
    ({"eval_data": "/no/such/dir"}, "not a directory"),
    ({"eval_mean": "0.5,0.5"}, "2 values for a 3-channel"),
    ({"eval_mean": "0.5"}, "go together"),
    ({"eval_mean": "a,b,c", "eval_std": "1"}, "comma-separated numbers"),
])
def test_user_mistakes_are_one_line_usage_errors(tmp_path, options, message):
    folder = _folder(tmp_path / "data")
    with pytest.raises(UsageError, match=message):
        image_folder(load_model("tiny-cnn"), _settings(**{"eval_data": str(folder), **options}))


def test_empty_folder_is_a_usage_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="--eval-data"):
        image_folder(load_model("tiny-cnn"), _settings(eval_data=str(tmp_path / "empty")))


def test_run_with_eval_data_reports_accuracy_per_precision(tmp_path, runner, fast_options):
    folder = _folder(tmp_path / "data")
    out = tmp_path / "run.json"
    result = runner.invoke(main, ["run", "-b", "torch", "--model", "tiny-cnn", "-p", "fp32,fp16", "--eval-data", str(folder),
                                  "--eval-mean", "0.5,0.5,0.5", "--eval-std", "0.25,0.25,0.25", "--max-drop", "50",
                                  "--out", str(out), *fast_options])
    assert result.exit_code == 0, result.output
    records = json.loads(out.read_text())["records"]
    fp32, fp16 = (record["fidelity"] for record in records)
    assert fp32["is_reference"] and fp32["accuracy"] is not None and "6 images" in fp32["sample"]
    assert fp16["accuracy_drop"] is not None and fp16["reference"] == "torch fp32"
    assert "acc " in result.output
