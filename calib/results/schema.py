"""The results file format. One JSON object per `calib run` invocation:

{
  "schema_version": 2, "calib_version": "...", "created": ISO-8601, "command": [argv...],
  "complete": false until the run finished normally, then true (ResultWriter.finish());
              absent in files written before it: unknown (calib.results.store.run_complete),
  "environment": {...calib.environment.capture()...},
  "device_report": {...calib.hardware report, as `calib device --json`...},
  "records": [ one record per configuration, see below ],
  the results store's part (calib.store; absent in files written before it):
  "run_id": the run's stable identity (a store files a run once, whoever pushes it),
  "device_class": the kind of device (--device-class, CALIB_DEVICE_CLASS, else from the hardware),
  "git": {"commit", "branch"} the run measured (--commit/--branch, the CI's variables, else git)
}

A record (read and written by calib.results.record.Record.from_json / to_json):
  "identity": {"model", "backend", "precision", "batch_size", "input_shape", "device"}
  "status": "ok" | "skipped" | "failed";  "reason": str | null
  "storage_dtype", "compute_dtype", "verdict": {"status", "evidence"} | null
  "model_weights": "random" (catalog, seeded init) | "trained" (shipped) | "user" (a file)
  "timing": {"settings": {warm-up and stop rule: "stop_rule": "ci_target" with TimingSettings'
                          fields, or "fixed_time" with "time_s"}, "timer": str, "stop_reason": str,
             "samples_ms": [...raw...], "warmup_ms": [...], "cold_ms": float,
             "page_faults_per_call": the process's minor page faults per timed call, or null (no count),
             only from `calib ab`: "rounds": [samples per round, in order],
             "interleave": {"session", "role", "order", "round_time_s", "instances", "model",
                            "min_rounds", "max_rounds", "stop": "settled" | "max rounds",
                            "stop_rule": {"tolerance", "alpha"}}}  (calib.interleave)
  "summary": {...derived from samples_ms, for readers; code recomputes it...}
  "conversion_s": float, "memory": {"peak_rss_bytes", "cuda_max_allocated_bytes", "model_size_bytes"}
  "backend_info": {...what the backend did: int8 engine and calibration, ORT providers and
                   threads, compile time...}, "warnings": [...]
  "layers": per-layer table (calib.layers.table.finish_table) | null
  "fidelity": accuracy against the fp32 reference (calib.fidelity) | null
  "backend_choice": {"requested": "auto", "picked", "why"}  (only with --backend auto)
  "traceback": str  (only for status "failed" with an exception; a timeout or a lost worker has none)
  "other_cpu_percent": percent of one core other processes used during the timing (a warning above 25)
  "scenario": (schema 2; only with `calib run --scenario` other than single-stream, calib.scenarios)
              {"name": "multi-stream" | "server" | "offline", "settings": ScenarioSettings' fields,
               "headline": {"metric", "value", "unit", "better": "higher" | "lower", "note"},
               "percentiles": {"p50", "p90", "p99": ms, "p99_es", "p99.9": MLPerf early-stopping
                               estimates {"value" | null, "queries", "min_queries", "discarded", "rule", ...}},
               multi-stream and server with N streams: "threads_per_stream", "streams_backend_info"
               (what the N-stream model was compiled with); multi-stream: "streams", "queries",
               "per_stream", "span_s", "queries_per_s";
               server: "server": {the measured rate's "target_qps", "achieved_qps", "queries", "p99_ms",
                                  "p99_source", "passed", "percentiles", "service_ms"},
                       with --find-qps "search": {"latency_bound_ms", "max_qps", "points": [every rate]};
               offline: "best": {"batch_size", "streams", "threads_per_stream", "throughput_per_s"},
                        "search": {"best", "points": [every point with its "per_item_ms" or "error"]},
                        "query_percentiles"}
              Its timing.samples_ms are the scenario's own lower-is-better times: every query's latency
              (multi-stream), from its scheduled arrival (server), the best point's ms per item per
              block (offline; the identity's batch_size is then 1, the batch found is in "best").
  "energy": (schema 2, calib.energy) over the timed region: {"counter", "method": "counter" |
            "sampled power", "joules", "seconds", "items", "calls", "joules_per_item", "avg_power_w",
            "idle_power_w" (a quiet window just before), "idle_window_s", "joules_per_item_above_idle",
            "warning"?, "per_item_reason"? (--scenario: items not counted, per-item figures null)}, or
            {"value": null, "reason": "no RAPL counters on this VM (...)"} where no counter covers the device
  "busy_check": (schema 2, calib.hardware.busy) what was seen just before the timing: {"mode": --busy,
            "busy", "other_cpu_percent" (over the idle window; null without an energy counter: the timing's
            own is "other_cpu_percent"), "gpu_processes": [{"pid", "name", "used_bytes"}] | null,
            "gpu_reason", "waited_s"}
  "cuda_split": (schema 2; CUDA devices, calib.timing.cuda_split) a separate pass after the timing:
            {"h2d_median_ms", "compute_median_ms", "d2h_median_ms", "host_median_ms", "enqueue_median_ms",
             "input_bytes", "output_bytes", "iterations", "samples_ms": {part: [...]}} or
            {"value": null, "reason"}

Version history:
  1: first version. Optional fields added since, which readers of 1 may ignore: "other_cpu_percent",
     timing "rounds"/"interleave" (calib ab), and in "interleave" the adaptive-round fields
     "min_rounds", "max_rounds", "stop", "stop_rule"; the top-level "complete" (a reader treats
     its absence as unknown; `calib check` calls a current file whose "complete" is false
     inconclusive, exit 3, unless --allow-missing); "model_weights"; timing.settings "stop_rule"
     (absent: "ci_target") and, for "fixed_time", "time_s"; the header's "run_id", "device_class" and
     "git" (calib.store).
  2: a record may hold "scenario" (calib run --scenario; above), whose timing.samples_ms are not
     one call each; a reader of 1 would misread them as single-stream latencies, hence the bump.
     Files of version 1 read unchanged (no "scenario": single-stream). Added in the same version:
     the record's "energy", "busy_check" and "cuda_split" parts (calib.energy, calib.hardware.busy,
     calib.timing.cuda_split).
"""

from __future__ import annotations

from calib.configuration import FIELDS, Configuration
from calib.timing.stats import Summary, summarize

SCHEMA_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)

IDENTITY_FIELDS = FIELDS  # a record's "identity" is a calib.configuration.Configuration


def identity(record) -> tuple:
    """Hashable identity of a configuration, used to align records across files (a stored dict or a
    calib.results.record.Record)."""
    return _configuration(record).key


def identity_label(record) -> str:
    return _configuration(record).label


def summary_of(record) -> Summary | None:
    """Statistics recomputed from the raw samples (the truth), or None when nothing ran. Readers of
    stored files use calib.results.record.Record.summary; this serves code that still holds dicts."""
    if not isinstance(record, dict):
        return record.summary
    timing = record.get("timing") or {}
    samples = timing.get("samples_ms") or []
    if record.get("status") != "ok" or not samples:
        return None
    return summarize(samples, record["identity"].get("batch_size", 1))


def _configuration(record) -> Configuration:
    return Configuration.of(record) if isinstance(record, dict) else record.identity
