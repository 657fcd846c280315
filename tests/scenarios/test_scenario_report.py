"""calib report on scenario records: their own section, a latency distribution and the QPS-latency curve."""

from calib.report.content import build_content
from calib.report.html import render_html
from calib.report.markdown import render_markdown
from calib.report.scenarios import qps_curves, _records
from check.records import lognormal_samples, make_record, make_result


def _search_record():
    record = make_record(lognormal_samples(4, median_ms=3.0, count=200), backend="onnxruntime")
    points = [{"target_qps": q, "achieved_qps": q * 0.98, "p99_ms": p, "passed": p <= 10.0}
              for q, p in ((50, 4.0), (100, 6.0), (200, 30.0), (141, 9.0))]
    record["scenario"] = {"name": "server", "settings": {"name": "server", "find_qps": True, "streams": 1},
                          "search": {"max_qps": 141, "latency_bound_ms": 10.0, "points": points}}
    return record


def _offline_record():
    record = make_record(lognormal_samples(5, median_ms=0.5, count=5), backend="openvino")
    record["scenario"] = {"name": "offline", "settings": {"name": "offline"},
                          "best": {"batch_size": 4, "streams": 2, "threads_per_stream": 1}}
    return record


def test_scenario_records_get_their_own_section_with_both_charts():
    single = make_record(lognormal_samples(1))
    content = build_content([make_result([single, _search_record(), _offline_record()])])
    page = render_html(content)
    assert 'id="scenarios"' in page
    assert 'data-chart="qps-latency"' in page and 'data-chart="scenario-distribution"' in page
    assert 'data-chart="latency"' in page  # the single-stream record keeps the inference section
    markdown = render_markdown(content)
    assert "## Load scenarios" in markdown and "items/s" in markdown
    assert "higher is better" in markdown and "max qps" in markdown


def test_the_curve_has_every_searched_rate_and_the_bound():
    content = build_content([make_result([_search_record()])])
    curves, bound = qps_curves(_records(content))
    assert bound == 10.0 and len(curves) == 1
    assert sorted(p["qps"] for p in curves[0]["points"]) == sorted(q * 0.98 for q in (50, 100, 141, 200))
    assert [p["passed"] for p in curves[0]["points"]].count(False) == 1
