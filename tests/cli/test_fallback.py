"""`calib run --max-drop X --fallback`: a budget all-int8 misses, reached by keeping the fragile layer fp32."""

from pathlib import Path

from calib.cli import main
from calib.results.store import load_result

FRAGILE = str(Path(__file__).parents[1] / "sensitivity" / "fragile_model.py") + ":build"


def test_fallback_keeps_the_fragile_layer_float_and_measures_the_mixed_configuration(runner, fast_options, tmp_path):
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "-b", "torch", "-m", FRAGILE, "--input-shape", "16", "-p", "fp32,int8-static",
                                  "--threads", "1", "--timeout", "0", "--max-drop", "5", "--fallback",
                                  "--out", str(out),
                                  *fast_options], catch_exceptions=False)
    assert result.exit_code == 0, result.output  # all-int8 misses the budget; the mixed configuration keeps it
    records = load_result(out)["records"]
    assert [(r["identity"]["precision"], r["identity"].get("variant")) for r in records] == [
        ("fp32", None), ("int8-static", None), ("int8-static", "mixed")]
    _, all_int8, mixed = records
    assert all_int8["fidelity"]["passed"] is False
    assert mixed["status"] == "ok" and mixed["fidelity"]["passed"] is True
    assert mixed["timing"]["samples_ms"] and mixed["summary"]["median_ms"] > 0  # timed like the others
    fallback = mixed["fallback"]
    assert fallback["kept_float"] == ["fragile"]
    assert fallback["assignment"] == {"int8-static": ["first", "head"], "fp32": ["fragile"]}
    assert fallback["evaluations"] == fallback["layers"] + 2 + len(fallback["search"])
    assert mixed["backend_info"]["quantized_layers"] < all_int8["backend_info"]["quantized_layers"]
    assert mixed["fallback_of"] == all_int8["identity"]
    assert "int8-static+mixed" in result.output and "kept fp32: fragile" in result.output

    recommended = runner.invoke(main, ["recommend", str(out), "--json"])
    options = __import__("json").loads(recommended.output)[0]["options"]
    mixed_option = next(o for o in options if o["variant"] == "mixed")
    assert mixed_option["decision"] in ("best", "runner-up", "too slow") and mixed_option["keep_float"] == ["fragile"]
    assert next(o for o in options if o["precision"] == "int8-static" and not o["variant"])["decision"] == \
        "failed accuracy"


def test_fallback_needs_a_budget(runner, fast_options):
    result = runner.invoke(main, ["run", "-m", "tiny-mlp", "-p", "int8-static", "--fallback", *fast_options])
    assert result.exit_code == 2 and "--fallback needs --max-drop" in result.output


def test_sensitivity_command_ranks_digits_layers(runner, tmp_path):
    out = tmp_path / "s.json"
    result = runner.invoke(main, ["sensitivity", "-m", "digits-cnn", "--threads", "1", "--no-latency",
                                  "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "sensitivity: digits-cnn on torch" in result.output and "accuracy" in result.output
    ranking = __import__("json").loads(out.read_text())
    assert sorted(row["layer"] for row in ranking["layers"]) == ["classifier.1", "features.0", "features.2"]
    assert ranking["reference"]["metric"] == "accuracy"


def test_sensitivity_command_refuses_what_it_cannot_switch(runner):
    result = runner.invoke(main, ["sensitivity", "-m", "tiny-mlp", "-p", "fp16", "-b", "onnxruntime"])
    assert result.exit_code == 2 and "fp16/bf16 casts on torch" in result.output
