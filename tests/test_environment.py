"""calib.environment: what every result records about where it ran."""


def test_busy_machine_warning_threshold():
    from calib.environment import OtherCpuUse

    assert OtherCpuUse.warning(None) is None
    assert OtherCpuUse.warning(5.0) is None
    assert "96% of a core" in OtherCpuUse.warning(96.0)
    assert OtherCpuUse().stop() >= 0.0


def test_differences_name_the_keys_that_change_timings():
    from calib.environment import differences

    assert differences({"threads": 1, "host": "a"}, {"threads": 2, "host": "a"}) == ["threads: 1 vs 2"]
