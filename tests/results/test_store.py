import json
import sys

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


def test_file_says_whether_its_run_completed(tmp_path):
    path = tmp_path / "r.json"
    writer = ResultWriter(path, {}, None)
    assert json.loads(path.read_text())["complete"] is False  # an interrupted run leaves this
    writer.add(_record([1.0]))
    assert load_result(path)["complete"] is False
    writer.finish()
    loaded = load_result(path)
    assert loaded["complete"] is True and len(loaded["records"]) == 1


def test_completeness_of_a_file_from_before_the_field_is_unknown(tmp_path):
    from calib.results.store import run_complete

    path = tmp_path / "old.json"
    path.write_text('{"schema_version": 1, "records": []}')
    assert run_complete(load_result(path)) is None
    assert run_complete({"records": [], "complete": True}) is True
    assert run_complete({"records": [], "complete": False}) is False


def test_existing_file_with_records_is_never_overwritten(tmp_path):
    path = tmp_path / "r.json"
    for samples in ([1.0], [2.0], [3.0]):
        writer = ResultWriter(path, {}, None)
        writer.add(_record(samples))
        writer.finish()
    assert writer.kept_previous == tmp_path / "r.previous-2.json"
    assert [load_result(tmp_path / name)["records"][0]["timing"]["samples_ms"]
            for name in ("r.previous.json", "r.previous-2.json", "r.json")] == [[1.0], [2.0], [3.0]]
    (tmp_path / "notes.json").write_text("my notes")
    with pytest.raises(ResultFileError, match="not an empty calib results file"):
        ResultWriter(tmp_path / "notes.json", {}, None)
    assert (tmp_path / "notes.json").read_text() == "my notes"


def test_file_of_a_run_that_wrote_no_record_may_be_reused(tmp_path):
    path = tmp_path / "r.json"
    ResultWriter(path, {}, None).close()  # interrupted before its first record
    writer = ResultWriter(path, {}, None)
    writer.add(_record([2.0]))
    writer.finish()
    assert load_result(path)["records"][0]["timing"]["samples_ms"] == [2.0]


def test_second_writer_of_a_file_in_use_is_refused_naming_the_holder(tmp_path):
    import os

    path = tmp_path / "r.json"
    with ResultWriter(path, {}, None):
        with pytest.raises(ResultFileError, match=rf"being written by process {os.getpid()} .*choose another --out"):
            ResultWriter(path, {}, None)
    assert not (tmp_path / "r.json.lock").exists()  # released and removed


_WRITER_SCRIPT = """
import sys, time
from calib.results.store import ResultWriter
from calib.errors import ResultFileError
path, name, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
time.sleep(max(0.0, start - time.time()))  # both processes start writing at the same moment
try:
    writer = ResultWriter(path, {}, None, command=[name])
except ResultFileError as exc:
    print("refused:", exc)
    sys.exit(2)
for index in range(20):
    writer.add({"identity": {"model": name, "backend": "torch", "precision": f"p{index}", "batch_size": 1,
                             "input_shape": [1], "device": "cpu"}, "status": "ok", "timing": {"samples_ms": [1.0]}})
    time.sleep(0.01)
writer.finish()
"""


def test_two_processes_writing_one_file_never_lose_a_record(tmp_path):
    import subprocess
    import time

    path = tmp_path / "r.json"
    start = time.time() + 1.0
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER_SCRIPT, str(path), name, str(start)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    results = [(proc.wait(timeout=60), proc.stdout.read(), proc.stderr.read()) for proc in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    refused = next(out for code, out, _ in results if code == 2)
    assert str(path) in refused and ("being written by process" in refused or "exists and holds" in refused)
    loaded = load_result(path)
    winner = loaded["command"][0]
    assert loaded["complete"] is True and len(loaded["records"]) == 20
    assert {r["identity"]["model"] for r in loaded["records"]} == {winner}


def test_results_file_mode_follows_the_umask(tmp_path):
    import os
    import stat

    previous = os.umask(0o022)
    try:
        ResultWriter(tmp_path / "a.json", {}, None).finish()
        os.umask(0o077)
        ResultWriter(tmp_path / "b.json", {}, None).finish()
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o600
