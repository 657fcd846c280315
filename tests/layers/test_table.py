"""Aggregation shared by every per-layer method."""

import pytest

from calib.layers.table import compare_tables, finish_table, top_layers


def _rows():
    return [{"name": "conv1", "op_kind": "conv", "median_ms": 6.0, "flops": 12_000_000},
            {"name": "relu", "op_kind": "activation", "median_ms": 1.0, "flops": None},
            {"name": "conv2", "op_kind": "conv", "median_ms": 3.0, "flops": 3_000_000}]


def test_finish_table_computes_shares_coverage_and_kinds():
    table = finish_table(_rows(), end_to_end_ms=8.0, method="ort-profiler", repeats=5)
    assert table["sum_ms"] == 10.0 and table["coverage"] == pytest.approx(1.25)
    assert [row["share"] for row in table["layers"]] == pytest.approx([0.6, 0.1, 0.3])
    assert table["layers"][0]["gflops"] == pytest.approx(2.0)  # 12e6 FLOPs in 6 ms
    assert table["layers"][1]["gflops"] is None and table["layers"][1]["flag"] is None
    assert table["by_kind"][0] == {"op_kind": "conv", "count": 2, "median_ms": 9.0, "flops": 15_000_000,
                                   "share": pytest.approx(0.9), "gflops": pytest.approx(15e6 / 9e6)}
    assert table["method"] == "ort-profiler" and table["repeats"] == 5


def test_finish_table_without_end_to_end_has_no_coverage():
    assert finish_table(_rows(), None, "fx-graph")["coverage"] is None


def test_top_layers_and_compare():
    fp32 = finish_table(_rows(), 10.0, "fx-graph")
    slower = [dict(row, median_ms=row["median_ms"] * factor) for row, factor in zip(_rows(), (10, 1, 2))]
    bf16 = finish_table(slower, 75.0, "fx-graph")
    assert [row["name"] for row in top_layers(bf16, 2)] == ["conv1", "conv2"]
    pairs = compare_tables(fp32, bf16)
    assert [pair["name"] for pair in pairs] == ["conv1", "conv2", "relu"]
    assert pairs[0]["speedup"] == pytest.approx(0.1) and pairs[0]["added_ms"] == pytest.approx(54.0)
    assert pairs[2]["speedup"] == pytest.approx(1.0)


def test_middle_passes_pick_the_median_pass_window():
    from calib.layers.passes import middle_passes

    assert list(middle_passes([3.0, 1.0, 2.0])) == [2]
    assert sorted(middle_passes(list(range(20)))) == [8, 9, 10, 11]
    assert list(middle_passes([5.0])) == [0]


def test_rows_decompose_the_median_pass():
    import time

    from calib.layers.passes import build_table

    # pass totals 4, 5 and 10 (a stall in layer b): the median pass is the second
    per_pass = [[2.0, 2.0], [3.0, 2.0], [1.0, 9.0]]
    table = build_table([("a", {"op_kind": "conv"}), ("b", {"op_kind": "conv"})], per_pass, 0.0, [5.0],
                        method="fx-graph", end_to_end_ms=5.0, expected_compute="float32", configuration="fp32",
                        started=time.perf_counter(), repeats=3, overhead_ms_per_node=0.0)
    assert [row["median_ms"] for row in table["layers"]] == [3.0, 2.0]
    assert [row["layer_median_ms"] for row in table["layers"]] == [2.0, 2.0]  # sums to 4, not the median 5
    assert table["coverage"] == 1.0 and table["coverage_interleaved"] == 1.0
