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


def test_an_openvino_upgrade_is_named_and_still_judged():
    """Issue 30 item 7: the library check covered only torch and ONNX Runtime."""
    before = {**ENV, "openvino": "2025.1.0", "nncf": "2.16.0"}
    difference = environment_difference(before, {**before, "openvino": "2026.4.1"}, "base.json", "cur.json")
    assert difference.engines == ("openvino: '2025.1.0' vs '2026.4.1'",) and difference.comparable
    assert difference.lines() == ["base.json vs cur.json: engine versions differ (the configurations run on them "
                                  "may move with them): openvino: '2025.1.0' vs '2026.4.1'"]
    assert environment_difference(before, {**ENV}, "base.json", "cur.json") is None  # an older file lacks them
