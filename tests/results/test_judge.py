"""calib.results.judge.failures: what makes `calib run` and `calib train` exit 1, one line per configuration,
the same lines the two commands wrote before the rule moved into the library."""

import json
from pathlib import Path

import pytest

from calib.configuration import Configuration
from calib.results.judge import failures
from calib.results.record import as_records
from check.records import make_record

FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "results"


def _run_lines(records):
    """calib run's judgement as it was written in calib/cli/run.py (failure_lines)."""
    lines = []
    for record in records:
        label = Configuration.of(record).short_label
        if record["status"] == "failed":
            lines.append(f"{label} failed: {record['reason']}")
        elif (record.get("fidelity") or {}).get("passed") is False:
            lines.append(f"{label} fails its fidelity budget: {record['fidelity']['judgement']}")
    return lines


def _train_lines(records):
    """calib train's copy of it, as it was in calib/cli/train.py (named by precision)."""
    lines = [f"{r['identity']['precision']} failed: {r['reason']}" for r in records if r["status"] == "failed"]
    return lines + [f"{r['identity']['precision']} fails its fidelity budget: {r['fidelity']['judgement']}"
                    for r in records if (r.get("fidelity") or {}).get("passed") is False]


@pytest.mark.parametrize("name", sorted(p.name for p in FOLDER.glob("*.json")))
def test_the_lines_of_every_stored_file_are_the_commands_own(name):
    records = json.loads((FOLDER / name).read_text())["records"]
    expected = _train_lines(records) if name.startswith("train") else _run_lines(records)
    assert failures(records) == expected
    assert failures(as_records(records)) == expected  # typed records too


def test_failed_and_over_budget_fail_skipped_does_not():
    over = make_record([1.0, 1.1], precision="int8-static",
                       fidelity={"passed": False, "judgement": "top-1 agreement 80% < 99%"})
    failed = dict(make_record([], precision="bf16", status="failed"), reason="RuntimeError: boom")
    skipped = make_record([], precision="fp16", status="skipped")
    within = make_record([1.0], fidelity={"passed": True, "judgement": "within budget"})
    assert failures([within, over, skipped, failed]) == [
        "m torch int8-static b1 fails its fidelity budget: top-1 agreement 80% < 99%",
        "m torch bf16 b1 failed: RuntimeError: boom"]
    assert failures([within, skipped]) == []


def test_a_training_record_is_named_by_its_precision():
    record = dict(make_record([], precision="amp-fp16", status="failed"), reason="no CUDA", training={})
    assert failures([record]) == ["amp-fp16 failed: no CUDA"]
