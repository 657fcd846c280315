from calib.hardware.cpuinfo import lscpu_fields, parse_cpu_text, parse_lscpu, parse_proc_cpuinfo


def test_zen3_desktop_cpuinfo(fixture_text):
    cpu = parse_cpu_text(fixture_text("zen3-ryzen9-5950x.cpuinfo"))
    assert (cpu.arch, cpu.vendor, cpu.source_format) == ("x86_64", "AMD", "cpuinfo")
    assert cpu.model == "AMD Ryzen 9 5950X 16-Core Processor"
    assert {"avx2", "fma", "f16c"} <= set(cpu.flags)
    assert not {"avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni"} & set(cpu.flags)
    assert (cpu.physical_cores, cpu.logical_cores) == (16, 32)  # from "cpu cores" and "siblings"


def test_sapphire_rapids_cpuinfo_space_padded(fixture_text):
    cpu = parse_proc_cpuinfo(fixture_text("sapphirerapids-xeon-8480plus.cpuinfo"))
    assert cpu.vendor == "Intel"
    assert {"avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "avx512_vnni"} <= set(cpu.flags)


def test_graviton3_has_no_model_name_but_a_part_number(fixture_text):
    cpu = parse_cpu_text(fixture_text("graviton3-neoverse-v1.cpuinfo"))
    assert (cpu.arch, cpu.vendor, cpu.model) == ("aarch64", "ARM", "Neoverse-V1")
    assert {"bf16", "svebf16", "i8mm", "asimddp", "fphp", "asimdhp", "sve"} <= set(cpu.flags)


def test_raspberry_pi4(fixture_text):
    cpu = parse_cpu_text(fixture_text("raspberry-pi4.cpuinfo"))
    assert (cpu.arch, cpu.model) == ("aarch64", "Cortex-A72")
    assert cpu.flags == sorted("fp asimd evtstrm crc32 cpuid".split())


def test_orin_lscpu(fixture_text):
    cpu = parse_cpu_text(fixture_text("orin-agx-cortex-a78ae.lscpu"))
    assert (cpu.arch, cpu.model, cpu.source_format) == ("aarch64", "Cortex-A78AE", "lscpu")
    assert "asimddp" in cpu.flags and "bf16" not in cpu.flags and "i8mm" not in cpu.flags
    assert (cpu.logical_cores, cpu.physical_cores) == (12, 12)


def test_wrapped_lscpu_is_joined_at_the_value_column(fixture_text):
    cpu = parse_lscpu(fixture_text("icelake-sp-5318y-wrapped.lscpu"))
    # "avx512_" ends one line and "vnni" starts the next: joined without a space.
    assert {"avx512_vnni", "avx512bw", "split_lock_detect", "umip", "cpuid_fault"} <= set(cpu.flags)
    assert not {"avx512_", "vnni", "av", "x512bw", "u", "mip"} & set(cpu.flags)
    assert cpu.model == "Intel(R) Xeon(R) Gold 5318Y CPU @ 2.10GHz"
    assert (cpu.logical_cores, cpu.physical_cores) == (96, 48)


def test_wrapped_lscpu_keeps_spaces_that_fall_on_the_wrap(fixture_text):
    flags = set(parse_cpu_text(fixture_text("sapphirerapids-8481c-gcp-vm-wrapped.lscpu")).flags)
    assert {"avx2", "lahf_lm", "sha_ni", "vaes", "md_clear", "ht", "syscall", "avx512_bf16"} <= flags
    assert not {"amx_bf16", "amx_tile", "avx512_fp16", "2", "l", "ahf_lm"} & flags


def test_indented_cpuinfo_and_hybrid_cores():
    # Two entries as a markdown code block: indented, the second core lacking one flag.
    text = ("    processor\t: 0\n    vendor_id\t: GenuineIntel\n    flags\t\t: avx2 avx_vnni  fma\n\n"
            "    processor\t: 1\n    vendor_id\t: GenuineIntel\n    flags\t\t: avx2 fma\n")
    cpu = parse_cpu_text(text)
    assert cpu.flags == ["avx2", "fma"]
    assert cpu.flags_on_some_cores == ["avx_vnni"]
    assert cpu.logical_cores == 2


def test_lscpu_fields_tree_layout_empty_sections(fixture_text):
    fields = lscpu_fields(fixture_text("icelake-sp-5318y-wrapped.lscpu"))
    assert fields["Architecture"] == ["x86_64"]
    assert fields["Socket(s)"] == ["2"]


def test_unrecognisable_text_is_unknown():
    cpu = parse_cpu_text("hello world\n")
    assert cpu.arch == "unknown" and cpu.flags == []
