"""The speed pulse (calib.predict.pulse): a prediction is scaled by the machine's speed now against its speed
during calibration, only on the same device and within reason, and says so either way."""

import pytest

from calib.predict.pulse import pulse_ms, reference, speed_line, speed_scale
from calib.predict.table import TableView


def _view(pulses=(1.0, 1.2, 0.9), device_name="Test CPU", device="cpu", clock="wall"):
    return TableView(path="t.json", precision="fp32", device=device, device_name=device_name, threads=1,
                     emulated=False, verdict=None, ops=[], models=[], environment={}, clock=clock,
                     backend="openvino", pulses=tuple(pulses))


def test_the_reference_is_the_median_of_the_calibration_pulses():
    assert reference([1.0, 1.2, 0.9]) == 1.0
    assert reference([]) is None and reference(None) is None and reference([0.0]) is None


def test_the_same_machine_is_scaled_by_its_pulse_now_over_the_tables():
    speed = speed_scale(_view(), "Test CPU", measure=lambda threads: 1.1)
    assert speed["applied"] and speed["scale"] == pytest.approx(1.1) and speed["table_pulse_ms"] == 1.0
    assert "scaled by 1.100" in speed_line(speed)


@pytest.mark.parametrize("view, here, said", [
    (_view(), "Other CPU", "compare two CPUs"),
    (_view(pulses=()), "Test CPU", "no speed pulses"),
    (_view(device="cuda"), "Test CPU", "another device or clock"),
    (_view(clock="cpu"), "Test CPU", "another device or clock"),
])
def test_nothing_is_scaled_where_the_pulse_cannot_say_and_the_reason_is_given(view, here, said):
    speed = speed_scale(view, here, measure=lambda threads: pytest.fail("no pulse should be taken"))
    assert not speed["applied"] and speed["scale"] == 1.0 and said in speed["reason"]
    assert said in speed_line(speed)


def test_a_machine_busy_past_twice_the_tables_time_is_said_not_corrected():
    speed = speed_scale(_view(), "Test CPU", measure=lambda threads: 2.5)
    assert not speed["applied"] and speed["scale"] == 1.0 and speed["pulse_ms"] == 2.5
    assert "something else is running" in speed["reason"]


def test_the_pulse_is_a_real_measurement():
    first, second = pulse_ms(1, seconds=0.05), pulse_ms(1, seconds=0.05)
    assert 0 < first < 100 and 0 < second < 100
