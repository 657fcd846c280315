"""`calib check` on real runs: exit 0 pass, 1 regression, 2 usage or unreadable input, 3 inconclusive."""

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
        result = runner.invoke(main, ["run", "-b", "torch", "--model", SLOWED, "--threads", threads, "--out", str(folder / f"{name}.json"),
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


def _write(path, records, finish=True):
    """A results file as `calib run` writes it (ResultWriter), from seeded records."""
    from calib.results.store import ResultWriter
    from check.records import make_result

    writer = ResultWriter(path, make_result([])["environment"], None, command=["calib", "run"])
    for record in records:
        writer.add(record)
    if finish:
        writer.finish()
    else:
        writer.close()
    return str(path)


@pytest.fixture
def baseline_file(tmp_path):
    from check.records import lognormal_samples, make_record

    return _write(tmp_path / "base.json", [make_record(lognormal_samples(seed), precision)
                                           for seed, precision in enumerate(("fp32", "fp16", "int8-dynamic"))])


def test_empty_current_run_is_inconclusive_exit_3(runner, baseline_file, tmp_path):
    current = _write(tmp_path / "cur.json", [])
    junit = tmp_path / "junit.xml"
    result = runner.invoke(main, ["check", "--baseline", baseline_file, "--current", current, "--junit", str(junit)])
    assert result.exit_code == 3, result.output
    assert "INCONCLUSIVE: 3 missing in current" in result.output and "PASS" not in result.output
    assert "calib: error: inconclusive: 3 configuration(s) of the baseline not measured" in result.output
    assert ET.parse(junit).getroot().find("testsuite").get("errors") == "3"
    allowed = runner.invoke(main, ["check", "--baseline", baseline_file, "--current", current, "--allow-missing"])
    assert allowed.exit_code == 0, allowed.output
    assert "PASS: 3 missing in current" in allowed.output and "--allow-missing:" in allowed.output


def test_failed_or_skipped_in_current_is_inconclusive(runner, baseline_file, tmp_path):
    from check.records import lognormal_samples, make_record

    current = _write(tmp_path / "cur.json", [make_record(lognormal_samples(7), "fp32"),
                                             make_record([], "fp16", status="failed"),
                                             make_record([], "int8-dynamic", status="skipped")])
    result = runner.invoke(main, ["check", "--baseline", baseline_file, "--current", current])
    assert result.exit_code == 3, result.output
    assert "1 failed in current, 1 skipped in current" in result.output


def test_unfinished_current_run_is_inconclusive(runner, baseline_file, tmp_path):
    from check.records import lognormal_samples, make_record

    records = [make_record(lognormal_samples(seed + 5), precision)
               for seed, precision in enumerate(("fp32", "fp16", "int8-dynamic"))]
    current = _write(tmp_path / "cur.json", records, finish=False)
    result = runner.invoke(main, ["check", "--baseline", baseline_file, "--current", current])
    assert result.exit_code == 3, result.output
    assert "is incomplete: its run did not finish" in result.output
    assert runner.invoke(main, ["check", "--baseline", baseline_file, "--current", current,
                                "--allow-missing"]).exit_code == 0


def test_help_documents_the_exit_codes(runner):
    result = runner.invoke(main, ["check", "--help"])
    assert result.exit_code == 0
    assert "3  inconclusive" in result.output and "--allow-missing" in result.output


def test_ci_example_installs_this_project_not_the_namesake_on_the_index():
    """docs/ci-example.yml (the gate's workflow) and the README install the distribution pyproject names;
    "calib" on PyPI is an unrelated certificate-authority library."""
    import importlib.metadata
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    import calib

    root = Path(__file__).resolve().parents[2]
    name = tomllib.loads((root / "pyproject.toml").read_text())["project"]["name"]
    assert name != "calib"
    assert importlib.metadata.version(name) == calib.__version__  # the installed distribution is this one
    for path in (root / "docs" / "ci-example.yml", root / "README.md"):
        text = path.read_text()
        assert f'pip install "{name}[onnx]"' in text, path
        assert 'pip install "calib[' not in text and "pip install 'calib[" not in text, path
