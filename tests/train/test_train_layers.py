"""--layers: per-module forward and backward time of training steps, in calib's layer-table format."""

from pathlib import Path

from calib.models.loader import load_any
from calib.train import TrainSettings, build_task
from calib.train.loop import train_precision
from calib.train.precisions import get_train_precision

FACTORY = Path(__file__).parent / "residual_factory.py"


def test_forward_and_backward_rows_survive_inplace_ops_and_own_ops():
    task = build_task(load_any(f"{FACTORY}:build"))
    run = train_precision(task, get_train_precision("fp32"), TrainSettings(steps=3, batch_size=4, layers=True,
                                                                           layer_steps=2), "cpu")
    table = run.layers
    assert table["method"] == "train-hooks" and table["repeats"] == 2
    rows = {row["name"]: row for row in table["layers"]}
    assert {"stem", "block.conv", "block.relu", "block", "head.2", "(loss)"} <= set(rows)
    assert rows["block"]["target"] == "Residual (own ops)"  # the in-place residual add
    for name in ("stem", "block.conv", "head.2"):
        assert rows[name]["backward_ms"] > 0 and rows[name]["forward_ms"] >= 0
        assert rows[name]["median_ms"] == rows[name]["forward_ms"] + rows[name]["backward_ms"]
    assert rows["stem"]["op_kind"] == "conv" and rows["head.2"]["op_kind"] == "linear"
    assert rows["block.conv"]["compute_dtype"] == "float32"
    assert table["sum_ms"] > 0 and table["end_to_end_ms"] > 0 and table["by_kind"]
    assert len(run.loss) == 3  # the hooked steps are not part of the loss curve
