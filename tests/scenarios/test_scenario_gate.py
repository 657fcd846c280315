"""calib check and calib compare on scenario records: the headline's direction decides, scenarios stay apart."""

from calib.check.gate import IMPROVEMENT, MISSING_BASELINE, MISSING_CURRENT, REGRESSION, GateSettings, gate
from calib.compare.align import align
from calib.scenarios.headline import headline
from check.records import lognormal_samples, make_record, make_result


def _offline(seed, items_per_s):
    record = make_record(lognormal_samples(seed, median_ms=1000.0 / items_per_s, count=7), backend="openvino")
    record["scenario"] = {"name": "offline", "settings": {"name": "offline"},
                          "best": {"batch_size": 4, "streams": 2, "threads_per_stream": 1}}
    return record


def _server(seed, p99_ms, qps=50.0):
    record = make_record(lognormal_samples(seed, median_ms=p99_ms / 1.3, spread=0.1, count=800))
    record["scenario"] = {"name": "server", "settings": {"name": "server", "target_qps": qps, "streams": 1}}
    return record


def _find_qps(max_qps):
    record = make_record(lognormal_samples(1, count=50))
    record["scenario"] = {"name": "server", "settings": {"name": "server", "find_qps": True, "streams": 1},
                          "search": {"max_qps": max_qps, "latency_bound_ms": 10.0, "points": []}}
    return record


def test_offline_headline_is_throughput_higher_is_better():
    top = headline(_offline(1, 1000.0))
    assert top.metric == "throughput" and top.higher_is_better and top.unit == "items/s"
    assert 900 < top.value < 1100


def test_offline_throughput_drop_is_a_regression_and_a_rise_an_improvement():
    base = make_result([_offline(1, 1000.0)], "base.json")
    slower = gate(base, make_result([_offline(2, 700.0)], "cur.json"), GateSettings(alpha=0.05))
    assert [o.outcome for o in slower.outcomes] == [REGRESSION]
    assert "throughput" in slower.outcomes[0].note and "higher is better" in slower.outcomes[0].note
    assert "(offline)" in slower.outcomes[0].label
    faster = gate(base, make_result([_offline(3, 1500.0)], "cur.json"), GateSettings(alpha=0.05))
    assert [o.outcome for o in faster.outcomes] == [IMPROVEMENT]


def test_server_p99_rise_is_a_regression():
    base = make_result([_server(1, 10.0)], "base.json")
    worse = gate(base, make_result([_server(2, 14.0)], "cur.json"))
    assert [o.outcome for o in worse.outcomes] == [REGRESSION]
    assert "p99 latency" in worse.outcomes[0].note and "lower is better" in worse.outcomes[0].note


def test_scenarios_and_rates_never_align():
    base = make_result([_server(1, 10.0, qps=50.0)], "base.json")
    other = make_result([_server(1, 10.0, qps=100.0)], "cur.json")
    outcomes = sorted(o.outcome for o in gate(base, other).outcomes)
    assert outcomes == sorted([MISSING_BASELINE, MISSING_CURRENT])
    single = make_result([make_record(lognormal_samples(1))], "single.json")
    columns, rows = align([base, single])
    assert len(rows) == 2 and any("(server 50 qps)" in row.label for row in rows)


def test_find_qps_is_judged_on_max_qps_with_the_tolerance():
    base = make_result([_find_qps(100.0)], "base.json")
    assert gate(base, make_result([_find_qps(80.0)], "cur.json")).outcomes[0].outcome == REGRESSION
    kept = gate(base, make_result([_find_qps(98.0)], "cur.json")).outcomes[0]
    assert kept.outcome == "unchanged" and "tolerance only" in kept.method
    assert gate(base, make_result([_find_qps(130.0)], "cur.json")).outcomes[0].outcome == IMPROVEMENT
