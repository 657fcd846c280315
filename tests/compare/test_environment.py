"""Which environment differences keep two runs' timings comparable (`calib check` refuses the others)."""

from calib.compare.environment import environment_difference

ENV = {"host": "runner-1", "cpu_model": "AMD EPYC", "gpu_name": None, "threads": 2, "torch": "2.14.1"}


def _difference(**changed):
    return environment_difference(ENV, {**ENV, **changed}, "base.json", "cur.json")


def test_the_same_environment_has_no_difference():
    assert _difference() is None


def test_only_the_host_name_differs_comparable_with_a_note():
    difference = _difference(host="runner-2")
    assert difference.comparable
    assert difference.lines() == ["base.json vs cur.json: different machine (host: 'runner-1' vs 'runner-2')"]


def test_another_machine_or_setting_is_not_comparable():
    assert not _difference(cpu_model="Intel Xeon").comparable
    assert not _difference(threads=1).comparable
    assert not _difference(host="runner-2", threads=1).comparable
