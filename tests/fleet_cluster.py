"""A real Ray cluster on this machine for calib fleet's tests and bench/fleet.py: a head and worker nodes
started with `ray start` (distinct ports, one CPU each, their own --temp-dir), each node with its own
CALIB_DEVICE_CLASS so one machine shows several device classes, with or without the `calib` resource.

Stopping ends exactly the processes of this cluster (those whose command line names its temp dir, and
their children), never another Ray on the machine (`ray stop` would end them all). Ray registers every
node under the machine's interface address, so traffic stays on this machine."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LocalCluster:
    temp_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="calib-ray-", dir="/tmp")))
    port: int = field(default_factory=free_port)  # /tmp: Ray's socket paths must stay under 107 characters
    classes: list = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, head_class: str | None, calib: bool = True, cpus: int = 1) -> "LocalCluster":
        # Ray Client's server (on by default at port 10001 where ray[client] is installed) gets a free port of its
        # own; the minimal `ray` the fleet extra installs has no client server, and refuses the option.
        client = ["--ray-client-server-port", str(free_port())] if _has_ray_client() else []
        self._ray(["start", "--head", "--port", str(self.port), *client,
                   "--include-dashboard=false", "--temp-dir", str(self.temp_dir)], head_class, calib, cpus)
        return self

    def add_node(self, device_class: str | None, calib: bool = True, cpus: int = 1) -> None:
        self._ray(["start", "--address", self.address], device_class, calib, cpus)

    def add_nodes(self, nodes: list[tuple[str | None, bool]], cpus: int = 1) -> None:
        """Several worker nodes started at once (each `ray start` waits for its node: seconds each)."""
        started = [self._ray(["start", "--address", self.address], device_class, calib, cpus, wait=False)
                   for device_class, calib in nodes]
        for process, command in started:
            self._wait(process, command)

    def _ray(self, args, device_class, calib, cpus, wait=True):
        env = dict(os.environ)
        env.pop("RAY_ADDRESS", None)
        env.pop("CALIB_DEVICE_CLASS", None)
        if device_class:
            env["CALIB_DEVICE_CLASS"] = device_class
        command = [RAY, *args, "--num-cpus", str(cpus), "--disable-usage-stats"]
        if calib:
            command += ["--resources", json.dumps({"calib": 1})]
        self.classes.append(device_class)
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if not wait:
            return process, command
        self._wait(process, command)

    def _wait(self, process, command) -> None:
        output, _ = process.communicate(timeout=120)
        if process.returncode != 0:
            self.stop()
            raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{output[-2000:]}")

    def processes(self):
        """This cluster's processes: those naming its temp dir, and their children (workers, agents)."""
        import psutil

        mine = {}
        for process in psutil.process_iter(["cmdline"]):
            if any(str(self.temp_dir) in part for part in (process.info["cmdline"] or [])):
                mine[process.pid] = process
                try:
                    mine.update({child.pid: child for child in process.children(recursive=True)})
                except psutil.Error:
                    pass
        return list(mine.values())

    def raylet(self, device_class: str):
        """The raylet process of the node started with this device class."""
        import psutil

        for process in self.processes():
            try:
                if process.name() == "raylet" and process.environ().get("CALIB_DEVICE_CLASS") == device_class:
                    return process
            except psutil.Error:
                continue
        return None

    def kill_node(self, device_class: str) -> None:
        """What a preempted or crashed machine looks like to the cluster: its raylet gone at once."""
        raylet = self.raylet(device_class)
        if raylet is None:
            raise RuntimeError(f"no raylet of {device_class} in this cluster")
        raylet.kill()

    def stop(self) -> None:
        import psutil

        processes = self.processes()
        for process in processes:
            try:
                process.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(processes, timeout=1)  # a throwaway cluster: no need to wait on it
        for process in alive:
            try:
                process.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(alive, timeout=5)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def wait_for(predicate, timeout_s: float, every_s: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    return predicate()


def _has_ray_client() -> bool:
    try:
        from ray._private.utils import get_ray_client_dependency_error
    except ImportError:
        return False
    return get_ray_client_dependency_error() is None
