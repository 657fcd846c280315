"""The gate as JUnit XML: one test case per configuration, a regression is a failure.

CI systems (GitHub via test-reporter actions, GitLab, Jenkins) show these as test results.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from calib.check.gate import FAILING, GateResult, IMPROVEMENT, JUDGED, LOST, UNCHANGED
from calib.check.markdown import outcome_cells

SUITE_NAME = "calib check"
# The case that carries an inconclusive verdict no configuration's case shows (an unfinished run,
# nothing measured in both), so that a CI test view never shows an inconclusive gate as all green.
COMPLETENESS_CASE = "completeness of the current run"


def gate_junit(result: GateResult) -> ET.ElementTree:
    """One case per configuration: a regression is a failure; a configuration the current run lost is
    an error (skipped with --allow-missing); one the baseline did not measure either is skipped."""
    lost_is_error = not result.settings.allow_missing
    error_count = len(result.lost) if lost_is_error else 0
    extra_case = result.inconclusive and not error_count
    skipped_count = sum(1 for o in result.outcomes
                        if o.outcome not in JUDGED and not (lost_is_error and o.outcome in LOST))
    suite = ET.Element("testsuite", name=SUITE_NAME, tests=str(len(result.outcomes) + extra_case),
                       failures=str(len(result.regressions)), errors=str(error_count + extra_case),
                       skipped=str(skipped_count))
    properties = ET.SubElement(suite, "properties")
    for name, value in (("baseline", result.baseline_path), ("current", result.current_path),
                        ("tolerance", result.settings.tolerance), ("alpha", result.settings.alpha)):
        ET.SubElement(properties, "property", name=name, value=str(value))
    for outcome in result.outcomes:
        label, status, base_ms, cur_ms, interval, p_value, method, note = outcome_cells(outcome)
        case = ET.SubElement(suite, "testcase", classname="calib.check", name=label, time="0")
        detail = (f"{status}: baseline {base_ms} ms, current {cur_ms} ms, current/baseline {interval}, "
                  f"p={p_value} ({method}){'; ' + note if note else ''}")
        if outcome.outcome in FAILING:
            failure = ET.SubElement(case, "failure", message=f"{label}: {status} {interval}",
                                    type=outcome.outcome.replace(" ", "-"))
            failure.text = detail
        elif outcome.outcome in LOST and lost_is_error:
            error = ET.SubElement(case, "error", message=f"{label}: {status} (measured in the baseline)",
                                  type="missing")
            error.text = detail
        elif outcome.outcome not in (IMPROVEMENT, UNCHANGED):
            ET.SubElement(case, "skipped", message=detail)
        else:
            ET.SubElement(case, "system-out").text = detail
    if extra_case:
        case = ET.SubElement(suite, "testcase", classname="calib.check", name=COMPLETENESS_CASE, time="0")
        ET.SubElement(case, "error", message="; ".join(result.unjudged_reasons), type="inconclusive")
    suites = ET.Element("testsuites", name=SUITE_NAME, tests=suite.get("tests"), failures=suite.get("failures"),
                        errors=suite.get("errors"))
    suites.append(suite)
    ET.indent(suites)
    return ET.ElementTree(suites)


def write_junit(result: GateResult, path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    gate_junit(result).write(path, encoding="utf-8", xml_declaration=True)
