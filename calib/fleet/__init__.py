"""calib fleet: one sweep on every device of a Ray cluster, into one results store.

A node joins the fleet by starting Ray with the `calib` custom resource set to 1, so one calib sweep
at a time runs on it. The driver (`calib fleet run`) pins one task per node (NodeAffinity, not soft,
plus the `calib` slot and the node's GPUs); the task runs the node's own `calib run` in a subprocess
and streams its records back as each configuration finishes; they go into the store as they arrive.

    calib.fleet.plan     what to run where: the nodes, their versions, the forwarded options, the
                         failed records of a node lost mid-sweep (no Ray here: tested without a cluster)
    calib.fleet.node     what runs ON a node: describe it, run the sweep and stream its records
    calib.fleet.cluster  the connection to a cluster and the list of its nodes
    calib.fleet.driver   the fleet run: the tasks, their events, the store and the local files
    (calib.render.fleet_table: the node table and the live progress)

Ray is an optional extra (`pip install 'calib-bench[fleet]'`): it is imported inside functions of
calib.fleet.cluster and calib.fleet.driver only, never by `calib --help` or `calib device`."""

from __future__ import annotations

import importlib.util

from calib.errors import UsageError

RAY_MISSING = "calib fleet needs Ray: pip install 'calib-bench[fleet]'"
RESOURCE = "calib"  # the custom resource a node offers to join the fleet: one sweep at a time


class FleetError(UsageError):
    """The fleet cannot run: no Ray, an unreachable cluster, no node offering calib, mixed versions (exit 2)."""


def require_ray() -> None:
    """A one-line FleetError (exit 2) when Ray is not installed; probed without importing it."""
    try:
        found = importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):  # a broken or blocked installation reads as missing
        found = False
    if not found:
        raise FleetError(RAY_MISSING)
