"""This machine: energy is null with the reason wherever no counter exists, never 0."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from calib.cli import main
from calib.energy import counters_report, meter_for

NO_RAPL = not Path("/sys/class/powercap").is_dir()


@pytest.mark.skipif(not NO_RAPL, reason="this machine has RAPL counters")
def test_cpu_energy_is_null_with_the_reason_here():
    energy = meter_for("cpu").result(items=10)
    assert energy["value"] is None and "no RAPL counters" in energy["reason"]


def test_a_gpu_without_nvml_says_why():
    try:
        import pynvml  # noqa: F401
    except ImportError:
        assert meter_for("cuda:0").result(items=1)["reason"] == "NVML not available (nvidia-ml-py not installed)"
    else:
        pytest.skip("nvidia-ml-py is installed here")


def test_every_counter_kind_is_listed_present_or_with_a_reason():
    entries = counters_report()
    assert [e["counter"] for e in entries] == ["rapl", "nvml", "ina3221"]
    for entry in entries:
        assert entry["present"] or entry["reason"], entry


@pytest.mark.skipif(not NO_RAPL, reason="this machine has RAPL counters")
def test_a_run_records_null_energy_with_the_reason_and_its_busy_check(tmp_path):
    out = tmp_path / "run.json"
    result = CliRunner().invoke(main, ["run", "-m", "tiny-cnn", "-b", "torch", "--max-time", "0.2", "--timeout", "0",
                                       "--no-tune", "--out", str(out), "-q"])
    assert out.exists(), result.output
    record = json.loads(out.read_text())["records"][0]
    assert record["energy"]["value"] is None and "no RAPL counters" in record["energy"]["reason"]
    assert record["busy_check"]["mode"] == "warn" and record["busy_check"]["gpu_processes"] is None


def test_calib_device_lists_the_counters_and_why_each_is_absent():
    result = CliRunner().invoke(main, ["device"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "energy counters:" in result.output
    listed = json.loads(CliRunner().invoke(main, ["device", "--json"]).output)["energy_counters"]
    for entry in listed:
        if not entry["present"]:
            assert f"no {entry['counter']}: {entry['reason']}" in result.output
