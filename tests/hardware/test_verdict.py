import pytest

from calib.hardware.cpuinfo import parse_cpu_text
from calib.hardware.rules import ORT_INT8_TYPES, PRECISION_FLAGS, RULES, STATUSES
from calib.hardware.verdict import device_verdicts, first_rule, ort_int8_types, precision_verdict
from calib.precisions import PRECISIONS


def _cpu_device(text):
    cpu = parse_cpu_text(text)
    return {"id": "cpu", "kind": "cpu", "arch": cpu.arch, "flags": cpu.flags}


def _statuses(device):
    return {name: verdict["status"] for name, verdict in device_verdicts(device).items()}


def test_every_compute_has_a_fallback_row_for_every_device_kind():
    for compute in ("fp32", "tf32", "fp16", "bf16", "int8", "fp8"):
        for arch in ("cpu", "cuda"):
            assert any(r.compute == compute and r.arch == arch and r.requires == "" for r in RULES)
    assert all(rule.status in STATUSES for rule in RULES)


def test_zen3_desktop(fixture_text):
    verdicts = device_verdicts(_cpu_device(fixture_text("zen3-ryzen9-5950x.cpuinfo")))
    assert verdicts["bf16"]["status"] == "emulated"
    assert verdicts["fp16"]["status"] == "emulated" and "f16c" in verdicts["fp16"]["evidence"]
    assert verdicts["tf32"]["status"] == verdicts["fp8"]["status"] == "unsupported"
    assert verdicts["int8-dynamic"]["status"] == "native"
    assert "no VNNI" in verdicts["int8-dynamic"]["evidence"] and verdicts["int8-dynamic"]["engine"] == "fbgemm"


def test_sapphire_rapids_bare_metal(fixture_text):
    verdicts = device_verdicts(_cpu_device(fixture_text("sapphirerapids-xeon-8480plus.cpuinfo")))
    assert {p: v["status"] for p, v in verdicts.items()} == {
        "fp32": "native", "tf32": "unsupported", "fp16": "native", "bf16": "native", "amp-fp16": "native",
        "amp-bf16": "native", "int8-dynamic": "native", "int8-static": "native", "fp8": "unsupported"}
    assert "amx_bf16" in verdicts["bf16"]["evidence"]
    assert verdicts["int8-static"]["engine"] == "x86" and "amx_int8" in verdicts["int8-static"]["evidence"]


def test_genoa_has_avx512_bf16_without_amx(fixture_text):
    verdicts = device_verdicts(_cpu_device(fixture_text("zen4-genoa-epyc-9654.cpuinfo")))
    assert verdicts["bf16"]["status"] == "native" and verdicts["bf16"]["rule"].endswith("avx512_bf16")
    assert verdicts["fp16"]["status"] == "emulated"  # no avx512_fp16 on Zen 4
    assert verdicts["int8-dynamic"]["rule"].endswith("avx512_vnni")


def test_vm_hiding_amx_is_judged_by_its_flags(fixture_text):
    verdicts = device_verdicts(_cpu_device(fixture_text("sapphirerapids-8481c-gcp-vm-wrapped.lscpu")))
    assert verdicts["bf16"]["rule"].endswith("avx512_bf16")  # not amx_bf16, although the chip has AMX
    assert verdicts["fp16"]["status"] == "emulated"


def test_arm_without_bf16(fixture_text):
    statuses = _statuses(_cpu_device(fixture_text("orin-agx-cortex-a78ae.lscpu")))
    assert statuses["bf16"] == "emulated" and statuses["fp16"] == "native" and statuses["int8-dynamic"] == "native"
    pi4 = device_verdicts(_cpu_device(fixture_text("raspberry-pi4.cpuinfo")))
    assert pi4["fp16"]["status"] == "emulated" and pi4["int8-dynamic"]["engine"] == "qnnpack"


def test_arm_with_bf16(fixture_text):
    verdicts = device_verdicts(_cpu_device(fixture_text("graviton3-neoverse-v1.cpuinfo")))
    assert verdicts["bf16"]["status"] == "native" and verdicts["amp-bf16"]["status"] == "native"
    assert verdicts["int8-static"]["rule"].endswith("i8mm")


def test_conversion_only_flags_do_not_make_native():
    device = {"id": "cpu", "kind": "cpu", "arch": "x86_64", "flags": ["avx2", "fma", "f16c", "avx_ne_convert"]}
    assert precision_verdict(device, "bf16")["status"] == "emulated"
    assert "conver" in precision_verdict(device, "bf16")["evidence"]
    assert precision_verdict(device, "fp16")["status"] == "emulated"


@pytest.mark.parametrize("cc, expected", [
    ("5.3", {"fp16": "native", "bf16": "emulated", "tf32": "unsupported", "int8-dynamic": "unsupported", "fp8": "unsupported"}),
    ("7.2", {"fp16": "native", "bf16": "emulated", "tf32": "unsupported", "int8-dynamic": "native", "fp8": "unsupported"}),
    ("8.7", {"fp16": "native", "bf16": "native", "tf32": "native", "int8-dynamic": "native", "fp8": "unsupported"}),
    ("8.9", {"fp16": "native", "bf16": "native", "tf32": "native", "int8-dynamic": "native", "fp8": "native"}),
    ("6.1", {"fp16": "emulated", "bf16": "emulated", "tf32": "unsupported", "int8-dynamic": "native", "fp8": "unsupported"}),
])
def test_cuda_rules_by_compute_capability(cc, expected):
    device = {"id": "cuda:0", "kind": "cuda", "compute_capability": cc}
    statuses = _statuses(device)
    assert {p: statuses[p] for p in expected} == expected


def test_cuda_int8_evidence_says_pytorch_int8_is_cpu_only():
    verdict = precision_verdict({"id": "cuda:0", "kind": "cuda", "compute_capability": "8.0"}, "int8-static")
    assert "CPU-only" in verdict["evidence"] and "TensorRT" in verdict["engine"]


def test_verdicts_cover_every_precision_calib_knows():
    device = {"id": "cpu", "kind": "cpu", "arch": "aarch64", "flags": []}
    assert set(device_verdicts(device)) == set(PRECISIONS)
    assert first_rule("fp32", device).status == "native"


def test_precision_flag_lists_mention_only_flags_or_context():
    assert "avx512_bf16" in PRECISION_FLAGS["x86_64"] and "bf16" in PRECISION_FLAGS["aarch64"]


def test_ort_int8_types_rows_have_fallbacks_and_say_their_types():
    assert any(row.arch == "cpu" and row.requires == "" for row in ORT_INT8_TYPES)
    assert any(row.arch == "cuda" and row.requires == "" for row in ORT_INT8_TYPES)
    assert all(row.types in ("u8s8", "s8s8") and row.evidence.startswith(row.types) for row in ORT_INT8_TYPES)


@pytest.mark.parametrize("fixture, types", [
    ("zen3-ryzen9-5950x.cpuinfo", "u8s8"),  # AVX2, no VNNI
    ("zen4-genoa-epyc-9654.cpuinfo", "u8s8"),  # VNNI: still u8s8, ORT's fast x86 path
    ("sapphirerapids-xeon-8480plus.cpuinfo", "u8s8"),  # AMX: s8s8 was measured slower than fp32
    ("orin-agx-cortex-a78ae.lscpu", "s8s8"),
])
def test_ort_int8_types_by_cpu(fixture_text, fixture, types):
    assert ort_int8_types(_cpu_device(fixture_text(fixture))).types == types


def test_ort_int8_types_on_a_gpu():
    assert ort_int8_types({"id": "cuda:0", "kind": "cuda", "compute_capability": "8.0"}).types == "s8s8"
