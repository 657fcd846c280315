import itertools

from calib.hardware import device_report, probe
from calib.hardware.measured import apply_probe, measurement_for, ratio_text
from calib.hardware.probe import measure


def test_measure_repeats_until_the_budget_with_a_fake_clock():
    ticks = itertools.count(0, 0.25)  # every clock read advances 0.25 s
    calls = []
    samples = measure(lambda: calls.append(1), budget_s=1.0, clock=lambda: next(ticks))
    assert samples and all(s == 0.25 for s in samples)
    assert len(calls) == len(samples) + 1  # plus the warm-up


def test_measure_takes_one_sample_even_when_a_call_exceeds_the_budget():
    ticks = itertools.count(0, 10.0)
    assert len(measure(lambda: None, budget_s=0.001, clock=lambda: next(ticks))) == 1


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
