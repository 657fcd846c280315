"""What a fleet run does where, decided without Ray: the nodes and what each said about itself, the
nodes a run uses (--devices), the version check, the configurations a node will measure, and the
failed records of the configurations a lost node never finished."""

from __future__ import annotations

import datetime as _dt
import uuid
from dataclasses import dataclass, field

from calib.fleet import RESOURCE, FleetError

_ORDER = ("native", "emulated", "unsupported")


@dataclass(frozen=True)
class Node:
    """An alive node of the cluster, as Ray lists it."""

    node_id: str
    address: str
    offers_calib: bool
    gpus: float = 0.0
    cpus: float = 0.0

    @property
    def short_id(self) -> str:
        return self.node_id[:8]

    @classmethod
    def from_ray(cls, entry: dict) -> "Node":
        """One entry of ray.nodes()."""
        resources = entry.get("Resources") or {}
        return cls(node_id=entry["NodeID"], address=str(entry.get("NodeManagerAddress") or "?"),
                   offers_calib=resources.get(RESOURCE, 0) >= 1, gpus=float(resources.get("GPU", 0)),
                   cpus=float(resources.get("CPU", 0)))


@dataclass(frozen=True)
class NodeDescription:
    """What the small task pinned to a node found there (calib.fleet.node.describe), or why it could not."""

    node: Node
    device_class: str | None = None
    host: str | None = None
    versions: dict = field(default_factory=dict, hash=False)  # calib, torch, python, ray
    environment: dict = field(default_factory=dict, hash=False)  # calib.environment.capture on the node
    device_report: dict | None = field(default=None, hash=False)
    store_reachable: bool = False
    store_reason: str | None = None
    error: str | None = None

    @classmethod
    def from_probe(cls, node: Node, found: dict) -> "NodeDescription":
        return cls(node=node, device_class=found.get("device_class"), host=found.get("host"),
                   versions=dict(found.get("versions") or {}), environment=dict(found.get("environment") or {}),
                   device_report=found.get("device_report"), store_reachable=bool(found.get("store_reachable")),
                   store_reason=found.get("store_reason"))

    @property
    def label(self) -> str:
        return f"{self.device_class or '?'} ({self.node.short_id})"

    def to_json(self) -> dict:
        return {"node_id": self.node.node_id, "address": self.node.address, "uses_calib": self.node.offers_calib,
                "device_class": self.device_class, "host": self.host, "versions": self.versions,
                "devices": device_summary(self.device_report), "gpus": self.node.gpus, "cpus": self.node.cpus,
                "error": self.error}


def device_summary(report: dict | None) -> list[str]:
    """What `calib device` says about a node, a line per device: its name and the precisions it runs
    native, emulated or not at all."""
    lines = []
    for device in (report or {}).get("devices") or []:
        by_status: dict[str, list[str]] = {}
        for precision, verdict in (device.get("precisions") or {}).items():
            by_status.setdefault(str((verdict or {}).get("status")), []).append(precision)
        said = ", ".join(f"{status} {' '.join(by_status[status])}" for status in _ORDER if by_status.get(status))
        lines.append(f"{device.get('id')} {device.get('name') or ''}: {said}".strip())
    if (report or {}).get("jetson"):
        mode = (report["jetson"] or {}).get("power_mode")
        if mode:
            lines.append(f"jetson power mode {mode}")
    return lines


def select(descriptions: list[NodeDescription], devices: list[str] | None, address: str
           ) -> tuple[list[NodeDescription], list[str]]:
    """The nodes a run uses (those offering calib whose description came back, of the --devices classes
    when given) and a line for each calib node left out. FleetError (one line) when none is left."""
    offering = [d for d in descriptions if d.node.offers_calib]
    if not offering:
        raise FleetError(f"no alive node of {address} offers the {RESOURCE} resource: start Ray on each device "
                         f"with --resources '{{\"{RESOURCE}\": 1}}' (docs/fleet.md)")
    left_out = [f"{d.label}: not used, {d.error}" for d in offering if d.error]
    usable = [d for d in offering if not d.error]
    if devices:
        classes = sorted({d.device_class for d in usable if d.device_class})
        unknown = [name for name in devices if name not in classes]
        if unknown:
            raise FleetError(f"--devices {','.join(unknown)}: no node of that class answered "
                             f"(the fleet has: {', '.join(classes) or 'none'})")
        usable = [d for d in usable if d.device_class in devices]
    if not usable:
        raise FleetError(f"no node offering {RESOURCE} at {address} could take the run: " + "; ".join(left_out))
    return sorted(usable, key=lambda d: (d.device_class or "", d.node.node_id)), left_out


def version_differences(descriptions: list[NodeDescription], driver: dict) -> list[str]:
    """One phrase per node whose calib or torch release differs from the driver's. The local part of a
    version (torch 2.14.1+cu130 against 2.14.1+cpu) names a build for the device, not other code."""
    lines = []
    for description in descriptions:
        differ = [f"{name} {description.versions.get(name)}" for name in ("calib", "torch")
                  if release(description.versions.get(name)) != release(driver.get(name))]
        if differ:
            lines.append(f"{description.label} has {', '.join(differ)}")
    return lines


def release(version) -> str | None:
    """A version without its local part (the build: +cu130, +cpu)."""
    return None if version is None else str(version).split("+", 1)[0]


def check_versions(descriptions: list[NodeDescription], driver: dict, allow_mixed: bool) -> list[str]:
    """Same code on every node: FleetError (one line) when a node's calib or torch differs from the driver's,
    unless allowed; then the differences come back as warnings."""
    differences = version_differences(descriptions, driver)
    if differences and not allow_mixed:
        raise FleetError(f"{'; '.join(differences)}, where this driver has calib {driver.get('calib')}, torch "
                         f"{driver.get('torch')}: install the same versions or pass --allow-mixed-versions")
    return differences


def plan_sweep(model: str, backends: list[str], precisions: list[str], batch_sizes: list[int], device: str,
               input_shape: tuple = ()) -> "NodeSweep":
    """The configurations each node's `calib run` measures, in its order (the spec's). Names are checked
    here, before any node works; whether a backend is installed is each node's own question."""
    from calib.backends import BACKENDS
    from calib.errors import UsageError
    from calib.precisions import get_precision
    from calib.spec import SweepSpec

    for precision in precisions:
        get_precision(precision)
    for backend in backends:
        if backend not in BACKENDS:
            raise UsageError(f"unknown backend {backend!r}; choose from: {', '.join(BACKENDS)}")
    # the device and threads do not change the cells; each node resolves its own
    spec = SweepSpec(model=model, backends=backends, precisions=precisions, batch_sizes=batch_sizes, device="cpu",
                     threads=1)
    return NodeSweep(model=model, cells=tuple(spec.cells()), device=device, input_shape=tuple(input_shape))


@dataclass(frozen=True)
class NodeSweep:
    """What is known of the configurations before a node measures them: enough to name those it never
    finished (calib.worker names a configuration its worker died on the same way)."""

    model: str
    cells: tuple
    device: str  # as asked: auto, cpu, cuda, cuda:N
    input_shape: tuple = ()  # one item, without the batch (--input-shape), when given

    def device_on(self, description: NodeDescription) -> str:
        if self.device == "auto":
            return "cuda:0" if description.environment.get("gpu_name") else "cpu"
        return "cuda:0" if self.device == "cuda" else self.device

    def unfinished(self, finished: list[dict], description: NodeDescription, reason: str) -> list[dict]:
        """A failed record, with `reason`, for each cell after the `finished` records (cells are measured
        in order, one record each). Model name, item shape and device come from a finished record when
        there is one."""
        from calib import lifecycle
        from calib.configuration import Configuration

        first = (finished[0].get("identity") or {}) if finished else {}
        model = first.get("model") or self.model
        item_shape = tuple(first.get("input_shape") or (0, *self.input_shape))[1:]
        device = first.get("device") or self.device_on(description)
        records = []
        for backend, precision, batch_size in self.cells[len(finished):]:
            configuration = Configuration(model, backend, precision, batch_size, (batch_size, *item_shape), device)
            record = lifecycle.new_record(configuration, description.device_report)
            lifecycle.mark_failed(record, reason)
            records.append(record)
        return records


def stand_in_header(description: NodeDescription, command: list[str], git: dict) -> dict:
    """The header of a node's run when the node never wrote one (lost before its `calib run` started):
    its environment and device report as the description gave them, so its failed records are filed
    under the node's device class."""
    from calib.results.schema import SCHEMA_VERSION

    return {"schema_version": SCHEMA_VERSION, "calib_version": description.versions.get("calib"),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": list(command), "complete": False, "environment": dict(description.environment),
            "device_report": description.device_report, "run_id": uuid.uuid4().hex,
            "device_class": description.device_class, "git": dict(git)}
