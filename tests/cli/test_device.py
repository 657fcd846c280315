import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from calib.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hardware"


def _invoke(*args):
    return CliRunner().invoke(main, ["device", *args], env={"COLUMNS": "120"})


def _root(tmp_path, files):
    for absolute, content in files.items():
        target = tmp_path / absolute.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    return tmp_path


def test_device_json_on_this_machine():
    result = _invoke("--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["devices"][0]["id"] == "cpu"
    assert set(report["devices"][0]["precisions"]["bf16"]) >= {"status", "evidence"}
    if not any(d["id"].startswith("cuda") for d in report["devices"]):
        assert report["gpu_note"]


def test_device_table_mentions_every_precision():
    result = _invoke()
    assert result.exit_code == 0, result.output
    for precision in ("fp32", "bf16", "int8-dynamic", "fp8"):
        assert precision in result.output
    assert "malloc: " in result.output  # whether timings here repeat whatever the process ran before


def test_device_json_says_how_this_process_allocates():
    report = json.loads(_invoke("--json").output)
    assert report["malloc"]["mode"] in ("steady", "system") or report["malloc"]["mode"].startswith("preloaded")


@pytest.mark.parametrize("fixture, expected", [
    ("zen3-ryzen9-5950x.cpuinfo", {"bf16": "emulated", "fp16": "emulated", "int8-dynamic": "native"}),
    ("sapphirerapids-xeon-8480plus.cpuinfo", {"bf16": "native", "fp16": "native", "amp-bf16": "native"}),
    ("zen4-genoa-epyc-9654.cpuinfo", {"bf16": "native", "fp16": "emulated"}),
    ("raspberry-pi4.cpuinfo", {"bf16": "emulated", "fp16": "emulated", "int8-static": "native"}),
    ("graviton3-neoverse-v1.cpuinfo", {"bf16": "native", "fp16": "native"}),
])
def test_root_with_each_cpuinfo_fixture(tmp_path, fixture, expected):
    root = _root(tmp_path, {"/proc/cpuinfo": (FIXTURES / fixture).read_text()})
    result = _invoke("--root", str(root), "--json")
    assert result.exit_code == 0, result.output
    precisions = json.loads(result.output)["devices"][0]["precisions"]
    assert {p: precisions[p]["status"] for p in expected} == expected


@pytest.mark.parametrize("fixture, flag, bf16", [
    ("icelake-sp-5318y-wrapped.lscpu", "avx512_vnni", "emulated"),
    ("sapphirerapids-8481c-gcp-vm-wrapped.lscpu", "avx512_bf16", "native"),
    ("orin-agx-cortex-a78ae.lscpu", "asimddp", "emulated"),
])
def test_cpuinfo_option_reads_pasted_lscpu(fixture, flag, bf16):
    result = _invoke("--cpuinfo", str(FIXTURES / fixture), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert flag in report["cpu"]["flags"]
    assert report["devices"][0]["precisions"]["bf16"]["status"] == bf16


def test_root_of_a_jetson_renders_its_integrated_gpu(tmp_path):
    nano = FIXTURES / "jetson-orin-nano-super"
    root = _root(tmp_path, {
        "/proc/device-tree/model": (nano / "device-tree-model.txt").read_text().strip() + "\0",
        "/proc/device-tree/compatible": (nano / "device-tree-compatible.txt").read_text(),
        "/etc/nv_tegra_release": (nano / "nv_tegra_release-head1.txt").read_text(),
        "/proc/cpuinfo": (FIXTURES / "graviton3-neoverse-v1.cpuinfo").read_text()})
    result = _invoke("--root", str(root))
    assert result.exit_code == 0, result.output
    assert "L4T 36.4.3" in result.output and "tegra234" in result.output
    assert "cuda:0" in result.output and "compute capability 8.7" in result.output
    as_json = json.loads(_invoke("--root", str(root), "--json").output)
    assert as_json["jetson"]["soc"] == "tegra234"
    assert as_json["devices"][1]["precisions"]["tf32"]["status"] == "native"


@pytest.mark.parametrize("fixture, module_words", [
    ("jetson-orin-nano-super-first-entry",
     "Jetson Orin Nano 8GB (developer kit) module (p3767-0005 on carrier p3768-0000)"),
    ("jetson-agx-orin-devkit-first-entry", "module (p3701-0000 on carrier p3737-0000)"),
    ("jetson-orin-nano-jp5-model-only", "NVIDIA Orin Nano Developer Kit"),
])
def test_root_whose_compatible_list_kept_only_its_first_entry(fixture, module_words):
    """Captured roots without the nvidia,tegraNNN entry (or with a model string only) still get cuda:0."""
    result = CliRunner().invoke(main, ["device", "--root", str(FIXTURES / fixture)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert module_words in result.output and "soc tegra234 (Jetson Orin)" in result.output
    assert "identified by:" in result.output and "compute capability 8.7" in result.output
    report = json.loads(_invoke("--root", str(FIXTURES / fixture), "--json").output)
    gpu = report["devices"][1]
    assert gpu["compute_capability"] == "8.7" and "identified from its" in gpu["precisions"]["bf16"]["evidence"]


def test_root_with_only_an_l4t_release_says_it_is_ambiguous(tmp_path):
    release = "# R35 (release), REVISION: 6.0, GCID: 1, BOARD: t186ref, EABI: aarch64\n"
    result = CliRunner().invoke(main, ["device", "--root", str(_root(tmp_path, {"/etc/nv_tegra_release": release}))],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "soc tegra194 or tegra234 (ambiguous)" in result.output and "cuda:0" not in result.output
    assert "ambiguous: L4T R35 runs on Jetson Xavier (tegra194, compute capability 7.2) or Jetson Orin" in result.output


def test_user_mistakes_exit_2(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("nothing to see\n")
    assert _invoke("--cpuinfo", str(empty)).exit_code == 2
    assert _invoke("--cpuinfo", str(tmp_path / "missing.txt")).exit_code == 2
    assert _invoke("--root", str(tmp_path / "nowhere")).exit_code == 2
    assert _invoke("--root", str(tmp_path)).exit_code == 2  # no cpuinfo, no Jetson files
    assert _invoke("--probe", "--root", str(tmp_path)).exit_code == 2
    assert _invoke("--probe-time", "0").exit_code == 2


def test_probe_with_a_tiny_budget_reports_ratios():
    result = _invoke("--probe", "--probe-time", "0.05", "--threads", "1", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    measured = report["devices"][0]["precisions"]["bf16"]["measured"]
    assert measured["probed"] and measured["ratio_to_fp32"] > 0
    cuda = [d for d in report["devices"] if d["id"].startswith("cuda")]
    if not cuda:
        assert report["gpu_note"]  # says why there is no CUDA device


def test_device_never_imports_onnxruntime_or_tensorrt():
    import subprocess
    import sys

    code = ("import sys; from calib.cli import main\n"
            "try:\n    main(['device', '--json'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('onnxruntime', 'tensorrt', 'openvino', 'nncf', 'sqlalchemy', 'ray', 'ruptures') if m in sys.modules))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    assert output.strip().endswith("[]")


@pytest.mark.parametrize("width", [80, 120])
def test_tables_fit_the_terminal_without_cutting_a_word(width):
    """Through calib.cli._common.console(): COLUMNS is the width, nothing is clipped at it."""
    fixture = FIXTURES / "sapphirerapids-xeon-8480plus.cpuinfo"
    result = CliRunner().invoke(main, ["device", "--cpuinfo", str(fixture)], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= width and "…" not in result.output
    for word in ("int8-dynamic", "int8-static", "unsupported", "8.9+"):
        assert word in result.output, result.output


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_engines_on_this_machine_name_what_is_installed():
    import platform

    report = json.loads(_invoke("--json").output)
    engines = {e["backend"]: e for e in report["devices"][0]["engines"]}
    assert engines["torch"]["installed"] and engines["torch"]["version"]
    assert engines["onnxruntime"]["installed"] == _installed("onnxruntime")
    if platform.machine() == "x86_64":
        assert engines["openvino"]["installed"] == _installed("openvino")
        assert "CPU engine candidate on x86" in engines["openvino"]["role"]
    else:
        assert "openvino" not in engines
    assert "tensorrt" not in engines  # a CUDA engine, listed under the GPUs
    text = " ".join(_invoke().output.split())
    assert "engines on cpu: torch" in text
    if _installed("openvino") and platform.machine() == "x86_64":
        assert "openvino" in text and "CPU engine candidate on x86" in text


def test_without_openvino_installed_device_says_how_to_install_it(monkeypatch):
    import importlib.metadata
    import importlib.util

    from calib.hardware import engines as engines_module

    real_version, real_find_spec = importlib.metadata.version, importlib.util.find_spec

    def version(name):
        if name == "openvino":
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(engines_module.importlib.metadata, "version", version)
    monkeypatch.setattr(engines_module.importlib.util, "find_spec",
                        lambda name, *a: None if name == "openvino" else real_find_spec(name, *a))
    listed = {e["backend"]: e for e in engines_module.engines_for("cpu", "x86_64")}
    assert listed["openvino"]["installed"] is False and "calib-bench[openvino]" in listed["openvino"]["install"]
    result = _invoke()
    assert result.exit_code == 0, result.output
    assert "not installed: openvino (pip install 'calib-bench[openvino]')" in " ".join(result.output.split())


@pytest.mark.parametrize("fixture, expected", [
    ("zen3-ryzen9-5950x.cpuinfo", ["torch", "onnxruntime", "openvino"]),
    ("graviton3-neoverse-v1.cpuinfo", ["torch", "onnxruntime"]),  # OpenVINO: x86 only in calib
])
def test_a_captured_machine_lists_its_engines_without_looking_them_up(fixture, expected):
    report = json.loads(_invoke("--cpuinfo", str(FIXTURES / fixture), "--json").output)
    engines = report["devices"][0]["engines"]
    assert [e["backend"] for e in engines] == expected and all(e["installed"] is None for e in engines)
    assert "not looked up on a captured machine" in " ".join(_invoke("--cpuinfo", str(FIXTURES / fixture)).output.split())


def test_a_cuda_device_lists_the_cuda_engines():
    from calib.hardware.engines import engines_for

    assert [e["backend"] for e in engines_for("cuda", "x86_64", check_installed=False)] == \
        ["torch", "onnxruntime", "tensorrt"]
