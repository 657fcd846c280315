"""calib.worker.call_in_child: work that would leave this process slower (calibration's op sweep) runs in a fresh
process; its result, progress and errors come back; a child that dies is one line, not a hang."""

import os

import pytest

from calib.errors import CalibError, UsageError
from calib.worker import call_in_child


def _counts(n, progress):
    for index in range(n):
        progress(index)
    from calib.malloc import malloc_state

    return os.getpid(), malloc_state()["mode"]


def _refuses(progress):
    raise UsageError("--budget-s must be positive")


def _breaks(progress):
    return {}["missing"]


def _dies(progress):
    os._exit(3)


def test_the_result_and_progress_come_back_from_another_process_with_calibs_malloc():
    seen = []
    pid, mode = call_in_child(_counts, (3,), seen.append)
    assert pid != os.getpid() and seen == [0, 1, 2]
    assert mode == "steady" or os.environ.get("CALIB_MALLOC") == "system"


def test_a_calib_error_comes_back_as_itself_and_any_other_as_one_line():
    with pytest.raises(UsageError, match="--budget-s must be positive"):
        call_in_child(_refuses, ())
    with pytest.raises(CalibError, match="KeyError: 'missing'"):
        call_in_child(_breaks, ())


def test_a_child_that_dies_is_said_with_its_exit_status():
    with pytest.raises(CalibError, match="calib op sweep: the process died .exit status 3."):
        call_in_child(_dies, (), name="calib op sweep")


def test_calibrate_builds_no_op_in_this_process(tmp_path, monkeypatch):
    """The op sweep's modules are built and freed in a process of its own: were it run here, the patched builder
    would fail every op and the table would have none."""
    from calib.predict import sweep
    from calib.predict.calibrate import CalibrationPlan, calibrate
    from calib.predict.sweep import OpSpec
    from calib.results.store import load_result

    def here(*args, **kwargs):
        raise AssertionError("an op was built in the calibrating process")

    monkeypatch.setattr(sweep, "build", here)
    plan = CalibrationPlan(("fp32",), ops=(OpSpec("conv", (8, 16, 3, 1, 16, 1)), OpSpec("relu", (8, 16))),
                           budget_s=30, op_budget_s=0.3, threads=2)
    labels = []
    report = calibrate(plan, tmp_path / "t.json", on_item=lambda index, total, phase, label: labels.append(label))
    table = load_result(report.path)["calibration"]["tables"]["fp32"]
    assert table["op_count"] == 2 and not table["skipped"]
    # the sweep's own process is no neighbour: watched there, this one (waiting) barely counts; watched here, its
    # 1-2 busy threads read as other processes' 100%+ of a core and the table as busy
    assert table["other_cpu_percent"] is None or table["other_cpu_percent"] < 50
    assert labels == ["fp32 op conv(8,16,3,1,16,1)b1", "fp32 op relu(8,16)b1"]
