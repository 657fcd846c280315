"""The report of real runs (two inference files, one with per-layer tables and a configuration the other
lacks, and a training file) in headless Chromium: screenshots, and the rendered page measured by
layout_check.js: every chart drawn, bars on their labels, values beside their bars, legends clear."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from calib.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHECK = (Path(__file__).parent / "layout_check.js").read_text()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (Debian package `chromium`)")

QUALIFIER = "a line that qualifies this number"
RUN = ["run", "-m", "tiny-mlp", "--max-time", "0.2", "--no-tune", "-b", "torch", "--store", "none"]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    from click.testing import CliRunner

    folder = tmp_path_factory.mktemp("report")
    runner = CliRunner(env={"COLUMNS": "200"})
    commands = [[*RUN, "-p", "fp32,bf16", "--out", str(folder / "a.json")],
                [*RUN, "-p", "fp32,bf16,fp16", "--layers", "--out", str(folder / "b.json")],  # fp16: in b only
                ["train", "-m", "tiny-mlp", "-p", "fp32", "--steps", "4", "--out", str(folder / "t.json"),
                 "--store", "none"],
                ["report", *(str(folder / name) for name in ("a.json", "b.json", "t.json")),
                 "--html", str(folder / "report.html"), "--store", f"sqlite:///{folder / 'history.db'}"]]
    for command in commands:
        if command[0] == "train":  # a warning on a.json's bf16 record, whatever the machine's noise did
            qualified = json.loads((folder / "a.json").read_text())
            bf16 = next(record for record in qualified["records"] if record["identity"]["precision"] == "bf16")
            bf16["warnings"] = [*bf16["warnings"], QUALIFIER]
            (folder / "a.json").write_text(json.dumps(qualified))
        if command[0] == "report":  # the store's History section: a.json's fp32 over ten runs, a step at run 7
            from history_runs import push_history

            factors = (1.0, 1.01, 0.99, 1.005, 0.995, 1.0, 1.3, 1.31, 1.29, 1.3)
            push_history(f"sqlite:///{folder / 'history.db'}", json.loads((folder / "a.json").read_text()),
                         factors, precisions=("fp32",))
        result = runner.invoke(main, command)
        assert result.exit_code == 0, result.output
    return folder / "report.html"


def _browser(profile: Path) -> list[str]:
    return [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
            "--window-size=1400,3000", "--hide-scrollbars"]


def _verdict(page: Path, script: str = "") -> dict:
    """The page with the checker (and any test-only `script` run before it), as Chromium lays it out."""
    checked = page.with_name(page.stem + ".checked.html")
    checked.write_text(page.read_text().replace("</body>", f"<script>{script}\n{CHECK}</script></body>"))
    dom = subprocess.run([*_browser(page.parent / "profile"), "--dump-dom", checked.as_uri()],
                         capture_output=True, text=True, timeout=90).stdout
    found = re.search(r'<pre id="layout-verdict">(\{.*?\})</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


def _screenshot(page: Path, shot: Path):
    subprocess.run([*_browser(page.parent / "profile"), f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=90)
    from PIL import Image

    return Image.open(shot).convert("L")


def test_every_chart_is_drawn_aligned_and_clear_of_its_legend(report):
    page = report.read_text()
    assert '<section id="inference">' in page and '<section id="training">' in page
    inference, training = page.split('<section id="training">')
    # one section per kind of result, in the order a reader takes them
    order = [page.index(f'<section id="{name}">') for name in ("inference", "training", "history", "environment")]
    assert order == sorted(order)
    verdict = _verdict(report)
    drawn = sorted(chart["name"] for chart in verdict["charts"])
    assert drawn == sorted(["latency", "distribution", "speedup", "layers_compared", "layers", "layers", "layers",
                            "accuracy", "step_time", "distribution", "loss", "history"]), drawn
    assert verdict["problems"] == []
    assert all(chart["width"] > 300 and chart["height"] > 100 for chart in verdict["charts"])
    # per-call latency and step time never share a chart: the training row is only in its own section
    assert "torch-train" not in inference and "torch-train" in training.split('<section id="history">')[0]
    assert 'data-chart="accuracy"' in inference  # a training file does not remove the accuracy plot
    assert "torch fp32: " in inference and "torch bf16: " in inference  # points named by engine and precision
    # warnings sit in the cell of the number they qualify (the run's own noise warnings vary by machine)
    assert re.search(f'<div class="qualifier">[^<]*{QUALIFIER}</div>', inference)
    shot = report.parent / "report.png"
    image = _screenshot(report, shot)
    assert image.size == (1400, 3000) and len(set(image.get_flattened_data())) > 20


def test_the_checks_catch_a_bar_off_its_label_and_a_legend_over_a_value(report):
    # fp16 is in b.json only (row 2, series 1): shifted by half its slot, it sits where the old layout put
    # it (in the second slot of a two-bar group whose first bar is missing), off its label
    drift = """(function () {
        const figure = document.querySelector('figure[data-chart="latency"]');
        const svg = figure.querySelector("svg");
        const bar = figure.querySelector('g[id$="-bar-2-1"]');
        const scale = svg.viewBox.baseVal.width / svg.getBoundingClientRect().width;
        const slot = bar.getBoundingClientRect().height / 0.9;
        bar.setAttribute("transform", `translate(0 ${slot / 2 * scale})`);
      })();"""
    assert _verdict(report)["problems"] == []
    problems = _verdict(report, drift)["problems"]
    assert any("bars of row 2" in line and "off their label" in line for line in problems), problems
    moved = report.with_name("moved.html")  # the same caught in the SVG itself, without a script
    moved.write_text(report.read_text().replace('<g id="inference-latency-bar-0-0">',
                                                '<g id="inference-latency-bar-0-0" transform="translate(0 40)">', 1))
    assert any("bars of row 0" in line for line in _verdict(moved)["problems"])
    # the legend dragged over the first value, as a legend placed inside the axes can land
    drag = """(function () {
        const figure = document.querySelector('figure[data-chart="latency"]');
        const svg = figure.querySelector("svg");
        const legend = figure.querySelector('g[id$="-legend"]');
        const value = figure.querySelector('g[id$="-value-0-0"]');
        const scale = svg.viewBox.baseVal.width / svg.getBoundingClientRect().width;
        const from = legend.getBoundingClientRect(), to = value.getBoundingClientRect();
        legend.setAttribute("transform", `translate(${(to.left - from.left) * scale} ${(to.top - from.top) * scale})`);
      })();"""
    problems = _verdict(report, drag)["problems"]
    assert any(line.startswith("latency: the legend covers") for line in problems), problems
    assert _screenshot(report, report.parent / "again.png").size == (1400, 3000)
