"""The run table's energy lines: measured figures shown, a null's reason only as a detail (-v)."""

import json
from pathlib import Path

from calib.render.run_table import energy_absent_lines, energy_lines, run_printout
from calib.results.record import as_records

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "results" / "run-tuned.json"


def _records(energy: dict) -> list:
    stored = json.loads(FIXTURE.read_text())["records"][:1]
    stored[0]["energy"] = energy
    return as_records(stored)


def test_measured_energy_is_a_line_with_idle_apart():
    records = _records({"counter": "nvml cuda:0 total energy", "method": "counter", "joules": 12.0, "seconds": 2.0,
                        "items": 4000, "joules_per_item": 0.003, "avg_power_w": 6.0, "idle_power_w": 2.0,
                        "joules_per_item_above_idle": 0.002})
    (line,) = energy_lines(records)
    assert "3 mJ per item (2 above idle), 6 W average, idle 2 W (nvml cuda:0 total energy)" in line
    assert energy_absent_lines(records) == []


def test_a_null_energy_says_why_once_as_a_detail():
    records = _records({"value": None, "reason": "no RAPL counters on this VM"}) * 2
    assert energy_lines(records) == []
    assert energy_absent_lines(records) == ["energy: not measured: no RAPL counters on this VM"]
    details = [b for b in run_printout(records).blocks if getattr(b, "kind", None) == "detail"]
    assert any("no RAPL counters" in block.text for block in details)
