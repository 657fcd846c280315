"""calib.cli._common.open_results: the results file `run`, `train`, `predict` and `ab` write, checked, locked,
an earlier run's records kept aside and said."""

import json

import pytest

from calib.cli._common import open_results
from calib.errors import ResultFileError, UsageError


def test_the_default_path_is_under_results_dir_named_for_the_model(tmp_path):
    writer = open_results(None, tmp_path / "results", "train-tiny", {"host": "box"}, None)
    try:
        assert writer.path.parent == tmp_path / "results" and "train-tiny" in writer.path.name
        assert json.loads(writer.path.read_text())["complete"] is False
    finally:
        writer.close()


def test_an_earlier_run_is_kept_aside_and_said(tmp_path, capsys):
    out = tmp_path / "run.json"
    first = open_results(str(out), "unused", "m", {}, None)
    first.add({"identity": {}, "status": "ok"})
    first.finish()
    second = open_results(str(out), "unused", "m", {}, None)
    second.close()
    kept = tmp_path / "run.previous.json"
    assert kept.exists() and len(json.loads(kept.read_text())["records"]) == 1
    assert f"{out} held an earlier run's records; kept as {kept}" in capsys.readouterr().err


def test_an_unwritable_place_is_a_usage_error_naming_the_option(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="--baseline-out .*is a file, not a folder"):
        open_results(str(tmp_path / "file" / "x.json"), "results", "m", {}, None, flag="--baseline-out")
    with pytest.raises(UsageError, match="--results-dir .*is a file, not a folder"):
        open_results(None, tmp_path / "file", "m", {}, None)


def test_a_file_being_written_is_refused(tmp_path):
    out = tmp_path / "run.json"
    holder = open_results(str(out), "results", "m", {}, None)
    try:
        with pytest.raises(ResultFileError, match="being written by"):
            open_results(str(out), "results", "m", {}, None)
    finally:
        holder.close()
