"""The gate as JUnit XML: one test case per configuration, a regression is a failure.

CI systems (GitHub via test-reporter actions, GitLab, Jenkins) show these as test results.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from calib.check.gate import GateResult, IMPROVEMENT, REGRESSION, UNCHANGED
from calib.check.markdown import outcome_cells

SUITE_NAME = "calib check"


def gate_junit(result: GateResult) -> ET.ElementTree:
    skipped_count = sum(1 for o in result.outcomes if o.outcome not in (REGRESSION, IMPROVEMENT, UNCHANGED))
    suite = ET.Element("testsuite", name=SUITE_NAME, tests=str(len(result.outcomes)),
                       failures=str(len(result.regressions)), errors="0", skipped=str(skipped_count))
    properties = ET.SubElement(suite, "properties")
    for name, value in (("baseline", result.baseline_path), ("current", result.current_path),
                        ("tolerance", result.settings.tolerance), ("alpha", result.settings.alpha)):
        ET.SubElement(properties, "property", name=name, value=str(value))
    for outcome in result.outcomes:
        label, status, base_ms, cur_ms, interval, p_value, method, note = outcome_cells(outcome)
        case = ET.SubElement(suite, "testcase", classname="calib.check", name=label, time="0")
        detail = (f"{status}: baseline {base_ms} ms, current {cur_ms} ms, current/baseline {interval}, "
                  f"p={p_value} ({method}){'; ' + note if note else ''}")
        if outcome.outcome == REGRESSION:
            failure = ET.SubElement(case, "failure", message=f"{label}: {status} {interval}", type="regression")
            failure.text = detail
        elif outcome.outcome not in (IMPROVEMENT, UNCHANGED):
            ET.SubElement(case, "skipped", message=detail)
        else:
            ET.SubElement(case, "system-out").text = detail
    suites = ET.Element("testsuites", name=SUITE_NAME, tests=suite.get("tests"), failures=suite.get("failures"))
    suites.append(suite)
    ET.indent(suites)
    return ET.ElementTree(suites)


def write_junit(result: GateResult, path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    gate_junit(result).write(path, encoding="utf-8", xml_declaration=True)
