"""Hugging Face models from a local directory, offline: `--model hf:DIR` (or a DIR holding config.json).

Loaded with transformers (the `transformers` extra) with HF_HUB_OFFLINE=1 and local_files_only, so
nothing is downloaded. The module calib measures takes one input, token ids [batch, seq_len]
(int64), and returns one tensor, so every backend (torch eager casts and int8, the ONNX export for
ONNX Runtime) sees an ordinary single-input model:
  - a checkpoint with a sequence-classification head (architectures *ForSequenceClassification):
    its logits [batch, classes];
  - any other encoder: the sentence embedding [batch, hidden], pooled as the directory's
    sentence-transformers 1_Pooling/config.json says (mean of tokens, or the CLS token), else the
    mean of the non-padding tokens.
The attention mask is computed inside the module from the ids (ids != the tokenizer's pad id), so
padded batches (the --eval-data text sets) are masked exactly as the tokenizer's own mask would.

Timing inputs are real text: a built-in English passage tokenized with the directory's tokenizer
and cut into windows of --seq-len tokens ([CLS] ... [SEP] where the tokenizer has them); each item
of a batch and each seed starts at another place in the text. Without a tokenizer in the directory
the ids are seeded random ones, and the model's info says so.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

from calib.errors import ModelLoadError, UsageError, first_line
from calib.models.base import SEED, LoadedModel

PREFIX = "hf:"
DEFAULT_SEQ_LEN = 128
_GENERIC_DIR_NAMES = {"model", "models", "snapshot", "checkpoint", "hf"}

# The timing text: real sentences, so attention and the embeddings see the token statistics of text.
PASSAGE = (
    "The river rises in the hills above the town and runs for forty miles before it meets the sea. "
    "In spring the snow melts and the water climbs the stone banks, and the mills along its course "
    "work day and night. Farmers bring their grain on carts, and the millers weigh each sack before "
    "they grind it. A new bridge was finished last year, replacing the wooden one that the flood of "
    "the old winter carried away. Children walk across it to the school on the far side, where the "
    "teacher rings a bell at eight o'clock. The library opens at nine and closes at dusk; its shelves "
    "hold maps of the valley, records of every harvest, and letters written by travellers who stayed "
    "at the inn. Scientists from the university measure the water each month, counting fish, testing "
    "for minerals and noting how warm the river has become. Their reports say the trout have returned "
    "since the factories upstream changed how they clean their waste. On market days the square fills "
    "with stalls selling bread, cheese, apples, wool and tools, and musicians play until the lamps are "
    "lit. Visitors often ask how old the town is; the answer, carved over the door of the church, is "
    "more than eight hundred years. Computers now run the lock gates, and a small power station turns "
    "the current into electricity for the houses on the hill. Weather forecasts warn of storms coming "
    "in from the west, and the harbour master decides whether the boats may leave. Every autumn the "
    "town holds a race along the towpath, and the winner receives a silver cup and a basket of pears."
)


def is_hf_spec(spec: str) -> bool:
    """hf:DIR, or a directory with a config.json in it."""
    if spec.startswith(PREFIX):
        return True
    path = Path(spec)
    return path.is_dir() and (path / "config.json").is_file()


@dataclass
class HfModel(LoadedModel):
    """A LoadedModel whose seeded inputs are windows of tokenized text; keeps the tokenizer for text data."""

    tokenizer: object = None
    head: str = "embedding"  # "logits" (sequence-classification head) | "embedding" (pooled hidden state)
    id2label: dict = field(default_factory=dict)
    pad_id: int = 0
    _text_ids: list = field(default_factory=list, repr=False)

    def make_inputs(self, batch_size: int, seed: int = SEED) -> tuple:
        import torch

        seq_len = self.item_shape[0]
        if not self._text_ids:
            generator = torch.Generator().manual_seed(seed)
            return (torch.randint(0, self.vocab_size or 1000, (batch_size, seq_len), generator=generator),)
        rows = [self._window(seq_len, (seed * 7919 + item * 131) % len(self._text_ids)) for item in range(batch_size)]
        return (torch.tensor(rows, dtype=torch.long),)

    def _window(self, seq_len: int, start: int) -> list[int]:
        prefix, suffix = _specials(self.tokenizer)
        body = seq_len - len(prefix) - len(suffix)
        ids = self._text_ids
        taken = [ids[(start + offset) % len(ids)] for offset in range(max(body, 0))]
        return (prefix + taken + suffix)[:seq_len]

    def tokenize(self, texts: list[str]):
        """Token ids [len(texts), seq_len] (padded with the pad id, truncated), as the module takes them."""
        import torch

        if self.tokenizer is None:
            raise UsageError(f"{self.name}: no tokenizer in {self.source}; text data needs one")
        encoded = self.tokenizer(list(texts), padding="max_length", truncation=True, max_length=self.item_shape[0],
                                 return_tensors="pt")
        return encoded["input_ids"].to(torch.long)


def _specials(tokenizer) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a single text ([CLS] / [SEP], <s> / </s>)."""
    if tokenizer is None:
        return [], []
    bare = list(tokenizer("river", add_special_tokens=False)["input_ids"])
    marked = list(tokenizer("river")["input_ids"])
    for at in range(len(marked) - len(bare) + 1):
        if marked[at:at + len(bare)] == bare:
            return marked[:at], marked[at + len(bare):]
    return [], []


def _offline_transformers():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # no fork warnings from the worker processes
    try:
        import transformers
    except ImportError:
        raise UsageError("Hugging Face models need transformers: pip install 'calib[transformers]'") from None
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return transformers


def load_hf(spec: str, seq_len: int | None = None, input_shape: tuple[int, ...] | None = None) -> HfModel:
    """The model in DIR (hf:DIR), its tokenizer when DIR has one, at --seq-len (default 128, capped by the model)."""
    import torch

    folder = Path(spec[len(PREFIX):] if spec.startswith(PREFIX) else spec)
    if not (folder / "config.json").is_file():
        raise ModelLoadError(f"{spec}: no config.json in {folder} (expected a Hugging Face model directory)")
    if input_shape is not None and len(input_shape) != 1:
        raise UsageError(f"{spec}: a text model takes token ids; give --seq-len, not --input-shape "
                         f"{','.join(map(str, input_shape))}")
    transformers = _offline_transformers()
    try:
        config = transformers.AutoConfig.from_pretrained(str(folder), local_files_only=True)
        classifier = any(name.endswith("ForSequenceClassification") for name in (config.architectures or []))
        auto = transformers.AutoModelForSequenceClassification if classifier else transformers.AutoModel
        torch.manual_seed(SEED)  # weights missing from the checkpoint are initialised, and seeded
        model = auto.from_pretrained(str(folder), local_files_only=True).eval()
    except Exception as exc:  # noqa: BLE001 - whatever transformers raises is about this directory
        raise ModelLoadError(f"{spec}: transformers cannot load it ({type(exc).__name__}: {first_line(exc, 200)})"
                             ) from None
    tokenizer, tokenizer_note = _tokenizer(transformers, folder)
    limit = getattr(config, "max_position_embeddings", None)
    length = seq_len or (input_shape[0] if input_shape else None) or min(DEFAULT_SEQ_LEN, limit or DEFAULT_SEQ_LEN)
    if limit and length > limit:
        raise UsageError(f"--seq-len {length}: {folder} takes at most {limit} tokens (max_position_embeddings)")
    pad_id = tokenizer.pad_token_id if tokenizer is not None and tokenizer.pad_token_id is not None else (
        getattr(config, "pad_token_id", None))
    pooling = _pooling(folder)
    module = HfModule(model, "logits" if classifier else pooling, pad_id).eval()
    text_ids = tokenizer(PASSAGE, add_special_tokens=False)["input_ids"] if tokenizer is not None else []
    info = {"hf_dir": str(folder), "hf_class": type(model).__name__, "hf_output": module.describe(),
            "tokenizer": tokenizer_note, "timing_inputs": ("windows of a built-in English passage, tokenized"
                                                           if text_ids else "seeded random token ids (no tokenizer)")}
    return HfModel(_display_name(folder), module, "tokens", (int(length),), source=str(folder), family="transformer",
                   vocab_size=getattr(config, "vocab_size", None), info=info, weights="user", tokenizer=tokenizer,
                   head="logits" if classifier else "embedding",
                   id2label={int(k): str(v) for k, v in (getattr(config, "id2label", None) or {}).items()},
                   pad_id=pad_id if pad_id is not None else -1, _text_ids=list(text_ids))


def _tokenizer(transformers, folder: Path):
    if not any((folder / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt",
                                                      "tokenizer.model", "vocab.json")):
        return None, f"none in {folder}: timing uses seeded random ids"
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - a model without a usable tokenizer is still timed, on random ids
        return None, f"cannot load it ({type(exc).__name__}: {first_line(exc, 120)}): seeded random ids"
    return tokenizer, type(tokenizer).__name__


def _pooling(folder: Path) -> str:
    """sentence-transformers' pooling of this checkpoint: "mean" or "cls" (default: mean)."""
    config = folder / "1_Pooling" / "config.json"
    try:
        settings = json.loads(config.read_text()) if config.is_file() else {}
    except (OSError, ValueError):
        settings = {}
    return "cls" if settings.get("pooling_mode_cls_token") and not settings.get("pooling_mode_mean_tokens") else "mean"


def _display_name(folder: Path) -> str:
    folder = folder.resolve()
    name = folder.name
    if name.lower() in _GENERIC_DIR_NAMES and folder.parent.name:
        name = f"{folder.parent.name}/{name}"
    return f"hf:{name}"


class HfModule(nn.Module):
    """token ids -> logits (a classification head) or a pooled sentence embedding; the mask from the pad id."""

    def __init__(self, model, output: str, pad_id: int | None):
        super().__init__()
        self.model, self.output = model, output
        self.pad_id = -1 if pad_id is None else int(pad_id)  # -1: no id is padding
        self.vocab_size = getattr(model.config, "vocab_size", None)

    def describe(self) -> str:
        return {"logits": "sequence-classification logits", "mean": "mean of the non-padding token states",
                "cls": "the first ([CLS]) token's state"}[self.output]

    def forward(self, input_ids):
        import torch

        mask = (input_ids != self.pad_id).to(torch.long)
        out = self.model(input_ids=input_ids, attention_mask=mask)
        if self.output == "logits":
            return out.logits
        hidden = out.last_hidden_state
        if self.output == "cls":
            return hidden[:, 0]
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)


__all__ = ["PREFIX", "HfModel", "HfModule", "is_hf_spec", "load_hf"]
