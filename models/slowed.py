"""A user-model file whose forward does a known extra amount of work, for testing the CI gate.

    calib run --model models/slowed.py:build ...                       # the baseline build
    CALIB_SLOWDOWN=0.10 calib run --model models/slowed.py:build ...   # +10% work, same identity

The model is a stack of identical Linear+ReLU blocks. A slowdown s adds round(s * blocks)
extra passes through blocks that already exist (the weights are reused), so the parameter
count, the outputs' shape and the configuration identity stay the same while the work grows
by exactly that fraction of the block work. The environment variable is how a file loaded by
`--model file.py:build` (a factory called with no arguments) is told what to do.
"""

from __future__ import annotations

import os

import torch
from torch import nn

SLOWDOWN_ENV = "CALIB_SLOWDOWN"
BLOCKS = 20
FEATURES = 384
BATCH = 8


class BlockStack(nn.Module):
    def __init__(self, blocks: int = BLOCKS, features: int = FEATURES, extra_passes: int = 0):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Linear(features, features) for _ in range(blocks))
        # Which existing blocks run a second time; spread over the stack, not bunched at the start.
        self.extra = [round(i * blocks / extra_passes) % blocks for i in range(extra_passes)] if extra_passes else []

    def forward(self, x):
        for block in self.blocks:
            x = torch.relu(block(x))
        for index in self.extra:
            x = torch.relu(self.blocks[index](x))
        return x


def extra_passes_for(slowdown: float, blocks: int = BLOCKS) -> int:
    return round(slowdown * blocks)


def build(slowdown: float | None = None):
    """The module and an example input. `slowdown` (default: $CALIB_SLOWDOWN, else 0) is the
    fraction of extra block work, e.g. 0.10 for +10%; it is rounded to whole blocks (1/BLOCKS)."""
    if slowdown is None:
        slowdown = float(os.environ.get(SLOWDOWN_ENV) or 0)
    if slowdown < 0:
        raise ValueError(f"{SLOWDOWN_ENV}={slowdown}: must be >= 0")
    torch.manual_seed(0)
    module = BlockStack(extra_passes=extra_passes_for(slowdown)).eval()
    example = torch.randn(BATCH, FEATURES, generator=torch.Generator().manual_seed(0))
    return module, (example,)
