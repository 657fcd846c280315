"""Training candidates raced by calib.tuning with a seeded fake clock: the faster one wins, --no-tune and
--candidate decide without a race, and the record and the table say what was measured."""

from dataclasses import replace

import pytest

from calib.timing.clock import FakeTimer
from calib.train.candidates import candidates, choose, pinned, tune_settings
from calib.train.precisions import get_train_precision
from calib.train.settings import TrainSettings

SETTINGS = TrainSettings(steps=2, batch_size=4, eval=False)


@pytest.fixture(scope="module")
def cnn_task():
    from calib.models.loader import load_any
    from calib.train import build_task

    return build_task(load_any("tiny-cnn"))


def _clock(ms: dict):
    """Each candidate's steps 'take' its own duration (2% seeded noise): what decides the race here."""
    return lambda name: FakeTimer(median_ns=ms[name] * 1e6, rel_noise=0.02, seed=len(name))


def test_image_models_race_memory_formats_and_compile_only_when_asked(cnn_task, mlp_task):
    fp32 = get_train_precision("fp32")
    assert [n for n, _ in candidates(cnn_task, fp32, SETTINGS)] == ["contiguous", "channels_last"]
    assert [n for n, _ in candidates(mlp_task, fp32, SETTINGS)] == ["eager"]
    compiled = candidates(cnn_task, fp32, replace(SETTINGS, compile=True))
    assert [n for n, _ in compiled] == ["contiguous+compiled", "channels_last+compiled", "contiguous", "channels_last"]
    assert compiled[1][1].memory_format == "channels_last" and compiled[1][1].compile
    assert [n for n, _ in candidates(cnn_task, get_train_precision("int8-qat"), SETTINGS)] == ["eager"]
    assert pinned(["contiguous+compiled", "channels_last+compiled"], "channels_last") == "channels_last+compiled"


@pytest.mark.parametrize("times, winner", [({"contiguous": 10, "channels_last": 5}, "channels_last"),
                                           ({"contiguous": 5, "channels_last": 10}, "contiguous"),
                                           ({"contiguous": 10, "channels_last": 9.9}, "contiguous")])
def test_the_race_keeps_the_fastest_by_the_clock(cnn_task, times, winner):
    name, settings, tuning = choose(cnn_task, get_train_precision("fp32"), SETTINGS, "cpu",
                                    tune_settings(True, None), timer_for=_clock(times))
    assert name == winner and settings.memory_format == winner and tuning["picked"] == winner
    medians = {c["name"]: c["median_ms"] for c in tuning["candidates"]}
    assert medians["contiguous"] == pytest.approx(times["contiguous"], rel=0.1)
    assert medians["channels_last"] == pytest.approx(times["channels_last"], rel=0.1)
    assert all(c["rounds"] >= 3 for c in tuning["candidates"])
    if times["channels_last"] > times["contiguous"] * 0.97:
        assert "within noise" in tuning["why"] or "fastest" in tuning["why"]


def test_no_tune_and_candidate_decide_without_a_race(cnn_task):
    def no_clock(name):
        raise AssertionError("nothing may be timed")

    fp32 = get_train_precision("fp32")
    name, settings, tuning = choose(cnn_task, fp32, SETTINGS, "cpu", tune_settings(False, None), timer_for=no_clock)
    assert (name, settings.memory_format, tuning) == ("contiguous", "contiguous", None)
    name, settings, tuning = choose(cnn_task, fp32, SETTINGS, "cpu", tune_settings(True, "channels_last"),
                                    timer_for=no_clock)
    assert name == "channels_last" and settings.memory_format == "channels_last"
    assert "pinned with --candidate" in tuning["why"]


def test_the_record_and_the_table_carry_the_race(cnn_task):
    from calib.render.run_table import tuning_lines
    from calib.train import train_all

    records = train_all(cnn_task, ["fp32"], SETTINGS, "cpu", None, tune=tune_settings(True, None),
                        timer_for=_clock({"contiguous": 8, "channels_last": 4}))
    record = records[0]
    assert record["status"] == "ok" and record["backend_info"]["candidate"] == "channels_last"
    assert record["training"]["settings"]["memory_format"] == "channels_last"
    assert record["tuning"]["picked"] == "channels_last"
    line = tuning_lines(records)[0]
    assert line.startswith("tuned tiny-cnn torch-train fp32") and ("contiguous 7.9" in line or "contiguous 8" in line)
    assert "channels_last 4" in line and "channels_last ran 1.9" in line and "outputs" not in line
