"""`calib sensitivity` and `calib run --fallback`: the per-layer ranking, and fp32 / all-int8 / mixed."""

from __future__ import annotations

import math

from calib import format as fmt
from calib.render.fit import Fitted, light_table

SEE_DROPPED = "a wider terminal or --json FILE has them"


def build_ranking_table(ranking, top: int | None = None) -> Fitted:
    """One row per layer, most sensitive first: its score alone at the precision, the drop, the output
    SQNR, and what it costs in time in fp32 and at the precision (keeping it float costs the difference)."""
    rows = list(ranking.layers)[:top] if top else list(ranking.layers)
    precision = ranking.precision
    table = light_table(f"sensitivity: {ranking.model} on {ranking.backend}, {len(rows)} of {len(ranking.layers)} "
                        f"layers one at a time at {precision} (the rest fp32), most sensitive first")
    score_name = ranking.full.metric
    columns = ("#", "layer", "kind", score_name, "drop pts", "SQNR dB", "est. SQNR", "fp32 ms", "fp32 share",
               f"{precision} ms", "float costs")
    for name in columns:
        table.add_column(name, justify="left" if name in ("layer", "kind") else "right", no_wrap=name != "layer",
                         min_width=16 if name == "layer" else None, overflow="fold")
    for row in rows:
        evaluation = row.evaluation
        cost = (row.fp32_ms - row.precision_ms) if row.fp32_ms is not None and row.precision_ms is not None else None
        table.add_row(str(row.rank), row.layer.name, row.layer.kind, fmt.score(evaluation.score),
                      _points(evaluation.drop),
                      _db(evaluation.sqnr_db), _db(row.estimated_sqnr_db), fmt.ms(row.fp32_ms),
                      _percent(row.fp32_share), fmt.ms(row.precision_ms),
                      "-" if cost is None else f"{'+' if cost >= 0 else '-'}{fmt.ms(abs(cost))}")
    return Fitted(table, ("est. SQNR", "kind", f"{precision} ms", "fp32 ms"), where=SEE_DROPPED)


def ranking_lines(ranking) -> list[str]:
    """What the ranking rests on: the reference, the all-layers figure, the evaluation count."""
    full, reference = ranking.full, ranking.reference
    lines = [f"fp32 {reference.metric} {fmt.score(reference.score)}; every layer at {ranking.precision}: "
             f"{fmt.score(full.score)} ({_points(full.drop)} pts; {full.judgement}); {ranking.evaluations} "
             f"evaluations in {ranking.seconds:.1f} s",
             "float costs: fp32 ms minus the layer's ms at the precision in the per-layer tables (what keeping it "
             "float adds per call); est. SQNR: `calib quant-error`'s static estimate of the layer's own error"]
    if ranking.latency_note:
        lines.append(f"latency columns: {ranking.latency_note}")
    return lines


def build_fallback_table(title: str, rows: list[dict]) -> Fitted:
    """fp32, all-int8 and mixed side by side: latency, speed-up over fp32, score, drop, layers at the precision."""
    table = light_table(title)
    for name in ("configuration", "median ms", "vs fp32", "score", "drop pts", "layers int8", "budget"):
        table.add_column(name, justify="left" if name in ("configuration", "budget") else "right", no_wrap=True)
    fp32 = next((row["median_ms"] for row in rows if row["configuration"] == "fp32"), None)
    for row in rows:
        speedup = fp32 / row["median_ms"] if fp32 and row["median_ms"] else None
        budget = {True: "within", False: "over", None: "-"}[row["passed"]]
        if row["configuration"] == "fp32":
            budget = "reference"
        table.add_row(row["configuration"], fmt.ms(row["median_ms"]), fmt.ratio(speedup), fmt.score(row["score"]),
                      _points(row["drop"]), f"{row['layers_at_precision']}/{row['layers']}", budget)
    return Fitted(table)


def fallback_lines(record: dict) -> list[str]:
    """The search in a few lines: what was kept float, in how many evaluations, and why it stopped."""
    fallback = record.get("fallback") or {}
    if not fallback:
        return []
    from calib.configuration import Configuration

    label = Configuration.of(record).short_label
    if fallback.get("method"):  # another engine's own search (OpenVINO: NNCF's accuracy control)
        return [f"fallback {label}: {fallback.get('reason')}; {fallback.get('evaluations')} evaluations by "
                f"{fallback['method']}, {fallback.get('seconds') or 0:.1f} s"]
    lines = [f"fallback {label}: {fallback['reason']}; {fallback['evaluations']} evaluations "
             f"({fallback['layers']} one-layer + fp32 + all-{fallback['precision']} + {len(fallback['search'])} "
             f"search steps), {fallback['seconds']:.1f} s"]
    if fallback.get("assignment"):
        kept = fallback["assignment"]["fp32"]
        lines.append(f"  kept fp32: {', '.join(kept)}" if kept else "  nothing kept float")
    return lines


def _points(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.2f}"


def _db(value: float | None) -> str:
    if value is None:
        return "-"
    return "exact" if math.isinf(value) and value > 0 else f"{value:.1f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def fallback_blocks(records: list[dict]) -> list:
    """After `calib run --fallback`'s table: per mixed configuration, fp32 / all-int8 / mixed side by side,
    as calib.render.printout blocks."""
    from calib.configuration import Configuration
    from calib.render.printout import Line

    blocks = []
    for mixed in records:
        if not mixed.get("fallback_of"):
            continue
        of = Configuration.from_identity(mixed["fallback_of"])
        fp32 = next((r for r in records if Configuration.of(r).peer_key == of.peer_key
                     and r["identity"]["precision"] == "fp32" and not r["identity"].get("variant")), None)
        original = next((r for r in records if Configuration.of(r).key == of.key), None)
        if mixed.get("status") == "ok":
            rows = fallback_rows(fp32, original, mixed)
            blocks.append(build_fallback_table(f"fallback: {of.short_label} over its budget -> mixed", rows))
        blocks += [Line(line) for line in fallback_lines(mixed) or [f"fallback {of.short_label}: {mixed.get('reason')}"]]
    return blocks


def fallback_rows(fp32: dict | None, original: dict | None, mixed: dict) -> list[dict]:
    from calib.results.schema import summary_of
    from calib.sensitivity.score import Evaluation

    fallback = mixed.get("fallback") or {}
    layers, kept = fallback.get("layers") or 0, len(fallback.get("kept_float") or ())
    precision = mixed["identity"]["precision"]
    rows = []
    for name, record, at_precision in (("fp32", fp32, 0), (f"all {precision}", original, layers),
                                       (f"{precision}+mixed", mixed, layers - kept)):
        if record is None:
            continue
        summary = summary_of(record)
        evaluation = Evaluation.of(record.get("fidelity") or {}, 0.0)
        rows.append({"configuration": name, "median_ms": summary.median_ms if summary else None,
                     "score": evaluation.score, "drop": evaluation.drop, "passed": evaluation.passed,
                     "layers_at_precision": at_precision, "layers": layers})
    return rows
