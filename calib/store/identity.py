"""What names a run and its series in the store: the run's stable identity, the configuration key,
the device class and fingerprint, and the git commit and branch a run measured."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from typing import Mapping

# The environment keys that make a device the same device (the hardware and its mode, not the host name)
_FINGERPRINT_KEYS = ("cpu_model", "cpu_arch", "cpu_flags", "cpu_count_logical", "gpu_name",
                     "gpu_compute_capability", "power_mode")


def _digest(value, length: int = 40) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def config_key(identity: Mapping, scenario: tuple = ()) -> str:
    """The configuration a record measured, as one indexable string: equal for the same configuration on
    any machine (the device class is a separate column). `scenario` is calib.scenarios.headline's
    scenario_part of the record: a server p99 or an offline throughput is its own series, never one with
    the single-stream medians of the same configuration (whose keys stay what they were)."""
    keys = ("model", "backend", "precision", "batch_size", "input_shape", "device", "variant")
    fields = {key: identity.get(key) for key in keys if identity.get(key) is not None}
    if scenario:
        fields["scenario"] = list(scenario)
    return _digest(fields)


def record_config_key(record) -> str:
    """config_key of a record (a stored dict or a calib.results.record.Record), its scenario included."""
    from calib.scenarios.headline import scenario_part

    identity = record.get("identity") if isinstance(record, Mapping) else record.identity.to_identity()
    return config_key(identity if isinstance(identity, Mapping) else {}, scenario_part(record))


def run_key(header: Mapping) -> str:
    """A run's stable identity: the "run_id" calib writes into every results file, else (files from
    before it) a digest of what a file's header cannot share with another run's."""
    run_id = header.get("run_id")
    if isinstance(run_id, str) and run_id:
        return run_id[:64]
    environment = header.get("environment") or {}
    return "h" + _digest([header.get("created"), header.get("command"), header.get("calib_version"),
                          environment.get("host") if isinstance(environment, Mapping) else None], 39)


def device_fingerprint(environment: Mapping) -> str:
    return _digest({key: environment.get(key) for key in _FINGERPRINT_KEYS}, 16)


def _slug(text: str) -> str:
    text = re.sub(r"\((r|tm)\)", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\b(cpu|processor)\b|@.*$", "", text, flags=re.IGNORECASE)
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")


def device_class(environment: Mapping, override: str | None = None) -> str:
    """The kind of device a run measured, for series and side-by-side views: --device-class or
    CALIB_DEVICE_CLASS when given (a CI matrix names its runners), else derived from the hardware:
    the Jetson power mode and GPU, a CUDA GPU's name, or the CPU's model and core count."""
    chosen = override or os.environ.get("CALIB_DEVICE_CLASS")
    if chosen:
        return chosen.strip()[:200]
    gpu = environment.get("gpu_name")
    if gpu:
        name = f"gpu-{_slug(str(gpu))}"
        mode = environment.get("power_mode")
        return f"{name}-{_slug(str(mode))}" if mode else name
    cpu = _slug(str(environment.get("cpu_model") or environment.get("cpu_arch") or "cpu")) or "cpu"
    count = environment.get("cpu_count_logical")
    return f"cpu-{cpu}-{count}t" if count else f"cpu-{cpu}"


def git_info(commit: str | None = None, branch: str | None = None, cwd: str | None = None) -> dict:
    """The commit and branch a run measured: --commit/--branch when given, else the CI's own variables
    (GITHUB_SHA/GITHUB_HEAD_REF/GITHUB_REF_NAME, CI_COMMIT_SHA/CI_COMMIT_REF_NAME), else the git
    repository the command runs in; None where none says."""
    env = os.environ
    commit = commit or env.get("CALIB_COMMIT") or env.get("GITHUB_SHA") or env.get("CI_COMMIT_SHA")
    branch = (branch or env.get("CALIB_BRANCH") or env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME")
              or env.get("CI_COMMIT_REF_NAME"))
    if commit is None:
        commit = _git(["rev-parse", "HEAD"], cwd)
    if branch is None:
        branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd)
        if branch == "HEAD":  # detached
            branch = None
    return {"commit": commit, "branch": branch}


def _git(args: list[str], cwd: str | None) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and out else None
