"""Candidates, measured (calib.tuning): the race with a seeded fake clock, the pick's rules, and the
real candidates of the torch and ONNX Runtime backends."""

import json

import pytest

from calib.cli import main
from calib.configuration import Configuration
from calib.models.loader import load_model
from calib.results.store import load_result
from calib.settings import TuneSettings
from calib.timing.clock import FakeTimer
from calib.tuning import Entry, pick, prepare_tuned, race
from run_configs import run_config


def _entries(*medians_ms):
    return [Entry(f"c{index}", lambda: None, FakeTimer(median_ns=ms * 1e6, rel_noise=0.01, seed=index))
            for index, ms in enumerate(medians_ms)]


def test_race_times_every_candidate_each_round_and_the_fastest_wins():
    entries = _entries(2.0, 1.0, 3.0)
    race(entries, TuneSettings(budget_s=0.3, rounds=4))
    assert [len(e.rounds_ms) for e in entries] == [4, 4, 4]
    assert entries[1].median_ms == pytest.approx(1.0, rel=0.05)
    winner, why = pick(entries)
    assert winner.name == "c1" and "x faster than the rule's choice c0" in why


def test_a_faster_candidate_with_worse_outputs_or_non_finite_ones_loses():
    entries = _entries(2.0, 1.0, 0.5)
    race(entries, TuneSettings(budget_s=0.3, rounds=2))
    entries[0].cosine, entries[1].cosine, entries[2].cosine = 0.99999, 0.98, 0.99999
    entries[2].finite = False
    winner, why = pick(entries)
    assert winner.name == "c0" and "rule's choice" in why


def test_a_gain_within_noise_keeps_the_rules_choice_and_a_failing_candidate_is_out():
    entries = _entries(1.0, 0.99)
    race(entries, TuneSettings(budget_s=0.2, rounds=2))
    winner, why = pick(entries)
    assert winner.name == "c0" and "within noise" in why

    def broken():
        raise RuntimeError("view size is not compatible")

    entries = _entries(2.0, 1.0)
    entries[1].run = broken
    race(entries, TuneSettings(budget_s=0.2, rounds=2))
    assert entries[1].failed.startswith("RuntimeError: view size") and not entries[1].rounds_ms
    assert pick(entries)[0].name == "c0"


def test_a_configuration_whose_every_candidate_fails_to_run_fails_with_each_reason():
    import torch

    from calib.models.loader import LoadedModel
    from calib.tuning import CandidatesFailed

    class FailsWhenCalled(torch.nn.Module):  # builds in every memory format, runs in none
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)

        def forward(self, x):
            raise RuntimeError("view size is not compatible")

    from calib.fidelity.assess import CPU_FAMILY, References
    from calib.models.loader import SEED

    model = LoadedModel("fails", FailsWhenCalled().eval(), "image", (3, 8, 8), "test")
    references = References()  # the fp32 reference as if computed before (the sweep's cache)
    references.keep_seeded(CPU_FAMILY, 1, SEED, [torch.zeros(1, 4, 6, 6)])
    with pytest.raises(CandidatesFailed, match="contiguous: RuntimeError: view size.*channels_last: RuntimeError"):
        prepare_tuned(model, _configuration(model), run_config("fp32"), TuneSettings(budget_s=0.2, rounds=2),
                      references)


def _configuration(model, precision="fp32", backend="torch"):
    return Configuration(model.name, backend, precision, 1, (1, *model.item_shape), "cpu")


def test_torch_memory_format_candidates_are_both_measured_and_recorded():
    model = load_model("tiny-cnn")
    prepared, tuning = prepare_tuned(model, _configuration(model), run_config("fp32"),
                                     TuneSettings(budget_s=0.2, rounds=2))
    with prepared:
        assert [c["name"] for c in tuning["candidates"]] == ["contiguous", "channels_last"]
        assert all(c["median_ms"] > 0 and c["rounds"] == 2 for c in tuning["candidates"])
        assert prepared.info["candidate"] == tuning["picked"] and tuning["rule_first"] == "contiguous"
        assert all(c["cosine_vs_fp32"] > 0.999 for c in tuning["candidates"])


def test_no_tune_takes_the_rules_first_and_a_pin_takes_its_candidate():
    model = load_model("tiny-cnn")
    prepared, tuning = prepare_tuned(model, _configuration(model), run_config("fp32"), TuneSettings(enabled=False))
    with prepared:
        assert tuning is None and prepared.info["candidate"] == "contiguous"
    prepared, tuning = prepare_tuned(model, _configuration(model), run_config("fp32"),
                                     TuneSettings(pin="channels_last"))
    with prepared:
        assert prepared.info["candidate"] == "channels_last" and prepared.info["memory_format"] == "channels_last"
    mlp = load_model("tiny-mlp")  # no 4-D input: nothing to choose, nothing recorded
    prepared, tuning = prepare_tuned(mlp, _configuration(mlp), run_config("fp32"), TuneSettings())
    with prepared:
        assert tuning is None


def test_onnxruntime_int8_types_are_candidates_with_the_rule_table_first():
    pytest.importorskip("onnxruntime")
    from calib.backends import onnx_convert, onnxruntime

    model = load_model("tiny-cnn")
    listed = onnxruntime.candidates(model, run_config("int8-static"))
    first = onnx_convert.rule_int8_types("cpu").types
    other = "s8s8" if first == "u8s8" else "u8s8"
    assert [name for name, _ in listed] == [first, f"{first}-entropy", f"{first}-percentile", other]
    assert all(config.int8.ort_types == name.split("-")[0] for name, config in listed)
    assert onnxruntime.candidates(model, run_config("fp32")) == [("default", run_config("fp32"))]


def test_run_shows_the_tuning_and_a_pinned_candidate_is_recorded(runner, fast_options, tmp_path):
    fast_options.remove("--no-tune")  # this one races
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "-v", "-b", "torch", "-m", "tiny-cnn", "--out", str(out), *fast_options])
    assert result.exit_code == 0, result.output
    assert "tuned tiny-cnn torch fp32 b1: contiguous" in result.output and "channels_last" in result.output
    record = load_result(out)["records"][0]
    assert record["tuning"]["picked"] == record["backend_info"]["candidate"]
    pinned = runner.invoke(main, ["run", "-b", "torch", "-m", "tiny-cnn", "--candidate", "channels_last", "--out", str(out),
                                  *fast_options])
    assert pinned.exit_code == 0, pinned.output
    assert load_result(out)["records"][0]["backend_info"]["candidate"] == "channels_last"


def test_the_gate_says_when_two_runs_measured_different_implementations(runner, tmp_path):
    from check.records import lognormal_samples, make_record, make_result

    paths = []
    for name, candidate in (("base", "contiguous"), ("cur", "channels_last")):
        record = make_record(lognormal_samples(1))
        record["backend_info"] = {"candidate": candidate}
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(make_result([record])))
    result = runner.invoke(main, ["check", "--baseline", str(paths[0]), "--current", str(paths[1])])
    assert "different implementations: baseline contiguous, current channels_last" in result.output


def test_a_candidate_that_computed_another_precision_is_not_eligible():
    """OpenVINO's bf16 hint dropped on a CPU without bf16 runs f32: faster, but not a bf16 measurement."""
    entries = _entries(2.0, 1.0)
    entries[1].computed = "float32"
    race(entries, TuneSettings(budget_s=0.2, rounds=2))
    winner, why = pick(entries)
    assert winner.name == "c0" and "c1 was faster but is out: computed float32, not the precision asked for" in why


def test_adopt_engine_names_the_winner_in_the_identity_and_keeps_the_rules_pick():
    from calib.tuning import adopt_engine

    model = load_model("tiny-cnn")
    configuration = _configuration(model, backend="onnxruntime")
    record = {"identity": configuration.to_identity(),
              "backend_choice": {"requested": "auto", "picked": "onnxruntime", "why": "the rule"}}
    tuning = {"engine": "openvino", "engines": ["onnxruntime", "torch", "openvino"], "why": "openvino ran 1.5x faster"}
    adopted = adopt_engine(record, configuration, tuning)
    assert adopted.backend == "openvino" and Configuration.of(record) == adopted
    choice = record["backend_choice"]
    assert choice["picked"] == "openvino" and choice["rule_pick"] == "onnxruntime" and choice["rule_why"] == "the rule"
    assert "measured against onnxruntime, torch, openvino" in choice["why"]
    plain = {"identity": configuration.to_identity()}  # not auto: nothing changes
    assert adopt_engine(plain, configuration, {"picked": "u8s8"}) is configuration


def _auto_configuration(model, precision):
    from calib.backends.auto import choose

    return _configuration(model, precision, backend=choose(model, precision, "cpu")[0])


def test_auto_races_every_engine_and_records_each_median():
    """Real torch, ONNX Runtime and (where installed) OpenVINO on a tiny CNN at fp32."""
    pytest.importorskip("onnxruntime")
    from calib.backends.auto import engines

    model = load_model("tiny-cnn")
    usable, _ = engines(model, "fp32", "cpu")
    configuration = _auto_configuration(model, "fp32")
    prepared, tuning = prepare_tuned(model, configuration, run_config("fp32"), TuneSettings(budget_s=0.3, rounds=2),
                                     auto=True)
    with prepared:
        assert tuning["engines"] == usable and tuning["rule_first"].split(":")[0] == configuration.backend
        backends = [c["backend"] for c in tuning["candidates"]]
        assert list(dict.fromkeys(backends)) == usable  # torch brings its two memory formats
        assert "torch:channels_last" in [c["name"] for c in tuning["candidates"]]
        assert all(c["median_ms"] > 0 and c["cosine_vs_fp32"] > 0.999 for c in tuning["candidates"])
        winner = next(c for c in tuning["candidates"] if c["name"] == tuning["picked"])
        assert tuning["engine"] == winner["backend"] and prepared.info["candidate"] == tuning["picked"]


def test_auto_without_tuning_keeps_the_rules_pick_and_a_pin_may_name_an_engine():
    pytest.importorskip("openvino")
    pytest.importorskip("onnxruntime")
    model = load_model("tiny-cnn")
    configuration = _auto_configuration(model, "fp32")
    prepared, tuning = prepare_tuned(model, configuration, run_config("fp32"), TuneSettings(enabled=False), auto=True)
    with prepared:
        assert tuning is None and "onnx_source" in prepared.info  # ONNX Runtime, the rule's pick
    prepared, tuning = prepare_tuned(model, configuration, run_config("fp32"), TuneSettings(pin="openvino"), auto=True)
    with prepared:
        assert tuning["engine"] == "openvino" and "pinned" in tuning["why"]
        assert prepared.info["compiled_properties"]["INFERENCE_PRECISION_HINT"] == "f32"


def test_run_auto_stores_the_engine_that_won(runner, fast_options, tmp_path):
    pytest.importorskip("onnxruntime")
    fast_options.remove("--no-tune")
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "-v", "-m", "tiny-cnn", "-b", "auto", "-p", "fp32",
                                  "--out", str(out), *fast_options])
    assert result.exit_code == 0, result.output
    record = load_result(out)["records"][0]
    tuning, choice = record["tuning"], record["backend_choice"]
    assert record["identity"]["backend"] == tuning["engine"] == choice["picked"] and choice["measured"]
    assert choice["requested"] == "auto" and choice["rule_pick"] == tuning["rule_first"].split(":")[0]
    for candidate in tuning["candidates"]:
        assert f"{candidate['name']} " in result.output  # every engine's median on the tuning line
    shown = runner.invoke(main, ["show", "-v", str(out)])
    assert shown.exit_code == 0 and f"tuned tiny-cnn {tuning['engine']} fp32 b1:" in shown.output


def test_with_eval_the_users_score_judges_a_candidate_not_cosine():
    """A faster candidate that cosine on random inputs would rule out wins when its --eval score is within
    the budget; one over the budget is out, and the reason names its score."""
    entries = _entries(3.0, 1.0, 0.5)
    race(entries, TuneSettings(budget_s=0.3, rounds=2))
    entries[0].cosine, entries[1].cosine, entries[2].cosine = 0.9999, 0.97, 0.9999
    entries[0].score, entries[0].score_drop = 0.90, 3.0
    entries[1].score, entries[1].score_drop = 0.93, 0.0
    entries[2].score, entries[2].score_drop = 0.40, 53.0
    winner, why = pick(entries, max_drop=1.0)
    assert winner.name == "c1"
    assert "c2 was faster but is out: score 0.4000, 53.00 points under fp32 (budget 1)" in why
    assert "the rule's choice c0 is out" in why


def test_with_eval_and_no_budget_a_candidate_must_score_as_well_as_the_rules_choice():
    entries = _entries(2.0, 1.0)
    race(entries, TuneSettings(budget_s=0.3, rounds=2))
    entries[0].score, entries[1].score = 0.95, 0.90
    winner, why = pick(entries)
    assert winner.name == "c0" and "score 0.9000 under the rule's choice's 0.9500" in why
    entries[1].score = 0.95
    assert pick(entries)[0].name == "c1"


def test_when_no_candidate_keeps_the_budget_the_best_scoring_one_is_kept_and_said():
    entries = _entries(2.0, 1.0)
    race(entries, TuneSettings(budget_s=0.3, rounds=2))
    entries[0].score, entries[0].score_drop = 0.80, 10.0
    entries[1].score, entries[1].score_drop = 0.50, 40.0
    winner, why = pick(entries, max_drop=1.0)
    assert winner.name == "c0" and "no candidate kept the --max-drop budget" in why


def test_the_users_evaluation_scores_the_fastest_first_and_stops_at_the_first_eligible():
    """An evaluation can take minutes: the rule's choice is scored, then the others from the fastest, until
    one is eligible; slower ones are not scored (and say so). When none is eligible, all are scored."""
    from calib.tuning import score_fastest_first

    entries = _entries(4.0, 1.0, 2.0, 3.0)
    race(entries, TuneSettings(budget_s=0.3, rounds=2))
    scores = {"c0": (0.90, 0.0), "c1": (0.50, 40.0), "c2": (0.895, 0.5), "c3": (0.90, 0.0)}
    scored = []

    def score(entry):
        scored.append(entry.name)
        entry.score, entry.score_drop = scores[entry.name]

    score_fastest_first(entries, score, max_drop=1.0)
    assert scored == ["c0", "c1", "c2"]  # c3 is slower than c2, which keeps the budget
    assert entries[3].score is None and "slower than an eligible candidate" in entries[3].unscored
    winner, why = pick(entries, max_drop=1.0)
    assert winner.name == "c2" and "c1 was faster but is out" in why

    scored.clear()
    scores.update(c1=(0.5, 40.0), c2=(0.5, 40.0), c3=(0.5, 40.0), c0=(0.5, 40.0))
    for entry in entries:
        entry.score = entry.score_drop = entry.unscored = None
    score_fastest_first(entries, score, max_drop=1.0)
    assert sorted(scored) == ["c0", "c1", "c2", "c3"]


def test_the_race_times_torch_candidates_in_inference_mode_as_the_winner_is_timed():
    """Autograd on records a graph every torch eager call (not an engine's): a race timed so would favour the
    other engines over torch by what the winner's own timing, in inference mode, never pays."""
    import dataclasses

    import torch

    model = load_model("tiny-cnn")
    modes = []

    class Recorder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            modes.append(torch.is_inference_mode_enabled())
            return self.inner(x)

    model = dataclasses.replace(model, module=Recorder(model.module))
    prepared, tuning = prepare_tuned(model, _configuration(model), run_config("fp32"),
                                     TuneSettings(budget_s=0.2, rounds=2))
    with prepared:
        assert all(c["rounds"] == 2 for c in tuning["candidates"])
    assert len(modes) >= 4 and modes.count(False) <= 2, modes.count(False)  # the first call of each: untimed
