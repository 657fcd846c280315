"""The scenario table at a fixed width: headline with its direction, microsecond resolution, the search."""

import io

from rich.console import Console

from calib.render.run_table import run_printout
from calib.render.scenario_table import build_scenario_table, us
from check.records import make_record


def _render(renderable) -> str:
    console = Console(file=io.StringIO(), width=200, force_terminal=False, color_system=None)
    console.print(renderable)
    return console.file.getvalue()


def _server():
    record = make_record([0.3121, 0.3344, 0.9017] * 300, backend="onnxruntime")
    record["scenario"] = {"name": "server", "settings": {"name": "server", "target_qps": 50.0, "streams": 2,
                                                         "latency_bound_ms": 0.5},
                          "server": {"queries": 900, "achieved_qps": 49.7, "passed": False}}
    return record


def _offline():
    record = make_record([0.5, 0.52, 0.49], backend="openvino")
    record["scenario"] = {"name": "offline", "settings": {"name": "offline"},
                          "best": {"batch_size": 4, "streams": 2, "threads_per_stream": 1},
                          "search": {"points": [{"error": None}, {"error": "batch 16 does not fit"}]}}
    return record


def test_headlines_directions_and_microseconds():
    text = _render(build_scenario_table([_server(), _offline()]))
    assert "2,000 items/s" in text and "throughput, higher" in text
    assert "p99 latency, lower" in text and "server 50 qps x2" in text and "p99 OVER 0.5 ms" in text
    assert "0.334" in text and "0.902 ms es" in text  # microsecond resolution, not 0.33 / 0.90
    assert "b4 x2 streams x1 thr of 2 points (1 could not run)" in text
    assert us(1204.1134) == "1,204.113"


def test_what_offline_found_is_the_last_column_dropped():
    console = Console(file=io.StringIO(), width=110, force_terminal=False, color_system=None)
    console.print(build_scenario_table([_offline()]))
    text = console.file.getvalue()
    assert "b4 x2 streams" in text and "left out at 110 columns: queries" in text


def test_a_mixed_run_prints_both_tables_and_the_estimate_note():
    printout = run_printout([make_record([1.0, 1.1, 0.9]), _server()], title="calib run: m")
    text = "\n".join(_render(block) for block in printout.blocks if not isinstance(block, str))
    assert "median ms" in text and "p99.9 ms (es)" in text and "p90 ms" in text
