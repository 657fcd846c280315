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


def test_every_engine_version_is_recorded_without_importing_it():
    """Issue 30 item 7: no OpenVINO/NNCF version was recorded. Read from metadata: nothing is imported."""
    import sys
    from importlib.metadata import PackageNotFoundError, version

    from calib.environment import ENGINE_KEYS, capture

    before = {name for name in ("openvino", "nncf", "tensorrt", "torchao", "transformers") if name in sys.modules}
    environment = capture(1)
    assert {"openvino", "nncf", "tensorrt", "onnx", "torchao", "transformers"} <= set(ENGINE_KEYS) <= set(environment)
    for key in ("openvino", "nncf"):
        try:
            installed = version(key)
        except PackageNotFoundError:
            installed = None
        assert environment[key] == installed
    assert {name for name in ("openvino", "nncf", "tensorrt", "torchao", "transformers")
            if name in sys.modules} == before


def test_an_engine_version_only_one_file_has_is_not_a_difference():
    from calib.environment import ENGINE_KEYS, differences

    assert differences({"openvino": "2025.1"}, {}, ENGINE_KEYS) == []  # written before calib recorded it
    assert differences({"openvino": "2025.1"}, {"openvino": None}, ENGINE_KEYS) == ["openvino: '2025.1' vs None"]
