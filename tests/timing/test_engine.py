import pytest

from calib.timing.clock import FakeTimer
from calib.timing.engine import TimingSettings, measure


def _count_calls():
    calls = []
    return calls, lambda: calls.append(1)


def test_stops_on_ci_target_with_low_noise():
    timer = FakeTimer(median_ns=1e6, rel_noise=0.001, seed=3)
    settings = TimingSettings(min_count=20, min_time_s=0.05, max_time_s=10, target_ci_rel=0.01)
    calls, fn = _count_calls()
    result = measure(fn, timer, settings)
    assert result.stop_reason == "ci_target"
    assert len(result.samples_ms) >= 20
    assert sum(result.samples_ms) / 1000 >= 0.05  # min time reached
    # cold + warm-up + samples: every call was timed and the fake clock saw each of them
    assert len(calls) == 1 + len(result.warmup_ms) + len(result.samples_ms)
    assert abs(result.summary().median_ms - 1.0) < 0.01


def test_noisy_measurement_hits_max_time_and_warns():
    timer = FakeTimer(median_ns=1e6, rel_noise=0.5, seed=4)
    settings = TimingSettings(min_count=10, min_time_s=0.01, max_time_s=0.2, target_ci_rel=0.001)
    result = measure(lambda: None, timer, settings)
    assert result.stop_reason == "max_time"
    assert any("CI of the median" in w for w in result.warnings)
    assert any("unstable" in w for w in result.warnings)


def test_warmup_respects_min_count_and_min_time():
    timer = FakeTimer(durations=[2_000_000])  # every call "takes" 2 ms
    settings = TimingSettings(warmup_min_count=3, warmup_min_time_s=0.02, min_count=5, min_time_s=0.0,
                              max_time_s=1.0)
    result = measure(lambda: None, timer, settings)
    assert len(result.warmup_ms) == 10  # 0.02 s / 2 ms: time dominates the count
    assert result.cold_ms == 2.0


def test_slow_calls_stop_at_max_time_with_few_samples_and_say_so():
    timer = FakeTimer(durations=[400_000_000])  # 0.4 s per call
    settings = TimingSettings(warmup_max_time_s=0.5, min_count=20, min_time_s=1.0, max_time_s=2.0)
    result = measure(lambda: None, timer, settings)
    assert result.stop_reason == "max_time"
    assert 3 <= len(result.samples_ms) < 20
    assert any("only" in w and "samples" in w for w in result.warnings)


def test_first_call_is_recorded_apart_from_warmup():
    timer = FakeTimer(durations=[50_000_000] + [1_000_000] * 10_000)
    settings = TimingSettings(warmup_min_count=1, warmup_min_time_s=0, min_count=5, min_time_s=0, max_time_s=1)
    result = measure(lambda: None, timer, settings)
    assert result.cold_ms == 50.0
    assert max(result.samples_ms) == 1.0


def test_ci_target_within_a_short_max_time_lowers_its_minimum():
    from calib.timing.engine import CiTarget

    assert CiTarget.within(0.2).min_time_s == 0.2 and CiTarget.within(5.0).min_time_s == CiTarget.min_time_s
    assert CiTarget.within(3.0, min_time_s=0.5, min_count=10).min_count == 10


def test_fixed_plan_warms_up_at_most_its_block_unless_told():
    from calib.timing.engine import FixedTime, TimingPlan, Warmup

    assert TimingPlan.fixed(0.5) == TimingPlan(Warmup(1, 0.0, 0.5), FixedTime(0.5, min_count=1))
    assert TimingPlan.fixed(0.5, min_count=5, warmup_time_s=0.3, warmup_max_s=1.0).warmup == Warmup(1, 0.3, 1.0)


def _fault_counts(progress) -> dict:
    """In a fresh process: minor faults per call of a call that allocates nothing and of one that maps 64 MB afresh."""
    import torch

    from calib.timing.clock import PerfCounterTimer
    from calib.timing.engine import FixedTime, Warmup, measure, minor_faults

    if minor_faults() is None:
        return {}

    def fresh():
        block = torch.empty(64 * 2**20, dtype=torch.uint8)
        block[::4096] = 1  # touch every page
        return block

    quiet = measure(lambda: None, PerfCounterTimer(), stop=FixedTime(0.05, min_count=20),
                    warmup=Warmup(min_count=2, min_time_s=0.0, max_time_s=0.1))
    faulting = measure(fresh, PerfCounterTimer(), stop=FixedTime(0.2, min_count=5),
                       warmup=Warmup(min_count=2, min_time_s=0.0, max_time_s=0.2))
    return {"quiet": (quiet.page_faults_per_call, quiet.warnings),
            "faulting": (faulting.page_faults_per_call, faulting.warnings)}


def test_page_faults_per_call_are_counted_and_said_when_they_cost_time():
    """A call that allocates 64 MB afresh with torch's CPU allocator (past glibc's largest mmap threshold, so every
    free gives it back) faults in 4 KB pages thousands of times per call, and the measurement says so with what
    to do; a call that allocates nothing does not. (numpy asks for transparent huge pages: 32 faults of 2 MB.)
    Measured in a fresh process (calib.worker.call_in_child): in the suite's own process, allocators that earlier
    tests' engines loaded can keep the block, and it failed there once in a full run."""
    from calib.worker import call_in_child

    counts = call_in_child(_fault_counts, ())
    if not counts:
        pytest.skip("no page-fault count on this platform")
    quiet_faults, quiet_warnings = counts["quiet"]
    faults, warnings = counts["faulting"]
    assert quiet_faults < 1 and not any("page faults" in w for w in quiet_warnings)
    try:
        huge = "[always]" in open("/sys/kernel/mm/transparent_hugepage/enabled").read()
    except OSError:
        huge = False
    if huge:  # every large block in 2 MB pages: 32 faults, each far costlier than the 4 KB one the warning assumes
        assert faults >= 16
        return
    assert faults > 8000, counts  # 64 MB / 4 KB = 16384 pages
    assert any("page faults per call" in w and "MALLOC_MMAP_THRESHOLD_" in w for w in warnings), counts
