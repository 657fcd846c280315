"""The speed check (calib.predict.pulse): a prediction is scaled by the machine's speed now against its speed
during calibration, only on the same device and within reason, and says so either way. By default (auto) the
pulse decides whether the machine moved and the table's anchors, timed again, by how much."""

import math

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
    speed = speed_scale(_view(), "Test CPU", measure=lambda threads: 1.1, mode="pulse")
    assert speed["applied"] and speed["scale"] == pytest.approx(1.1) and speed["table_pulse_ms"] == 1.0
    assert speed["method"] == "pulse" and "scaled by 1.100" in speed_line(speed)


def _anchors(*ratios):
    timed = [{"model": f"m{i}", "batch_size": 1, "now_ms": 2.0 * r, "table_ms": 2.0} for i, r in enumerate(ratios)]
    return lambda view: timed


def test_auto_leaves_a_machine_that_did_not_move_and_times_no_anchor():
    speed = speed_scale(_view(), "Test CPU", measure=lambda threads: 1.04,
                        anchors=lambda view: pytest.fail("no anchor should be timed"))
    assert not speed["applied"] and speed["scale"] == 1.0 and speed["pulse_ms"] == 1.04
    assert "within 5%" in speed_line(speed)


@pytest.mark.parametrize("pulse, ratios", [(1.6, (1.5, 1.4, 1.2)), (0.7, (0.8, 0.85, 0.9))])
def test_auto_scales_by_the_anchors_when_they_moved_less_than_the_pulse(pulse, ratios):
    speed = speed_scale(_view(), "Test CPU", measure=lambda threads: pulse, anchors=_anchors(*ratios))
    middle = sorted(ratios)[1]
    assert speed["applied"] and speed["method"] == "anchors" and speed["scale"] == pytest.approx(middle)
    line = speed_line(speed)
    assert f"m0 b1 {ratios[0]:.3f}x" in line and f"scaled by {middle:.3f}" in line and f"({pulse:.3f}x)" in line
    # how unequally they moved: the interval holds it
    assert speed["spread"] == pytest.approx(max(abs(math.log(r / middle)) for r in ratios))


def test_auto_scales_by_the_pulse_when_it_moved_less_than_the_anchors():
    """Two readings of one move, each off by up to 10-20% on these machines: the smaller one is taken (the quickest
    models' 0.76x and 0.83x scaled two Zen 5 benches 12% / 22% within 5% / 10%, their pulses' 0.93x and 0.94x 38% /
    53% and 31% / 53%)."""
    speed = speed_scale(_view(), "Test CPU", measure=lambda threads: 1.3, anchors=_anchors(1.5, 1.4, 1.2))
    assert speed["applied"] and speed["method"] == "pulse" and speed["scale"] == pytest.approx(1.3)
    assert speed["spread"] == pytest.approx(math.log(1.5 / 1.3))
    line = speed_line(speed)
    assert "scaled by 1.300" in line and "the smaller of the two moves" in line and "1.400x" in line


def test_auto_does_not_scale_when_the_pulse_and_the_anchors_disagree_on_the_direction():
    speed = speed_scale(_view(), "Test CPU", measure=lambda threads: 0.8, anchors=_anchors(1.5, 1.4, 1.2))
    assert not speed["applied"] and speed["scale"] == 1.0 and len(speed["anchors"]) == 3
    assert speed["spread"] == pytest.approx(math.log(1.4))  # the larger move, held by the interval
    assert "disagree on which way the machine moved" in speed_line(speed)


def test_the_anchors_spread_widens_the_interval_in_quadrature():
    from types import SimpleNamespace

    from calib.predict.predictor import _widened

    prediction = SimpleNamespace(predicted_ms=10.0, low_ms=10.0 * math.exp(-0.3), high_ms=10.0 * math.exp(0.4))
    low, high = _widened(prediction, 0.0)
    assert (low, high) == (prediction.low_ms, prediction.high_ms)
    low, high = _widened(prediction, 0.3)
    assert low == pytest.approx(10.0 * math.exp(-math.hypot(0.3, 0.3)))
    assert high == pytest.approx(10.0 * math.exp(0.5))


def test_auto_falls_back_on_the_pulse_when_no_anchor_runs_and_says_so():
    speed = speed_scale(_view(), "Test CPU", measure=lambda threads: 1.3, anchors=_anchors())
    assert speed["applied"] and speed["method"] == "pulse" and speed["scale"] == pytest.approx(1.3)
    assert "no calibration model" in speed_line(speed)


def test_anchors_mode_times_them_without_pulses_and_off_takes_nothing():
    speed = speed_scale(_view(pulses=()), "Test CPU", measure=lambda threads: pytest.fail("no pulse"),
                        mode="anchors", anchors=_anchors(0.9))
    assert speed["applied"] and speed["scale"] == pytest.approx(0.9) and speed["pulse_ms"] is None
    assert "scaled by 0.900" in speed_line(speed)
    off = speed_scale(_view(), "Test CPU", measure=lambda threads: pytest.fail("no pulse"), mode="off",
                      anchors=lambda view: pytest.fail("no anchor"))
    assert not off["applied"] and off["scale"] == 1.0
    with pytest.raises(ValueError):
        speed_scale(_view(), "Test CPU", mode="sometimes")


@pytest.mark.parametrize("view, here, said", [
    (_view(), "Other CPU", "compare two CPUs"),
    (_view(pulses=()), "Test CPU", "no speed pulses"),
    (_view(device="cuda"), "Test CPU", "another device or clock"),
    (_view(clock="cpu"), "Test CPU", "another device or clock"),
])
def test_nothing_is_scaled_where_the_pulse_cannot_say_and_the_reason_is_given(view, here, said):
    speed = speed_scale(view, here, measure=lambda threads: pytest.fail("no pulse should be taken"),
                        anchors=lambda view: pytest.fail("no anchor should be timed"))
    assert not speed["applied"] and speed["scale"] == 1.0 and said in speed["reason"]
    assert said in speed_line(speed)


def test_a_machine_busy_past_twice_the_tables_time_is_said_not_corrected():
    speed = speed_scale(_view(), "Test CPU", measure=lambda threads: 2.5)
    assert not speed["applied"] and speed["scale"] == 1.0 and speed["pulse_ms"] == 2.5
    assert "something else is running" in speed["reason"]


def test_the_pulse_is_a_real_measurement():
    first, second = pulse_ms(1, seconds=0.05), pulse_ms(1, seconds=0.05)
    assert 0 < first < 100 and 0 < second < 100
