"""Hugging Face models from a directory (calib.models.hf): a tiny BERT built from a config here (no
download), with a tokenizer built from a word list, timed on real text and scored from a JSONL file."""

import json
import re

import pytest

pytest.importorskip("transformers")

from calib.cli import main  # noqa: E402
from calib.results.store import load_result  # noqa: E402

POSITIVE = ["a good film", "a great movie", "the plot was good", "great acting and a good story",
            "what a great film", "good fun"]
NEGATIVE = ["a bad film", "an awful movie", "the plot was bad", "awful acting and a bad story",
            "what a bad film", "dull and awful"]


def _build(folder, classifier: bool):
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizer

    from calib.models.hf import PASSAGE

    words = sorted(set(re.findall(r"[a-z]+", (PASSAGE + " " + " ".join(POSITIVE + NEGATIVE)).lower())))
    vocab = {word: index for index, word in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words])}
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, num_labels=2,
                        id2label={0: "neg", 1: "pos"}, label2id={"neg": 0, "pos": 1})
    if classifier:
        config.architectures = ["BertForSequenceClassification"]
    model = (BertForSequenceClassification if classifier else BertModel)(config)
    model.save_pretrained(str(folder))
    BertTokenizer(vocab=vocab).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    base = tmp_path_factory.mktemp("hf")
    data = base / "reviews.jsonl"
    rows = [{"text": t, "label": "pos"} for t in POSITIVE] + [{"text": t, "label": "neg"} for t in NEGATIVE]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return _build(base / "classifier", True), _build(base / "encoder", False), data


def test_loads_offline_with_real_text_inputs(tiny_dirs):
    from calib.models.loader import load_any

    classifier, encoder, _ = tiny_dirs
    model = load_any(f"hf:{classifier}", seq_len=16)
    assert model.input_kind == "tokens" and model.item_shape == (16,) and model.head == "logits"
    ids = model.make_inputs(3)[0]
    assert ids.shape == (3, 16) and ids[0, 0] == model.tokenizer.cls_token_id
    text = model.tokenizer.decode(ids[0])
    assert "river" in text and "[UNK]" not in text  # the built-in passage, not random ids
    assert not (model.make_inputs(3, seed=1)[0] == ids).all()
    assert model.module(ids).shape == (3, 2)
    plain = load_any(str(encoder), seq_len=8)  # a directory with config.json works without hf:
    assert plain.head == "embedding" and plain.module(plain.make_inputs(2)[0]).shape == (2, 32)


def test_classifier_at_three_precisions_scored_from_jsonl(runner, fast_options, tiny_dirs, tmp_path):
    classifier, _, data = tiny_dirs
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "--model", f"hf:{classifier}", "--seq-len", "12", "-p",
                                  "fp32,bf16,int8-dynamic", "--eval-data", str(data), "--timeout", "0",
                                  "--out", str(out), *fast_options], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    records = load_result(out)["records"]
    assert [r["status"] for r in records] == ["ok", "ok", "ok"], [r.get("reason") for r in records]
    for record in records:
        fidelity = record["fidelity"]
        assert fidelity["accuracy"] is not None and "classification head" in fidelity["method"]
        assert "12 texts, 2 classes" in fidelity["sample"]
    assert records[2]["fidelity"]["accuracy_drop"] is not None
    assert "acc " in result.output


def test_encoder_nearest_centroid_on_torch_and_onnxruntime(runner, fast_options, tiny_dirs, tmp_path):
    pytest.importorskip("onnxruntime")
    _, encoder, data = tiny_dirs
    out = tmp_path / "r.json"
    result = runner.invoke(main, ["run", "--model", f"hf:{encoder}", "--seq-len", "12", "-p", "fp32,int8-dynamic",
                                  "-b", "torch", "-b", "onnxruntime", "--eval-data", str(data), "--timeout", "0",
                                  "--out", str(out), *fast_options], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    records = load_result(out)["records"]
    assert [r["status"] for r in records] == ["ok"] * 4, [r.get("reason") for r in records]
    for record in records:
        fidelity = record["fidelity"]
        assert fidelity["method"].startswith("nearest-centroid (cosine) classifier fitted on the fp32 CPU "
                                             "embeddings of 6 training items")
        assert fidelity["accuracy"] is not None and "6 texts" in fidelity["sample"]


def test_text_data_needs_a_text_model(runner, fast_options, tiny_dirs, tmp_path):
    _, _, data = tiny_dirs
    result = runner.invoke(main, ["run", "--model", "tiny-mlp", "--eval-data", str(data), "--timeout", "0", *fast_options])
    assert result.exit_code == 2 and "needs a Hugging Face model with a tokenizer" in result.output


def test_bad_text_rows_are_one_line(runner, fast_options, tiny_dirs, tmp_path):
    classifier, _, _ = tiny_dirs
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine", "label": "pos"}\n{"words": "no label"}\n')
    result = runner.invoke(main, ["run", "--model", f"hf:{classifier}", "--seq-len", "8", "--eval-data", str(bad),
                                  "--timeout", "0", *fast_options])
    assert result.exit_code == 2 and f"{bad}:2: each row needs text and label fields" in result.output
