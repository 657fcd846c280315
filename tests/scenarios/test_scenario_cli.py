"""calib run --scenario end to end on a tiny model: real engines, tiny time limits, behaviour not speed."""

import json

import pytest
from click.testing import CliRunner

from calib.cli import main

TINY = ["-m", "tiny-cnn", "-p", "fp32", "--timeout", "0", "--no-tune", "-q", "--scenario-time", "0.2"]


def _run(tmp_path, *args):
    out = tmp_path / "run.json"
    result = CliRunner().invoke(main, ["run", *TINY, "--out", str(out), *args])
    return result, (json.loads(out.read_text()) if out.exists() else None)


def test_offline_searches_and_keeps_every_point(tmp_path):
    result, payload = _run(tmp_path, "--scenario", "offline", "-b", "onnxruntime", "--batch-size", "1,2")
    assert result.exit_code == 0, result.output
    record = payload["records"][0]
    section = record["scenario"]
    assert record["identity"]["batch_size"] == 1  # offline records are per item
    points = section["search"]["points"]
    assert {(p["batch_size"], p["streams"]) for p in points} >= {(1, 1), (2, 1)}
    assert all(p["throughput_per_s"] > 0 for p in points if not p["error"])
    best = max((p for p in points if not p["error"]), key=lambda p: p["throughput_per_s"])
    assert section["best"]["throughput_per_s"] == best["throughput_per_s"]
    assert section["headline"]["better"] == "higher" and section["headline"]["unit"] == "items/s"
    assert len(record["timing"]["samples_ms"]) == section["settings"]["blocks"]
    assert "items/s" in result.output and "offline" in result.output


def test_server_measures_from_arrival_with_two_workers(tmp_path):
    result, payload = _run(tmp_path, "--scenario", "server", "--target-qps", "200", "--streams", "2",
                           "-b", "openvino")
    assert result.exit_code == 0, result.output
    record = payload["records"][0]
    served = record["scenario"]["server"]
    latencies, service = record["timing"]["samples_ms"], served["service_ms"]
    assert len(latencies) == served["queries"] == len(service) > 0
    # from arrival: never shorter than the service itself
    assert all(total >= own - 1e-6 for total, own in zip(latencies, service))
    assert record["scenario"]["threads_per_stream"] == 1
    assert record["scenario"]["streams_backend_info"]["compiled_properties"]["NUM_STREAMS"] == 2
    assert "p99 latency" in result.output or "server" in result.output


@pytest.mark.parametrize("args, message", [
    (["--scenario", "server"], "--target-qps"),
    (["--scenario", "server", "--find-qps"], "--latency-bound-ms"),
    (["--target-qps", "10"], "--scenario server"),
    (["--scenario", "offline", "--streams", "2"], "searches streams"),
    (["--scenario", "server", "--target-qps", "-3"], "positive"),
])
def test_bad_scenario_options_are_one_line_errors(tmp_path, args, message):
    result, payload = _run(tmp_path, "-b", "torch", *args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert payload is None


def test_a_server_run_is_its_own_series_in_the_store(tmp_path):
    """The store's configuration key carries the scenario: a server p99 never joins the single-stream medians
    of the same configuration in `calib history` or the history gate."""
    from calib.store import open_existing
    from calib.store.history import build_series

    store = f"sqlite:///{tmp_path / 'calib.db'}"
    for extra in ([], ["--scenario", "server", "--target-qps", "100"]):
        result = CliRunner().invoke(main, ["run", *TINY, "-b", "onnxruntime", "--results-dir", str(tmp_path),
                                           "--store", store, *extra])
        assert result.exit_code == 0, result.output
    series = build_series(open_existing(store))
    assert sorted(s.label.rsplit(" · ", 1)[-1] for s in series) == ["1x3x32x32", "1x3x32x32 (server 100 qps)"]
    assert len({s.config_key for s in series}) == 2
