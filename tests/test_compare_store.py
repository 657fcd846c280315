"""`calib compare --store`: the latest run of each device class side by side, from a real store (SQLite and
PostgreSQL via store_url), as `calib compare A.json B.json` shows files."""

from __future__ import annotations

import pytest

from calib.cli import main
from history_runs import derive, measure, push_history, write


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return measure(tmp_path_factory.mktemp("compare-store"))


@pytest.fixture
def fleet(base, store_url):
    """Two device classes: an older, slower run and the latest of a Jetson; the latest of an i7."""
    push_history(store_url, base, factors=(3.0, 2.0), device_class="jetson-orin-maxn", cpu_model="ARMv8 rev 1")
    push_history(store_url, base, factors=(1.0,), device_class="cpu-i7-12700-20t")
    return store_url


def test_latest_run_of_each_device_class_side_by_side(runner, fleet):
    result = runner.invoke(main, ["compare", "--store", fleet])
    assert result.exit_code == 0, result.output
    assert "0 file(s), 2 device class(es) from the store, 2 column(s)" in result.output
    assert "#1 cpu-i7-12700-20t@2026-01-05 09:00" in result.output
    assert "#2 jetson-orin-maxn@2026-01-05 10:00" in result.output  # the latest, not the 09:00 one
    assert "jetson-orin-maxn@2026-01-05 09:00" not in result.output
    assert "tiny-mlp onnxruntime fp32 b1 [1x64]" in result.output and "of #1" in result.output
    assert "2.00x [" in result.output  # the Jetson's latest run is twice the i7's time
    assert "different machine" in result.output and "ARMv8 rev 1" in result.output


def test_files_and_store_merge_files_first(runner, fleet, base, tmp_path):
    mine = write(derive(base, 40, 1.0, device_class="laptop"), tmp_path / "mine.json")
    result = runner.invoke(main, ["compare", str(mine), "--store", fleet, "-m", "tiny-mlp"])
    assert result.exit_code == 0, result.output
    assert "1 file(s), 2 device class(es) from the store, 3 column(s)" in result.output
    assert "#1 mine.json" in result.output and "#3 jetson-orin-maxn@" in result.output


def test_a_store_without_such_runs_exits_2(runner, fleet, store_url):
    unknown = runner.invoke(main, ["compare", "--store", fleet, "-m", "resnet18"])
    assert unknown.exit_code == 2 and "no runs in the store" in unknown.output and "model resnet18" in unknown.output
    other_kind = runner.invoke(main, ["compare", "--store", fleet, "--kind", "train"])
    assert other_kind.exit_code == 2 and "kind train" in other_kind.output


def test_an_empty_store_exits_2(runner, store_url):
    from calib.store.db import Store

    Store(store_url).close()  # created, nothing in it
    result = runner.invoke(main, ["compare", "--store", store_url])
    assert result.exit_code == 2 and "no runs in the store" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_usage_errors_exit_2_in_one_line(runner, tmp_path):
    for args, message in (([], "give results FILES, --store URL, or both"),
                          (["--store", str(tmp_path / "none.db")], "no store at"),
                          (["--store", "mysql://u@h/db"], "calib stores into sqlite:// or postgresql://"),
                          (["x.json", "-m", "tiny-mlp"], "give --store URL")):
        result = runner.invoke(main, ["compare", *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "none.db").exists()
