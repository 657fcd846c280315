"""RAPL zones read from a temporary directory laid out like /sys/class/powercap."""

from calib.energy.rapl import RaplCounter, find_zones, rapl_counter, wrapped_delta

ZONE = "/sys/class/powercap/intel-rapl:0"


def package(energy_uj: int, max_uj: int = 1_000_000, name: str = "package-0", zone: str = ZONE) -> dict:
    return {f"{zone}/name": f"{name}\n", f"{zone}/energy_uj": f"{energy_uj}\n",
            f"{zone}/max_energy_range_uj": f"{max_uj}\n"}


def test_wraparound_adds_the_range():
    assert wrapped_delta(100, 400, 1000) == 300
    assert wrapped_delta(900, 100, 1000) == 200  # wrapped once past 1000


def test_counter_unwraps_between_readings(sysfs):
    root = sysfs(package(900_000))
    counter, reason = rapl_counter(root)
    assert reason is None and counter.name == "rapl package-0"
    (root / ZONE.lstrip("/") / "energy_uj").write_text("200000\n")  # wrapped: 100k to the top, 200k after
    assert abs(counter.joules() - 0.3) < 1e-9
    (root / ZONE.lstrip("/") / "energy_uj").write_text("700000\n")
    assert abs(counter.joules() - 0.8) < 1e-9


def test_packages_and_their_dram_are_summed_not_their_cores(sysfs):
    files = {**package(1_000), **package(5_000, name="package-1", zone="/sys/class/powercap/intel-rapl:1"),
             **package(7, name="core", zone=f"{ZONE}/intel-rapl:0:0"),
             **package(2_000, name="dram", zone=f"{ZONE}/intel-rapl:0:1")}
    zones, reason = find_zones(sysfs(files))
    assert reason is None
    assert [z.name for z in zones] == ["package-0", "dram", "package-1"]


def test_psys_alone_where_present(sysfs):
    files = {**package(1_000), **package(9_000, name="psys", zone="/sys/class/powercap/intel-rapl:1")}
    zones, _ = find_zones(sysfs(files))
    assert [z.name for z in zones] == ["psys"]


def test_absent_powercap_says_vm_when_the_cpu_runs_under_a_hypervisor(sysfs):
    root = sysfs({"/proc/cpuinfo": "flags\t\t: fpu sse2 hypervisor avx\n"})
    counter, reason = rapl_counter(root)
    assert counter is None and reason == "no RAPL counters on this VM (/sys/class/powercap is absent)"
    bare = sysfs({"/sys/class/powercap/other:0/name": "x"})
    bare.joinpath("proc/cpuinfo").write_text("flags\t\t: fpu sse2\n")
    assert find_zones(bare)[1] == "no RAPL counters on this machine (/sys/class/powercap has no intel-rapl zones)"


def test_unreadable_counter_is_its_own_reason(sysfs):
    files = package(10)
    files[f"{ZONE}/energy_uj"] = "not a number\n"  # what a permission error looks like to a parser
    zones, reason = find_zones(sysfs(files))
    assert zones == [] and "present but not readable" in reason and "root-only" in reason


def test_counter_starts_at_zero(sysfs):
    counter = RaplCounter(find_zones(sysfs(package(123_456)))[0])
    assert counter.joules() == 0.0
