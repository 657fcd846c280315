import pytest

from calib.hardware.jetson import detect_jetson, parse_compatible, parse_model, parse_tegra_release


def _nano_files(fixture_text, with_nuls: bool) -> dict:
    model = fixture_text("jetson-orin-nano-super/device-tree-model.txt").strip()
    compatible = fixture_text("jetson-orin-nano-super/device-tree-compatible.txt").strip()
    if with_nuls:
        # The kernel's form: NUL-terminated model; compatible entries each followed by a NUL.
        model = model + "\0"
        entries = ["nvidia,p3768-0000+p3767-0005-super", "nvidia,p3767-0005", "nvidia,tegra234"]
        assert "".join(entries) == compatible  # the pasted copy is these, glued
        compatible = "\0".join(entries) + "\0"
    return {"/proc/device-tree/model": model, "/proc/device-tree/compatible": compatible,
            "/etc/nv_tegra_release": fixture_text("jetson-orin-nano-super/nv_tegra_release-head1.txt")}


@pytest.mark.parametrize("with_nuls", [False, True], ids=["pasted", "nul-terminated"])
def test_orin_nano_super_root(fixture_text, captured_root, with_nuls):
    jetson = detect_jetson(captured_root(_nano_files(fixture_text, with_nuls)))
    assert jetson["model"] == "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super"
    assert jetson["compatible"] == ["nvidia,p3768-0000+p3767-0005-super", "nvidia,p3767-0005", "nvidia,tegra234"]
    assert (jetson["soc"], jetson["family"], jetson["l4t"]) == ("tegra234", "Jetson Orin", "36.4.3")
    assert jetson["gpu_compute_capability"] == "8.7"
    assert jetson["power_mode"] is None  # never run nvpmodel for a captured root


def test_sysfs_devicetree_path_is_also_read(captured_root):
    root = captured_root({"/sys/firmware/devicetree/base/model": "NVIDIA Jetson AGX Xavier\0",
                          "/sys/firmware/devicetree/base/compatible": "nvidia,p2972-0000\0nvidia,tegra194\0"})
    jetson = detect_jetson(root)
    assert (jetson["soc"], jetson["gpu_compute_capability"], jetson["l4t"]) == ("tegra194", "7.2", None)


def test_not_a_jetson(captured_root):
    root = captured_root({"/proc/device-tree/model": "Raspberry Pi 4 Model B Rev 1.4\0",
                          "/proc/device-tree/compatible": "raspberrypi,4-model-b\0brcm,bcm2711\0"})
    assert detect_jetson(root) is None


def test_parsers():
    assert parse_model("NVIDIA Orin Nano Developer Kit\0") == "NVIDIA Orin Nano Developer Kit"
    assert parse_compatible("nvidia,p3737-0000+p3701-0005\0nvidia,p3701-0005\0nvidia,tegra234\0")[-1] == "nvidia,tegra234"
    assert parse_tegra_release("# R32 (release), REVISION: 7.6, GCID: 1, BOARD: t210ref, EABI: aarch64")["l4t"] == "32.7.6"
    assert parse_tegra_release("garbage") is None
