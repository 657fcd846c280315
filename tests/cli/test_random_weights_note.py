"""Issue 30 item 5: every command that judges layers on random weights says so (quant-error, sensitivity);
a model of the user's (a file) gets no such note."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from calib.cli import main

NOTE = "note: random weights"

USER_MODEL = """
import torch

def build():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
"""


@pytest.fixture(autouse=True)
def _no_store(monkeypatch):
    monkeypatch.setenv("CALIB_STORE", "none")


@pytest.mark.parametrize("command", [["quant-error", "--no-size"], ["sensitivity", "--top", "2"]])
def test_a_catalog_model_is_said_to_have_random_weights(command):
    result = CliRunner(env={"COLUMNS": "200"}).invoke(main, [*command, "-m", "tiny-mlp", "-q"])
    assert result.exit_code == 0, result.output
    assert NOTE in result.output


@pytest.mark.parametrize("command", [["quant-error", "--no-size"], ["sensitivity", "--top", "2"]])
def test_a_users_model_gets_no_random_weights_note(command, tmp_path):
    factory = tmp_path / "mine.py"
    factory.write_text(USER_MODEL)
    result = CliRunner(env={"COLUMNS": "200"}).invoke(main, [*command, "-m", f"{factory}:build", "--input-shape",
                                                            "16", "-q"])
    assert result.exit_code == 0, result.output
    assert NOTE not in result.output
