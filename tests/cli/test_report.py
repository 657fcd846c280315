"""`calib report` on a real run: HTML and markdown files with the measured values."""

import html
import json
import re

from calib.cli import main
from calib.results.schema import summary_of
from calib.results.store import load_result


def test_report_writes_html_and_markdown_from_a_real_run(runner, fast_options, tmp_path):
    results = tmp_path / "run.json"
    ran = runner.invoke(main, ["run", "--model", "tiny-cnn", "-p", "fp32,bf16", "--out", str(results), *fast_options])
    assert ran.exit_code == 0, ran.output
    result = runner.invoke(main, ["report", str(results), "--html", str(tmp_path / "r.html"),
                                  "--markdown", str(tmp_path / "r.md")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r.html").read_text()
    data = re.search(r'data-chart="latency" data-values="([^"]*)"', page).group(1)
    drawn = {entry["precision"]: entry["median_ms"] for entry in json.loads(html.unescape(data))}
    measured = {r["identity"]["precision"]: summary_of(r).median_ms for r in load_result(results)["records"]}
    assert drawn == measured
    assert "tiny-cnn torch bf16" in (tmp_path / "r.md").read_text()


def test_report_needs_a_destination(runner, tmp_path):
    result = runner.invoke(main, ["report", str(tmp_path / "x.json")])
    assert result.exit_code == 2
