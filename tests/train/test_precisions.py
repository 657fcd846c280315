import pytest

from calib.errors import UsageError
from calib.train.precisions import TRAIN_PRECISIONS, get_train_precision, unsupported_reason


@pytest.mark.parametrize("name", ["tf32", "fp8"])
def test_gpu_only_precisions_skip_with_the_reason_on_cpu(name):
    reason = unsupported_reason(get_train_precision(name), "cpu")
    assert reason and "CUDA compute capability" in reason and "cpu" in reason


@pytest.mark.parametrize("name", ["fp32", "amp-bf16", "bf16", "amp-fp16", "int8-qat"])
def test_cpu_precisions_run_on_cpu(name):
    assert unsupported_reason(get_train_precision(name), "cpu") is None


def test_every_precision_names_a_calib_precision_for_its_verdict():
    from calib.precisions import PRECISIONS

    assert all(p.verdict_precision in PRECISIONS for p in TRAIN_PRECISIONS.values())


def test_unknown_precision_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown training precision"):
        get_train_precision("fp4")
