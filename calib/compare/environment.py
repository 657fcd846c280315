"""Which environment differences between runs change timings, split by what they mean.

Machine keys say the runs come from different machines: expected when comparing devices,
a warning sign when gating one build against another. Setting keys (threads, governor,
power mode, torch and ONNX Runtime versions) are knobs that change timings on the same machine.
Engine keys (OpenVINO, NNCF, TensorRT, ONNX, torchao, transformers: calib.environment.ENGINE_KEYS)
are named whenever they differ, without making the runs incomparable: only the configurations
that ran on that engine move, and an upgrade is exactly what a gate is asked to judge.
"""

from __future__ import annotations

from dataclasses import dataclass

from calib.environment import ENGINE_KEYS, TIMING_KEYS, differences

MACHINE_KEYS = ("host", "cpu_model", "gpu_name")
SETTING_KEYS = tuple(key for key in TIMING_KEYS if key not in MACHINE_KEYS)


@dataclass(frozen=True)
class EnvironmentDifference:
    first: str  # labels of the two runs, e.g. file names
    second: str
    machine: tuple[str, ...]
    settings: tuple[str, ...]
    engines: tuple[str, ...] = ()  # engine versions: named, comparable all the same

    @property
    def comparable(self) -> bool:
        """Whether the two runs' timings may still be judged against each other (`calib check`): no setting
        that changes timings differs, and of the machine keys at most the host name (CI runners of one kind
        differ in it alone: a note, not a refusal)."""
        return not self.settings and all(line.startswith("host:") for line in self.machine)

    def lines(self) -> list[str]:
        where = f"{self.first} vs {self.second}"
        out = [f"{where}: different machine ({'; '.join(self.machine)})"] if self.machine else []
        if self.settings:
            out.append(f"{where}: settings that change timings differ: {'; '.join(self.settings)}")
        if self.engines:
            out.append(f"{where}: engine versions differ (the configurations run on them may move with them): "
                       f"{'; '.join(self.engines)}")
        return out


def environment_difference(env_a: dict, env_b: dict, first: str, second: str) -> EnvironmentDifference | None:
    machine = differences(env_a or {}, env_b or {}, MACHINE_KEYS)
    settings = differences(env_a or {}, env_b or {}, SETTING_KEYS)
    engines = differences(env_a or {}, env_b or {}, ENGINE_KEYS)
    if not machine and not settings and not engines:
        return None
    return EnvironmentDifference(first, second, tuple(machine), tuple(settings), tuple(engines))


def against_first(environments: list[tuple[str, dict]]) -> list[EnvironmentDifference]:
    """Differences of every run from the first one (the reference column)."""
    if not environments:
        return []
    first_label, first_env = environments[0]
    found = []
    for label, env in environments[1:]:
        difference = environment_difference(first_env, env, first_label, label)
        if difference:
            found.append(difference)
    return found
