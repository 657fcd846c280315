"""The layer table every per-layer method produces (fx graph marks, module hooks, the
ONNX Runtime profiler): shares, achieved GFLOP/s, coverage, by-kind totals, top-N and
the side-by-side comparison of two precisions.

`finish_table` is the one place these are computed; each method only supplies rows with
at least name, op_kind and median_ms.
"""

from __future__ import annotations

from calib.layers.kinds import OP_KINDS

ROW_KEYS = ("name", "op_kind", "target", "module_path", "input_shapes", "input_dtypes", "output_shape",
            "output_dtype", "params", "flops", "bytes", "median_ms", "p90_ms", "share", "gflops", "compute_dtype",
            "flag")


def finish_table(rows: list[dict], end_to_end_ms: float | None, method: str, *,
                 overhead_correction_ms_per_node: float | None = None, pass_s: float | None = None,
                 repeats: int | None = None, **extra) -> dict:
    """The stored per-layer table: rows completed with share and GFLOP/s, plus the totals.

    coverage = sum of the per-layer medians / end-to-end median; near 1.0 means the rows
    account for the whole inference and no more.
    """
    completed = [{**{key: None for key in ROW_KEYS}, **row} for row in rows]
    sum_ms = float(sum(row["median_ms"] or 0.0 for row in completed))
    for row in completed:
        median = row["median_ms"] or 0.0
        row["share"] = median / sum_ms if sum_ms > 0 else None
        flops = row.get("flops")
        row["gflops"] = flops / (median * 1e6) if flops and median > 0 else None
    coverage = sum_ms / end_to_end_ms if end_to_end_ms else None
    return {"method": method, "end_to_end_ms": end_to_end_ms, "sum_ms": sum_ms, "coverage": coverage,
            "overhead_correction_ms_per_node": overhead_correction_ms_per_node, "pass_s": pass_s,
            "repeats": repeats, **extra, "layers": completed, "by_kind": by_kind(completed, sum_ms)}


# A layer table whose rows sum to more than this fraction away from end-to-end does not account for the
# inference: a busy machine, timer cost or a missed op. Its per-layer figures are rough, and say so.
COVERAGE_TOLERANCE = 0.25


def coverage_of(table: dict | None) -> float | None:
    """Sum of the rows / end-to-end: against the plain runs interleaved with the passes where there were
    some (the fair denominator on a drifting machine), else against the sweep's median."""
    table = table or {}
    for key in ("coverage_interleaved", "coverage"):
        if isinstance(table.get(key), (int, float)):
            return float(table[key])
    return None


def layer_sum_off(table: dict | None) -> str | None:
    """"layers sum 326% of end-to-end" where the rows are outside +-COVERAGE_TOLERANCE of it, else None."""
    coverage = coverage_of(table)
    if coverage is None or abs(coverage - 1.0) <= COVERAGE_TOLERANCE:
        return None
    return f"layers sum {100 * coverage:.0f}% of end-to-end"


def by_kind(rows: list[dict], sum_ms: float | None = None) -> list[dict]:
    """One row per op kind, slowest first."""
    total = sum_ms if sum_ms is not None else sum(row.get("median_ms") or 0.0 for row in rows)
    groups: dict[str, dict] = {}
    for row in rows:
        kind = row.get("op_kind") or "other"
        group = groups.setdefault(kind, {"op_kind": kind, "count": 0, "median_ms": 0.0, "flops": 0})
        group["count"] += 1
        group["median_ms"] += row.get("median_ms") or 0.0
        group["flops"] += row.get("flops") or 0
    result = []
    for group in groups.values():
        group["share"] = group["median_ms"] / total if total else None
        group["gflops"] = group["flops"] / (group["median_ms"] * 1e6) if group["flops"] and group["median_ms"] else None
        result.append(group)
    order = {kind: index for index, kind in enumerate(OP_KINDS)}
    return sorted(result, key=lambda g: (-g["median_ms"], order.get(g["op_kind"], len(order))))


def top_layers(table: dict, count: int | None) -> list[dict]:
    """The `count` slowest rows (all when count is None), slowest first."""
    rows = sorted(table.get("layers") or [], key=lambda row: -(row.get("median_ms") or 0.0))
    return rows if count is None else rows[:count]


def compare_tables(baseline: dict, other: dict) -> list[dict]:
    """Rows of `other` matched by name to `baseline`: speed-up = baseline ms / other ms.

    Sorted by the time `other` adds over the baseline, so the layers a precision slowed
    most come first. Rows present in only one table keep None on the missing side.
    """
    base_rows = {row["name"]: row for row in baseline.get("layers") or []}
    paired = []
    for row in other.get("layers") or []:
        base = base_rows.pop(row["name"], None)
        base_ms = base.get("median_ms") if base else None
        other_ms = row.get("median_ms")
        paired.append({"name": row["name"], "op_kind": row.get("op_kind"), "target": row.get("target"),
                       "baseline_ms": base_ms, "median_ms": other_ms,
                       "speedup": base_ms / other_ms if base_ms and other_ms else None,
                       "added_ms": (other_ms or 0.0) - (base_ms or 0.0),
                       "baseline_compute_dtype": base.get("compute_dtype") if base else None,
                       "compute_dtype": row.get("compute_dtype"), "flag": row.get("flag")})
    for name, base in base_rows.items():
        paired.append({"name": name, "op_kind": base.get("op_kind"), "target": base.get("target"),
                       "baseline_ms": base.get("median_ms"), "median_ms": None, "speedup": None,
                       "added_ms": -(base.get("median_ms") or 0.0), "baseline_compute_dtype": base.get("compute_dtype"),
                       "compute_dtype": None, "flag": None})
    return sorted(paired, key=lambda pair: -pair["added_ms"])
