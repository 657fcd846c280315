"""Training a Hugging Face model (`hf:DIR`) on real tokenized text, with a classification or masked-LM head.

Random token ids would give a loss curve about nothing, so the batches are sentences of a labelled
text set (JSON lines {"text", "label", "split"}; by default the topic set the repository's text eval
uses, models/data/text_topics_large.jsonl: 520 training and 520 test sentences over 4 topics),
tokenized with DIR's own tokenizer:
- classification (the default; DIR's *ForSequenceClassification head, or a fresh seeded one over the
  set's labels when DIR is a plain encoder or its head has another number of labels): one sentence per
  sample, padded to --seq-len (default: the longest sentence, rounded up to 8 tokens), cross-entropy
  on the topic; eval = accuracy on the test split after the steps.
- masked-LM (DIR's *ForMaskedLM, or `--hf-head masked-lm`): the training sentences concatenated and
  cut into windows of --seq-len tokens (default 128) between the tokenizer's specials; 15% of the
  tokens masked with a seeded draw per step (80% [MASK], 10% random, 10% kept, as BERT), cross-entropy
  on the masked positions only. No eval (the loss curve is the measure).
The model is loaded as calib.models.hf loads it (offline, local files only) and wrapped in its
HfModule (token ids in, logits out; the attention mask from the pad id).
"""

from __future__ import annotations

import json
from pathlib import Path

from calib.errors import ModelLoadError, UsageError, first_line
from calib.train.task import TrainTask, accuracy_of, epoch_batches

HEADS = ("classification", "masked-lm")
MASK_RATE = 0.15
MLM_SEQ_LEN = 128
DEFAULT_TEXT = Path(__file__).resolve().parents[2] / "models" / "data" / "text_topics_large.jsonl"


def read_text_set(path: Path | None) -> tuple[list[dict], Path]:
    path = Path(path) if path else DEFAULT_TEXT
    if not path.is_file():
        raise UsageError(f"--text-data {path}: no such file (JSON lines with \"text\", \"label\" and \"split\"; "
                         "the repository's models/data/text_topics_large.jsonl is the default)")
    rows = []
    try:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip():
                row = json.loads(line)
                if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                    raise ValueError(f"line {number} has no \"text\" string")
                rows.append(row)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--text-data {path}: {first_line(exc, 160)}") from None
    if len(rows) < 2:
        raise UsageError(f"--text-data {path}: fewer than 2 texts")
    return rows, path


def hf_task(spec: str, seq_len: int | None, seed: int, head: str | None = None,
            text_data: Path | None = None) -> TrainTask:
    import torch

    from calib.models import hf

    folder = Path(spec[len(hf.PREFIX):] if spec.startswith(hf.PREFIX) else spec)
    if not (folder / "config.json").is_file():
        raise ModelLoadError(f"{spec}: no config.json in {folder} (expected a Hugging Face model directory)")
    transformers = hf._offline_transformers()
    tokenizer, note = hf._tokenizer(transformers, folder)
    if tokenizer is None:
        raise UsageError(f"{spec}: training on text needs the directory's tokenizer ({note})")
    rows, path = read_text_set(text_data)
    config = transformers.AutoConfig.from_pretrained(str(folder), local_files_only=True)
    architectures = config.architectures or []
    head = head or ("masked-lm" if any(a.endswith("ForMaskedLM") for a in architectures) else "classification")
    train = [r for r in rows if r.get("split", "train") == "train"] or rows
    test = [r for r in rows if r.get("split") == "test"]
    limit = getattr(config, "max_position_embeddings", None) or 512
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # a new head (or the missing weights) initialised from --seed
        if head == "masked-lm":
            return _masked_lm(transformers, folder, config, tokenizer, train, path, seq_len or MLM_SEQ_LEN,
                              limit, seed, spec)
        return _classifier(transformers, folder, config, tokenizer, train, test, path, seq_len, limit, seed, spec)


def _load(auto, folder: Path, spec: str, **kwargs):
    try:
        return auto.from_pretrained(str(folder), local_files_only=True, **kwargs)
    except Exception as exc:  # noqa: BLE001 - whatever transformers raises is about this directory
        raise ModelLoadError(f"{spec}: transformers cannot load it ({type(exc).__name__}: {first_line(exc, 200)})"
                             ) from None


def _checked_len(length: int, limit: int) -> int:
    if length > limit:
        raise UsageError(f"--seq-len {length}: the model takes at most {limit} tokens (max_position_embeddings)")
    return length


def _classifier(transformers, folder, config, tokenizer, train, test, path, seq_len, limit, seed, spec):
    import torch

    from calib.models.hf import HfModule, _display_name

    labels = sorted({str(r.get("label")) for r in train})
    if len(labels) < 2 or any(r.get("label") is None for r in train):
        raise UsageError(f"--text-data {path}: classification needs a \"label\" on every training text (2 or more)")
    index = {label: number for number, label in enumerate(labels)}
    test = [r for r in test if str(r.get("label")) in index]
    longest = max(len(tokenizer(r["text"])["input_ids"]) for r in train + test)
    length = _checked_len(seq_len or min(limit, -(-longest // 8) * 8), limit)
    model = _load(transformers.AutoModelForSequenceClassification, folder, spec, num_labels=len(labels),
                  ignore_mismatched_sizes=True)
    pad_id = tokenizer.pad_token_id

    def encode(items):
        ids = tokenizer([r["text"] for r in items], padding="max_length", truncation=True, max_length=length,
                        return_tensors="pt")["input_ids"].to(torch.long)
        return ids, torch.tensor([index[str(r["label"])] for r in items], dtype=torch.long)

    train_x, train_y = encode(train)
    module = HfModule(model, "logits", pad_id)
    evaluate = None
    if test:
        test_x, test_y = encode(test)

        def evaluate(model, forward_context, prepare_inputs):
            return accuracy_of(model, forward_context, test_x, test_y, prepare_inputs)

    data = (f"{path.name}: {len(train)} real sentences tokenized by {type(tokenizer).__name__}, padded to "
            f"{length} tokens, in seeded epoch order; {len(labels)} labels ({', '.join(labels)}), cross-entropy"
            + (f"; accuracy on {len(test)} held out" if test else ""))
    return TrainTask(_display_name(folder), module, "tokens", (length,), torch.nn.functional.cross_entropy,
                     epoch_batches(train_x, train_y, seed), data, evaluate=evaluate, init="as built (new head seeded)",
                     info={"labelled": True, "train_items": len(train), "head": "classification",
                           "hf_class": type(model).__name__})


def _masked_lm(transformers, folder, config, tokenizer, train, path, seq_len, limit, seed, spec):
    import torch

    from calib.models.hf import HfModule, _display_name, _specials

    length = _checked_len(seq_len, limit)
    model = _load(transformers.AutoModelForMaskedLM, folder, spec)
    prefix, suffix = _specials(tokenizer)
    body = length - len(prefix) - len(suffix)
    stream = [i for r in train for i in tokenizer(r["text"], add_special_tokens=False)["input_ids"]]
    windows = [prefix + stream[at:at + body] + suffix for at in range(0, len(stream) - body + 1, body)]
    if not windows:
        raise UsageError(f"--text-data {path}: {len(stream)} tokens, fewer than one --seq-len {length} window")
    ids = torch.tensor(windows, dtype=torch.long)
    mask_id, vocab = tokenizer.mask_token_id, int(config.vocab_size)
    if mask_id is None:
        raise UsageError(f"{spec}: its tokenizer has no mask token; use --hf-head classification")
    special = torch.zeros(length, dtype=torch.bool)
    special[:len(prefix)] = True
    special[length - len(suffix):] = True
    order = epoch_batches(ids, torch.zeros(len(ids), dtype=torch.long), seed)

    def make_batch(step: int, batch_size: int):
        (batch,), _ = order(step, batch_size)
        generator = torch.Generator().manual_seed(seed * 1_000_003 + step + 1)
        draw = torch.rand(batch.shape, generator=generator)
        chosen = (draw < MASK_RATE) & ~special
        target = torch.where(chosen, batch, torch.full_like(batch, -100))
        how = torch.rand(batch.shape, generator=generator)
        inputs = batch.clone()
        inputs[chosen & (how < 0.8)] = mask_id
        swap = chosen & (how >= 0.8) & (how < 0.9)
        inputs[swap] = torch.randint(0, vocab, (int(swap.sum()),), generator=generator)
        return (inputs,), target

    def loss(logits, target):
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                                 ignore_index=-100)

    data = (f"{path.name}: {len(train)} real sentences tokenized by {type(tokenizer).__name__}, packed into "
            f"{len(windows)} windows of {length} tokens; {100 * MASK_RATE:g}% masked per step (seeded), "
            "cross-entropy on the masked tokens")
    return TrainTask(_display_name(folder), HfModule(model, "logits", None), "tokens", (length,), loss, make_batch,
                     data, init="as built", info={"head": "masked-lm", "hf_class": type(model).__name__,
                                                   "train_items": len(windows)})
