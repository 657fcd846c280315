"""What a load scenario is asked to do: one frozen settings group, validated once (calib.settings' manner).

The scenarios are MLPerf Inference's four (LoadGen's TestScenario): single-stream (one query at a time,
calib's classic measurement and the default), multi-stream (N streams back to back), server (Poisson
arrivals at a target rate, latency from arrival) and offline (the most items per second, whatever
batch, streams and threads give it). `calib run --scenario` builds a ScenarioSettings; the sweep hands
it to calib.scenarios.measure for every configuration.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from calib.errors import UsageError

SINGLE_STREAM, MULTI_STREAM, SERVER, OFFLINE = "single-stream", "multi-stream", "server", "offline"
SCENARIOS = (SINGLE_STREAM, MULTI_STREAM, SERVER, OFFLINE)

DEFAULT_SEED = 20261205  # the arrival schedule's: the same command replays the same arrivals
DEFAULT_OFFLINE_BATCH_SIZES = (1, 4, 16)
# The latency percentiles every scenario reports (p99.9 only as an early-stopping estimate).
PERCENTILES = (50.0, 90.0, 99.0, 99.9)


@dataclass(frozen=True)
class ScenarioSettings:
    """One scenario's knobs. `duration_s`: the timed length of one server point, one multi-stream run,
    or one offline point (split into `blocks` equal blocks, each a sample of time per item)."""

    name: str = SINGLE_STREAM
    target_qps: float | None = None  # server: the arrival rate (with find_qps: where the search starts)
    latency_bound_ms: float | None = None  # server: the p99 bound --find-qps keeps
    find_qps: bool = False
    streams: int = 1  # multi-stream: concurrent streams; server: workers serving the queue
    seed: int = DEFAULT_SEED
    duration_s: float = 2.0
    blocks: int = 5  # offline: blocks per point
    offline_batch_sizes: tuple[int, ...] = DEFAULT_OFFLINE_BATCH_SIZES
    max_search_points: int = 8  # --find-qps: QPS points measured at most

    def __post_init__(self):
        import math

        object.__setattr__(self, "offline_batch_sizes", tuple(self.offline_batch_sizes))
        if self.name not in SCENARIOS:
            raise UsageError(f"--scenario {self.name!r}: choose from {', '.join(SCENARIOS)}")
        for flag, value in (("--target-qps", self.target_qps), ("--latency-bound-ms", self.latency_bound_ms)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise UsageError(f"{flag} {value:g}: must be a positive number")
        if self.streams < 1:
            raise UsageError(f"--streams {self.streams}: must be at least 1")
        if not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise UsageError(f"scenario duration {self.duration_s:g} s: must be positive")
        if self.blocks < 1 or self.max_search_points < 2:
            raise UsageError("offline blocks must be at least 1 and --find-qps points at least 2")
        if any(b < 1 for b in self.offline_batch_sizes) or not self.offline_batch_sizes:
            raise UsageError("offline batch sizes must be positive")
        if self.name == SERVER:
            if self.find_qps and self.latency_bound_ms is None:
                raise UsageError("--find-qps needs --latency-bound-ms: the p99 bound the highest QPS must keep")
            if not self.find_qps and self.target_qps is None:
                raise UsageError("--scenario server needs --target-qps (or --find-qps with --latency-bound-ms)")
        elif self.find_qps or self.target_qps is not None:
            raise UsageError(f"--target-qps and --find-qps belong to --scenario server, not {self.name}")
        if self.name in (SINGLE_STREAM, OFFLINE) and self.streams != 1:
            raise UsageError(f"--streams needs --scenario multi-stream or server ({self.name} "
                             + ("searches streams itself)" if self.name == OFFLINE else "runs one stream)"))

    @property
    def single_stream(self) -> bool:
        return self.name == SINGLE_STREAM

    def to_dict(self) -> dict:
        values = asdict(self)
        values["offline_batch_sizes"] = list(self.offline_batch_sizes)
        return values


__all__ = ["SCENARIOS", "SINGLE_STREAM", "MULTI_STREAM", "SERVER", "OFFLINE", "PERCENTILES", "ScenarioSettings"]
