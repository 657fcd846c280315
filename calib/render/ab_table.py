"""`calib ab`: one row per configuration, baseline and current medians from the interleaved rounds."""

from __future__ import annotations

from calib.configuration import Configuration
from calib.render import format as fmt
from calib.render.fit import Fitted, light_table
from calib.results.schema import summary_of


def build_pair_table(pairs, baseline_name: str, current_name: str) -> Fitted:
    """(baseline record, current record) pairs: medians, their ratio and how many rounds ran."""
    table = light_table(f"calib ab: {baseline_name} (baseline) vs {current_name} (current), interleaved")
    for name, justify in (("configuration", "left"), ("baseline ms", "right"), ("current ms", "right"),
                          ("current/\nbaseline", "right"), ("rounds", "right"), ("status", "left")):
        text = name in ("configuration", "status")
        table.add_column(name, justify=justify, no_wrap=not text, min_width=16 if text else None, overflow="fold")
    for base_record, cur_record in pairs:
        label = Configuration.of(base_record).label
        base_summary, cur_summary = summary_of(base_record), summary_of(cur_record)
        if base_summary and cur_summary:
            timing = base_record["timing"]
            table.add_row(label, fmt.ms(base_summary.median_ms), fmt.ms(cur_summary.median_ms),
                          fmt.ratio(cur_summary.median_ms / base_summary.median_ms),
                          f"{len(timing['rounds'])} ({timing['interleave']['stop']})", "ok")
        else:
            unmeasured = base_record if base_record["status"] != "ok" else cur_record
            table.add_row(label, "-", "-", "-", "-", f"{unmeasured['status']}: {unmeasured['reason']}", style="dim")
    return Fitted(table, ("rounds",), where="the results files have them")
