"""The HTML report: self-contained, charts carry the measured values, renders in a real browser."""

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from calib.report.content import build_content
from calib.report.html import render_html
from calib.report.markdown import render_markdown
from calib.results.schema import summary_of
from check.records import lognormal_samples, make_record, make_result

LAYERS = {"layers": [{"name": "conv1", "op_kind": "conv", "median_ms": 1.5, "share": 0.6},
                     {"name": "fc", "op_kind": "linear", "median_ms": 0.5, "share": 0.2}],
          "by_kind": [], "coverage": 0.8}


def _results():
    first = make_result([make_record(lognormal_samples(1, 2.0), "fp32", fidelity={"accuracy": 0.975, "cosine": 1.0}),
                         make_record(lognormal_samples(2, 40.0), "bf16", verdict="emulated", layers=LAYERS,
                                     fidelity={"accuracy": 0.970, "cosine": 0.9999}),
                         make_record([], "fp8", status="skipped")], path="one.json", threads=1)
    second = make_result([make_record(lognormal_samples(3, 1.9), "fp32"), make_record(lognormal_samples(4, 39.0), "bf16")],
                         path="two.json", threads=2)
    return [first, second]


def _figures(page: str) -> dict[str, list]:
    found = {}
    for name, data in re.findall(r'<figure class="chart" data-chart="(\w+)" data-values="([^"]*)"', page):
        found.setdefault(name, []).extend(json.loads(html.unescape(data)))
    return found


def test_charts_carry_the_measured_values():
    results = _results()
    page = render_html(build_content(results))
    figures = _figures(page)
    assert set(figures) == {"latency", "speedup", "layers", "accuracy"}
    expected = {(r["identity"]["precision"], column): summary_of(r)
                for column, result in enumerate(results) for r in result["records"] if summary_of(r)}
    assert len(figures["latency"]) == len(expected) == 4
    for entry in figures["latency"]:
        summary = expected[(entry["precision"], int(entry["column"][1]) - 1)]
        assert entry["median_ms"] == summary.median_ms
        assert (entry["ci95_low_ms"], entry["ci95_high_ms"]) == (summary.ci95_low_ms, summary.ci95_high_ms)
        assert f"{entry['median_ms']:.2f} ms" in page  # printed on the bar as SVG text
    assert {e["name"] for e in figures["layers"]} == {"conv1", "fc"}
    assert sorted(e["value"] for e in figures["accuracy"]) == [0.97, 0.975]


def test_page_is_self_contained_and_names_differences():
    page = render_html(build_content(_results()))
    assert "<svg" in page and "<script" not in page and "<link" not in page
    assert not re.search(r"""(src|href)=["']?https?:|url\(\s*["']?https?:""", page)  # nothing fetched
    assert "threads: 1 vs 2" in page  # environment warning
    assert "fp8" in page and "skipped" in page  # what did not run is listed


def test_markdown_has_the_same_tables():
    text = render_markdown(build_content(_results()))
    assert "## Latency per precision" in text and "emulated" in text and "conv1" in text
    assert "| threads | 1 | 2 |" in text


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (Debian package `chromium`)")
def test_renders_in_headless_chromium(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render_html(build_content(_results())))
    browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*browser, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=60).stdout
    assert dom.count("<svg") == 4 and "Latency per precision" in dom
    shot = tmp_path / "shot.png"
    subprocess.run([*browser, "--window-size=1200,2000", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=60)
    from PIL import Image

    image = Image.open(shot).convert("L")
    assert image.size == (1200, 2000)
    assert len(set(image.get_flattened_data())) > 20  # charts and text drew something, not a blank page


def test_scores_near_one_keep_their_digits_and_agreement_is_plotted_without_labels():
    from calib.format import score

    assert score(0.999979723) == "0.999980" and score(1.0) == "1" and score(0.975) == "0.975" and score(None) == "-"
    fp32 = make_record(lognormal_samples(1, 2.0), "fp32", fidelity={"top1_agreement": 1.0, "cosine": 1.0})
    bf16 = make_record(lognormal_samples(2, 1.0), "bf16", fidelity={"top1_agreement": 0.96875, "cosine": 0.99998})
    int8 = make_record(lognormal_samples(3, 0.5), "int8-static", fidelity={"top1_agreement": 0.0, "cosine": None})
    page = render_html(build_content([make_result([fp32, bf16, int8])]))
    assert "Top-1 agreement with fp32 against latency" in page
    assert sorted(e["value"] for e in _figures(page)["accuracy"]) == [0.0, 0.96875, 1.0]  # int8 is not dropped
