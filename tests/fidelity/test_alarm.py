"""A total disagreement with fp32 is a loud warning naming what is likely broken (issue 30 item 5)."""

import json

from calib.cli import main
from calib.fidelity.alarm import MARKER, evidence, warning
from calib.fidelity.budget import compact

BROKEN = {"reference": "torch fp32", "is_reference": False, "sample": "seeded inputs (64 items)",
          "sqnr_db": 0.0, "cosine": None, "top1_agreement": 0.0, "top1_items": 64, "reference_max_abs": 5.9}


def test_unrelated_outputs_are_named_with_their_numbers_and_likely_causes():
    assert evidence(BROKEN) == ["SQNR 0.0 dB", "top-1 agrees on 0% of 64 items"]
    text = warning(BROKEN, "int8-static")
    assert text.startswith("TOTAL DISAGREEMENT with fp32 (SQNR 0.0 dB, top-1 agrees on 0% of 64 items; on seeded "
                           "inputs (64 items), against torch fp32)")
    assert "calibration data" in text and "should stay float" in text and "engine bug" in text
    assert "calibration data" not in warning(BROKEN, "int8-dynamic")
    assert "overflow or underflow in bf16" in warning(BROKEN, "bf16")
    assert compact(BROKEN).startswith(MARKER)


def test_vanishing_fp32_outputs_are_blamed_on_the_random_weights():
    text = warning({**BROKEN, "reference_max_abs": 2e-9}, "int8-static", "random")
    assert "at most 2e-09 (random weights let the activations vanish)" in text
    assert "says nothing about a trained model" in text


def test_close_outputs_and_the_reference_itself_are_not_alarms():
    # top-1 flips between nearly tied classes while the outputs stay close: not a break
    assert evidence({**BROKEN, "sqnr_db": 25.0, "top1_agreement": 0.0}) == []
    assert evidence({**BROKEN, "sqnr_db": 25.0, "top1_agreement": 0.0, "top1_items": 4}) == []
    assert evidence({**BROKEN, "is_reference": True}) == [] and evidence({**BROKEN, "reference": None}) == []
    assert evidence({**BROKEN, "sqnr_db": 30.0, "cosine": 0.999, "top1_agreement": 0.97}) == []
    assert evidence({**BROKEN, "sqnr_db": 8.0, "cosine": 0.05, "top1_agreement": 0.5}) == ["cosine 0.050"]


FLIPPED = """
import torch
from torch import nn


class Flipped(nn.Module):
    \"\"\"A classifier whose outputs turn around in any precision but fp32: made to disagree.\"\"\"

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        y = self.fc(x)
        return y if y.dtype == torch.float32 else -y


def build():
    torch.manual_seed(0)
    return Flipped()
"""


def test_run_warns_loudly_on_a_model_made_to_disagree(runner, tmp_path):
    factory = tmp_path / "flipped.py"
    factory.write_text(FLIPPED)
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "-m", f"{factory}:build", "--input-shape", "16", "-p", "fp32,bf16",
                                  "-b", "torch", "--no-tune", "--max-time", "0.05", "--threads", "1",
                                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "bf16: TOTAL DISAGREEMENT with fp32 (SQNR -6.0 dB, cosine -1.000, top-1 agrees " \
           "on 0% of 64 items" in output
    assert "overflow or underflow in bf16" in output and MARKER in output
    fp32, bf16 = json.loads(out.read_text())["records"]
    assert not any("TOTAL DISAGREEMENT" in line for line in fp32["warnings"])
    assert any(line.startswith("TOTAL DISAGREEMENT") for line in bf16["warnings"])
    assert bf16["fidelity"]["sample_items"] == 64 and bf16["fidelity"]["top1_items"] == 64
