"""A tiny classifier with one layer int8 wrecks: `fragile`'s weights hold a huge column (1e4) that
multiplies an input that is always 0 (first's channel 0 is ReLU(-1)). In fp32 that column adds
nothing; in int8 it sets every output channel's weight scale, so its ordinary weights round to 0.
Its inputs and outputs have no outliers, so no other layer is hurt by quantizing it."""

import torch
from torch import nn


class Fragile(nn.Module):
    def __init__(self):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.first = nn.Linear(16, 32)
        self.relu = nn.ReLU()
        self.fragile = nn.Linear(32, 32)
        self.relu2 = nn.ReLU()
        self.head = nn.Linear(32, 10)
        with torch.no_grad():
            for layer in (self.first, self.fragile, self.head):
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) / layer.in_features ** 0.5)
                layer.bias.copy_(0.1 * torch.randn(layer.bias.shape, generator=generator))
            self.first.weight[0] = 0.0
            self.first.bias[0] = -1.0
            self.fragile.weight[:, 0] = 1e4

    def forward(self, x):
        return self.head(self.relu2(self.fragile(self.relu(self.first(x)))))


def build():
    return Fragile().eval()


class Cancelling(nn.Module):
    """bf16's 8-bit mantissa loses `first`'s signal: it rides on a +1000 offset that `cancel` removes
    (bf16 resolves 1000 to steps of 4-8). fp32 keeps it; `head` is harmless in bf16."""

    def __init__(self):
        super().__init__()
        generator = torch.Generator().manual_seed(1)
        self.first = nn.Linear(16, 32)
        self.cancel = nn.Linear(32, 32)
        self.relu = nn.ReLU()
        self.head = nn.Linear(32, 10)
        with torch.no_grad():
            self.first.weight.copy_(torch.randn(self.first.weight.shape, generator=generator) / 4)
            self.first.bias.fill_(1000.0)
            self.cancel.weight.copy_(torch.eye(32))
            self.cancel.bias.fill_(-1000.0)
            self.head.weight.copy_(torch.randn(self.head.weight.shape, generator=generator) / 6)
            self.head.bias.zero_()

    def forward(self, x):
        return self.head(self.relu(self.cancel(self.first(x))))


def build_cancelling():
    return Cancelling().eval()
