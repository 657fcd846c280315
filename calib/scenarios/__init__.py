"""Load scenarios (issue 28): single-stream, multi-stream, server and offline, as MLPerf Inference
names them. settings (what was asked), arrivals and clock (when queries come, injectable), workers
and streams (N calls in flight), server (latency from arrival, --find-qps), offline (the search),
early_stopping and percentiles (the tail a run can claim), measure (the sweep's entry) and headline
(what check, compare and report judge). Nothing here imports an engine: a scenario drives whatever
calls the prepared model offers.
"""

from calib.scenarios.settings import OFFLINE, MULTI_STREAM, SCENARIOS, SERVER, SINGLE_STREAM, ScenarioSettings

__all__ = ["SCENARIOS", "SINGLE_STREAM", "MULTI_STREAM", "SERVER", "OFFLINE", "ScenarioSettings"]
