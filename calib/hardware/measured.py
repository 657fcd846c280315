"""Turn a probe's measurements into the words of a verdict: "native, measured 1.9x fp32".

The flag-based verdict says what the hardware can do; the probe says what torch achieved with
it here. They can disagree (torch may lack kernels for an instruction the CPU has, or a VM may
throttle), and when they do the report says so instead of picking one.
"""

from __future__ import annotations

import copy

from calib.hardware.rules import EMULATED, NATIVE, UNSUPPORTED

# Native compute should at least keep up with fp32; emulation through fp32 conversion cannot
# beat fp32. Between the two the measurement alone does not decide, so it is "inconclusive".
NATIVE_AT_LEAST = 0.8
EMULATED_BELOW = 0.5
_PRIMARY_OPS = ("matmul", "linear", "conv")


def ratio_text(ratio: float) -> str:
    return f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2g}x"


def measured_status(ratio: float) -> str:
    if ratio >= NATIVE_AT_LEAST:
        return NATIVE
    if ratio < EMULATED_BELOW:
        return EMULATED
    return "inconclusive"


def measurement_for(verdict: dict, compute_result: dict | None) -> dict:
    if compute_result is None:
        reason = "unsupported here" if verdict["status"] == UNSUPPORTED else "not part of the probe"
        return {"probed": False, "summary": f"{verdict['status']}, not probed ({reason})"}
    if not compute_result.get("probed"):
        return {"probed": False, "reason": compute_result.get("reason"),
                "summary": f"{verdict['status']}, not probed ({compute_result.get('reason')})"}
    ops = compute_result["ops"]
    primary = next((op for op in _PRIMARY_OPS if op in ops and "ratio_to_fp32" in ops[op]), None)
    if primary is None:
        return {"probed": False, "summary": f"{verdict['status']}, no fp32 reference measured"}
    ratio = ops[primary]["ratio_to_fp32"]
    status, seen = verdict["status"], measured_status(ratio)
    if verdict["compute"] == "fp32":
        agrees, summary = True, f"{status}, reference ({ops[primary]['gflops']:.3g} GFLOP/s {primary})"
    elif status == UNSUPPORTED:
        agrees, summary = None, f"unsupported, measured {ratio_text(ratio)} fp32 (runs, but not as {verdict['compute']})"
    else:
        agrees = None if seen == "inconclusive" else seen == status
        summary = f"{status}, measured {ratio_text(ratio)} fp32"
        if agrees is False:
            summary += f" -- DISAGREES: flags say {status}, the measurement looks {seen}"
        elif agrees is None:
            summary += " (inconclusive: between emulation and native speed)"
    return {"probed": True, "op": primary, "ratio_to_fp32": ratio, "gflops": ops[primary]["gflops"],
            "ratios_by_op": {op: m.get("ratio_to_fp32") for op, m in ops.items()},
            "measured_status": seen, "agrees": agrees, "summary": summary}


def apply_probe(report: dict, probe_result: dict) -> dict:
    """A copy of `report` whose verdicts carry `measured` and whose root carries the raw probe."""
    report = copy.deepcopy(report)
    for device in report["devices"]:
        results = probe_result["devices"].get(device["id"])
        for verdict in device["precisions"].values():
            if results is None:
                verdict["measured"] = {"probed": False, "summary": f"{verdict['status']}, device not probed"}
            else:
                verdict["measured"] = measurement_for(verdict, results.get(verdict["compute"]))
    report["probe"] = probe_result
    return report


def disagreements(report: dict) -> list[str]:
    lines = []
    for device in report["devices"]:
        for precision, verdict in device["precisions"].items():
            measured = verdict.get("measured") or {}
            if measured.get("agrees") is False:
                lines.append(f"{device['id']} {precision}: flags say {verdict['status']} ({verdict['evidence']}), "
                             f"but measured {ratio_text(measured['ratio_to_fp32'])} fp32 looks {measured['measured_status']}")
    return lines

