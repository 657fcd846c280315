"""Interleaved A/B measurement (`calib ab`): a baseline and a current model timed in alternating
short rounds, so the machine's drift falls on both alike.

On a shared machine the load drifts on a scale of seconds: two separate runs of the same build
differ by 15-25% in median, which no statistic on a single pair of runs can tell from a 10%
slowdown. Here round i times one short block of each side, in ABBA order (A then B in even
rounds, B then A in odd ones, so a steady trend within a round favours neither), and each side's
record keeps its per-round sample counts. The number of rounds adapts: at least `rounds`, then
more while the gate's verdict is unsettled, up to `max_rounds` (InterleaveSettings).
calib.check.gate then pairs the rounds: drift moves both
halves of a round together and cancels in their ratio.

Each side is written to its own results file in the ordinary format (calib.results.schema) plus
timing["rounds"] (samples per round, in order) and timing["interleave"] = {"session", "role",
"order"}, so `calib check`, `compare`, `show` and `report` read them as usual.

Identity: `calib check` aligns configurations by model name. Two checkouts of the same file give
the same name (`<stem>:<factory>`); when the names differ (two different files), the current
record is filed under the baseline's name, so the pair aligns, and its own name is kept in
timing["interleave"]["model"] with a warning on the record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Callable

from calib import lifecycle
from calib.check.gate import STOP_MAX_ROUNDS, STOP_SETTLED, GateSettings, paired_settled, round_statistic
from calib.configuration import Configuration
from calib.errors import UsageError
from calib.settings import check_finite
from calib.sweep import configuration_of
from calib.timing.engine import Measurement, TimingPlan, Warmup, measure, stability_warnings
from calib.tuning import untuned
from calib.user_files import call_user

BASELINE, CURRENT = "baseline", "current"
ORDER = "ABBA"
DEFAULT_ROUNDS = 20
DEFAULT_MAX_ROUNDS = 60
DEFAULT_ROUND_TIME_S = 0.2
DEFAULT_INSTANCES = 1


@dataclass(frozen=True)
class InterleaveSettings:
    """`rounds` is the minimum. Past it, rounds are added in ABBA pairs until the paired verdict at
    `stop_rule` (tolerance, alpha) is settled (calib.check.gate.paired_settled) or `max_rounds` is
    reached. The verdict itself is `calib check`'s, on all the rounds: stopping early only ends
    rounds that could not have changed it, and rounds go on where a pair sits near the tolerance,
    where a short measurement on a noisy machine would miss a real slowdown."""
    rounds: int = DEFAULT_ROUNDS
    max_rounds: int = DEFAULT_MAX_ROUNDS
    stop_rule: GateSettings = GateSettings()
    round_time_s: float = DEFAULT_ROUND_TIME_S
    warmup_min_time_s: float = 0.5  # before the first round of each instance; later rounds find it warm
    # Each side can be prepared afresh several times over the rounds: two loads of the very same model
    # differ by up to 10% here (memory layout), which one instance per side cannot average out. Measured
    # with bench/gate.py (40 A/A + 20 +10% pairs, 20 rounds): 1 instance caught 16/20, 4 caught 2/20,
    # 20 caught 5/20, all with 0/40 false alarms: fresh instances add more round-to-round spread than
    # they remove bias at 20 rounds, so the default stays 1; more instances need more rounds.
    instances: int = DEFAULT_INSTANCES

    def __post_init__(self):
        if self.rounds < 2:
            raise UsageError(f"--rounds {self.rounds}: at least 2 rounds are needed for a paired test")
        if self.max_rounds < self.rounds:
            raise UsageError(f"--max-rounds {self.max_rounds}: must be at least --rounds ({self.rounds})")
        check_finite("--round-time", self.round_time_s)
        check_finite("--warmup-min-time", self.warmup_min_time_s)
        if self.round_time_s <= 0:
            raise UsageError(f"--round-time {self.round_time_s}: must be positive")
        if self.instances < 1:
            raise UsageError(f"--instances {self.instances}: must be at least 1")

    def new_instance(self, index: int) -> bool:
        """Whether round `index` starts with freshly prepared models (instances spread evenly over
        the minimum rounds; rounds added past it keep the last instance)."""
        instances = min(self.instances, self.rounds)
        return index == 0 or any(index == (k * self.rounds) // instances for k in range(1, instances))

    def round_timing(self, first: bool, fresh: bool = False) -> TimingPlan:
        """One round: a fixed block of round_time_s. The first round warms the code paths up; a fresh
        instance later only needs its new tensors touched."""
        return TimingPlan.fixed(self.round_time_s, min_count=3, warmup_count=3 if first or fresh else 1,
                                warmup_time_s=self.warmup_min_time_s if first else 0.0, warmup_max_s=Warmup.max_time_s)


class _Side:
    """One model's prepared configuration and the measurements of its rounds."""

    def __init__(self, role: str, model, record: dict):
        self.role, self.model, self.record = role, model, record
        self.prepared = self.timer = None
        self.conversion_s = 0.0  # of the first instance: the one recorded
        self.rounds: list[Measurement] = []

    def round_values(self) -> list[float]:
        """What the paired rule compares, round by round (calib.check.gate.round_statistic)."""
        return [round_statistic(m.summary()) for m in self.rounds]


def run_ab(spec, baseline_model, current_model, baseline_writer, current_writer, device_report: dict | None,
           settings: InterleaveSettings = InterleaveSettings(), on_start: Callable | None = None,
           on_round: Callable[[int], None] | None = None) -> list[tuple]:
    """Every configuration of `spec` (calib.spec.SweepSpec; its timing is not used), both models
    interleaved; each side's record goes to its writer. Returns [(baseline record, current record)].
    The caller runs calib.sweep.guard_busy first (--busy wait / error), before it opens the writers.
    `on_round(k)` (1-based) as each round of the current configuration starts (a progress display)."""
    import torch

    check_pairable(baseline_model, current_model)
    torch.set_num_threads(spec.threads)
    pairs = []
    for backend_name, precision, batch_size in spec.cells():
        configuration, _ = configuration_of(spec, baseline_model, backend_name, precision, batch_size)
        if on_start:
            on_start(configuration)
        pair = measure_pair(spec, baseline_model, current_model, configuration, device_report, settings, on_round)
        baseline_writer.add(pair[0])
        current_writer.add(pair[1])
        pairs.append(pair)
    return pairs


def check_pairable(baseline_model, current_model) -> None:
    """Both sides must take the same input, or their timings do not describe one configuration."""
    if tuple(baseline_model.item_shape) != tuple(current_model.item_shape):
        raise UsageError(f"the models take different inputs ({baseline_model.name} "
                         f"{list(baseline_model.item_shape)} vs {current_model.name} "
                         f"{list(current_model.item_shape)}): they are not the same configuration")


def measure_pair(spec, baseline_model, current_model, configuration: Configuration, device_report: dict | None,
                 settings: InterleaveSettings, on_round: Callable[[int], None] | None = None) -> tuple[dict, dict]:
    """One configuration of both models, interleaved: (baseline record, current record). The
    current record is filed under the baseline's model name (see the module docstring)."""
    sides = [_Side(role, model, lifecycle.new_record(configuration, device_report))
             for role, model in ((BASELINE, baseline_model), (CURRENT, current_model))]
    _note_filed_name(sides[1], baseline_model.name)
    try:  # supervised: the models' own code runs here, and sys.exit() in it fails this configuration only
        call_user(_measure_sides, spec, sides, baseline_model, configuration, settings, on_round)
    except Exception as exc:  # noqa: BLE001 - a configuration failing must not end the others
        for side in sides:
            if side.record["status"] == "ok":
                lifecycle.mark_unmeasured(side.record, exc)
    finally:
        for side in sides:
            if side.prepared is not None:
                side.prepared.release()
    return sides[0].record, sides[1].record


def _measure_sides(spec, sides: list[_Side], baseline_model, configuration: Configuration,
                   settings: InterleaveSettings, on_round: Callable[[int], None] | None = None) -> None:
    # Both sides run the same implementation: the pinned candidate, else the rule's first
    candidate, run_config = untuned(baseline_model, configuration,
                                    spec.run_config(configuration.precision, configuration.batch_size),
                                    spec.tune.pin)
    _prepare(sides, configuration, run_config)
    for side in sides:
        if side.prepared is not None:
            side.prepared.info["candidate"] = candidate
    if all(side.record["status"] == "ok" for side in sides):
        other_cpu = lifecycle.other_cpu_use()  # recorded like the sweep does; interleaving is what copes with it
        stop = _interleave(sides, settings, configuration.batch_size,
                           lambda: _reprepare(sides, configuration, run_config), on_round)
        other_cpu_percent = other_cpu.stop() if other_cpu else None
        session = uuid.uuid4().hex
        for side in sides:
            _fill(side, settings, session, configuration.batch_size, other_cpu_percent, stop)


def _note_filed_name(side: _Side, baseline_name: str) -> None:
    if side.model.name != baseline_name:
        side.record["warnings"].append(f"measured {side.model.name}, filed as {baseline_name} so that "
                                       "`calib check` pairs it with the baseline")


def _prepare(sides: list[_Side], configuration: Configuration, run_config) -> None:
    """Convert both sides; one that cannot be (a precision this machine lacks) leaves the other unmeasured."""
    for side in sides:
        try:
            side.prepared = lifecycle.prepare(side.model, configuration, run_config)
            side.timer, side.conversion_s = lifecycle.timer_for(side.prepared), side.prepared.conversion_s
        except Exception as exc:  # noqa: BLE001 - recorded as skipped/failed, like the sweep does
            lifecycle.mark_unmeasured(side.record, exc)
    failed = [side for side in sides if side.record["status"] != "ok"]
    for side in sides:
        if failed and side.record["status"] == "ok":
            other = failed[0]
            side.record.update(status="skipped", reason=f"not measured: the {other.role} side "
                                                        f"{other.record['status']} ({other.record['reason']})")


def _reprepare(sides: list[_Side], configuration: Configuration, run_config) -> None:
    """A fresh instance of each side (the first conversion time stays the recorded one)."""
    for side in sides:
        candidate = side.prepared.info.get("candidate")
        side.prepared.release()
        side.prepared = lifecycle.prepare(side.model, configuration, run_config)
        side.prepared.info["candidate"] = candidate
        side.timer = lifecycle.timer_for(side.prepared)


def _interleave(sides: list[_Side], settings: InterleaveSettings, batch_size: int,
                reprepare: Callable[[], None], on_round: Callable[[int], None] | None = None) -> str:
    """Time the rounds; returns why they stopped (STOP_SETTLED or STOP_MAX_ROUNDS)."""
    import torch

    with torch.inference_mode():
        for index in range(settings.max_rounds):
            if on_round:
                on_round(index + 1)
            fresh = index < settings.rounds and settings.new_instance(index)
            if fresh and index:
                reprepare()
            plan = settings.round_timing(first=index == 0, fresh=fresh)
            for side in (sides if index % 2 == 0 else sides[::-1]):  # ABBA: A B, B A, A B, ...
                side.rounds.append(measure(side.prepared.run, side.timer, plan, batch_size=batch_size))
            done = index + 1
            # After whole ABBA pairs of rounds only, so each side ran first equally often.
            if done >= settings.rounds and (done % 2 == 0 or done == settings.max_rounds) and paired_settled(
                    sides[0].round_values(), sides[1].round_values(), settings.stop_rule):
                return STOP_SETTLED
    return STOP_MAX_ROUNDS


def _fill(side: _Side, settings: InterleaveSettings, session: str, batch_size: int,
          other_cpu_percent: float | None, stop: str) -> None:
    """The side's record as the sweep writes one, from all its rounds, plus the rounds themselves."""
    first = side.rounds[0]
    plan = settings.round_timing(first=False)
    combined = Measurement(samples_ms=[ms for m in side.rounds for ms in m.samples_ms],
                           warmup_ms=[ms for m in side.rounds for ms in m.warmup_ms], cold_ms=first.cold_ms,
                           stop=plan.stop_rule, warmup=plan.warmup, timer=first.timer,
                           stop_reason="rounds", batch_size=batch_size)
    combined.warnings.extend(stability_warnings(combined))
    side.prepared.conversion_s = side.conversion_s
    lifecycle.fill_measured(side.record, side.prepared, combined, other_cpu_percent)
    timing = side.record["timing"]
    timing["rounds"] = [len(m.samples_ms) for m in side.rounds]
    timing["interleave"] = {"session": session, "role": side.role, "order": ORDER,
                            "round_time_s": settings.round_time_s, "instances": settings.instances,
                            "model": side.model.name, "min_rounds": settings.rounds,
                            "max_rounds": settings.max_rounds, "stop": stop,
                            "stop_rule": {"tolerance": settings.stop_rule.tolerance,
                                          "alpha": settings.stop_rule.alpha}}
