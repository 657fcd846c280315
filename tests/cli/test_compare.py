"""`calib compare` on real runs at different thread counts."""

import pytest

from calib.cli import main


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from click.testing import CliRunner

    from check.records import FAST_RUN_OPTIONS as FAST

    folder = tmp_path_factory.mktemp("compare")
    for threads in ("1", "2"):
        result = CliRunner().invoke(main, ["run", "-b", "torch", "--model", "tiny-mlp", "-p", "fp32,bf16", "--threads", threads,
                                           "--out", str(folder / f"t{threads}.json"), *FAST])
        assert result.exit_code == 0, result.output
    return folder


def test_different_threads_compare_with_a_warning(runner, runs):
    result = runner.invoke(main, ["compare", str(runs / "t1.json"), str(runs / "t2.json")])
    assert result.exit_code == 0, result.output
    assert "warning: t1.json vs t2.json: settings that change timings differ: threads: 1 vs 2" in result.output
    assert "tiny-mlp torch fp32 b1 [1x64]" in result.output and "tiny-mlp torch bf16 b1 [1x64]" in result.output
    assert "vs fp32" in result.output and "of #1" in result.output  # speed-up and ratio between runs
    assert "emulated" in result.output or "native" in result.output


def test_one_file_needs_no_ratio(runner, runs):
    result = runner.invoke(main, ["compare", str(runs / "t1.json")])
    assert result.exit_code == 0 and "of #1" not in result.output and "warning" not in result.output


def test_missing_file_exits_2(runner, tmp_path):
    result = runner.invoke(main, ["compare", str(tmp_path / "nope.json")])
    assert result.exit_code == 2 and "no such file" in result.output
