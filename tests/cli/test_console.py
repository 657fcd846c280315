"""The console's width: COLUMNS when set; in a pipe or CI log, wide enough for the run table."""

from calib.cli._common import PIPE_WIDTH, console


def test_a_pipe_gets_the_table_width_not_80(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert console().width == PIPE_WIDTH == 120  # pytest captures stdout: not a terminal


def test_columns_wins(monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")
    assert console().width == 90 and console(stderr=True).width == 90
