"""Apply the rule table (calib.hardware.rules) to one device and explain the outcome."""

from __future__ import annotations

from calib.hardware.rules import RULES, Rule
from calib.precisions import PRECISIONS

# precision compute_dtype (calib.precisions) -> the compute column of the rule table
_COMPUTE_OF_DTYPE = {"float32": "fp32", "tf32": "tf32", "float16": "fp16", "bfloat16": "bf16",
                     "int8": "int8", "float8_e4m3fn": "fp8"}


def compute_of(precision: str) -> str:
    return _COMPUTE_OF_DTYPE[PRECISIONS[precision].compute_dtype]


def parse_cc(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    major, _, minor = str(text).partition(".")
    return int(major), int(minor or 0)


def _holds(condition: str, flags: set[str], cc: tuple[int, int] | None) -> bool:
    if condition.startswith("cc>="):
        return cc is not None and cc >= parse_cc(condition[4:])
    if condition.startswith("cc="):
        return cc is not None and cc in {parse_cc(c) for c in condition[3:].split("|")}
    return any(alternative in flags for alternative in condition.split("|"))


def _applies(rule: Rule, device: dict, flags: set[str], cc) -> bool:
    if device["kind"] == "cuda":
        if rule.arch != "cuda":
            return False
    elif rule.arch not in ("cpu", device.get("arch")):
        return False
    return all(_holds(condition, flags, cc) for condition in rule.requires.split())


def first_rule(compute: str, device: dict) -> Rule:
    flags = set(device.get("flags") or [])
    cc = parse_cc(device.get("compute_capability"))
    for rule in RULES:
        if rule.compute == compute and _applies(rule, device, flags, cc):
            return rule
    raise LookupError(f"no rule for {compute} on {device.get('id')}")  # the table has a fallback for each


def precision_verdict(device: dict, precision: str) -> dict:
    compute = compute_of(precision)
    rule = first_rule(compute, device)
    evidence = rule.evidence.format(cc=device.get("compute_capability"))
    spec = PRECISIONS[precision]
    if spec.autocast:
        evidence = f"autocast computes matmul/conv in {compute}: {evidence}"
    if device.get("capability_source"):
        evidence = f"{evidence} [{device['capability_source']}]"
    verdict = {"status": rule.status, "evidence": evidence, "compute": compute,
               "rule": f"{rule.compute}/{rule.arch} requires {rule.requires or '(nothing)'}"}
    if rule.engine:
        verdict["engine"] = rule.engine
    return verdict


def device_verdicts(device: dict) -> dict[str, dict]:
    return {name: precision_verdict(device, name) for name in PRECISIONS}
