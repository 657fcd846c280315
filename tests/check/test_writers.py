"""Markdown summary and JUnit XML of a gate result."""

import xml.etree.ElementTree as ET

from calib.check.gate import GateSettings, gate
from calib.check.junit import gate_junit, write_junit
from calib.check.markdown import gate_markdown
from check.records import lognormal_samples, make_record, make_result


def _result():
    baseline = make_result([make_record(lognormal_samples(1), "fp32"), make_record(lognormal_samples(2), "fp16"),
                            make_record(lognormal_samples(3), "bf16")], path="base.json")
    current = make_result([make_record(1.2 * lognormal_samples(4), "fp32"), make_record(lognormal_samples(5), "fp16")],
                          path="cur.json")
    return gate(baseline, current)


def test_markdown_names_the_verdict_and_every_configuration():
    text = gate_markdown(_result())
    assert text.startswith("## calib check: FAIL: 1 regression, 1 unchanged, 1 missing in current")
    assert "| ❌ | m torch fp32 b1 [1x8] cpu | regression |" in text
    assert "m torch fp16 b1 [1x8] cpu | unchanged" in text
    assert "missing in current" in text and "`base.json`" in text
    assert "Worst: **m torch fp32 b1 [1x8] cpu** is 20." in text


def test_junit_has_one_case_per_configuration_and_a_failure_per_regression(tmp_path):
    tree = gate_junit(_result())
    suite = tree.getroot().find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "1"
    # bf16 was measured in the baseline and is missing in the current run: an error, not a skip
    assert suite.get("errors") == "1" and suite.get("skipped") == "0"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert cases["m torch fp32 b1 [1x8] cpu"].find("failure") is not None
    assert cases["m torch bf16 b1 [1x8] cpu"].find("error").get("type") == "missing"
    write_junit(_result(), tmp_path / "out" / "gate.xml")
    assert ET.parse(tmp_path / "out" / "gate.xml").getroot().tag == "testsuites"


def _lost_only(**settings):
    baseline = make_result([make_record(lognormal_samples(1), "fp32"), make_record(lognormal_samples(2), "fp16"),
                            make_record([], "bf16", status="skipped")], path="base.json")
    current = make_result([make_record(lognormal_samples(3), "fp32"), make_record([], "fp16", status="failed"),
                           make_record([], "bf16", status="skipped")], path="cur.json")
    return gate(baseline, current, GateSettings(**settings))


def test_markdown_of_an_inconclusive_gate_says_so():
    text = gate_markdown(_lost_only())
    assert text.startswith("## calib check: INCONCLUSIVE: 1 unchanged, 1 not measured, 1 failed in current")
    assert "**Inconclusive** (exit 3)" in text and "--allow-missing" in text
    assert "| ❓ | m torch fp16 b1 [1x8] cpu | failed in current |" in text
    allowed = gate_markdown(_lost_only(allow_missing=True))
    assert allowed.startswith("## calib check: PASS: 1 unchanged, 1 not measured, 1 failed in current")
    assert "> ⚠️ --allow-missing: 1 configuration(s) of the baseline not measured" in allowed


def test_junit_of_an_inconclusive_gate_has_an_error():
    suite = gate_junit(_lost_only()).getroot().find("testsuite")
    assert suite.get("errors") == "1" and suite.get("failures") == "0" and suite.get("skipped") == "1"
    allowed = gate_junit(_lost_only(allow_missing=True)).getroot().find("testsuite")
    assert allowed.get("errors") == "0" and allowed.get("skipped") == "2"


def test_junit_of_an_unfinished_run_carries_its_own_error_case():
    from calib.check.junit import COMPLETENESS_CASE

    baseline = make_result([make_record(lognormal_samples(1))], complete=True)
    current = make_result([make_record(lognormal_samples(2))], path="cur.json", complete=False)
    root = gate_junit(gate(baseline, current)).getroot()
    suite = root.find("testsuite")
    assert suite.get("tests") == "2" and suite.get("errors") == "1" and root.get("errors") == "1"
    case = next(c for c in suite.iter("testcase") if c.get("name") == COMPLETENESS_CASE)
    assert "cur.json is incomplete" in case.find("error").get("message")
