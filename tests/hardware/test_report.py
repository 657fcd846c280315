import json

from calib.hardware import device_report, verdict_for
from calib.hardware.report import report_from_cpu_text


def test_device_report_on_this_machine_has_the_documented_shape():
    report = device_report(live_gpu=False)
    json.dumps(report)  # serialisable: calib run stores it with every result
    assert {"vendor", "model", "arch", "flags"} <= set(report["cpu"])
    assert report["devices"][0]["id"] == "cpu"
    assert verdict_for(report, "cpu", "fp32")["status"] == "native"
    assert verdict_for(report, "cuda:7", "fp32") is None
    assert verdict_for(None, "cpu", "fp32") is None


def test_root_with_cpuinfo(fixture_text, captured_root):
    root = captured_root({"/proc/cpuinfo": fixture_text("zen4-genoa-epyc-9654.cpuinfo"),
                          "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor": "performance\n"})
    report = device_report(root=root)
    assert report["cpu"]["governor"] == "performance"
    assert report["jetson"] is None and [d["id"] for d in report["devices"]] == ["cpu"]
    assert verdict_for(report, "cpu", "bf16")["status"] == "native"
    assert "not queried" in report["gpu_note"]


def test_jetson_root_gets_an_integrated_gpu_from_the_soc_table(fixture_text, captured_root):
    root = captured_root({"/proc/device-tree/model": "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super\0",
                          "/proc/device-tree/compatible": fixture_text("jetson-orin-nano-super/device-tree-compatible.txt"),
                          "/etc/nv_tegra_release": fixture_text("jetson-orin-nano-super/nv_tegra_release-head1.txt")})
    report = device_report(root=root)
    assert report["jetson"]["l4t"] == "36.4.3"
    gpu = report["devices"][1]
    assert (gpu["id"], gpu["compute_capability"], gpu["source"]) == ("cuda:0", "8.7", "soc-table")
    bf16 = verdict_for(report, "cuda:0", "bf16")
    assert bf16["status"] == "native" and "SoC table" in bf16["evidence"]
    assert verdict_for(report, "cuda:0", "fp8")["status"] == "unsupported"


def test_report_from_pasted_text(fixture_text):
    report = report_from_cpu_text(fixture_text("graviton3-neoverse-v1.cpuinfo"), "pasted.txt")
    assert report["cpu"]["precision_flags"] == ["asimd", "fphp", "asimdhp", "asimddp", "i8mm", "bf16", "sve", "svebf16"]
    assert verdict_for(report, "cpu", "bf16")["status"] == "native"
