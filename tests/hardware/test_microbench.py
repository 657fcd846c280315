from calib.hardware import device_report, probe
from calib.hardware.measured import apply_probe, measurement_for, ratio_text
from calib.hardware.microbench import budget_settings
from calib.timing.clock import FakeTimer
from calib.timing.engine import measure as time_kernel


def test_budget_settings_spend_the_budget_with_a_fake_clock():
    timer = FakeTimer(median_ns=1e6, rel_noise=0.0)  # every call "takes" 1 ms
    calls = []
    timed = time_kernel(lambda: calls.append(1), timer, budget_settings(0.01))
    assert 9 <= len(timed.samples_ms) <= 11 and all(s == 1.0 for s in timed.samples_ms)
    assert len(calls) == len(timed.samples_ms) + 2  # plus the engine's cold call and one warm-up


def test_probe_with_a_fake_timer_is_deterministic():
    result = probe(device_ids=["cpu"], time_per_compute_s=0.004, threads=1, computes=["bf16"],
                   timer=FakeTimer(1e6, rel_noise=0.0))
    cpu = result["devices"]["cpu"]
    # Same fake duration for every call: the ratio is the ratio of FLOPs per call, 1 for like-for-like ops.
    assert cpu["bf16"]["ops"]["matmul"]["ratio_to_fp32"] == 1.0
    assert cpu["fp32"]["ops"]["matmul"]["median_ms"] == 1.0
    assert set(cpu) == {"fp32", "bf16"}  # the fp32 reference is always measured
    assert result["settings"]["rounds"] == 1


def test_cpu_probe_structure_with_a_tiny_budget():
    result = probe(device_ids=["cpu"], time_per_compute_s=0.02, threads=1)
    assert result["settings"]["threads"] == 1
    cpu = result["devices"]["cpu"]
    assert set(cpu) == {"fp32", "fp16", "bf16", "int8"}
    for compute, outcome in cpu.items():
        if not outcome["probed"]:
            assert outcome["reason"]
            continue
        for op in outcome["ops"].values():
            assert op["gflops"] > 0 and op["ratio_to_fp32"] > 0 and op["calls"] >= 1
    report = apply_probe(device_report(live_gpu=False), result)
    bf16 = report["devices"][0]["precisions"]["bf16"]["measured"]
    assert bf16["probed"] and bf16["ratio_to_fp32"] > 0 and "fp32" in bf16["summary"]
    assert report["devices"][0]["precisions"]["tf32"]["measured"]["probed"] is False


def _compute_result(ratio):
    return {"probed": True, "ops": {"matmul": {"gflops": 10.0, "ratio_to_fp32": ratio}}}


def test_disagreement_is_said_plainly():
    native = {"status": "native", "compute": "bf16", "evidence": "avx512_bf16"}
    measured = measurement_for(native, _compute_result(0.05))
    assert measured["agrees"] is False and "DISAGREES" in measured["summary"]
    emulated = {"status": "emulated", "compute": "bf16", "evidence": "no flags"}
    assert measurement_for(emulated, _compute_result(0.02))["summary"] == "emulated, measured 0.02x fp32"
    assert measurement_for(native, _compute_result(1.9))["summary"] == "native, measured 1.9x fp32"
    assert measurement_for(native, {"probed": False, "reason": "no kernel"})["probed"] is False


def test_ratio_text():
    assert ratio_text(1.94) == "1.9x" and ratio_text(0.0137) == "0.014x"


def test_cuda_probe_structure_with_a_tiny_budget():
    import pytest
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device (torch.cuda.is_available() is False)")
    cuda = probe(device_ids=["cuda:0"], time_per_compute_s=0.05)["devices"]["cuda:0"]
    assert cuda["fp32"]["probed"]
    for outcome in cuda.values():
        assert outcome["probed"] or outcome["reason"]
        for op in outcome.get("ops", {}).values():
            assert op["gflops"] > 0 and op["ratio_to_fp32"] > 0
