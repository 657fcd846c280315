"""calib.layers.facts marks a layer that reads a strided view (a channel half from .chunk), on a real FX run."""

import torch

from calib.layers.fx_profile import collect_facts


class HalfShuffle(torch.nn.Module):
    """ShuffleNet's basic unit, reduced: one channel half passes, the other goes through a conv."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(8, 8, 1)

    def forward(self, x):
        kept, changed = x.chunk(2, dim=1)
        return torch.cat((kept, self.conv(changed)), dim=1)


def test_a_layer_reading_a_channel_half_is_marked_strided():
    graph_module = torch.fx.symbolic_trace(HalfShuffle().eval())
    facts = collect_facts(graph_module, (torch.randn(2, 16, 5, 5),))
    by_target = {row["target"]: row for row in facts.values()}
    assert by_target["torch.cat"].get("strided_input") is True
    assert by_target["Conv2d"].get("strided_input") is True  # the second half, a view too
    whole = torch.fx.symbolic_trace(torch.nn.Sequential(torch.nn.Conv2d(16, 16, 1)).eval())
    assert not any(row.get("strided_input") for row in collect_facts(whole, (torch.randn(2, 16, 5, 5),)).values())
    channels_last = torch.randn(2, 16, 5, 5).to(memory_format=torch.channels_last)
    assert not any(row.get("strided_input") for row in collect_facts(whole, (channels_last,)).values())
