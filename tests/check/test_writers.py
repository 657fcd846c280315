"""Markdown summary and JUnit XML of a gate result."""

import xml.etree.ElementTree as ET

from calib.check.gate import gate
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
    assert suite.get("tests") == "3" and suite.get("failures") == "1" and suite.get("skipped") == "1"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert cases["m torch fp32 b1 [1x8] cpu"].find("failure") is not None
    assert cases["m torch bf16 b1 [1x8] cpu"].find("skipped") is not None
    write_junit(_result(), tmp_path / "out" / "gate.xml")
    assert ET.parse(tmp_path / "out" / "gate.xml").getroot().tag == "testsuites"
