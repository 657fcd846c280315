"""The model catalog: name -> how to build it and what one input item looks like.

Torchvision models are built with weights=None and a fixed seed: latency does not depend
on weight values, and no download is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from calib.errors import UsageError


@dataclass(frozen=True)
class ModelEntry:
    name: str
    family: str  # "cnn" | "transformer" | "mlp"
    input_kind: str  # "image" (float tensor) | "tokens" (int64 ids) | "features" (float vector)
    input_shape: tuple[int, ...]  # one item, without the batch dimension
    build: Callable[..., object]
    description: str
    tiny: bool = False
    default_batch_size: int = 1
    weights: str = "random"  # "random": seeded init (no download here), "trained": real weights shipped


def _torchvision(name: str, **kwargs):
    def build():
        import torchvision

        return getattr(torchvision.models, name)(weights=None, **kwargs)

    return build


def _text_encoder(**kwargs):
    def build():
        from calib.models.text_encoder import TextEncoder

        return TextEncoder(**kwargs)

    return build


def _tiny(name: str):
    def build():
        from calib.models import tiny

        return getattr(tiny, name)()

    return build


_ENTRIES = [
    ModelEntry("resnet18", "cnn", "image", (3, 224, 224), _torchvision("resnet18"), "ResNet-18 (torchvision)"),
    ModelEntry("resnet50", "cnn", "image", (3, 224, 224), _torchvision("resnet50"), "ResNet-50 (torchvision)"),
    ModelEntry("mobilenet_v2", "cnn", "image", (3, 224, 224), _torchvision("mobilenet_v2"), "MobileNetV2"),
    ModelEntry("mobilenet_v3_small", "cnn", "image", (3, 224, 224), _torchvision("mobilenet_v3_small"),
               "MobileNetV3-Small"),
    ModelEntry("efficientnet_b0", "cnn", "image", (3, 224, 224), _torchvision("efficientnet_b0"), "EfficientNet-B0"),
    ModelEntry("vit_b_16", "transformer", "image", (3, 224, 224), _torchvision("vit_b_16"),
               "ViT-B/16 (torchvision)"),
    ModelEntry("bert-base", "transformer", "tokens", (128,), _text_encoder(), "BERT-base-style encoder, 12x768"),
    ModelEntry("tiny-cnn", "cnn", "image", (3, 32, 32), _tiny("tiny_cnn"), "2-conv CNN for tests", tiny=True),
    ModelEntry("tiny-mlp", "mlp", "features", (64,), _tiny("tiny_mlp"), "2-layer MLP for tests", tiny=True),
    ModelEntry("tiny-bert", "transformer", "tokens", (16,),
               _text_encoder(vocab_size=1000, hidden=64, layers=2, heads=4, ffn=128, max_len=128),
               "2-layer 64-wide text encoder for tests", tiny=True),
    ModelEntry("digits-cnn", "cnn", "image", (1, 8, 8),
               lambda: __import__("calib.models.digits", fromlist=["build"]).build(),
               "2-conv CNN trained on sklearn digits (test-set accuracy per precision)", tiny=True, weights="trained"),
]

CATALOG: dict[str, ModelEntry] = {entry.name: entry for entry in _ENTRIES}


def register(entry: ModelEntry) -> None:
    """Add a catalog entry (used by modules that ship their own reference models)."""
    CATALOG[entry.name] = entry


def get_entry(name: str) -> ModelEntry:
    try:
        return CATALOG[name]
    except KeyError:
        raise UsageError(f"unknown model {name!r}; choose from: {', '.join(CATALOG)} "
                         "(or a file: path.py:factory, .pt TorchScript, .pt2 torch.export)") from None
