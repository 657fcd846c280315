"""The typed record (calib.results.record): every file calib writes reads and writes back unchanged,
statistics come from the raw samples, unknown keys survive, and the readers take records or dicts.

The fixtures in tests/fixtures/results/ were written by real commands on tiny models (FIXTURES says
which); test records built by hand come from tests/check/records.py and tests/render/records.py."""

import dataclasses
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from calib.configuration import Configuration
from calib.errors import ResultFileError
from calib.results.record import Fidelity, Record, ResultFile, as_records, read_result
from calib.results.schema import summary_of
from calib.timing.stats import summarize
from check.records import lognormal_samples, make_record, make_result
from render.records import run_record, two_backend_records

FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "results"
# name -> the command that wrote it (tiny models, short timings)
FIXTURES = {
    "run-layers.json": "calib run -m tiny-cnn -p fp32,bf16,int8-static,fp16 --layers --max-drop 1 --no-tune "
                       "(the default backend: the engines raced)",
    "run-auto.json": "calib run -m tiny-mlp -p fp32,int8-dynamic -b auto",
    "run-tuned.json": "calib run -m tiny-cnn -p fp32,int8-static",
    "ab-base.json": "calib ab --baseline-model tiny-mlp --current-model tiny-mlp (the baseline side)",
    "ab-cur.json": "calib ab --baseline-model tiny-mlp --current-model tiny-mlp (the current side)",
    "train.json": "calib train -m digits-cnn -p fp32,amp-bf16 -p tf32 --steps 4 --batch-size 8 (tf32 skipped)",
    "fallback.json": "calib run -m tests/sensitivity/fragile_model.py:build -p fp32,int8-static --max-drop 5 "
                     "--fallback (a mixed record with its fallback section)",
    "failed.json": "the same command where its int8 record failed (a record with a traceback)",
    "table.json": "calib calibrate -p fp32 --quick --sweep none -m tiny-cnn (a results file with a calibration)",
    "predict.json": "calib predict -m tiny-cnn -p fp32 -t table.json (a prediction record, skipped: not measured)",
    "predict-check.json": "calib predict -m tiny-cnn -p fp32 -t table.json --check (predicted and measured)",
}


def _load(name: str) -> ResultFile:
    return read_result(FOLDER / name)


def test_every_fixture_is_listed():
    assert sorted(path.name for path in FOLDER.glob("*.json")) == sorted(FIXTURES)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_round_trips_unchanged(name):
    raw = json.loads((FOLDER / name).read_text())
    result = _load(name)
    assert result.path == str(FOLDER / name) and result.schema_version == 1
    # the same JSON, key order included: nothing written today is lost or moved
    assert json.dumps(result.to_json()) == json.dumps(raw)
    assert [json.dumps(record.to_json()) for record in result.records] == [json.dumps(r) for r in raw["records"]]
    assert Record.from_json(raw["records"][0]) == result.records[0]


@pytest.mark.parametrize("record", [make_record(lognormal_samples(1)), make_record([], status="skipped", verdict=None),
                                    make_record([1.0, 2.0], fidelity={"passed": False, "judgement": "too far"}),
                                    *two_backend_records()], ids=lambda r: f"{r['identity']['precision']}")
def test_hand_built_records_round_trip(record):
    assert Record.from_json(record).to_json() == record


def test_summary_is_recomputed_from_the_samples_not_read_from_the_file():
    raw = json.loads((FOLDER / "run-layers.json").read_text())
    stored = raw["records"][0]
    tampered = {**stored, "summary": {**stored["summary"], "median_ms": 12345.0}}
    record = Record.from_json(tampered)
    expected = summarize(stored["timing"]["samples_ms"], stored["identity"]["batch_size"])
    assert record.summary == expected and record.summary.median_ms != 12345.0
    assert record.to_json()["summary"] == expected.to_dict()  # the writer writes the truth
    assert summary_of(record) == summary_of(stored) == expected


def test_unknown_keys_survive_a_round_trip():
    record = make_record([1.0, 2.0], fidelity={"passed": True, "new_metric": 0.5})
    record["from_the_future"] = {"a": [1, 2]}
    record["timing"]["new_clock"] = "tsc"
    record["verdict"]["probe_id"] = 7
    result = {**make_result([record]), "calibration": {"tables": {}}}
    typed = ResultFile.from_json(result)
    assert typed.records[0].extra == {"from_the_future": {"a": [1, 2]}}
    assert typed.records[0].timing.extra == {"new_clock": "tsc"}
    assert typed.records[0].fidelity.get("new_metric") == 0.5
    assert typed.extra == {"calibration": {"tables": {}}}
    written = typed.to_json()
    assert written == {key: value for key, value in result.items() if key != "_path"}


def test_helpers_state_the_rules_once():
    layers = _load("run-layers.json").records
    fp32, bf16, int8, fp16 = layers
    assert fp32.ok and fp32.measured and fp32.has_layers
    assert fp32.short_label == f"tiny-cnn {fp32.identity.backend} fp32 b1"
    assert fp32.verdict_status in ("native", "emulated") and fp32.fidelity.is_reference
    assert int8.fidelity_compact and int8.fidelity_failed is (int8.fidelity.passed is False)
    assert bf16.fidelity.max_drop == 1 and fp16.layer_rows == fp16.layers["layers"]
    assert fp32.peak_memory_bytes == fp32.memory.peak_rss_bytes and isinstance(fp32.samples_ms, tuple)

    auto = _load("run-auto.json").records
    assert all(record.requested_backend == "auto" for record in auto)
    assert all(record.tuning and record.tuning.candidates and record.candidate for record in auto)

    base, cur = _load("ab-base.json").records[0], _load("ab-cur.json").records[0]
    assert base.interleave.session == cur.interleave.session and base.interleave.role == "baseline"
    assert sum(base.timing.rounds) == len(base.samples_ms)

    train = _load("train.json")
    assert train.is_training and train.records[0].training["loss"] and train.records[0].is_training
    assert not _load("run-tuned.json").is_training
    skipped = train.records[2]
    assert not skipped.ok and skipped.summary is None and not skipped.has_layers
    assert skipped.unmeasured_reason == f"skipped: {skipped.reason}"

    mixed = _load("fallback.json").records[2]
    assert mixed.identity.variant == "mixed" and mixed.kept_float == mixed.fallback["kept_float"]

    failed = _load("failed.json").records[1]
    assert failed.status == "failed" and failed.traceback and not failed.measured

    (predicted,) = _load("predict.json").records
    assert predicted.extra["prediction"]["predicted_ms"] > 0 and not predicted.measured
    assert _load("table.json").extra["calibration"]


def test_records_are_frozen_with_tuples():
    record = Record.from_json(make_record([1.0, 2.0]))
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.status = "failed"
    assert isinstance(record.warnings, tuple) and isinstance(record.timing.samples_ms, tuple)
    assert hash(record) == hash(Record.from_json(make_record([1.0, 2.0])))
    changed = dataclasses.replace(record, status="skipped", reason="why")
    assert changed.to_json()["status"] == "skipped" and changed.summary is None


def test_a_record_built_in_code_writes_the_schema_keys():
    configuration = Configuration("m", "torch", "fp16", 1, (1, 8), "cpu")
    written = Record(identity=configuration, status="skipped", reason="no fp16 here").to_json()
    assert written == {"identity": configuration.to_identity(), "status": "skipped", "reason": "no fp16 here",
                       "verdict": None, "warnings": [], "layers": None, "fidelity": None}
    measured = Record(identity=configuration, status="ok", fidelity=Fidelity(passed=False, compact="cos 0.9"))
    assert measured.fidelity_failed and measured.to_json()["fidelity"] == {"passed": False, "compact": "cos 0.9"}


def test_empty_sections_are_false_like_the_dicts_they_were():
    record = Record.from_json({**make_record([1.0]), "fidelity": {}})
    assert not record.fidelity and record.fidelity is not None and record.to_json()["fidelity"] == {}


def test_bad_files_are_one_line_usage_errors(tmp_path):
    with pytest.raises(ResultFileError, match="no such file"):
        read_result(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ResultFileError, match="not a readable"):
        read_result(broken)
    no_identity = tmp_path / "odd.json"
    no_identity.write_text(json.dumps({"schema_version": 1, "records": [{"status": "ok"}]}))
    with pytest.raises(ResultFileError) as caught:
        read_result(no_identity)
    assert "\n" not in str(caught.value) and "odd.json" in str(caught.value)


def _text(renderable) -> str:
    console = Console(width=160, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.file.getvalue()


def test_renderers_take_records_or_dicts_alike():
    from calib.render.fidelity_table import build_fidelity_table
    from calib.render.run_table import build_run_table, note_lines, warning_lines

    dicts = two_backend_records()
    records = as_records(dicts)
    assert _text(build_run_table(dicts)) == _text(build_run_table(records))
    assert _text(build_fidelity_table(dicts)) == _text(build_fidelity_table(records))
    assert note_lines(dicts) == note_lines(records) and warning_lines(dicts) == warning_lines(records)
    mixed = as_records([dicts[0], records[1]])
    assert mixed[1] is records[1] and mixed[0] == records[0]


def test_readers_take_result_files_or_dicts_alike():
    from calib.check.gate import gate
    from calib.compare.align import align
    from calib.fidelity.choose import as_dict, recommend

    base = make_result([make_record(lognormal_samples(1)), run_record(precision="bf16", median_ms=3.0)], "a.json")
    cur = make_result([make_record(lognormal_samples(2)), run_record(precision="bf16", median_ms=3.1)], "b.json")
    typed = [ResultFile.from_json(base), ResultFile.from_json(cur)]
    assert gate(base, cur).outcomes == gate(*typed).outcomes
    assert [row.label for row in align([base, cur])[1]] == [row.label for row in align(typed)[1]]
    assert [as_dict(c) for c in recommend([base, cur])] == [as_dict(c) for c in recommend(typed)]
