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
    assert set(figures) == {"latency", "distribution", "speedup", "layers", "accuracy"}
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
    for entry in figures["distribution"]:  # p50/p90/p99 from the raw samples, one box per configuration
        summary = expected[(entry["row"].split()[2], int(entry["column"][1]) - 1)]
        assert (entry["count"], entry["p50_ms"], entry["p90_ms"], entry["p99_ms"]) == (
            summary.count, summary.median_ms, summary.p90_ms, summary.p99_ms)
    assert len(figures["distribution"]) == 4


def test_page_is_self_contained_and_names_differences():
    page = render_html(build_content(_results()))
    assert "<svg" in page and "<script" not in page and "<link" not in page
    assert not re.search(r"""(src|href)=["']?https?:|url\(\s*["']?https?:""", page)  # nothing fetched
    assert "threads: 1 vs 2" in page  # environment warning
    assert "fp8" in page and "skipped" in page  # what did not run is listed


def test_markdown_has_the_same_tables():
    text = render_markdown(build_content(_results()))
    assert "## Inference" in text and "### Latency per precision" in text and "emulated" in text and "conv1" in text
    assert "| threads | 1 | 2 |" in text


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (Debian package `chromium`)")
def test_renders_in_headless_chromium(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render_html(build_content(_results())))
    browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*browser, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=60).stdout
    assert dom.count("<svg") == 5 and "Inference: latency per precision" in dom
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


def _training(samples_seed: int, precision: str = "fp32"):
    record = make_record(lognormal_samples(samples_seed, 30.0), precision, backend="torch-train", batch_size=32)
    record["training"] = {"loss": [2.3, 2.2, 2.1], "final_loss": 2.1, "loss_max_deviation": 0.0, "baseline": "fp32"}
    return record


def test_training_has_its_own_section_and_leaves_the_inference_plots_alone():
    inference = _results()
    training = make_result([_training(7), _training(8, "bf16")], path="train.json")
    alone = _figures(render_html(build_content(inference)))
    page = render_html(build_content([*inference, training]))
    figures = _figures(page)
    assert figures["accuracy"] == alone["accuracy"]  # the training file takes nothing from the accuracy plot
    assert figures["latency"] == alone["latency"]  # nor adds step times to the per-call latency chart
    assert figures["speedup"] == alone["speedup"]
    assert [e["precision"] for e in figures["step_time"]] == ["fp32", "bf16"]
    assert [e["precision"] for e in figures["step_speedup"]] == ["fp32", "bf16"]
    inference_part, training_part = page.split('<section id="training">')
    assert "torch-train" not in inference_part and "Training: time per step" in training_part
    assert "Training loss per step" in training_part
    text = render_markdown(build_content([*inference, training]))
    assert text.index("## Inference") < text.index("## Training") and "torch-train" in text.split("## Training")[1]


def test_points_are_named_by_engine_and_precision():
    points = build_content(_results()).accuracy_points
    assert {p["label"] for p in points} == {"torch fp32", "torch bf16"}
    assert "torch bf16: 0.97" in render_html(build_content(_results()))  # on the chart, with its score


def test_warnings_sit_beside_the_numbers_they_qualify():
    noisy = make_record(lognormal_samples(1, 2.0), "fp32")
    noisy["warnings"] = ["unstable: IQR is 30% of the median"]
    busy = make_record(lognormal_samples(2, 1.0), "bf16")
    busy["other_cpu_percent"] = 95.0
    quiet = make_record(lognormal_samples(3, 1.0), "fp16")
    quiet["other_cpu_percent"] = 1.0
    page = render_html(build_content([make_result([noisy, busy, quiet])]))
    rows = re.findall(r"<tr><td>(m torch \w+) .*?</tr>", page)
    assert rows == ["m torch fp32", "m torch bf16", "m torch fp16"]
    cells = {name: row for name, row in zip(rows, re.findall(r"<tr><td>m torch \w+ .*?</tr>", page))}
    assert '<div class="qualifier">\u26a0 unstable: IQR is 30% of the median</div>' in cells["m torch fp32"]
    assert "other processes used 95% of a core" in cells["m torch bf16"]
    assert "qualifier" not in cells["m torch fp16"]
    latency = _figures(page)["latency"]
    assert [bool(e["warnings"]) for e in latency] == [True, True, False]
    assert page.count("ms \u26a0</text>") == 2  # the bars' values carry the sign too
    assert "unstable: IQR is 30% of the median" in render_markdown(build_content([make_result([noisy])]))


def test_layers_of_fp32_and_the_other_precisions_side_by_side():
    fp32_layers = {"layers": [{"name": "conv1", "op_kind": "conv", "median_ms": 3.0, "share": 0.6},
                              {"name": "fc", "op_kind": "linear", "median_ms": 1.0, "share": 0.2}], "coverage": 0.8}
    int8_layers = {"layers": [{"name": "fc", "op_kind": "linear", "median_ms": 0.25, "share": 0.2},
                              {"name": "conv1", "op_kind": "conv", "median_ms": 1.5, "share": 0.6}], "coverage": 0.8}
    result = make_result([make_record(lognormal_samples(1, 5.0), "int8-static", layers=int8_layers),
                          make_record(lognormal_samples(2, 5.0), "fp32", layers=fp32_layers)])
    content = build_content([result])
    [comparison] = content.layer_comparisons
    assert comparison.precisions == ["fp32", "int8-static"] and comparison.layers == ["conv1", "fc"]
    assert comparison.median_ms == [[3.0, 1.0], [1.5, 0.25]]
    page = render_html(content)
    assert _figures(page)["layers_compared"] == [{"layer": "conv1", "fp32": 3.0, "int8-static": 1.5},
                                                 {"layer": "fc", "fp32": 1.0, "int8-static": 0.25}]
    assert "<td>0.50x</td>" in page and "<td>0.25x</td>" in page


def test_speedups_carry_their_interval_and_one_holding_1_is_not_called():
    fp32 = make_record(lognormal_samples(1, 2.0), "fp32")
    slow = make_record(lognormal_samples(2, 8.0), "bf16")
    same = make_record(lognormal_samples(3, 2.0), "fp16")  # the same distribution as fp32: no speed-up
    content = build_content([make_result([fp32, slow, same])])
    bf16, fp16 = content.rows[1], content.rows[2]
    slow_interval, same_interval = content.speedup_interval(bf16, 0), content.speedup_interval(fp16, 0)
    assert slow_interval.low < 0.25 < slow_interval.high and not slow_interval.crosses_one
    assert same_interval.crosses_one and content.speedup_interval(content.rows[0], 0) is None
    page = render_html(content)
    cells = re.findall(r"<tr><td>m torch \w+ .*?</tr>", page)
    assert re.search(r"0\.25x \[0\.\d+-0\.\d+x\] vs fp32", cells[1]) and "n.s." not in cells[1]
    assert "n.s. vs fp32" in cells[2]
    speedup = {e["precision"]: e for e in _figures(page)["speedup"]}
    assert (speedup["bf16"]["low"], speedup["bf16"]["high"]) == (slow_interval.low, slow_interval.high)
