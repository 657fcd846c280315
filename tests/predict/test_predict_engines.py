"""Per-engine prediction: kernels read from the engine's own graph (a conv+bn+relu block is one kernel in
OpenVINO and in ONNX Runtime), a kernel the table never saw is reported unpredictable with its FLOP share,
a table of one engine is refused for another, the interval is split-conformal, and a whole
calibrate -> predict --check round trip runs on OpenVINO."""

import json
import math
import statistics

import pytest

from calib.cli import main
from calib.models.base import LoadedModel
from calib.predict.cost_model import ModelSample, Sample, conformal_interval, fit_cost_model, fit_predictor
from calib.predict.engine_calibrate import knowledge_gap
from calib.predict.openvino_kernels import kernel_rows
from calib.predict.table import TableMismatch, load_view, predictor_of
from calib.results.store import ResultWriter
from tests.door_checks import one_line_error


def _conv_bn_relu():
    import torch

    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Conv2d(16, 16, 3, padding=1), torch.nn.BatchNorm2d(16),
                                 torch.nn.ReLU()).eval()
    return LoadedModel("conv-bn-relu", module, "image", (16, 16, 16), source="test", weights="random")


def test_openvino_reads_conv_bn_relu_as_one_fused_kernel(onnx_cache):
    from calib.predict.openvino_kernels import OpenVinoModel

    rows = OpenVinoModel(_conv_bn_relu(), "fp32", 1, 1).graph().rows
    heavy = [row for row in rows if row["target"] not in ("Reorder",)]
    assert [row["target"] for row in heavy] == ["Convolution"], rows  # no BatchNorm, no ReLU kernel of their own
    conv = heavy[0]
    assert "Relu" in conv["fused"] and conv["cost_keys"][0].endswith("+Relu")
    assert conv["cost_keys"][-1] == "kind:ov:Convolution:f32"
    assert conv["flops"] == 2 * 16 * 16 * 16 * 16 * 9 and conv["output_shape"] == "1x16x16x16"


def test_onnxruntime_reads_conv_bn_relu_as_one_fused_kernel(onnx_cache):
    from calib.predict.onnxruntime_kernels import OrtModel

    compiled = OrtModel(_conv_bn_relu(), "fp32", 2, 1)
    rows = compiled.graph().rows
    convs = [row for row in rows if row["op_kind"] == "conv"]
    assert len(convs) == 1 and convs[0]["fused"].startswith("Relu"), rows
    assert not [row for row in rows if row["target"] in ("BatchNormalization", "Relu")]
    assert convs[0]["output_shape"] == "2x16x16x16"
    compiled.close()


def test_kernel_rows_leave_out_what_does_not_run_and_key_by_kernel_and_fusion():
    layers = [
        {"name": "x", "type": "Input", "precision": "f32", "kernel": "unknown_f32", "input_shapes": [],
         "output_shape": [1, 8, 4, 4]},
        {"name": "conv", "type": "Convolution", "precision": "bf16", "kernel": "brgconv_avx512_amx_bf16",
         "input_shapes": [[1, 8, 4, 4], [8, 8, 1, 1]], "output_shape": [1, 8, 4, 4], "fused": ("conv", "add", "relu")},
        {"name": "shape", "type": "Reshape", "precision": "bf16", "kernel": "unknown_bf16",
         "input_shapes": [[1, 8, 4, 4]], "output_shape": [1, 128]},
    ]
    rows = kernel_rows(layers, {"conv": "Convolution", "add": "Add", "relu": "Relu"})
    assert [row["name"] for row in rows] == ["conv"]
    assert rows[0]["cost_keys"] == ["ov:Convolution:brgconv_avx512_amx_bf16+Add+Relu",
                                    "ov:Convolution:brgconv_avx512_amx_bf16", "kind:ov:Convolution:bf16"]
    assert rows[0]["bytes"] == 2 * (128 + 64 + 128)


def _reorder(name, shape, before, after, source_type="Convolution", constant=False, source_precision="f32",
             precision="f32"):
    return {"name": name, "type": "Reorder", "precision": precision, "kernel": f"reorder_{precision}",
            "input_shapes": [shape], "output_shape": shape, "layout": after, "output_precision": precision,
            "source": {"type": source_type, "constant": constant, "layout": before, "precision": source_precision}}


def test_reorders_the_plugin_does_in_place_or_at_compile_time_are_not_kernels():
    from calib.predict.openvino_kernels import runs_per_call

    kept = [_reorder("spatial", [1, 16, 7, 7], "acdb", "abcd"), _reorder("blocked", [1, 16, 1, 1], "aBcd16b", "abcd"),
            _reorder("to-bf16", [1, 16, 1, 1], "acdb", "abcd", precision="bf16")]
    dropped = [_reorder("squeeze-excite", [4, 96, 1, 1], "acdb", "abcd"),
               _reorder("weights", [1, 64, 3, 3], "abcd", "acdb", source_type="Reshape", constant=True)]
    assert [runs_per_call(layer) for layer in kept + dropped] == [True] * 3 + [False] * 2
    assert [row["name"] for row in kernel_rows(kept + dropped, {})] == ["spatial", "blocked", "to-bf16"]


def _squeeze_excite():
    import torch

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = torch.nn.BatchNorm2d(16)  # before a ReLU: its scale and shift stay constants of their own
            self.conv = torch.nn.Conv2d(16, 32, 3, padding=1)
            self.fc1, self.fc2 = torch.nn.Conv2d(32, 8, 1), torch.nn.Conv2d(8, 32, 1)

        def forward(self, x):
            y = self.conv(torch.relu(self.norm(x)))
            scale = torch.nn.functional.hardsigmoid(self.fc2(torch.relu(self.fc1(y.mean((2, 3), keepdim=True)))))
            return y * scale

    torch.manual_seed(0)
    return LoadedModel("squeeze-excite", Block().eval(), "image", (16, 28, 28), source="test", weights="random")


def test_the_kernel_graph_holds_what_perf_count_says_ran(onnx_cache):
    """Compiled, not run, the graph must list the kernels PERF_COUNT reports executed, no more (the
    squeeze-excite vector's in-place reorders and the weights' compile-time ones) and no fewer."""
    from calib.backends.openvino_profile import profiling_entries
    from calib.predict.openvino_kernels import OpenVinoModel

    compiled = OpenVinoModel(_squeeze_excite(), "fp32", 2, 1)
    graph = {row["name"] for row in compiled.graph().rows}
    request = compiled._request(compiled._compile(True))
    request.infer()
    executed = {entry["name"] for entry in profiling_entries(request) if entry["executed"]
                and entry["type"] not in ("Input", "Output", "Parameter", "Result", "Const")}
    assert graph == executed


def _row(name, key, flops, ms=None, kind="conv"):
    row = {"name": name, "op_kind": kind, "target": key, "output_shape": "1x8x8x8", "flops": flops,
           "bytes": flops // 4, "cost_keys": [f"ov:{key}:k", f"kind:ov:{key}:f32"]}
    return {**row, "median_ms": ms} if ms is not None else row


def test_a_kernel_the_table_never_saw_is_unpredictable_with_its_flop_share():
    samples = [Sample.of(_row(f"c{i}", "Convolution", 1000 * (i + 1), 0.01 * (i + 1)), "isolated") for i in range(6)]
    predictor = fit_predictor(samples, [])
    prediction = predictor.predict([_row("c", "Convolution", 3000), _row("up", "Interpolate", 1000, kind="other")])
    seen, unseen = prediction.nodes
    assert seen.costed and seen.predicted_ms > 0
    assert not unseen.costed and "unpredictable" in unseen.note and unseen.predicted_ms > 0  # a floor, not zero
    assert not prediction.complete
    assert prediction.unpredictable_flop_share == pytest.approx(0.25)


def _table(tmp_path, backend):
    path = tmp_path / f"{backend}.json"
    writer = ResultWriter(path, {"cpu_model": "Test CPU", "threads": 1}, None, command=["test"])
    writer.payload["calibration"] = {"table_version": 1, "device": "cpu", "device_name": "Test CPU",
                                     "backend": backend, "threads": 1,
                                     "tables": {"fp32": {"precision": "fp32", "emulated": False, "ops": []}}}
    writer.finish()
    return path


def test_a_table_of_one_engine_is_refused_for_another(tmp_path, runner):
    path = _table(tmp_path, "openvino")
    assert load_view(path, "fp32", "cpu", "openvino").backend == "openvino"
    with pytest.raises(TableMismatch, match="describes the openvino engine, not torch") as caught:
        load_view(path, "fp32", "cpu", "torch")
    assert caught.value.exit_code == 2
    result = runner.invoke(main, ["predict", "-t", str(path), "-m", "tiny-cnn", "-p", "fp32", "-b", "onnxruntime",
                                  "--out", str(tmp_path / "p.json")])
    one_line_error(result, "openvino engine, not onnxruntime", "calib calibrate --backend onnxruntime")


def test_conformal_interval_takes_the_held_out_rank_and_widens_when_there_are_few():
    errors = [0.01 * i for i in range(1, 20)]  # 19 held-out errors: rank ceil(20 * 0.9) = 18
    low, high = conformal_interval(errors, models=10)
    assert (low, high) == (pytest.approx(-0.18), pytest.approx(0.18))
    inside = sum(1 for e in errors if low <= e <= high) / len(errors)
    assert inside >= 0.9
    assert conformal_interval([0.05, -0.02], models=2) == (pytest.approx(-0.25), pytest.approx(0.25))
    assert conformal_interval([0.05, -0.2, 0.1], models=3)[1] == pytest.approx(0.3)  # too few for the rank


def test_the_next_calibration_model_is_the_one_the_table_knows_worst():
    measured = [ModelSample("a", 1, 1.0, tuple(_row(f"c{i}", "Convolution", 1000 * (i + 1), 0.01 * (i + 1))
                                               for i in range(6)))]
    known = [_row("c", "Convolution", 2500)]
    novel = [_row("c", "Convolution", 2500), _row("p", "Pooling", 100, kind="pooling")]
    assert knowledge_gap(novel, measured) > knowledge_gap(known, measured)
    assert knowledge_gap(novel, []) == 1.0


def test_calibrate_and_predict_check_on_openvino(tmp_path, runner, onnx_cache):
    table = tmp_path / "ov.json"
    result = runner.invoke(main, ["calibrate", "-b", "openvino", "-p", "fp32", "--quick", "--threads", "1",
                                  "--revisits", "1", "--out", str(table), "-q"])
    assert result.exit_code == 0, result.output
    assert "kernels timed" in result.output
    payload = json.loads(table.read_text())
    section = payload["calibration"]
    # each model timed again in a fresh process by the engine, as torch's: priced at the median process, its
    # kernels scaled with it, and the processes' spread is the table's drift
    revisited = [r for r in payload["records"] if r["status"] == "ok"]
    assert revisited and all(len(r["revisits_ms"]) == 1 and r["revisits_ms"][0] > 0 for r in revisited)
    view = load_view(table, "fp32", "cpu", "openvino")
    by_config = {(s.model, s.batch_size): s for s in view.models}
    for record in revisited:
        first = record["summary"]["median_ms"]
        median = statistics.median([first, *record["revisits_ms"]])
        sample = by_config[(record["identity"]["model"], record["identity"]["batch_size"])]
        assert sample.end_to_end_ms == pytest.approx(median)
        for row, priced in zip(record["layers"]["layers"], sample.rows):
            assert priced.get("median_ms") == pytest.approx(row["median_ms"] * median / first
                                                            if row.get("median_ms") else row.get("median_ms"))
    assert len(view.drift) == 2 * len(revisited)
    assert predictor_of(view).overhead_ms == 0.0  # a factor alone (calib.predict.cost_model.fit_predictor)
    assert section["backend"] == "openvino" and section["tables"]["fp32"]["kernel_samples"] > 0
    assert section["tables"]["fp32"]["selection"][0]["model"] == "tiny-cnn"
    pulses = section["tables"]["fp32"]["speed_pulses_ms"]  # one per calibration model, one at the end
    assert len(pulses) == len(section["tables"]["fp32"]["selection"]) + 1 and min(pulses) > 0
    out = tmp_path / "p.json"
    result = runner.invoke(main, ["predict", "-t", str(table), "-m", "tiny-cnn", "-p", "fp32", "--check", "--pulse",
                                  "--layers", "--max-time", "0.2", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())["records"][0]
    assert record["identity"]["backend"] == "openvino" and record["status"] == "ok"
    prediction = record["prediction"]
    assert prediction["method"] == "openvino-runtime-model" and prediction["complete"]
    assert math.isfinite(prediction["predicted_ms"]) and record["summary"]["median_ms"] > 0
    speed = prediction["speed"]  # the same machine: scaled by its pulse now against the table's
    assert speed["applied"] and speed["pulse_ms"] > 0
    assert prediction["predicted_ms"] == pytest.approx(prediction["unscaled_ms"] * speed["scale"])
    assert "speed: the pulse took" in result.output
    # --layers: the engine's own profile of the kernels the prediction costed, every one joined by name
    compared = prediction["layers_compared"]
    assert record["layers"]["method"] == "openvino-kernels"
    assert compared["matched"] == prediction["nodes"] and compared["predicted_only"] == 0
    assert compared["measured_ms"] > 0 and compared["factor"] == pytest.approx(prediction["factor"] * speed["scale"])

    # a layer type tiny-cnn's table never saw (OpenVINO's Interpolate kernel): unpredictable, with its FLOP share
    import torch

    from calib.predict.predictor import predict_record

    upsampling = LoadedModel("upsampling", torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1),
                                                               torch.nn.Upsample(scale_factor=2)).eval(),
                             "image", (3, 16, 16), source="test", weights="random")
    view = load_view(table, "fp32", "cpu", "openvino")
    record, _ = predict_record(upsampling, view, predictor_of(view), 1, None)
    incomplete = record["prediction"]
    assert not incomplete["complete"] and 0 < incomplete["unpredictable_flop_share"] < 1
    assert any(node["key"].startswith("ov:Interpolate") for node in incomplete["uncosted"])
    assert incomplete["predicted_ms"] > 0


def test_an_engine_precision_it_cannot_run_is_refused_in_one_line(tmp_path, runner):
    result = runner.invoke(main, ["calibrate", "-b", "onnxruntime", "-p", "bf16", "--quick",
                                  "--out", str(tmp_path / "t.json")])
    one_line_error(result, "an onnxruntime table covers fp32, int8-static")


def test_whole_model_map_recovers_a_per_inference_overhead_and_factor():
    from calib.predict.cost_model import whole_model_map

    held_out = [{"model": f"m{i}", "batch_size": 1, "node_sum_ms": s, "measured_ms": 0.2 + 1.1 * s}
                for i, s in enumerate((0.5, 1.0, 4.0, 10.0, 30.0))]
    overhead, factor = whole_model_map(held_out)
    assert overhead == pytest.approx(0.2, rel=1e-3) and factor == pytest.approx(1.1, rel=1e-3)
    assert whole_model_map(held_out[:2]) == (0.0, pytest.approx(math.sqrt((0.75 / 0.5) * (1.3 / 1.0))))


def test_whole_model_map_is_not_pulled_low_by_spread_or_one_bad_model():
    """Held-out node sums 2x over and 2x under alternately: the factor is 1 (least squares on relative error gave
    sum(x) / sum(x^2) = 0.59, every prediction low); one 3x over-predicted model among exact ones moves it little."""
    from calib.predict.cost_model import whole_model_map

    def held(ratios):
        return [{"model": f"m{i}", "batch_size": 1, "node_sum_ms": s, "measured_ms": s * r}
                for i, (s, r) in enumerate(zip((1.0, 2.0, 4.0, 8.0, 16.0, 32.0), ratios))]

    overhead, factor = whole_model_map(held((0.5, 2.0) * 3))
    assert overhead < 0.05 and factor == pytest.approx(1.0, rel=0.05)
    overhead, factor = whole_model_map(held((1.0,) * 5 + (0.33,)))
    assert factor == pytest.approx(1.0, rel=0.05)


def test_from_another_table_its_kernels_join_scaled_and_another_engine_is_refused(tmp_path, runner, onnx_cache):
    from calib.predict.predictor import predict_record
    from calib.predict.models import load_named

    source, target = tmp_path / "source.json", tmp_path / "target.json"
    common = ["calibrate", "-b", "openvino", "-p", "fp32", "--threads", "1", "--batch-size", "1", "-q"]
    assert runner.invoke(main, [*common, "-m", "tiny-cnn", "--out", str(source)]).exit_code == 0
    result = runner.invoke(main, [*common, "-m", "tiny-mlp", "--from", str(source), "--out", str(target)])
    assert result.exit_code == 0, result.output
    table = json.loads(target.read_text())["calibration"]["tables"]["fp32"]
    assert table["transfer"]["rows"] == len(table["ops"]) > 0 and table["transfer"]["overall_ratio"] > 0
    assert all(row["source"].startswith("transfer:") for row in table["ops"])
    view = load_view(target, "fp32", "cpu", "openvino")
    record, _ = predict_record(load_named("tiny-cnn"), view, predictor_of(view), 1, None)
    assert record["prediction"]["complete"]  # its conv kernels were measured on the source only

    torch_table = _table(tmp_path, "torch")
    result = runner.invoke(main, [*common, "-m", "tiny-mlp", "--from", str(torch_table),
                                  "--out", str(tmp_path / "t.json")])
    one_line_error(result, "a torch table; an openvino table transfers only from openvino's")


def test_tables_map_by_a_factor_alone():
    """No table's map fits a per-inference overhead: torch's rows hold each module's dispatch, and an engine's
    call costs under 0.03 ms beyond its kernels, where a fitted one (0.26 ms, OpenVINO fp32) put every small
    unseen model at batch 1 24-45% over. The factor alone still recovers a scale from held-out models that
    carry an overhead."""
    from calib.predict.cost_model import whole_model_map

    held_out = [{"model": f"m{i}", "batch_size": 1, "node_sum_ms": s, "measured_ms": 0.2 + 1.1 * s}
                for i, s in enumerate((0.5, 1.0, 4.0, 10.0, 30.0))]
    overhead, factor = whole_model_map(held_out, per_call=False)
    assert overhead == 0.0 and 1.1 < factor < 1.1 + 0.2 / 0.5


class _Profiles:
    """The retake rule alone: profiled_rows hands out the given kernel sums in turn (no engine, nothing timed)."""

    def __init__(self, *sums):
        self.sums, self.calls = list(sums), 0

    def profiled_rows(self, end_to_end_ms):
        total = self.sums[min(self.calls, len(self.sums) - 1)]
        self.calls += 1
        return [{"name": "a", "median_ms": total / 4}, {"name": "b", "median_ms": 3 * total / 4},
                {"name": "folded", "median_ms": None}], {"coverage": total / end_to_end_ms}


def test_a_disturbed_kernel_profile_is_taken_again_and_an_openvino_one_scaled_to_the_end_to_end():
    from calib.predict.engines import PROFILE_RETAKES, steady_profile

    steady = _Profiles(10.5)  # within 20% of the 10 ms end-to-end: one pass
    rows, profile = steady_profile(steady, 10.0, "openvino")
    assert steady.calls == 1 and profile["passes"] == 1 and "scaled_from_ms" not in profile
    assert sum(row["median_ms"] or 0 for row in rows) == pytest.approx(10.5)
    settles = _Profiles(18.6, 10.2)  # the machine slowed between timing and profile, then came back
    rows, profile = steady_profile(settles, 10.0, "openvino")
    assert settles.calls == 2 and profile["passes"] == 2 and profile["coverage"] == pytest.approx(1.02)
    stays = _Profiles(18.6, 15.0, 16.0)  # never came back: the closest pass, its rows scaled to the end-to-end
    rows, profile = steady_profile(stays, 10.0, "openvino")
    assert stays.calls == 1 + PROFILE_RETAKES and profile["scaled_from_ms"] == pytest.approx(15.0)
    assert [row["median_ms"] for row in rows] == pytest.approx([2.5, 7.5, None])
    onnx = _Profiles(18.6, 15.0, 16.0)  # ONNX Runtime's node events need not sum to its end-to-end: not scaled
    rows, profile = steady_profile(onnx, 10.0, "onnxruntime")
    assert "scaled_from_ms" not in profile and sum(row["median_ms"] or 0 for row in rows) == pytest.approx(15.0)
