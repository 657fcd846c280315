"""What `calib fleet` shows: the node table (`calib fleet nodes`) and each node's progress during a run,
redrawn live on a terminal and as plain lines in a log (one line per event, nothing redrawn)."""

from __future__ import annotations

import time

from rich.table import Table

from calib.fleet.plan import NodeDescription, device_summary, release


def nodes_table(descriptions: list[NodeDescription], driver_versions: dict, address: str):
    from calib.render.fit import Fitted

    table = Table(title=f"calib fleet nodes: {address}", title_justify="left")
    for header in ("node", "address", "device class", "used", "host", "calib", "torch", "calib device says"):
        table.add_column(header, overflow="fold")
    for description in descriptions:
        node = description.node
        used = "yes" if node.offers_calib and not description.error else (
            "no: no calib resource" if not node.offers_calib else f"no: {description.error}")
        versions = description.versions
        marks = {name: ("" if not versions.get(name) or release(versions[name]) == release(driver_versions.get(name))
                        else " *") for name in ("calib", "torch")}
        table.add_row(node.short_id, node.address, description.device_class or "-", used, description.host or "-",
                      f"{versions.get('calib') or '-'}{marks['calib']}", f"{versions.get('torch') or '-'}{marks['torch']}",
                      "\n".join(device_summary(description.device_report)) or "-")
    return Fitted(table, droppable=("host", "address", "calib device says"), where="--json has every field")


def record_line(record: dict) -> str:
    """One finished configuration: its label and median, or its status and reason."""
    from calib.results.record import Record

    typed = Record.from_json(record)
    if typed.status == "ok" and typed.summary is not None:
        return f"{typed.short_label}: {typed.summary.median_ms:.4g} ms"
    return f"{typed.short_label}: {typed.status}" + (f" ({typed.reason})" if typed.reason else "")


class PlainProgress:
    """A line per event on stderr: for logs and pipes."""

    def __init__(self, echo):
        self.echo = echo

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def __call__(self, run, what: str) -> None:
        if run is None:
            return
        if what == "started":
            self.echo(f"{run.label}: started on {run.description.host or run.description.node.address}")
        elif what == "measuring":
            self.echo(f"{run.label}: measuring {run.measuring} ...")
        elif what == "record":
            self.echo(f"{run.label}: {len(run.records)}/{run.total} {record_line(run.records[-1])}")
        elif what == "ended":
            finished = sum(1 for record in run.records if record.get("status") == "ok")
            said = f": {run.reason}" if run.reason else ""
            self.echo(f"{run.label}: {run.state}, {finished}/{run.total} measured{said}")


class LiveProgress:
    """A table of the nodes, redrawn in place (rich Live) on a terminal, cleared at the end."""

    def __init__(self, console, runs, clock=time.monotonic):
        from rich.live import Live

        self.runs, self.clock = runs, clock
        self.live = Live(self._table(), console=console, refresh_per_second=4, transient=True)

    def __enter__(self):
        self.live.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self.live.__exit__(*exc_info)

    def __call__(self, run, what: str) -> None:
        self.live.update(self._table())

    def _table(self) -> Table:
        table = Table(title="calib fleet run", title_justify="left")
        for header in ("node", "state", "done", "now / last", "elapsed"):
            table.add_column(header)
        for run in self.runs:
            elapsed = ""
            if run.started_at is not None:
                elapsed = f"{(run.ended_at or self.clock()) - run.started_at:.0f} s"
            if run.measuring:
                now = f"measuring {run.measuring}"
            elif run.ended and run.reason:
                now = run.reason
            else:
                now = record_line(run.records[-1]) if run.records else ""
            table.add_row(run.label, run.state, f"{len(run.records)}/{run.total}", now, elapsed)
        return table
