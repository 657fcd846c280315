"""Jetson INA3221 rails read from a temporary directory laid out like /sys/bus/i2c/devices (both layouts)."""

from calib.energy import counter_for, counters_report
from calib.energy.ina3221 import find_rails, rail_power

HWMON = "/sys/bus/i2c/devices/1-0040/hwmon/hwmon3"
IIO = "/sys/bus/i2c/devices/6-0040/iio:device0"


def orin_hwmon() -> dict:
    """JetPack 5+: labels, bus voltage (mV) and current (mA) per channel; an NC channel and channel 7."""
    return {"/sys/bus/i2c/devices/1-0040/name": "ina3221\n",
            f"{HWMON}/in1_label": "VDD_IN\n", f"{HWMON}/in1_input": "5000\n", f"{HWMON}/curr1_input": "1200\n",
            f"{HWMON}/in2_label": "VDD_CPU_GPU_CV\n", f"{HWMON}/in2_input": "5000\n",
            f"{HWMON}/curr2_input": "400\n",
            f"{HWMON}/in3_label": "NC\n", f"{HWMON}/in3_input": "0\n", f"{HWMON}/curr3_input": "0\n",
            f"{HWMON}/in7_label": "sum of shunt voltages\n", f"{HWMON}/in7_input": "1\n",
            "/sys/bus/i2c/devices/1-0041/name": "some-other-chip\n"}


def nano_iio() -> dict:
    """JetPack 4: rail names and power (mW) per channel; no total rail named VDD_IN on some boards."""
    return {"/sys/bus/i2c/devices/6-0040/name": "ina3221x\n",
            f"{IIO}/rail_name_0": "POM_5V_GPU\n", f"{IIO}/in_power0_input": "1500\n",
            f"{IIO}/rail_name_1": "POM_5V_CPU\n", f"{IIO}/in_power1_input": "2500\n"}


def test_hwmon_rails_skip_unconnected_and_the_shunt_sum(sysfs):
    rails, reason = find_rails(sysfs(orin_hwmon()))
    assert reason is None
    assert [rail.name for rail in rails] == ["VDD_IN", "VDD_CPU_GPU_CV"]
    assert rails[0].watts() == 6.0  # 5 V x 1.2 A


def test_board_power_is_the_input_rail_alone(sysfs):
    power, reason = rail_power(sysfs(orin_hwmon()))
    assert reason is None and power.name == "ina3221 VDD_IN" and power.watts() == 6.0


def test_iio_rails_are_summed_without_a_total_rail(sysfs):
    power, _ = rail_power(sysfs(nano_iio()))
    assert power.name == "ina3221 POM_5V_GPU+POM_5V_CPU" and power.watts() == 4.0


def test_rails_are_read_live(sysfs):
    root = sysfs(nano_iio())
    power, _ = rail_power(root)
    (root / IIO.lstrip("/") / "in_power0_input").write_text("3500\n")
    assert power.watts() == 6.0


def test_a_jetson_cpu_falls_back_to_the_board_rails(sysfs):
    counter, reason = counter_for("cpu", root=sysfs(orin_hwmon()))
    assert reason is None and counter.kind == "power" and counter.name == "ina3221 VDD_IN"


def test_no_monitor_is_a_reason(sysfs):
    assert find_rails(sysfs({"/sys/bus/i2c/devices/1-0041/name": "eeprom\n"}))[1].startswith(
        "no INA3221 power monitors (not a Jetson")


def test_device_listing_for_a_captured_jetson(sysfs):
    entries = {e["counter"]: e for e in counters_report(root=sysfs(orin_hwmon()))}
    assert entries["ina3221"]["present"] and entries["ina3221"]["name"] == "VDD_IN + VDD_CPU_GPU_CV"
    assert not entries["rapl"]["present"] and entries["rapl"]["reason"]
    assert entries["nvml"]["reason"] == "not queried: analysing files under --root"
