"""`calib recommend` on results files from real runs of tiny models."""

import json

import pytest

from calib.cli import main
from calib.fidelity import budget
from calib.results.schema import summary_of


def _run(runner, fast_options, path, *extra):
    result = runner.invoke(main, ["run", "-b", "torch", "--model", "tiny-mlp", "-p", "fp32,int8-dynamic,bf16", "--batch-size", "1,4",
                                  "--max-drop", "1", "--out", str(path), *fast_options, *extra])
    assert result.exit_code in (0, 1), result.output  # 1: a configuration failed; recommend must say why
    return json.loads(path.read_text())


def _expected_best(records, max_drop=1.0, by="item"):
    acceptable = []
    for record in records:
        summary = summary_of(record)
        if summary is None or (record.get("verdict") or {}).get("status") in ("emulated", "unsupported"):
            continue
        if budget.judge(record["fidelity"], max_drop)[0]:
            per = record["identity"]["batch_size"] if by == "item" else 1
            acceptable.append((summary.median_ms / per, record["identity"]["precision"], record["identity"]["batch_size"]))
    return min(acceptable)[1:] if acceptable else None


def _best(runner, *args):
    result = runner.invoke(main, ["recommend", "--json", *args])
    assert result.exit_code == 0, result.output
    (choice,) = json.loads(result.output)
    return choice, (choice["best"]["precision"], choice["best"]["batch_size"]) if choice["best"] else None


def test_recommend_picks_the_fastest_acceptable_configuration(tmp_path, runner, fast_options):
    path = tmp_path / "run.json"
    payload = _run(runner, fast_options, path)
    records = payload["records"]
    for by in ("item", "call"):
        choice, best = _best(runner, str(path), "--by", by)
        assert best == _expected_best(records, by=by)
    decisions = {(o["precision"], o["batch_size"]): o for o in choice["options"]}
    for record in records:
        option = decisions[(record["identity"]["precision"], record["identity"]["batch_size"])]
        if (record.get("verdict") or {}).get("status") == "emulated" and record["status"] == "ok":
            assert option["decision"] == "emulated"
        if record["status"] != "ok":
            assert option["decision"] == record["status"] and option["why"]

    # The winner now fails its accuracy check: it must drop out, and the next one wins.
    winner = next(r for r in records if (r["identity"]["precision"], r["identity"]["batch_size"]) == best)
    winner["fidelity"]["nan_count"] = 3
    path.write_text(json.dumps(payload))
    choice, new_best = _best(runner, str(path), "--by", "call")
    assert new_best != best and new_best == _expected_best(records, by="call")
    assert {o["decision"] for o in choice["options"] if (o["precision"], o["batch_size"]) == best} == {"failed accuracy"}


def test_human_output_names_the_configuration_and_the_budget(tmp_path, runner, fast_options):
    path = tmp_path / "run.json"
    records = _run(runner, fast_options, path)["records"]
    precision, batch_size = _expected_best(records, max_drop=2.0)
    result = runner.invoke(main, ["recommend", str(path), "--max-drop", "2"])
    assert result.exit_code == 0, result.output
    assert f"use {precision} through torch at batch {batch_size}" in result.output
    assert "(max drop 2)" in result.output and "runner-up" in result.output


def test_recommend_user_mistakes(tmp_path, runner):
    assert runner.invoke(main, ["recommend", str(tmp_path / "missing.json")]).exit_code == 2
    (tmp_path / "x.json").write_text("{}")
    assert runner.invoke(main, ["recommend", str(tmp_path / "x.json"), "--max-drop", "-1"]).exit_code == 2
