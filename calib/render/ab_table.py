"""`calib ab`: one row per configuration, baseline and current medians from the interleaved rounds."""

from __future__ import annotations

from calib import format as fmt
from calib.render.fit import Fitted, light_table
from calib.results.record import as_record


def build_pair_table(pairs, baseline_name: str, current_name: str) -> Fitted:
    """(baseline record, current record) pairs (calib.results.record.Record, or the dicts calib ab holds):
    medians, their ratio and how many rounds ran."""
    table = light_table(f"calib ab: {baseline_name} (baseline) vs {current_name} (current), interleaved")
    for name, justify in (("configuration", "left"), ("baseline ms", "right"), ("current ms", "right"),
                          ("current/\nbaseline", "right"), ("rounds", "right"), ("status", "left")):
        text = name in ("configuration", "status")
        table.add_column(name, justify=justify, no_wrap=not text, min_width=16 if text else None, overflow="fold")
    for base_record, cur_record in pairs:
        base_record, cur_record = as_record(base_record), as_record(cur_record)
        base_summary, cur_summary = base_record.summary, cur_record.summary
        if base_summary and cur_summary:
            timing = base_record.timing
            table.add_row(base_record.label, fmt.ms(base_summary.median_ms), fmt.ms(cur_summary.median_ms),
                          fmt.ratio(cur_summary.median_ms / base_summary.median_ms),
                          f"{len(timing.rounds)} ({timing.interleave.stop})", "ok")
        else:
            unmeasured = base_record if not base_record.ok else cur_record
            table.add_row(base_record.label, "-", "-", "-", "-", unmeasured.unmeasured_reason, style="dim")
    return Fitted(table, ("rounds",), where="the results files have them")
