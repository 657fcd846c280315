import json

import pytest

from calib.errors import ResultFileError
from calib.results.schema import identity, summary_of
from calib.results.store import ResultWriter, load_result


def _record(samples):
    return {"identity": {"model": "m", "backend": "torch", "precision": "fp32", "batch_size": 2,
                         "input_shape": [2, 3], "device": "cpu"},
            "status": "ok", "timing": {"samples_ms": samples}}


def test_round_trip_keeps_raw_samples_and_recomputes_stats(tmp_path):
    path = tmp_path / "r.json"
    writer = ResultWriter(path, {"threads": 2}, {"devices": []}, command=["calib", "run"])
    writer.add(_record([3.0, 1.0, 2.0]))
    loaded = load_result(path)
    record = loaded["records"][0]
    assert record["timing"]["samples_ms"] == [3.0, 1.0, 2.0]
    assert summary_of(record).median_ms == 2.0
    assert summary_of(record).throughput_per_s == pytest.approx(1000.0)
    assert identity(record) == ("m", "torch", "fp32", 2, (2, 3), "cpu")
    assert loaded["command"] == ["calib", "run"]


def test_file_is_complete_after_every_record(tmp_path):
    path = tmp_path / "r.json"
    writer = ResultWriter(path, {}, None)
    assert json.loads(path.read_text())["records"] == []
    writer.add(_record([1.0]))
    assert len(json.loads(path.read_text())["records"]) == 1
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a readable"),
    ('{"records": [], "schema_version": 99}', "schema version"),
    ('{"a": 1}', "not a calib results file"),
])
def test_bad_files_raise_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ResultFileError, match=message):
        load_result(path)


def test_missing_file(tmp_path):
    with pytest.raises(ResultFileError, match="no such file"):
        load_result(tmp_path / "nope.json")
