"""The busy-device guard: a real child process burning a core is seen, warned about or refused;
the waiting is tested with a fake clock."""

import subprocess
import sys

import pytest
from click.testing import CliRunner

from calib.errors import DeviceBusy, UsageError
from calib.hardware.busy import BusyCheck, guard, sample


@pytest.fixture
def burner():
    """A child process spinning on one core for as long as the test runs."""
    child = subprocess.Popen([sys.executable, "-c", "print('spinning', flush=True)\nwhile True: pass"],
                             stdout=subprocess.PIPE, text=True)
    child.stdout.readline()  # it spins before the guard looks, not while Python is still starting
    yield child
    child.kill()
    child.wait()


def test_warn_sees_the_busy_core_and_measures_anyway(burner):
    seen = guard("warn", "cpu", window_s=0.3)
    assert seen.busy and seen.other_cpu_percent >= 50
    assert "other processes used" in seen.warning() and "--busy error refuses" in seen.warning()
    assert seen.to_json()["busy"] is True and seen.to_json()["gpu_processes"] is None


def test_error_refuses_in_one_line_with_exit_3(burner):
    with pytest.raises(DeviceBusy) as raised:
        guard("error", "cpu", window_s=0.3)
    assert raised.value.exit_code == 3 and "nothing measured" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_calib_run_busy_error_refuses_before_measuring_anything(burner, tmp_path):
    out = tmp_path / "run.json"
    result = CliRunner().invoke(main_command(), ["run", "-m", "tiny-cnn", "-b", "torch", "--timeout", "0",
                                                 "--busy", "error", "--out", str(out), "-q"])
    assert result.exit_code == 3, result.output
    assert "--busy error: other processes used" in result.output and "Traceback" not in result.output
    assert not out.exists()  # refused before the results file is opened: nothing half-written left behind


def main_command():
    from calib.cli import main

    return main


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def looks(*cpu_percents):
    """Successive looks at the machine, other processes' CPU use falling as given."""
    seen = iter(cpu_percents)
    return lambda: BusyCheck("wait", "cpu", next(seen), None, "cpu is not a GPU")


def test_wait_returns_once_quiet():
    clock, waits = FakeClock(), []
    seen = guard("wait", "cpu", look=looks(90.0, 80.0, 5.0), poll_s=2.0, clock=clock, sleep=clock.sleep,
                 on_wait=waits.append)
    assert not seen.busy and seen.waited_s == 4.0 and len(waits) == 1
    assert seen.warning() is None


def test_wait_gives_up_at_its_limit_and_warns():
    clock = FakeClock()
    seen = guard("wait", "cpu", look=looks(*[90.0] * 100), wait_limit_s=10.0, poll_s=2.0, clock=clock,
                 sleep=clock.sleep)
    assert seen.busy and seen.waited_s == 10.0
    assert "after waiting 10 s" in seen.warning()


def test_a_quiet_look_waits_for_nothing():
    clock = FakeClock()
    seen = guard("wait", "cpu", look=looks(3.0), clock=clock, sleep=clock.sleep)
    assert seen.waited_s == 0.0 and not seen.busy


def test_gpu_processes_make_a_device_busy():
    check = BusyCheck("warn", "cuda:0", 0.0, ({"pid": 4242, "name": "python", "used_bytes": 2**30},))
    assert check.busy and "1 other process(es) on cuda:0 (pid 4242 python)" in check.warning()


def test_off_gpu_the_gpu_part_says_why():
    seen = sample("cpu", window_s=0.05)
    assert seen.gpu_processes is None and seen.gpu_reason == "cpu is not a GPU"


def test_an_unknown_mode_is_a_usage_error():
    with pytest.raises(UsageError):
        guard("sometimes", "cpu", look=looks(0.0))
    from calib.spec import SweepSpec

    with pytest.raises(UsageError):
        SweepSpec(model="tiny-cnn", backends=("torch",), precisions=("fp32",), batch_sizes=(1,), device="cpu",
                  threads=1, busy="loud")


def test_calib_ab_takes_busy_too(burner, tmp_path):
    result = CliRunner().invoke(main_command(), [
        "ab", "--baseline-model", "tiny-cnn", "--current-model", "tiny-cnn", "--busy", "error", "--rounds", "2",
        "--max-rounds", "2", "--round-time", "0.05", "--baseline-out", str(tmp_path / "b.json"),
        "--current-out", str(tmp_path / "c.json"), "-q"])
    assert result.exit_code == 3 and "--busy error" in result.output, result.output
    assert not (tmp_path / "b.json").exists() and not (tmp_path / "c.json").exists()
