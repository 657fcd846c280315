"""calib.dtypes: the one home of short dtype names, torch dtypes, ONNX types and the TF32 switch."""

import pytest
import torch

from calib.dtypes import (
    ITEM_BYTES,
    ONNX_ELEMENT_TYPES,
    SHORT_NAMES,
    dtype_of_onnx_element,
    dtype_of_onnx_type,
    onnx_type_text,
    short_name,
    tf32_enabled,
    torch_dtype,
)
from calib.hardware.rules import RULES
from calib.hardware.verdict import compute_of
from calib.precisions import PRECISIONS


def test_short_names():
    assert [short_name(d) for d in ("float32", "tf32", "float16", "bfloat16", "int8", "float8_e4m3fn")] == [
        "fp32", "tf32", "fp16", "bf16", "int8", "fp8"]
    assert short_name("qint8") == "qint8"  # no short form: the name itself
    assert short_name(None) == "" and short_name("", missing="-") == "-"


def test_every_precision_computes_in_a_type_the_rule_table_knows():
    computes = {rule.compute for rule in RULES}
    for name, precision in PRECISIONS.items():
        assert compute_of(name) == precision.compute == short_name(precision.compute_dtype) in computes
    assert set(SHORT_NAMES.values()) == computes


def test_the_tables_print_the_same_short_names():
    from calib.layers.facts import configuration_label, flag_for
    from calib.render import run_table

    assert run_table.short_name is short_name  # the run table's dtype column reads the same home
    assert configuration_label("float32", "bfloat16", autocast=True) == "amp-bf16"
    assert configuration_label("float8_e4m3fn", "float8_e4m3fn", autocast=False) == "fp8"
    assert configuration_label(None, None, autocast=False) == "?"
    assert flag_for("linear", "float32", "float8_e4m3fn", "fp8") == "fp32 in fp8"


def test_torch_dtype_of_full_and_short_names():
    assert torch_dtype("bfloat16") is torch_dtype("bf16") is torch.bfloat16
    assert torch_dtype("tf32") is torch.float32  # TF32 computes on float32 tensors
    assert torch_dtype("float8_e4m3fn") is torch_dtype("fp8") is torch.float8_e4m3fn
    for name, precision in PRECISIONS.items():
        assert torch_dtype(precision.storage_dtype) is getattr(torch, precision.storage_dtype), name
    with pytest.raises(KeyError, match="no torch dtype"):
        torch_dtype("qint8")


def test_precisions_re_export_the_same_torch_dtype():
    from calib import precisions

    assert precisions.torch_dtype is torch_dtype


def test_tf32_enabled_sets_both_switches_and_restores_them():
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    before = matmul.allow_tf32, cudnn.allow_tf32
    for allow in (True, False):
        with tf32_enabled(allow):
            assert (matmul.allow_tf32, cudnn.allow_tf32) == (allow, allow)
        assert (matmul.allow_tf32, cudnn.allow_tf32) == before
    with pytest.raises(RuntimeError), tf32_enabled(not before[0]):
        raise RuntimeError("restored on errors too")
    assert (matmul.allow_tf32, cudnn.allow_tf32) == before


def test_onnx_types_both_spellings():
    assert dtype_of_onnx_type("tensor(float)") == dtype_of_onnx_type("float") == "float32"
    assert dtype_of_onnx_type("tensor(double)") == "float64" and dtype_of_onnx_type("tensor(int64)") == "int64"
    assert dtype_of_onnx_type("tensor(string)") is None
    assert dtype_of_onnx_element(10) == "float16" and dtype_of_onnx_element(8) is None  # 8: STRING
    assert onnx_type_text(1) == "tensor(float)" and onnx_type_text(8) == "tensor(8)"
    for _, dtype in ONNX_ELEMENT_TYPES.values():
        assert dtype in ITEM_BYTES


def test_onnx_element_numbers_match_onnx():
    onnx = pytest.importorskip("onnx")
    from onnx.helper import tensor_dtype_to_np_dtype

    for number, (ort_name, dtype) in ONNX_ELEMENT_TYPES.items():
        if dtype in ("bfloat16", "float8_e4m3fn"):  # numpy has no such type; onnx names it itself
            assert onnx.TensorProto.DataType.Name(number).lower() == ort_name
            continue
        assert tensor_dtype_to_np_dtype(number).name == dtype
        assert ITEM_BYTES[dtype] == tensor_dtype_to_np_dtype(number).itemsize


def test_importing_dtypes_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, calib.dtypes, calib.precisions; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
