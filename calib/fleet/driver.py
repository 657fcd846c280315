"""The fleet run: one streaming task per node (calib.fleet.node.sweep, pinned by calib.fleet.cluster), their
events read as they come, each node's run filed in the store and kept in a local results file.

Records reach the store as each configuration finishes: a node that can open a server store writes them
itself (its `calib run --store`); any other node hands them back through Ray and the driver writes them
under the node's own header (its device class, environment and versions). Either way, when a node's run
ends, the driver adds whatever the store lacks, so a node whose own writes failed loses nothing.

A node lost mid-sweep (its raylet died, the machine was preempted), a node past --timeout, or a node whose
`calib run` stopped early keeps what it finished; its unfinished configurations are filed as failed with
the reason, and the other nodes go on. Ctrl-C cancels every task (ray.cancel: each node interrupts its
run, which keeps what finished) and keeps what arrived."""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from calib.fleet.cluster import pinned, task_cause
from calib.fleet.plan import NodeDescription, NodeSweep, stand_in_header

WAIT_S = 0.5  # how often the loop wakes when no node has news (progress redraws, deadlines)
CANCEL_DRAIN_S = 15.0  # after Ctrl-C, how long the records already on their way may still arrive
TIMEOUT_BACKSTOP_S = 60.0  # past a node's --timeout plus this, its task is cancelled by force


@dataclass
class NodeRun:
    """One node's part of a fleet run, as the driver knows it."""

    description: NodeDescription
    argv: list[str]
    direct: bool  # the node files its records in the store itself
    local_path: Path
    total: int
    header: dict | None = None
    records: list = field(default_factory=list)
    measuring: str | None = None
    state: str = "waiting"  # waiting (for the node's calib slot), running, done, failed, lost, timed out, cancelled
    reason: str | None = None
    started_at: float | None = None
    ended_at: float | None = None
    complete: bool = False
    measured: int = 0  # records the node itself produced (the failed ones the driver adds come after)
    sink: object | None = None  # calib.store.live.StoreSink

    @property
    def label(self) -> str:
        return self.description.label

    @property
    def ended(self) -> bool:
        return self.state not in ("waiting", "running")

    def payload(self) -> dict:
        return {**(self.header or {}), "complete": self.complete, "records": list(self.records)}


class FleetRun:
    """`FleetRun(...).run()` measures on every node and returns the NodeRuns; `on_change(run, what)` is
    called after every event (what: started, measuring, record, ended), and with (None, "tick") while waiting."""

    def __init__(self, descriptions: list[NodeDescription], argv: list[str], sweep: NodeSweep, *, store=None,
                 store_url: str | None = None, results_dir: str | Path = "results", timeout_s: float | None = None,
                 git: dict | None = None, on_change: Callable | None = None, clock: Callable[[], float] = time.monotonic):
        self.sweep, self.store, self.store_url = sweep, store, store_url
        self.timeout_s, self.git = timeout_s, dict(git or {})
        self.on_change = on_change or (lambda run, what: None)
        self.clock = clock
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.runs = [self._plan(description, argv, Path(results_dir), stamp) for description in descriptions]

    def _plan(self, description: NodeDescription, argv: list[str], results_dir: Path, stamp: str) -> NodeRun:
        direct = self.store is not None and description.store_reachable
        node_argv = list(argv) + ["--device-class", description.device_class or "unknown"]
        for flag, key in (("--commit", "commit"), ("--branch", "branch")):
            if self.git.get(key):
                node_argv += [flag, self.git[key]]
        if not direct:
            node_argv += ["--store", "none"]
        threads = node_threads(description)
        if threads is not None and "--threads" not in argv:
            node_argv += ["--threads", str(threads)]
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{description.device_class}")[:60]
        local_path = results_dir / f"{stamp}-fleet-{name}-{description.node.short_id}.json"
        return NodeRun(description, node_argv, direct, local_path, total=len(self.sweep.cells))

    # ---- the loop ------------------------------------------------------------------------------
    def run(self) -> list[NodeRun]:
        from calib.fleet import node as on_node

        streams = {}
        for run in self.runs:
            task = pinned(on_node.sweep, run.description.node, num_returns="streaming")
            streams[task.remote(run.argv, self.store_url if run.direct else None, self.timeout_s)] = run
        try:
            self._follow(streams)
        except KeyboardInterrupt:
            self._cancel(streams)
            raise
        return self.runs

    def _follow(self, streams: dict, until: float | None = None) -> None:
        import ray

        pending = [stream for stream, run in streams.items() if not run.ended]
        while pending and (until is None or self.clock() < until):
            ready, _ = ray.wait(pending, num_returns=1, timeout=WAIT_S)
            for stream in ready:
                run = streams[stream]
                if not self._next(stream, run):
                    pending.remove(stream)
            for stream in list(pending):
                run = streams[stream]
                if self._past_backstop(run):
                    ray.cancel(stream, force=True)
                    self._give_up(run, "timed out", f"node timed out: no end {TIMEOUT_BACKSTOP_S:g} s past --timeout "
                                                    f"{self.timeout_s:g} s; its task was cancelled")
                    pending.remove(stream)
            self.on_change(None, "tick")

    def _next(self, stream, run: NodeRun) -> bool:
        """Take one event of a ready stream; False when the stream is over."""
        import ray

        try:
            event = ray.get(next(stream))
        except StopIteration:
            if not run.ended:  # the task returned without saying how the run ended
                self._give_up(run, "failed", "the node's task ended before its run did")
            return False
        except ray.exceptions.TaskCancelledError:
            self._give_up(run, "cancelled", "cancelled (Ctrl-C)")
            return False
        except ray.exceptions.RayTaskError as error:
            self._give_up(run, "failed", f"the fleet task failed on the node: {task_cause(error)}")
            return False
        except ray.exceptions.RayError as error:  # NodeDiedError, WorkerCrashedError, ObjectLostError, ...
            self._give_up(run, "lost", f"node lost: {_first_sentence(error)}")
            return False
        self._handle(run, event)
        return not run.ended

    def _handle(self, run: NodeRun, event: dict) -> None:
        kind = event.get("event")
        if kind == "started":
            run.state, run.started_at = "running", self.clock()
        elif kind == "header":
            run.header = dict(event["header"])
            self._write_local(run)
            if self.store is not None and not run.direct:
                self._begin_sink(run)
        elif kind == "measuring":
            run.measuring = event.get("label")
        elif kind == "record":
            if event.get("seq") != len(run.records):  # never expected: the file only grows
                return
            run.records.append(event["record"])
            self._write_local(run)
            if run.sink is not None and not run.direct:
                run.sink.add(event["seq"], event["record"])
        elif kind == "end":
            self._end(run, event)
            return
        self.on_change(run, kind)

    def _end(self, run: NodeRun, event: dict) -> None:
        if event.get("timed_out"):
            self._give_up(run, "timed out", f"node timed out: its sweep ran past --timeout {self.timeout_s:g} s")
            return
        if not event.get("complete"):
            said = _error_line(event.get("stderr_tail") or [])
            self._give_up(run, "failed", f"calib run on the node ended with exit status {event.get('returncode')}"
                                         + (f": {said}" if said else ""))
            return
        run.complete = True
        run.measured = len(run.records)
        self._close(run, "done", None)

    def _give_up(self, run: NodeRun, state: str, reason: str) -> None:
        """The node's run ends here: its unfinished configurations are filed as failed with `reason`
        (not when cancelled: Ctrl-C keeps what finished and adds nothing)."""
        if run.ended:
            return
        if run.header is None and state == "cancelled":  # stopped before its run began: nothing to keep
            self._close(run, state, reason)
            return
        if run.header is None:
            run.header = stand_in_header(run.description, ["calib", "fleet", "run", *run.argv], self.git)
        run.measured = len(run.records)
        if state != "cancelled":
            run.records.extend(self.sweep.unfinished(run.records, run.description, reason))
        self._close(run, state, reason)

    def _close(self, run: NodeRun, state: str, reason: str | None) -> None:
        run.state, run.reason, run.ended_at = state, reason, self.clock()
        run.measuring = None
        if run.header is not None:
            self._write_local(run)
        if self.store is not None and run.header is not None:
            if run.direct:
                self._add_missing(run)
            else:
                if run.sink is None:  # lost before its header came: the stand-in's run
                    self._begin_sink(run)
                if run.complete:
                    run.sink.finish(run.records)
                else:
                    run.sink.close(run.records)
        self.on_change(run, "ended")

    def _add_missing(self, run: NodeRun) -> None:
        """The node filed its records itself: add only what the store lacks (its failed records, any its own
        writes missed). A record the node filed is never rewritten: it may be a measurement that finished
        after the last one the driver received."""
        import sys

        from calib.errors import first_line

        try:
            run_id, _ = self.store.add_run(run.payload(), source=str(run.local_path))
            self.store.add_records(run_id, enumerate(run.records))
        except Exception as error:  # noqa: BLE001 - the store failing never costs the run: its file is kept
            print(f"calib: warning: the store did not take what {run.label} lacks there ({first_line(error)}); "
                  f"it is in {run.local_path}: `calib push {run.local_path} --store URL` adds it later",
                  file=sys.stderr)

    def _begin_sink(self, run: NodeRun) -> None:
        from calib.store.live import StoreSink

        run.sink = StoreSink(self.store)
        run.sink.begin(run.payload(), run.local_path)

    def _write_local(self, run: NodeRun) -> None:
        from calib.results.store import write_json_atomic

        write_json_atomic(run.local_path, run.payload())

    def _past_backstop(self, run: NodeRun) -> bool:
        return (self.timeout_s is not None and run.state == "running" and run.started_at is not None
                and self.clock() - run.started_at > self.timeout_s + TIMEOUT_BACKSTOP_S)

    def _cancel(self, streams: dict) -> None:
        """Ctrl-C: every node is asked to stop (its run keeps what finished); what is on its way still
        arrives for a little while; then every run left is closed as cancelled."""
        import ray

        for stream, run in streams.items():
            if not run.ended:
                try:
                    ray.cancel(stream)
                except Exception:  # noqa: BLE001 - a task already gone needs no cancelling
                    pass
        try:
            self._follow(streams, until=self.clock() + CANCEL_DRAIN_S)
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
            pass
        for run in self.runs:
            if not run.ended:
                self._give_up(run, "cancelled", "cancelled (Ctrl-C)")


def _first_sentence(error: BaseException) -> str:
    from calib.errors import first_line

    text = first_line(error)
    head, dot, _ = text.partition(". ")
    return f"{type(error).__name__}: {head}{dot.strip()}"


def _error_line(tail: list[str]) -> str:
    """The line of a node's stderr that says what went wrong: calib's own error line, else the last line."""
    for line in reversed(tail):
        if line.startswith("calib: error:") or line.startswith("calib: interrupted"):
            return line[len("calib: "):].strip()
    return tail[-1].strip()[:300] if tail else ""


def node_threads(description: NodeDescription) -> int | None:
    """The intra-op threads a node's sweep uses when --threads is not given: calib's default there (its
    physical cores), but no more than the CPUs the node offers Ray (`ray start --num-cpus`). Nodes that share
    a machine each declare their part; more threads than that, and their OpenMP threads spin against each
    other's (measured here: two 1-CPU nodes on 2 cores at calib's default 2 threads, one node's
    shufflenet_v2_x0_5 int8-dynamic took 977 ms against the other's 6.35 ms). None: nothing to cap by."""
    default = description.environment.get("threads")
    offered = int(description.node.cpus)
    if not isinstance(default, int) or default < 1 or offered < 1:
        return None
    return min(default, offered)
