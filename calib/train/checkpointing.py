"""Activation checkpointing: which blocks of a model recompute their activations in the backward pass.

Seed 002 asks what checkpointing costs in speed and saves in memory: `none`, `selective` (every 2nd
block) and `full` (every block). A "block" is found, not named per architecture: the children of
every nn.ModuleList / nn.Sequential whose children are all of one class, have parameters and are
modules of their own (a transformer's encoder layers: HF BertLayer, torchvision's ViT EncoderBlock,
nn.TransformerEncoderLayer; a ResNet's BasicBlocks), the class with the most such children winning.
Each chosen block is wrapped in `Checkpointed`, which runs it under torch.utils.checkpoint
(non-reentrant: keyword arguments, autocast and no-grad inputs work, and the RNG state is restored
for the recomputation, so dropout draws the same mask).
"""

from __future__ import annotations

from collections import Counter

from torch import nn

from calib.errors import CalibError


class Checkpointed(nn.Module):
    """One block whose activations are recomputed in backward instead of kept."""

    def __init__(self, block: nn.Module):
        super().__init__()
        self.block = block

    def forward(self, *args, **kwargs):
        from torch.utils.checkpoint import checkpoint

        if not self.training:
            return self.block(*args, **kwargs)
        return checkpoint(self.block, *args, use_reentrant=False, **kwargs)

    def __getattr__(self, name):  # the wrapped block's attributes (HF reads layer.attention_type and the like)
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__("block"), name)


def _containers(model: nn.Module):
    for name, module in model.named_modules():
        if isinstance(module, (nn.ModuleList, nn.Sequential)) and len(module) >= 2:
            children = list(module.children())
            kinds = {type(child) for child in children}
            if len(kinds) == 1 and all(any(True for _ in c.children()) and any(True for _ in c.parameters())
                                       for c in children):
                yield name, module, children[0].__class__.__name__


def find_blocks(model: nn.Module) -> tuple[str, list[tuple[nn.Module, str]]]:
    """(the block class name, [(container, child key)] in model order) of the most repeated block kind."""
    found = list(_containers(model))
    if not found:
        return "", []
    counts = Counter()
    for _, container, kind in found:
        counts[kind] += len(container)
    kind = counts.most_common(1)[0][0]
    places = [(container, key) for _, container, k in found if k == kind for key, _ in container.named_children()]
    return kind, places


def apply_checkpointing(model: nn.Module, mode: str) -> dict:
    """Wrap the blocks `mode` names ("none", "selective": every 2nd from the second, "full": all) in place;
    returns what was done, for the record. A model without repeated blocks cannot be checkpointed: said."""
    if mode == "none":
        return {"mode": "none", "blocks": 0}
    kind, places = find_blocks(model)
    if not places:
        raise CalibError(f"--activation-checkpointing {mode}: no repeated blocks (an nn.ModuleList or "
                         "nn.Sequential of one module class) to checkpoint in this model")
    chosen = places if mode == "full" else places[1::2]
    for container, key in chosen:
        container._modules[key] = Checkpointed(container._modules[key])
    return {"mode": mode, "block_kind": kind, "blocks": len(chosen), "of_blocks": len(places),
            "rule": "every block" if mode == "full" else "every 2nd block (the 2nd, 4th, ...)",
            "method": "torch.utils.checkpoint, non-reentrant"}
