"""calib.malloc: glibc's thresholds fixed, so that no inference faults pages in after the warm-up, whatever the
process allocated before; each case in a fresh process (the thresholds are process-wide and cannot be unset)."""

import json
import os
import platform
import subprocess
import sys

import pytest

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")

# An inference as torch eager runs one: each layer's output taken, its input freed, sizes along a mobilenet-like
# chain at batch 4 (MiB). With glibc's moving thresholds the blocks come and go by mmap or past the trim threshold,
# and every call faults them in again (about 11,500 pages here); with calib's, none after the first calls.
PATTERN = """
import json, resource, sys
import torch
if sys.argv[1] == "steady":
    from calib.malloc import steady_malloc
    state = steady_malloc()
else:
    from calib.malloc import malloc_state
    state = malloc_state()
sizes = [6, 19, 19, 7, 21, 21, 7, 5, 5, 2, 1]
faults = []
for _ in range(8):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    x = torch.empty(6 * 2**18)
    x.fill_(1.0)
    for size in sizes:
        y = torch.empty(size * 2**18)
        y.fill_(1.0)
        x = y
    del x, y
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"state": state, "faults": faults[3:]}))
"""


def _run(mode: str, **env) -> dict:
    environ = {key: value for key, value in os.environ.items() if key not in ("CALIB_MALLOC", "LD_PRELOAD")}
    result = subprocess.run([sys.executable, "-c", PATTERN, mode], capture_output=True, text=True, timeout=120,
                            env={**environ, **env})
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@glibc
def test_steady_malloc_faults_no_page_in_where_glibcs_own_thresholds_fault_every_call():
    system = _run("system")
    assert system["state"]["mode"] == "system"
    assert min(system["faults"]) >= 1000, system["faults"]  # 8 MiB = 2048 pages faulted in again every call
    steady = _run("steady")
    assert steady["state"]["mode"] == "steady" and steady["state"]["mmap_threshold_bytes"] == 32 * 2**20
    assert max(steady["faults"]) < 100, steady["faults"]


@glibc
def test_calib_malloc_system_leaves_glibc_alone_and_says_so():
    state = _run("steady", CALIB_MALLOC="system")
    assert state["state"]["mode"] == "system" and "CALIB_MALLOC=system" in state["state"]["note"]
    assert min(state["faults"]) >= 1000


def test_results_record_the_malloc_state():
    from calib.environment import capture

    environment = capture(1)
    assert environment["malloc"]["mode"] in ("steady", "system") or environment["malloc"]["mode"].startswith(
        "preloaded")
    assert environment["malloc"]["note"]
