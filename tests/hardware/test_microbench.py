from calib.hardware import device_report, probe
from calib.hardware.measured import apply_probe, measurement_for, ratio_text
from calib.hardware.microbench import ProbeShapes, budget_settings, fit_kernel
from calib.timing.clock import FakeTimer
from calib.timing.engine import measure as time_kernel


def test_budget_settings_spend_the_budget_with_a_fake_clock():
    timer = FakeTimer(median_ns=1e6, rel_noise=0.0)  # every call "takes" 1 ms
    calls = []
    timed = time_kernel(lambda: calls.append(1), timer, budget_settings(0.01))
    assert 9 <= len(timed.samples_ms) <= 11 and all(s == 1.0 for s in timed.samples_ms)
    assert len(calls) == len(timed.samples_ms) + 2  # plus the engine's cold call and one warm-up


TINY = ProbeShapes(matmul=(16, 32), conv=((1, 4, 8), (1, 8, 8)), linear=(16, 32))


def test_probe_with_a_fake_timer_is_deterministic():
    result = probe(device_ids=["cpu"], time_per_compute_s=0.004, threads=1, computes=["bf16"],
                   timer=FakeTimer(1e6, rel_noise=0.0), shapes=TINY)
    cpu = result["devices"]["cpu"]
    # Same fake duration for every call: the ratio is the ratio of FLOPs per call, 1 for like-for-like ops.
    assert cpu["bf16"]["ops"]["matmul"]["ratio_to_fp32"] == 1.0
    assert cpu["fp32"]["ops"]["matmul"]["median_ms"] == 1.0
    # 1 ms a call, over this tiny budget's share: the bottom of the ladder, and the next size is named.
    assert (cpu["bf16"]["ops"]["matmul"]["shape"], cpu["bf16"]["ops"]["matmul"]["scaled_from"]) == (
        "16x16x16", "32x32x32")
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
    assert ratio_text(1.94) == "1.9x" and ratio_text(0.0137) == "0.014x" and ratio_text(0.9996) == "1.0x"
    assert ratio_text(0.84) == "0.84x"


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


class _SizedTimer:
    """A fake clock whose call takes `ms_per_gflop` per GFLOP of the kernel just called, with
    `slow_first` calls 50x too slow (a busy neighbour)."""

    name = "fake"

    def __init__(self, ms_per_gflop: float, slow_first: int = 0):
        self.ms_per_gflop, self.slow, self.flops = ms_per_gflop, slow_first, 0

    def time_call(self, fn) -> int:
        fn()
        slow = 50 if self.slow > 0 else 1
        self.slow -= 1
        return int(self.flops / 1e9 * self.ms_per_gflop * 1e6 * slow)


def _ladder(timer):
    from calib.hardware.microbench import Kernel

    def build(n):
        return Kernel("matmul", 2 * n**3, lambda: setattr(timer, "flops", 2 * n**3), f"{n}x{n}x{n}")

    return (build, (256, 512, 1024))


def test_fit_climbs_while_a_call_fits():
    timer = _SizedTimer(ms_per_gflop=5)  # 1024^3 (2.1 GFLOP) takes 10.7 ms
    kernel, size, scaled_from = fit_kernel(_ladder(timer), timer, max_call_s=0.02)
    assert (kernel.shape, size, scaled_from) == ("1024x1024x1024", 1024, None)


def test_fit_stops_where_the_next_size_would_not_fit():
    timer = _SizedTimer(ms_per_gflop=500)  # emulated: 256^3 takes 17 ms, 512^3 would take 134 ms
    kernel, size, scaled_from = fit_kernel(_ladder(timer), timer, max_call_s=0.05)
    assert (kernel.shape, size, scaled_from) == ("256x256x256", 256, "512x512x512")


def test_fit_takes_the_fastest_call_not_one_unlucky_one():
    timer = _SizedTimer(ms_per_gflop=5, slow_first=3)  # the first timed calls are 50x too slow
    kernel, _, _ = fit_kernel(_ladder(timer), timer, max_call_s=0.02)
    assert kernel.shape == "1024x1024x1024"


def test_ratios_compare_like_shapes():
    """An op that ran at another shape than fp32's is compared with fp32 measured at that shape."""
    from calib.hardware.microbench import _add_ratios

    results = {"fp32": {"probed": True, "ops": {"matmul": {"shape": "1024", "gflops": 100.0}}},
               "bf16": {"probed": True, "ops": {"matmul": {"shape": "256", "gflops": 5.0}}}}
    references = {("matmul", "1024"): {"shape": "1024", "gflops": 100.0, "median_ms": 1.0, "calls": 9},
                  ("matmul", "256"): {"shape": "256", "gflops": 50.0, "median_ms": 0.1, "calls": 9}}
    _add_ratios(results, references)
    assert results["bf16"]["ops"]["matmul"]["ratio_to_fp32"] == 0.1  # 5 / 50, not 5 / 100
    assert results["bf16"]["ops"]["matmul"]["fp32_reference"]["gflops"] == 50.0
    assert "fp32_reference" not in results["fp32"]["ops"]["matmul"]


def _probe(ratios: dict[str, float], op: str = "matmul") -> dict:
    computes = {compute: {"probed": True, "ops": {op if compute != "int8" else "linear": {
        "gflops": 10.0 * ratio, "ratio_to_fp32": ratio, "shape": "1024x1024x1024", "calls": 9}}}
        for compute, ratio in ratios.items()}
    return {"settings": {"time_per_compute_s": 1.0, "threads": 2, "rounds": 1, "torch": "x"}, "warnings": [],
            "devices": {"cpu": computes}}


def test_native_flags_and_no_speedup_keep_the_status_and_say_so(fixture_text):
    from calib.hardware.report import report_from_cpu_text

    report = report_from_cpu_text(fixture_text("sapphirerapids-xeon-8480plus.cpuinfo"), "spr")
    probed = apply_probe(report, _probe({"fp32": 1.0, "fp16": 0.84, "bf16": 2.1, "int8": 1.1}))
    verdicts = probed["devices"][0]["precisions"]
    fp16 = verdicts["fp16"]
    assert fp16["status"] == "native"  # by flags, unchanged
    assert (fp16["measured_ratio"], fp16["measured_agrees"]) == (0.84, False)
    assert fp16["measured_note"] == ("native flags, measured 0.84x fp32 (matmul 1024x1024x1024): this PyTorch build "
                                     "does not use the fp16 arithmetic")
    assert fp16["evidence"].endswith("; but " + fp16["measured_note"])
    assert verdicts["amp-fp16"]["measured_agrees"] is False  # autocast computes in fp16 too
    assert (verdicts["bf16"]["measured_agrees"], verdicts["bf16"]["measured_note"]) == (True, None)
    int8 = verdicts["int8-dynamic"]  # 1.1x is below the 1.2x an int8 path should give
    assert int8["measured_agrees"] is False and "below the 1.2x" in int8["measured_note"]
    assert verdicts["fp32"]["measured_agrees"] is None and verdicts["fp32"]["measured_ratio"] == 1.0
    assert "tf32" in verdicts and "measured_ratio" not in verdicts["tf32"]  # not probed on a CPU
    assert report["devices"][0]["precisions"]["fp16"].get("measured_note") is None  # the input is not modified


def test_emulated_flags_and_a_speedup_disagree(fixture_text):
    from calib.hardware.report import report_from_cpu_text

    report = report_from_cpu_text(fixture_text("zen3-ryzen9-5950x.cpuinfo"), "zen3")
    verdicts = apply_probe(report, _probe({"fp32": 1.0, "bf16": 1.6, "fp16": 0.011, "int8": 2.0}))["devices"][0][
        "precisions"]
    assert verdicts["bf16"]["status"] == "emulated" and verdicts["bf16"]["measured_agrees"] is False
    assert verdicts["bf16"]["measured_note"].startswith("emulated by flags, yet measured 1.6x fp32")
    assert verdicts["fp16"]["measured_agrees"] is True and verdicts["int8-static"]["measured_agrees"] is True


def test_matmul_decides_and_every_ratio_is_kept():
    native = {"status": "native", "compute": "bf16", "evidence": "amx_bf16"}
    result = {"probed": True, "ops": {"conv": {"gflops": 7.0, "ratio_to_fp32": 0.7, "shape": "1x128x56x56 k3 nhwc"},
                                      "matmul": {"gflops": 20.0, "ratio_to_fp32": 2.1, "shape": "1024x1024x1024"}}}
    measured = measurement_for(native, result)
    assert (measured["op"], measured["agrees"], measured["ratios_by_op"]) == ("matmul", True,
                                                                              {"conv": 0.7, "matmul": 2.1})


def test_probe_table_shows_the_note_and_the_shape(fixture_text):
    from rich.console import Console

    from calib.hardware.measured import probe_notes
    from calib.hardware.report import report_from_cpu_text
    from calib.render.device_table import build_probe_table

    report = apply_probe(report_from_cpu_text(fixture_text("sapphirerapids-xeon-8480plus.cpuinfo"), "spr"),
                         _probe({"fp32": 1.0, "fp16": 0.84}))
    console = Console(width=240, record=True)
    console.print(build_probe_table(report["probe"], probe_notes(report)))
    text = console.export_text()
    assert "1024x1024x1024" in text and "native flags, measured 0.84x fp32" in text
    assert "does not use the fp16 arithmetic" in text


def test_a_disagreement_on_a_busy_machine_says_so(fixture_text):
    from calib.hardware.report import report_from_cpu_text

    report = report_from_cpu_text(fixture_text("sapphirerapids-xeon-8480plus.cpuinfo"), "spr")
    busy = {**_probe({"fp32": 1.0, "fp16": 0.84}), "warnings": ["other processes used 200% of a core"]}
    note = apply_probe(report, busy)["devices"][0]["precisions"]["fp16"]["measured_note"]
    assert note.endswith("(measured while the probe warned that the machine was busy: rerun it idle)")


def _ops(**ratios) -> dict:
    """A probed compute type whose ops ran at `ratios` of fp32 (measured values passed in, none in calib)."""
    shapes = {"matmul": "1024x1024x1024", "conv": "1x128x56x56 k3 nhwc", "linear": "1024x1024"}
    return {"probed": True, "ops": {op: {"gflops": 10.0 * ratio, "ratio_to_fp32": ratio, "shape": shapes[op],
                                         "calls": 9} for op, ratio in ratios.items()}}


def test_native_flags_without_a_measured_gain_say_so_in_the_verdict(fixture_text):
    """Issue 30 item 7: fp16 "native, 1.0x fp32 (matmul)" with conv at 0.58x read as a plain "native"."""
    from rich.console import Console

    from calib.hardware.report import report_from_cpu_text
    from calib.render.device_table import build_device_table

    report = report_from_cpu_text(fixture_text("sapphirerapids-xeon-8480plus.cpuinfo"), "spr")
    probe_result = {**_probe({"fp32": 1.0}), "devices": {"cpu": {
        "fp32": _ops(matmul=1.0, conv=1.0), "fp16": _ops(matmul=1.02, conv=0.58),
        "bf16": _ops(matmul=2.1, conv=0.7)}}}
    device = apply_probe(report, probe_result)["devices"][0]
    fp16 = device["precisions"]["fp16"]
    assert fp16["status"] == "native"  # the rule (flags) still decides native/emulated
    assert fp16["measured_verdict"] == "native, no gain measured" and fp16["measured_agrees"] is False
    assert fp16["measured"]["slower_ops"] == {"conv": 0.58}
    assert "no gain over fp32 (under 1.05x)" in fp16["measured_note"] and "conv 0.58x" in fp16["measured_note"]
    bf16 = device["precisions"]["bf16"]  # matmul gains, conv loses: agrees, and the conv loss is named
    assert bf16["measured_agrees"] is True and bf16["measured_verdict"] == "native, conv 0.7x"
    assert "conv 0.7x" in bf16["measured_note"]
    console = Console(width=200, record=True)
    console.print(build_device_table(device))
    import re

    cells = [re.split(r"\s{2,}", line.strip()) for line in console.export_text().splitlines()]
    rows = {parts[0]: parts[1] for parts in cells if len(parts) >= 3}  # the plain table: columns 2+ spaces apart
    assert rows["fp16"] == "native, no gain measured" and rows["fp32"] == "native"
    assert rows["bf16"] == "native, conv 0.7x"


def test_a_measured_gain_keeps_the_plain_verdict():
    native = {"status": "native", "compute": "fp16", "evidence": "avx512_fp16"}
    assert measurement_for(native, _ops(matmul=1.9, conv=1.3))["verdict"] == "native"
    int8 = {"status": "native", "compute": "int8", "evidence": "amx_int8"}
    assert measurement_for(int8, _ops(linear=1.1))["verdict"] == "native, only 1.1x measured"
    emulated = {"status": "emulated", "compute": "bf16", "evidence": "no flags"}
    assert measurement_for(emulated, _ops(matmul=1.6))["verdict"] == "emulated, yet 1.6x measured"
