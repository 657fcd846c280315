"""One table of tensor-core compute capabilities (calib.dtypes.TENSOR_CORE_CC); the others derive from it."""

import pytest

from calib.dtypes import TENSOR_CORE_CC, cc_text
from calib.hardware.cuda import TENSOR_CORE_TYPES, tensor_core_types
from calib.hardware.rules import RULES, UNSUPPORTED
from calib.hardware.verdict import first_rule, precision_verdict
from calib.precisions import PRECISIONS


def _gpu(capability: tuple[int, int]) -> dict:
    return {"id": "cuda:0", "kind": "cuda", "compute_capability": cc_text(capability)}


def _just_below(capability: tuple[int, int]) -> tuple[int, int]:
    major, minor = capability
    return (major, minor - 1) if minor else (major - 1, 9)


def test_cuda_tensor_core_list_is_the_table():
    assert TENSOR_CORE_TYPES == list(TENSOR_CORE_CC.items())
    for compute, capability in TENSOR_CORE_CC.items():
        assert compute in tensor_core_types(cc_text(capability))
        assert compute not in tensor_core_types(cc_text(_just_below(capability)))


@pytest.mark.parametrize("compute", [c for c in TENSOR_CORE_CC if any(r.compute == c for r in RULES)])
def test_rule_table_tensor_core_rows_start_at_the_table(compute):
    capability = TENSOR_CORE_CC[compute]
    rule = first_rule(compute, _gpu(capability))
    assert rule.requires == f"cc>={cc_text(capability)}" and "tensor cores" in rule.evidence
    assert first_rule(compute, _gpu(_just_below(capability))).requires != rule.requires


def test_cuda_only_precisions_need_the_tables_capability():
    cuda_only = {name: p for name, p in PRECISIONS.items() if p.cuda_only}
    assert set(cuda_only) == {"tf32", "fp8"}
    for name, precision in cuda_only.items():
        needed = precision.min_compute_capability
        assert needed == TENSOR_CORE_CC[precision.compute]
        assert f"CUDA {cc_text(needed)}+" in precision.description
        assert precision_verdict(_gpu(needed), name)["status"] == "native"
        assert precision_verdict(_gpu(_just_below(needed)), name)["status"] == UNSUPPORTED
    assert all(p.min_compute_capability is None for p in PRECISIONS.values() if not p.cuda_only)
