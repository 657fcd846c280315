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


# Real captures often keep only the first NUL-separated entry (board + module part numbers):
# the module part number alone must say which Jetson it is.
@pytest.mark.parametrize("compatible, soc, module, module_part, carrier", [
    ("nvidia,p3737-0000+p3701-0005", "tegra234", "Jetson AGX Orin 64GB", "p3701-0005", "p3737-0000"),
    ("nvidia,p3768-0000+p3767-0005-super", "tegra234", "Jetson Orin Nano 8GB (developer kit)", "p3767-0005",
     "p3768-0000"),
    ("nvidia,p3768-0000+p3767-0000", "tegra234", "Jetson Orin NX 16GB", "p3767-0000", "p3768-0000"),
    ("nvidia,p3768-0000+p3767-0001", "tegra234", "Jetson Orin NX 8GB", "p3767-0001", "p3768-0000"),
    ("nvidia,p3768-0000+p3767-0004", "tegra234", "Jetson Orin Nano 4GB", "p3767-0004", "p3768-0000"),
    # Xavier NX on the Nano's carrier (a JetPack 5 capture): the carrier says nothing, the module does.
    ("nvidia,p3449-0000+p3668-0000", "tegra194", "Jetson Xavier NX", "p3668-0000", "p3449-0000"),
    ("nvidia,p3509-0000+p3636-0001", "tegra186", "Jetson TX2 NX", "p3636-0001", "p3509-0000"),
    ("nvidia,p2822-0000+p2888-0001", "tegra194", "Jetson AGX Xavier", "p2888-0001", "p2822-0000"),
    ("nvidia,p2972-0000", "tegra194", "Jetson AGX Xavier (developer kit)", "p2972-0000", None),
    ("nvidia,p3449-0000-b00+p3448-0002-b00", "tegra210", "Jetson Nano", "p3448-0002", "p3449-0000"),
    ("nvidia,p3450-0000", "tegra210", "Jetson Nano (developer kit)", "p3450-0000", None),
    ("nvidia,p2771-0000", "tegra186", "Jetson TX2 (developer kit)", "p2771-0000", None),
    ("nvidia,p4071-0000+p3834-0008", "tegra264", "Jetson AGX Thor T5000", "p3834-0008", "p4071-0000"),
])
def test_first_compatible_entry_alone_identifies_the_module(captured_root, compatible, soc, module, module_part,
                                                            carrier):
    jetson = detect_jetson(captured_root({"/proc/device-tree/compatible": compatible + "\0"}))
    assert (jetson["soc"], jetson["module"], jetson["module_part"], jetson["carrier_part"]) == (
        soc, module, module_part, carrier)
    assert jetson["identified_from"] == "module part number" and module_part in jetson["identity_evidence"]
    assert jetson["gpu_compute_capability"] is not None


def test_a_carrier_alone_identifies_nothing(captured_root):
    # p3509 carries Xavier NX, TX2 NX and Orin NX modules: no SoC follows from it.
    jetson = detect_jetson(captured_root({"/proc/device-tree/compatible": "nvidia,p3509-0000\0"}))
    assert jetson["soc"] is None and jetson["gpu_compute_capability"] is None
    assert jetson["carrier_part"] == "p3509-0000" and jetson["module"] is None


def test_the_soc_entry_wins_over_the_module_table(captured_root):
    jetson = detect_jetson(captured_root(
        {"/proc/device-tree/compatible": "nvidia,p3737-0000+p3701-0005\0nvidia,p3701-0005\0nvidia,tegra234\0"}))
    assert (jetson["soc"], jetson["identified_from"], jetson["module"]) == (
        "tegra234", "compatible", "Jetson AGX Orin 64GB")


@pytest.mark.parametrize("model, soc", [
    ("NVIDIA Orin NX Developer Kit", "tegra234"),  # JetPack 5: no "Jetson" in it
    ("NVIDIA Orin Nano Developer Kit", "tegra234"),  # "Orin Nano" is Orin, not the Maxwell Nano
    ("Jetson-AGX", "tegra194"),  # JetPack 4's AGX Xavier
    ("NVIDIA Jetson Xavier NX Developer Kit", "tegra194"),
    ("NVIDIA Jetson Nano Developer Kit", "tegra210"),
    ("NVIDIA Jetson TX2", "tegra186"),
    ("NVIDIA Jetson AGX Thor Developer Kit", "tegra264"),
])
def test_model_string_when_the_compatible_list_is_missing(captured_root, model, soc):
    jetson = detect_jetson(captured_root({"/proc/device-tree/model": model + "\0"}))
    assert (jetson["soc"], jetson["identified_from"]) == (soc, "model string")


def test_a_non_nvidia_nano_is_not_a_jetson(captured_root):
    root = captured_root({"/proc/device-tree/model": "FriendlyElec NanoPi R5S\0",
                          "/proc/device-tree/compatible": "friendlyelec,nanopi-r5s\0rockchip,rk3568\0"})
    assert detect_jetson(root) is None


@pytest.mark.parametrize("release, candidates", [
    ("# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64", ["tegra194", "tegra234"]),
    ("# R35 (release), REVISION: 6.0, GCID: 1, BOARD: t186ref, EABI: aarch64", ["tegra194", "tegra234"]),
    ("# R32 (release), REVISION: 7.6, GCID: 1, BOARD: t210ref, EABI: aarch64", ["tegra210", "tegra186", "tegra194"]),
])
def test_l4t_release_alone_is_ambiguous_and_says_so(captured_root, release, candidates):
    jetson = detect_jetson(captured_root({"/etc/nv_tegra_release": release + "\n"}))
    assert jetson["soc"] is None and jetson["gpu_compute_capability"] is None
    assert jetson["soc_candidates"] == candidates and "ambiguous" in jetson["identity_evidence"]


def test_l4t_r38_is_thor_only(captured_root):
    jetson = detect_jetson(captured_root({"/etc/nv_tegra_release": "# R38 (release), REVISION: 2.1, GCID: 1\n"}))
    assert (jetson["soc"], jetson["identified_from"], jetson["gpu_compute_capability"]) == (
        "tegra264", "L4T release", "11.0")


@pytest.mark.parametrize("fixture, soc, identified_from, module", [
    ("jetson-orin-nano-super-first-entry", "tegra234", "module part number", "Jetson Orin Nano 8GB (developer kit)"),
    ("jetson-agx-orin-devkit-first-entry", "tegra234", "module part number", "Jetson AGX Orin 32GB (developer kit)"),
    ("jetson-orin-nano-jp5-model-only", "tegra234", "model string", None),
])
def test_fixture_roots(fixture, soc, identified_from, module):
    from tests.hardware.conftest import FIXTURES

    jetson = detect_jetson(FIXTURES / fixture)
    assert (jetson["soc"], jetson["identified_from"], jetson["module"]) == (soc, identified_from, module)
