"""The connection to a Ray cluster and what its nodes say about themselves.

`connected(address)` is a context manager: the address is checked with a plain TCP connection first
(ray.init on a dead address retries for minutes, printing as it goes), then ray.init runs in a thread
with a deadline, so an address that answers but is no Ray cluster is a one-line FleetError too.
`describe_nodes()` sends a small task pinned to each node offering calib (calib.fleet.node.describe)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading

from calib.fleet import RESOURCE, FleetError, require_ray
from calib.fleet.plan import Node, NodeDescription

CONNECT_TIMEOUT_S = 30.0
PROBE_TIMEOUT_S = 120.0  # a node's first task imports torch; a node busy with another sweep never answers


def parse_address(address: str) -> tuple[str, int] | None:
    """(host, port) of a GCS address HOST:PORT; None for "auto" (a cluster started on this machine)."""
    address = address.strip()
    if address == "auto":
        return None
    if "://" in address:
        raise FleetError(f"--address {address}: give the cluster's GCS address HOST:PORT (the one `ray start "
                         "--address` takes, port 6379 by default), not a ray:// or http:// address")
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit():
        raise FleetError(f"--address {address}: expected HOST:PORT, e.g. 10.0.0.5:6379")
    return host, int(port)


def _check_reachable(address: str, timeout_s: float) -> None:
    parsed = parse_address(address)
    if parsed is None:
        return
    try:
        with socket.create_connection(parsed, timeout=timeout_s):
            pass
    except OSError as error:
        raise FleetError(f"--address {address}: no Ray cluster there ({error.strerror or type(error).__name__}); "
                         "is the head node started (`ray start --head`)?") from None


@contextlib.contextmanager
def connected(address: str, timeout_s: float = CONNECT_TIMEOUT_S):
    """Connected to the cluster at `address` for the block; disconnected after, however it ends."""
    require_ray()
    _check_reachable(address, min(timeout_s, 5.0))
    import logging

    import ray

    failure: list[BaseException] = []

    def init():
        try:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        except BaseException as error:  # noqa: BLE001 - said on one line below
            failure.append(error)

    restore = _quiet_node_messages()
    try:
        thread = threading.Thread(target=init, name="calib-fleet-connect", daemon=True)
        with _stderr_aside():  # Ray's core logs each retry of a GCS that does not answer (one a second)
            thread.start()
            thread.join(timeout_s)
        if thread.is_alive():
            raise FleetError(f"--address {address}: no Ray cluster answered within {timeout_s:g} s")
        if failure:
            from calib.errors import first_line

            raise FleetError(f"--address {address}: cannot join the cluster ({type(failure[0]).__name__}: "
                             f"{first_line(failure[0])})")
        try:
            yield
        finally:
            ray.shutdown()
    finally:
        restore()


@contextlib.contextmanager
def _stderr_aside():
    """File descriptor 2 into a discarded file for the block (Ray's C++ core writes there directly)."""
    import sys
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as aside:
            os.dup2(aside.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def _quiet_node_messages():
    """Ray's driver prints, on stdout, every error the cluster publishes (a raylet that died comes with its
    last 20 log lines): the fleet says what a lost node means for the run itself, on one line, and keeps
    stdout for its tables. Returns what puts Ray's printer back."""
    try:
        from ray._private import worker
    except ImportError:
        return lambda: None
    original = getattr(worker, "print_to_stdstream", None)
    if original is None:
        return lambda: None

    def printer(data, *args, **kwargs):
        if data.get("pid") == "raylet":  # published errors (node deaths, crashed workers)
            return None
        return original(data, *args, **kwargs)

    worker.print_to_stdstream = printer

    def restore():
        worker.print_to_stdstream = original

    return restore


def alive_nodes() -> list[Node]:
    import ray

    return sorted((Node.from_ray(entry) for entry in ray.nodes() if entry.get("Alive")),
                  key=lambda node: (not node.offers_calib, node.address, node.node_id))


def pinned(function, node: Node, **options):
    """`function` as a Ray task that runs on `node` only (not soft: never elsewhere), holding its calib slot
    and its GPUs (affinity is not exclusivity: the GPUs are asked for so that nothing else Ray schedules
    shares them, and so Ray makes them visible to the task)."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return ray.remote(function).options(
        scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node.node_id, soft=False),
        resources={RESOURCE: 1}, num_cpus=0, num_gpus=node.gpus, max_retries=0, **options)


def describe_nodes(nodes: list[Node], store_url: str | None = None,
                   timeout_s: float = PROBE_TIMEOUT_S) -> list[NodeDescription]:
    """Every node, described: those offering calib by a task pinned to them; the others as not used."""
    import ray

    from calib.fleet import node as on_node

    asked = {pinned(on_node.describe, node).remote(store_url): node for node in nodes if node.offers_calib}
    ready, waiting = ray.wait(list(asked), num_returns=len(asked), timeout=timeout_s) if asked else ([], [])
    found: dict[str, NodeDescription] = {}
    for ref in ready:
        node = asked[ref]
        try:
            found[node.node_id] = NodeDescription.from_probe(node, ray.get(ref))
        except Exception as error:  # noqa: BLE001 - a node that cannot describe itself is not used, and says why
            found[node.node_id] = NodeDescription(node=node, error=f"its task failed ({task_cause(error)})")
    for ref in waiting:
        ray.cancel(ref, force=True)
        node = asked[ref]
        found[node.node_id] = NodeDescription(node=node, error=f"no answer within {timeout_s:g} s (another sweep "
                                                               "may hold its calib slot)")
    return [found.get(node.node_id) or NodeDescription(node=node) for node in nodes]


def task_cause(error: BaseException) -> str:
    """The first line of what failed in a task (the task's own exception, not Ray's wrapper)."""
    from calib.errors import first_line

    cause = getattr(error, "cause", None)
    shown = cause if isinstance(cause, BaseException) else error
    return f"{type(shown).__name__}: {first_line(shown)}"
