"""Apply the rule table (calib.hardware.rules) to one device and explain the outcome."""

from __future__ import annotations

from calib.hardware.rules import ORT_INT8_TYPES, RULES, OrtInt8Types, Rule
from calib.precisions import PRECISIONS


def compute_of(precision: str) -> str:
    """The rule table's compute column for a precision: the short name of its compute dtype."""
    return PRECISIONS[precision].compute


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


def _applies(rule: Rule | OrtInt8Types, device: dict, flags: set[str], cc) -> bool:
    if device["kind"] == "cuda":
        if rule.arch != "cuda":
            return False
    elif rule.arch not in ("cpu", device.get("arch")):
        return False
    return all(_holds(condition, flags, cc) for condition in rule.requires.split())


def _first_match(rows: list, device: dict):
    flags = set(device.get("flags") or [])
    cc = parse_cc(device.get("compute_capability"))
    return next((row for row in rows if _applies(row, device, flags, cc)), None)


def first_rule(compute: str, device: dict) -> Rule:
    rule = _first_match([rule for rule in RULES if rule.compute == compute], device)
    if rule is None:  # the table has a fallback for each compute type and device kind
        raise LookupError(f"no rule for {compute} on {device.get('id')}")
    return rule


def ort_int8_types(device: dict) -> OrtInt8Types:
    """The int8 types ONNX Runtime's static quantization uses on this device (rules.ORT_INT8_TYPES)."""
    row = _first_match(ORT_INT8_TYPES, device)
    if row is None:
        raise LookupError(f"no ONNX Runtime int8 types row for {device.get('id')}")
    return row


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
