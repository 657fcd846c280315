"""calib fleet on a real Ray cluster on this machine (tests/fleet_cluster.py), started once for the module:
a head of device class fleet-a and a node of class fleet-b, both offering the `calib` resource, and a node
without it (never used). The commands run as the user runs them, in a subprocess. The node-loss test kills
fleet-b's raylet, so it comes last. The rest (node selection, versions, forwarded options, failed records
of a lost node, the node table, Ray missing) is tested without a cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from calib.errors import UsageError
from fleet_cluster import LocalCluster, free_port, wait_for

# a tiny model, the rule's first implementation, short timing, one thread per node (the two nodes share two
# cores), measured in the node's calib run process (--config-timeout 0: no worker process to start)
FAST = ["-m", "tiny-mlp", "-b", "torch", "--no-tune", "--threads", "1", "--max-time", "0.2", "--min-time", "0.05",
        "--min-samples", "5", "--warmup-min-time", "0.01", "--warmup-min-count", "1", "--config-timeout", "0"]


def fleet(*args, timeout=180, env=None):
    return subprocess.run([sys.executable, "-m", "calib", "fleet", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200", **(env or {})})


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("ray")
    started = LocalCluster().start("fleet-a")
    try:
        started.add_node("fleet-b")
        started.add_node(None, calib=False)
        yield started
    finally:
        started.stop()


def _store_rows(url, **where):
    from calib.store.db import Store

    store = Store(url)
    try:
        return store.select_records(status=None, with_body=True, **where), store.runs()
    finally:
        store.close()


# ---- on the cluster -------------------------------------------------------------------------------
def test_nodes_lists_the_calib_nodes_with_their_classes(cluster):
    done = fleet("nodes", "--address", cluster.address, "--json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)["nodes"]
    used = {node["device_class"]: node for node in listed if node["uses_calib"]}
    assert set(used) == {"fleet-a", "fleet-b"}
    assert [node["device_class"] for node in listed if not node["uses_calib"]] == [None]
    for node in used.values():
        assert node["versions"]["calib"] and node["versions"]["torch"] and node["devices"]
        assert node["devices"][0].startswith("cpu ") and "native" in node["devices"][0]


def _check_side_by_side(done, url, tmp_path):
    assert done.returncode == 0, done.stdout + done.stderr
    # read back from the store as `calib compare --store` shows it: the latest run of each class, by name
    assert "side by side" in done.stdout and "#1 fleet-a@" in done.stdout and "#2 fleet-b@" in done.stdout
    assert "calib history --store " in done.stdout
    records, runs = _store_rows(url)
    assert sorted(run["device_class"] for run in runs) == ["fleet-a", "fleet-b"]
    assert sorted((r["device_class"], r["precision"], r["status"]) for r in records) == [
        ("fleet-a", "fp32", "ok"), ("fleet-b", "fp32", "ok")]
    files = sorted(tmp_path.glob("*-fleet-*.json"))
    assert len(files) == 2
    for path in files:  # each node's run, kept here too, with the node's own environment and versions
        payload = json.loads(path.read_text())
        assert payload["complete"] is True and payload["device_class"] in ("fleet-a", "fleet-b")
        assert payload["environment"]["calib"] and payload["environment"]["torch"]
    return runs


def test_run_files_both_nodes_into_one_sqlite_store(cluster, tmp_path):
    url = f"sqlite:///{tmp_path}/calib.db"
    done = fleet("run", "--address", cluster.address, *FAST, "-p", "fp32", "--store", url,
                 "--results-dir", str(tmp_path))
    runs = _check_side_by_side(done, url, tmp_path)
    # SQLite is a file on the driver's machine: the driver files what the nodes hand back
    assert all(str(tmp_path) in run["source"] for run in runs)
    assert "fleet-a (" in done.stderr and "fleet-b (" in done.stderr  # progress, as lines off a terminal


def test_run_files_both_nodes_into_postgresql(cluster, pg_url, tmp_path):
    done = fleet("run", "--address", cluster.address, "--devices", "fleet-a,fleet-b", *FAST, "-p", "fp32",
                 "--store", pg_url, "--results-dir", str(tmp_path))
    runs = _check_side_by_side(done, pg_url, tmp_path)
    # a node that reaches the server files its records itself (its calib run's results file is the source)
    assert all("calib-fleet-" in run["source"] for run in runs)


def test_unreachable_address_is_one_line_and_exit_2(tmp_path):
    done = fleet("run", "--address", f"127.0.0.1:{free_port()}", *FAST, "--store", f"sqlite:///{tmp_path}/c.db",
                 timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("calib: error: --address 127.0.0.1:")
    assert "no Ray cluster there" in done.stderr


def test_a_node_lost_mid_sweep_keeps_what_it_finished_and_the_others_go_on(cluster, tmp_path):
    """Last: it kills fleet-b. Each configuration takes a second, so fleet-b is killed between its first record
    and its last."""
    url = f"sqlite:///{tmp_path}/calib.db"
    slow = [a for a in FAST if a not in ("0.2", "0.05", "--max-time", "--min-time")] + ["--max-time", "1",
                                                                                        "--min-time", "1"]
    process = subprocess.Popen([sys.executable, "-m", "calib", "fleet", "run", "--address", cluster.address, *slow,
                                "-p", "fp32,bf16,fp16", "--store", url, "--results-dir", str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "COLUMNS": "200"})
    try:
        def first_of_b():
            try:
                return _store_rows(url, device_class="fleet-b")[0]
            except Exception:  # noqa: BLE001 - the store is created by the run
                return None

        assert wait_for(first_of_b, 90, 0.1), "fleet-b never finished a configuration"
        cluster.kill_node("fleet-b")
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, out + err
    records, _ = _store_rows(url)
    by_class = {}
    for record in records:
        by_class.setdefault(record["device_class"], []).append(record)
    assert [r["status"] for r in by_class["fleet-a"]] == ["ok", "ok", "ok"]
    lost = by_class["fleet-b"]
    assert [r["precision"] for r in lost] == ["fp32", "bf16", "fp16"]
    assert lost[0]["status"] == "ok"
    failed = [r for r in lost if r["status"] == "failed"]
    assert failed and all(r["body"]["reason"].startswith("node lost: ") for r in failed)
    assert all(r["body"]["identity"]["input_shape"] == [1, 64] for r in failed)  # named like the finished ones
    assert "fleet-b" in err and "node lost" in err and "Traceback" not in err + out


# ---- without a cluster ---------------------------------------------------------------------------
def test_without_ray_fleet_says_how_to_install_it():
    code = ("import sys; sys.modules['ray'] = None\n"
            "from calib.cli import main\n"
            "main(['fleet', 'nodes', '--address', '127.0.0.1:1'])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == "calib: error: calib fleet needs Ray: pip install 'calib-bench[fleet]'\n"


def test_help_and_device_never_import_ray():
    code = ("import sys\n"
            "from calib.cli import main\n"
            "for args in (['--help'], ['device', '--json'], ['fleet', '--help'], ['fleet', 'run', '--help']):\n"
            "    try:\n"
            "        main(args)\n"
            "    except SystemExit:\n"
            "        pass\n"
            "print('ray' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stderr.strip().splitlines()[-1] == "False"


def _description(device_class, calib="0.1.0", torch="2.14.1", offers=True, error=None, node_id=None):
    from calib.fleet.plan import Node, NodeDescription

    node = Node(node_id or (device_class or "x").ljust(40, "0"), "10.0.0.1", offers)
    return NodeDescription(node=node, device_class=device_class, versions={"calib": calib, "torch": torch},
                           environment={"calib": calib, "torch": torch, "cpu_model": "a cpu"}, error=error,
                           device_report={"devices": [{"id": "cpu", "name": "a cpu", "precisions": {
                               "fp32": {"status": "native"}, "bf16": {"status": "emulated"}}}]})


def test_select_uses_calib_nodes_of_the_classes_asked():
    from calib.fleet import FleetError
    from calib.fleet.plan import select

    nodes = [_description("orin"), _description("xeon"), _description(None, offers=False, node_id="c" * 40),
             _description("broken", error="its task failed (ModuleNotFoundError: No module named 'calib')")]
    chosen, left_out = select(nodes, None, "head:6379")
    assert [d.device_class for d in chosen] == ["orin", "xeon"]
    assert left_out == ["broken (broken00): not used, its task failed (ModuleNotFoundError: No module named 'calib')"]
    assert [d.device_class for d in select(nodes, ["xeon"], "head:6379")[0]] == ["xeon"]
    with pytest.raises(FleetError, match=r"--devices h100: no node of that class answered \(the fleet has: orin, xeon\)"):
        select(nodes, ["xeon", "h100"], "head:6379")
    with pytest.raises(FleetError, match="no alive node of head:6379 offers the calib resource"):
        select([_description(None, offers=False)], None, "head:6379")


def test_mixed_versions_are_refused_in_one_line_unless_allowed():
    from calib.fleet import FleetError
    from calib.fleet.plan import check_versions

    driver = {"calib": "0.1.0", "torch": "2.14.1"}
    nodes = [_description("orin", torch="2.8.0"), _description("xeon")]
    with pytest.raises(FleetError) as refused:
        check_versions(nodes, driver, allow_mixed=False)
    assert str(refused.value) == ("orin (orin0000) has torch 2.8.0, where this driver has calib 0.1.0, torch 2.14.1: "
                                  "install the same versions or pass --allow-mixed-versions")
    assert refused.value.exit_code == 2
    assert check_versions(nodes, driver, allow_mixed=True) == ["orin (orin0000) has torch 2.8.0"]
    # the local part names the build for the device (CUDA, CPU), not other code
    assert check_versions([_description("h100", torch="2.14.1+cu130")], {"calib": "0.1.0", "torch": "2.14.1+cpu"},
                          allow_mixed=False) == []


def test_the_options_given_are_forwarded_to_each_node_as_calib_run_spells_them():
    from calib.cli.fleet import _run_parameters, command, forwarded_argv

    run = command.get_command(None, "run")
    context = run.make_context("run", ["--address", "h:1", "-m", "resnet18", "-p", "fp32,bf16", "-p", "int8-static",
                                       "--max-time", "0.5", "--no-tune", "--results-dir", "here", "-q",
                                       "--commit", "abc", "--timeout", "30", "--config-timeout", "20"])
    assert forwarded_argv(context, _run_parameters()) == [
        "--model", "resnet18", "--precision", "fp32,bf16", "--precision", "int8-static", "--max-time", "0.5",
        "--no-tune"]
    names = {parameter.name for parameter in run.params}
    assert {"precisions", "backends", "calib_data", "eval_fn", "fallback", "layers"} <= names
    assert not names & {"out", "csv_path", "layers_csv", "store_device_class", "timeout"}


def test_a_lost_node_files_its_unfinished_configurations_as_failed():
    from calib.fleet.plan import plan_sweep

    sweep = plan_sweep("tiny-mlp", ["torch"], ["fp32", "bf16", "int8-static"], [1, 4], "auto")
    assert len(sweep.cells) == 6
    finished = [{"identity": {"model": "tiny-mlp", "backend": "torch", "precision": "fp32", "batch_size": 1,
                              "input_shape": [1, 64], "device": "cpu"}, "status": "ok"}]
    failed = sweep.unfinished(finished, _description("orin"), "node lost: NodeDiedError: gone.")
    assert [(r["identity"]["precision"], r["identity"]["batch_size"], r["identity"]["input_shape"]) for r in failed] == [
        ("bf16", 1, [1, 64]), ("int8-static", 1, [1, 64]), ("fp32", 4, [4, 64]), ("bf16", 4, [4, 64]),
        ("int8-static", 4, [4, 64])]
    assert {(r["status"], r["reason"]) for r in failed} == {("failed", "node lost: NodeDiedError: gone.")}
    nothing_yet = sweep.unfinished([], _description("orin"), "node lost: x")
    assert nothing_yet[0]["identity"]["device"] == "cpu" and len(nothing_yet) == 6
    with pytest.raises(UsageError, match="fp33"):
        plan_sweep("tiny-mlp", ["torch"], ["fp33"], [1], "auto")


def test_the_node_table_names_each_node_and_what_calib_device_says():
    from io import StringIO

    from rich.console import Console

    from calib.render.fleet_table import nodes_table

    out = Console(file=StringIO(), width=200)
    out.print(nodes_table([_description("orin", torch="2.8.0"), _description(None, offers=False, node_id="c" * 40)],
                          {"calib": "0.1.0", "torch": "2.14.1"}, "head:6379"))
    text = out.file.getvalue()
    assert "orin" in text and "2.8.0 *" in text and "no: no calib resource" in text
    assert "cpu a cpu: native fp32, emulated bf16" in text


def _node_run(state="running", records=(), reason=None):
    from pathlib import Path

    from calib.fleet.driver import NodeRun

    return NodeRun(_description("orin"), [], False, Path("x.json"), total=3, records=list(records), state=state,
                   reason=reason, started_at=0.0, measuring="tiny-mlp torch bf16 b1" if state == "running" else None)


def test_progress_is_a_line_per_event_off_a_terminal_and_a_table_on_one():
    from io import StringIO

    from rich.console import Console

    from calib.render.fleet_table import LiveProgress, PlainProgress

    finished = {"identity": {"model": "tiny-mlp", "backend": "torch", "precision": "fp32", "batch_size": 1,
                             "input_shape": [1, 64], "device": "cpu"}, "status": "failed", "reason": "node lost: gone."}
    lines = []
    plain = PlainProgress(lines.append)
    running = _node_run(records=[finished])
    for what in ("measuring", "record"):
        plain(running, what)
    plain(_node_run("lost", [finished] * 3, "node lost: gone."), "ended")
    plain(None, "tick")
    assert lines == ["orin (orin0000): measuring tiny-mlp torch bf16 b1 ...",
                     "orin (orin0000): 1/3 tiny-mlp torch fp32 b1: failed (node lost: gone.)",
                     "orin (orin0000): lost, 0/3 measured: node lost: gone."]
    terminal = Console(file=StringIO(), force_terminal=True, width=120)
    runs = [running, _node_run("lost", [finished] * 3, "node lost: gone.")]
    with LiveProgress(terminal, runs, clock=lambda: 12.0) as live:
        live(runs[0], "record")
    drawn = terminal.file.getvalue()
    assert "measuring tiny-mlp torch bf16 b1" in drawn and "node lost: gone." in drawn and "12 s" in drawn


def test_a_lost_node_that_filed_its_own_records_keeps_them_all(tmp_path):
    """A node writing into the store itself may have filed a record the driver never received before the node
    was lost: the driver's failed records fill only the places the store lacks."""
    from dataclasses import replace

    from calib.fleet.driver import FleetRun
    from calib.fleet.plan import plan_sweep, stand_in_header
    from calib.store.db import Store

    store = Store(f"sqlite:///{tmp_path}/calib.db")
    node = replace(_description("orin"), store_reachable=True)
    sweep = plan_sweep("tiny-mlp", ["torch"], ["fp32", "bf16", "fp16"], [1], "cpu")
    measured = [{"identity": {"model": "tiny-mlp", "backend": "torch", "precision": precision, "batch_size": 1,
                              "input_shape": [1, 64], "device": "cpu"}, "status": "ok"} for precision in ("fp32", "bf16")]
    header = stand_in_header(node, ["calib", "run"], {})
    run_id, _ = store.add_run(header)
    store.add_records(run_id, enumerate(measured))  # what the node filed: fp32 and bf16
    fleet = FleetRun([node], [], sweep, store=store, store_url="postgresql://db/calib", results_dir=tmp_path)
    run = fleet.runs[0]
    assert run.direct
    run.header, run.records, run.state = header, measured[:1], "running"  # the driver received fp32 only
    fleet._give_up(run, "lost", "node lost: NodeDiedError: gone.")
    stored = store.select_records(status=None, with_body=True)
    assert [(r["precision"], r["status"]) for r in stored] == [("fp32", "ok"), ("bf16", "ok"), ("fp16", "failed")]
    assert stored[2]["body"]["reason"] == "node lost: NodeDiedError: gone."
    assert run.state == "lost" and json.loads(run.local_path.read_text())["complete"] is False


def test_a_nodes_threads_are_capped_by_the_cpus_it_offers():
    """Nodes that share a machine each declare their CPUs; a sweep at calib's default threads beyond them spins
    against the other node's threads."""
    from calib.fleet.driver import node_threads
    from calib.fleet.plan import Node, NodeDescription

    def described(cpus, threads):
        return NodeDescription(node=Node(node_id="n" * 8, address="a", offers_calib=True, cpus=cpus),
                               environment={"threads": threads} if threads is not None else {})

    assert node_threads(described(1.0, 2)) == 1
    assert node_threads(described(16.0, 8)) == 8  # calib's own default (physical cores) where the node offers more
    assert node_threads(described(0.0, 2)) is None and node_threads(described(4.0, None)) is None
