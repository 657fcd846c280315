"""Turn a probe's measurements into the words of a verdict: "native, measured 1.9x fp32".

The flag-based verdict says what the hardware can do; the probe says what torch achieved with
it here. They can disagree (torch may lack kernels for an instruction the CPU has, as PyTorch's
CPU fp16 matmul ignores avx512_fp16; or a VM may hide a flag), and when they do the report says
so instead of picking one: `status` stays what the flags say, and the verdict gains
`measured_ratio`, `measured_agrees`, `measured_note` and `measured_verdict`, the words the
verdict column shows ("native, no gain measured": the flags without the gain they promise).
"""

from __future__ import annotations

import copy

from calib.hardware.rules import EMULATED, NATIVE, UNSUPPORTED

# The speed-up over fp32 that "the hardware computes this type" should show in the probe's
# kernels. A narrower float halves the bytes and, computed natively, beats fp32: 1.0x is what a
# build that converts to fp32 and back gets on the probe's large, compute-bound kernels, so a
# float gain counts from 1.05x (outside the few percent the probe's median call moves between
# runs; 1.0x fp32 with native flags reads "native, no gain measured"). int8 must do better: even
# AVX2's u8s8 path without VNNI measured about 2x fp32 here, and quantize/dequantize costs are part
# of the int8 linear, so below 1.2x the int8 arithmetic is not paying. An emulated type agrees
# while it stays under the same mark. The marks sit outside the +-10% run-to-run noise of the
# development machines only for clear cases; a ratio near a mark can flip between runs.
SPEEDUP_AT_LEAST = {"int8": 1.2}
FLOAT_SPEEDUP_AT_LEAST = 1.05
SLOWER_THAN_FP32 = 1.0  # an op below this ran slower in the type than in fp32: named beside the deciding op
_PRIMARY_OPS = ("matmul", "linear", "conv")


def speedup_threshold(compute: str) -> float:
    return SPEEDUP_AT_LEAST.get(compute, FLOAT_SPEEDUP_AT_LEAST)


def ratio_text(ratio: float) -> str:
    return f"{ratio:.1f}x" if ratio >= 0.995 else f"{ratio:.2g}x"  # 0.9996 reads "1.0x", not "1x"


def measured_status(ratio: float, compute: str) -> str:
    """What the measurement alone looks like: a speed-up over fp32 is native, none is emulated."""
    return NATIVE if ratio >= speedup_threshold(compute) else EMULATED


def _primary_op(ops: dict) -> str | None:
    """The op that decides: matmul (the probe's largest, steadiest kernel), else the int8 linear, else
    conv; the other ops' ratios are kept beside it (`ratios_by_op`)."""
    return next((op for op in _PRIMARY_OPS if op in ops and "ratio_to_fp32" in ops[op]), None)


def _slower_ops(ops: dict, decided_by: str) -> dict[str, float]:
    """The other ops that ran slower than fp32 in this type, {op: ratio}: a gain on matmul does not
    make a model of convolutions faster."""
    return {op: m["ratio_to_fp32"] for op, m in ops.items()
            if op != decided_by and m.get("ratio_to_fp32") is not None and m["ratio_to_fp32"] < SLOWER_THAN_FP32}


def _ops_text(slower: dict[str, float], ops: dict) -> str:
    """"conv 0.58x (1x128x56x56 k3 nhwc)", for each op in `slower`."""
    return ", ".join(f"{op} {ratio_text(ratio)}" + (f" ({ops[op]['shape']})" if ops[op].get("shape") else "")
                     for op, ratio in slower.items())


def _note(status: str, compute: str, ratio: float, op: str, shape: str, device_id: str,
          slower_text: str) -> str | None:
    """The sentence for a disagreement: what the flags say, what was measured, what that means."""
    measured = f"measured {ratio_text(ratio)} fp32 ({op} {shape})".replace(" )", ")")
    also = f", {slower_text}" if slower_text else ""
    mark = f"{speedup_threshold(compute):g}x"
    if status == NATIVE:
        if compute == "int8":
            return (f"native flags, {measured}{also}: below the {mark} an int8 path should give, so the quantized "
                    "kernels this PyTorch build uses do not pay off here")
        where = "" if device_id == "cpu" else f" on {device_id}"
        if ratio >= SLOWER_THAN_FP32:
            return (f"native flags, {measured}{also}: no gain over fp32 (under {mark}), so this PyTorch build "
                    f"may not use the {compute} arithmetic{where}")
        return f"native flags, {measured}{also}: this PyTorch build does not use the {compute} arithmetic{where}"
    return (f"emulated by flags, yet {measured}: something computes {compute} faster than fp32 here (a VM may "
            "hide the flag that would make it native)")


def _partial_note(compute: str, ratio: float, op: str, slower: dict[str, float], slower_text: str) -> str:
    """Flags and the deciding op agree, yet other ops lose time in this type."""
    return (f"{op} gains {ratio_text(ratio)} fp32, but slower than fp32: {slower_text}; this PyTorch build's "
            f"{compute} {' and '.join(slower)} kernels do not pay off here")


def verdict_words(status: str, agrees: bool | None, ratio: float | None, slower: dict[str, float]) -> str:
    """The verdict column's words: the flag-based status, qualified by what the probe measured."""
    if agrees is False and status == NATIVE:
        return ("native, no gain measured" if ratio is None or ratio < FLOAT_SPEEDUP_AT_LEAST
                else f"native, only {ratio_text(ratio)} measured")  # int8 under its 1.2x
    if agrees is False and status == EMULATED:
        return f"emulated, yet {ratio_text(ratio)} measured"
    if slower and status == NATIVE:
        return "native, " + ", ".join(f"{op} {ratio_text(r)}" for op, r in slower.items())  # "native, conv 0.7x"
    return status


def measurement_for(verdict: dict, compute_result: dict | None, device_id: str = "cpu") -> dict:
    if compute_result is None:
        reason = "unsupported here" if verdict["status"] == UNSUPPORTED else "not part of the probe"
        return {"probed": False, "summary": f"{verdict['status']}, not probed ({reason})"}
    if not compute_result.get("probed"):
        return {"probed": False, "reason": compute_result.get("reason"),
                "summary": f"{verdict['status']}, not probed ({compute_result.get('reason')})"}
    ops = compute_result["ops"]
    op = _primary_op(ops)
    if op is None:
        return {"probed": False, "summary": f"{verdict['status']}, no fp32 reference measured"}
    ratio, compute, status = ops[op]["ratio_to_fp32"], verdict["compute"], verdict["status"]
    seen, note, slower = measured_status(ratio, compute), None, {}
    if compute == "fp32":
        agrees, summary = True, f"{status}, reference ({ops[op]['gflops']:.3g} GFLOP/s {op})"
    elif status == UNSUPPORTED:
        agrees, summary = None, f"unsupported, measured {ratio_text(ratio)} fp32 (runs, but not as {compute})"
    else:
        agrees, slower = seen == status, _slower_ops(ops, op)
        summary = f"{status}, measured {ratio_text(ratio)} fp32"
        if not agrees:
            note = _note(status, compute, ratio, op, ops[op].get("shape", ""), device_id, _ops_text(slower, ops))
        elif slower and status == NATIVE:
            note = _partial_note(compute, ratio, op, slower, _ops_text(slower, ops))
        if note:
            words = verdict_words(status, agrees, ratio, slower)
            summary = f"{words} ({ratio_text(ratio)} fp32 {op}) -- DISAGREES: {note}"
    return {"probed": True, "op": op, "shape": ops[op].get("shape"), "ratio_to_fp32": ratio,
            "gflops": ops[op]["gflops"], "ratios_by_op": {name: m.get("ratio_to_fp32") for name, m in ops.items()},
            "threshold": speedup_threshold(compute), "measured_status": seen, "agrees": agrees, "note": note,
            "slower_ops": slower, "verdict": verdict_words(status, agrees, ratio, slower), "summary": summary}


def apply_probe(report: dict, probe_result: dict) -> dict:
    """A copy of `report` whose verdicts carry what was measured and whose root carries the raw probe.

    Each verdict keeps `status` (by flags) and gains `measured` (the details) and, where probed,
    `measured_ratio`, `measured_agrees` (None where it cannot agree or disagree: the fp32 reference,
    an unsupported type), `measured_note` (the disagreement in words, also appended to `evidence`) and
    `measured_verdict` (the status with what was measured: "native, no gain measured").
    """
    report = copy.deepcopy(report)
    busy = bool(probe_result.get("warnings"))  # e.g. other processes on the cores: a ratio can be far off
    for device in report["devices"]:
        results = probe_result["devices"].get(device["id"])
        for verdict in device["precisions"].values():
            if results is None:
                verdict["measured"] = {"probed": False, "summary": f"{verdict['status']}, device not probed"}
                continue
            measured = measurement_for(verdict, results.get(verdict["compute"]), device["id"])
            verdict["measured"] = measured
            if measured["probed"]:
                verdict["measured_ratio"] = measured["ratio_to_fp32"]
                verdict["measured_agrees"] = measured["agrees"] if verdict["compute"] != "fp32" else None
                if measured["note"] and busy:
                    measured["note"] += " (measured while the probe warned that the machine was busy: rerun it idle)"
                verdict["measured_note"] = measured["note"]
                verdict["measured_verdict"] = measured["verdict"]
                if measured["note"]:
                    verdict["evidence"] = f"{verdict['evidence']}; but {measured['note']}"
    report["probe"] = probe_result
    return report


def probe_notes(report: dict) -> dict[tuple[str, str], str]:
    """(device id, compute) -> the disagreement note, for the probe table's rows."""
    notes = {}
    for device in report["devices"]:
        for verdict in device["precisions"].values():
            if verdict.get("measured_note"):
                notes.setdefault((device["id"], verdict["compute"]), verdict["measured_note"])
    return notes


def disagreements(report: dict) -> list[str]:
    """One line per compute type whose measurement contradicts its flags (autocast shares its cast's line)."""
    return [f"{device_id} {compute}: {note}" for (device_id, compute), note in probe_notes(report).items()]
