"""The meter with a fake clock: idle power first, then the region's energy, per item and above idle."""

import pytest

from calib.energy.ina3221 import rail_power
from calib.energy.meter import EnergyMeter, PowerIntegrator
from calib.energy.rapl import rapl_counter

RAIL = "/sys/bus/i2c/devices/6-0040/iio:device0"


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def board(sysfs):
    """A Jetson-like board whose power (mW) the test sets: (power source, set_watts)."""
    root = sysfs({"/sys/bus/i2c/devices/6-0040/name": "ina3221x\n", f"{RAIL}/rail_name_0": "VDD_IN\n",
                  f"{RAIL}/in_power0_input": "4000\n"})
    power, _ = rail_power(root)
    target = root / RAIL.lstrip("/") / "in_power0_input"
    return power, lambda watts: target.write_text(f"{int(watts * 1000)}\n")


def test_integrator_adds_trapezoids(board):
    power, set_watts = board
    clock = FakeClock()
    integrator = PowerIntegrator(power, clock)
    clock.sleep(1.0)
    set_watts(8)
    integrator.sample()  # (4 + 8) / 2 W for 1 s
    clock.sleep(0.5)
    assert integrator.joules() == pytest.approx(6.0 + 4.0)


def test_idle_then_region_per_item_and_above_idle(board):
    power, set_watts = board
    clock = FakeClock()
    meter = EnergyMeter(power, idle_s=1.0, clock=clock, sleep=clock.sleep, threaded=False)
    assert meter.idle() == pytest.approx(4.0)
    set_watts(10)
    with meter.region():
        clock.sleep(2.0)  # the timed work
    energy = meter.result(items=40)
    assert energy["method"] == "sampled power" and energy["counter"] == "ina3221 VDD_IN"
    assert energy["joules"] == pytest.approx(20.0) and energy["avg_power_w"] == pytest.approx(10.0)
    assert energy["joules_per_item"] == pytest.approx(0.5) and energy["idle_power_w"] == pytest.approx(4.0)
    assert energy["joules_per_item_above_idle"] == pytest.approx((20.0 - 8.0) / 40)


def test_a_cumulative_counter_needs_no_sampling(sysfs):
    zone = "/sys/class/powercap/intel-rapl:0"
    root = sysfs({f"{zone}/name": "package-0\n", f"{zone}/energy_uj": "0\n", f"{zone}/max_energy_range_uj": "99\n"})
    counter, _ = rapl_counter(root)
    clock = FakeClock()
    meter = EnergyMeter(counter, clock=clock, sleep=clock.sleep)
    with meter.region():
        clock.sleep(0.5)
        (root / zone.lstrip("/") / "energy_uj").write_text("50\n")  # 50 uJ
    energy = meter.result(items=10)
    assert energy["method"] == "counter" and energy["joules"] == pytest.approx(50e-6)
    assert energy["idle_power_w"] is None and energy["joules_per_item_above_idle"] is None


def test_a_counter_that_did_not_advance_warns_instead_of_reporting_zero_as_a_finding(sysfs):
    zone = "/sys/class/powercap/intel-rapl:0"
    root = sysfs({f"{zone}/name": "package-0\n", f"{zone}/energy_uj": "7\n", f"{zone}/max_energy_range_uj": "99\n"})
    clock = FakeClock()
    meter = EnergyMeter(rapl_counter(root)[0], clock=clock, sleep=clock.sleep)
    with meter.region():
        clock.sleep(0.1)
    assert "did not advance" in meter.result(items=1)["warning"]


def test_without_a_counter_the_result_is_null_with_the_reason_and_nothing_waits():
    clock = FakeClock()
    meter = EnergyMeter(None, "no RAPL counters on this VM", clock=clock, sleep=clock.sleep)
    assert meter.idle() is None and clock.now == 0.0
    with meter.region():
        pass
    assert meter.result(items=5) == {"value": None, "reason": "no RAPL counters on this VM"}
