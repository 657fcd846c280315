"""A factory in the calib train contract: (module, example_inputs, loss_fn, make_batch)."""

import torch
from torch import nn


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)  # module backward hooks refuse in-place ops; calib.train.layers must not

    def forward(self, x):
        out = self.conv(x)
        out += x  # the container's own op, in place (as torchvision's BasicBlock)
        return self.relu(out)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.block = Residual()
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))

    def forward(self, x):
        return self.head(self.block(self.stem(x)))


CALLS = []


def build():
    torch.manual_seed(0)

    def make_batch(step, batch_size):
        CALLS.append(step)
        generator = torch.Generator().manual_seed(step)
        return torch.randn(batch_size, 1, 6, 6, generator=generator), torch.randint(0, 3, (batch_size,),
                                                                                    generator=generator)

    def loss_fn(output, target):
        return nn.functional.cross_entropy(output, target) * 1.0

    return Net(), torch.zeros(2, 1, 6, 6), loss_fn, make_batch


def build_plain():
    torch.manual_seed(0)
    return Net(), torch.zeros(2, 1, 6, 6)


def build_bad():
    return Net(), torch.zeros(2, 1, 6, 6), "not a function", None
