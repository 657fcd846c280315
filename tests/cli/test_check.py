"""`calib check` on real runs: exit 0 pass, 1 regression, 2 usage or unreadable input."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from calib.cli import main

SLOWED = f"{Path(__file__).resolve().parents[2] / 'models' / 'slowed.py'}:build"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from click.testing import CliRunner

    from check.records import FAST_RUN_OPTIONS as FAST

    folder = tmp_path_factory.mktemp("check")
    runner = CliRunner()
    for name, slowdown, threads in (("base", "0", "2"), ("slow", "1.0", "2"), ("one_thread", "0", "1")):
        result = runner.invoke(main, ["run", "--model", SLOWED, "--threads", threads, "--out", str(folder / f"{name}.json"),
                                      *FAST], env={"CALIB_SLOWDOWN": slowdown})
        assert result.exit_code == 0, result.output
    return folder


def test_same_run_passes_with_a_markdown_summary(runner, runs, tmp_path):
    summary = tmp_path / "summary.md"
    result = runner.invoke(main, ["check", "--baseline", str(runs / "base.json"), "--current", str(runs / "base.json"),
                                  "--markdown", str(summary)])
    assert result.exit_code == 0, result.output
    assert "PASS: 1 unchanged" in result.output
    assert summary.read_text().startswith("## calib check: PASS")
    assert "separate runs" in result.output and "calib ab" in summary.read_text()  # the drift caveat


def test_slowed_model_fails_with_exit_1(runner, runs, tmp_path):
    summary, junit = tmp_path / "summary.md", tmp_path / "junit.xml"
    result = runner.invoke(main, ["check", "--baseline", str(runs / "base.json"), "--current", str(runs / "slow.json"),
                                  "--markdown", str(summary), "--junit", str(junit)])
    assert result.exit_code == 1, result.output
    assert "regression" in result.output and "slowed:build torch fp32" in result.output
    assert "FAIL: 1 regression" in summary.read_text()
    assert ET.parse(junit).getroot().find("testsuite").get("failures") == "1"


def test_generous_tolerance_lets_it_pass(runner, runs):
    result = runner.invoke(main, ["check", "--baseline", str(runs / "base.json"), "--current", str(runs / "slow.json"),
                                  "--tolerance", "400%"])
    assert result.exit_code == 0, result.output


def test_different_threads_are_refused_unless_forced(runner, runs):
    args = ["check", "--baseline", str(runs / "base.json"), "--current", str(runs / "one_thread.json")]
    refused = runner.invoke(main, args)
    assert refused.exit_code == 2
    assert "threads: 2 vs 1" in refused.output and "--force" in refused.output
    assert runner.invoke(main, [*args, "--force", "--tolerance", "400%"]).exit_code == 0


@pytest.mark.parametrize("extra, message", [(["--tolerance", "five"], "--tolerance"),
                                            (["--tolerance", "5"], "write 5%"),
                                            (["--alpha", "2"], "--alpha")])
def test_bad_options_exit_2(runner, runs, extra, message):
    result = runner.invoke(main, ["check", "--baseline", str(runs / "base.json"), "--current", str(runs / "base.json"),
                                  *extra])
    assert result.exit_code == 2 and message in result.output


def test_unreadable_input_exits_2(runner, runs, tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    for path in (tmp_path / "missing.json", tmp_path / "bad.json"):
        result = runner.invoke(main, ["check", "--baseline", str(path), "--current", str(runs / "base.json")])
        assert result.exit_code == 2 and str(path) in result.output
        assert "Traceback" not in result.output
