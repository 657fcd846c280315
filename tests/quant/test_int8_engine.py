"""The quantized engine follows the CPU's int8 instructions."""

import pytest

from calib.errors import PrecisionUnavailable
from calib.quant.engine import choose_engine, select_engine

ALL = ["qnnpack", "onednn", "x86", "fbgemm"]


def test_vnni_uses_x86_full_range():
    choice = choose_engine({"arch": "x86_64", "flags": ["avx2", "avx512f", "avx512_vnni"]}, ALL)
    assert (choice.engine, choice.reduce_range, choice.isa) == ("x86", False, "vnni/amx")
    assert "avx512_vnni" in choice.reason


def test_amx_uses_x86():
    assert choose_engine({"arch": "x86_64", "flags": ["avx2", "amx_int8"]}, ALL).engine == "x86"


def test_avx2_uses_fbgemm_with_reduced_range():
    choice = choose_engine({"arch": "x86_64", "flags": ["sse4_2", "avx2", "fma"]}, ALL)
    assert (choice.engine, choice.reduce_range, choice.isa) == ("fbgemm", True, "avx2")


def test_arm_uses_qnnpack_per_tensor():
    choice = choose_engine({"arch": "aarch64", "flags": ["fp", "asimd"]}, ALL)
    assert (choice.engine, choice.per_channel_ok, choice.isa) == ("qnnpack", False, "arm")


def test_unknown_cpu_falls_back_and_says_so():
    choice = choose_engine({"arch": "riscv64", "flags": []}, ["qnnpack"])
    assert choice.engine == "qnnpack" and "no AVX2" in choice.reason
    with pytest.raises(PrecisionUnavailable):
        choose_engine({"arch": "riscv64", "flags": []}, [])


def test_select_engine_sets_torch_engine():
    import torch

    choice = select_engine()
    assert torch.backends.quantized.engine == choice.engine
    assert choice.engine in torch.backends.quantized.supported_engines
