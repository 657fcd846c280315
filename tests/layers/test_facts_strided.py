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


def test_a_quantized_tensor_off_channels_last_is_a_strided_read_for_convs_not_for_linear_layers():
    """torch's x86 int8 kernels run channels-last: a quantized conv read a row-major input 1.3-2.4x slower, a
    quantized cat 4-10x slower. A linear layer reading ConvNeXt's permuted (b, h, w, c) tensor reads its own order."""
    from calib.layers.facts import strided

    row_major = torch.quantize_per_tensor(torch.rand(2, 16, 5, 5), 0.01, 0, torch.quint8)
    channels_last = row_major.contiguous(memory_format=torch.channels_last)
    assert strided(row_major, "conv") and strided(row_major, "elementwise") and strided(row_major, "pooling")
    assert not strided(channels_last, "conv")
    assert not strided(row_major, "linear") and not strided(row_major, "norm")
    assert not strided(torch.rand(2, 16, 5, 5), "conv")  # a float row-major tensor is torch's own layout


def test_an_int8_sweep_conv_reads_a_channels_last_tensor_as_inside_a_model_and_an_rgb_stem_the_image():
    """The op sweep feeds an int8 conv through a 1x1 conv before it (the feed's row is the strided read); a conv
    on 3 channels reads the quantized image, as a model's first conv does."""
    from calib.predict.sweep import OpSpec, run_sweep

    result = run_sweep([OpSpec("conv", (16, 16, 3, 1, 8, 16)), OpSpec("conv", (3, 16, 3, 2, 16, 1))], "int8-static",
                       "cpu", 1, 60, op_budget_s=0.05)
    ops = [row for row in result.rows if row["name"] == "op"]
    feeds = [row for row in result.rows if row["name"].startswith("feeds")]
    assert [bool(row.get("strided_input")) for row in ops] == [False, True]
    assert len(feeds) == 1 and feeds[0]["strided_input"] is True


def test_a_quantized_multiply_whose_first_input_is_not_channels_last_is_a_strided_write():
    """torch's quantized mul writes in its first input's layout: ConvNeXt's (C, 1, 1) layer scale times a
    channels-last tensor took the strided path (0.215 against 0.035 ms with the operands swapped)."""
    from calib.layers.facts import _written_off_layout

    def quantized(tensor):
        return torch.quantize_per_tensor(tensor, 0.01, 0, torch.quint8)

    block = quantized(torch.rand(1, 8, 6, 6)).contiguous(memory_format=torch.channels_last)
    layer_scale = quantized(torch.rand(8, 1, 1))
    conv_scale = torch.nn.Conv2d(8, 8, 1)(torch.rand(1, 8, 1, 1).to(memory_format=torch.channels_last))
    conv_scale = quantized(conv_scale.detach()).as_strided((1, 8, 1, 1), (8, 1, 8, 8))  # a conv's output strides
    assert _written_off_layout([layer_scale, block])
    assert _written_off_layout([quantized(torch.rand(1, 8, 1, 1)), block])  # quantized from row-major data
    assert not _written_off_layout([conv_scale, block])
    assert not _written_off_layout([block, layer_scale])  # the big input first writes channels-last
    assert not _written_off_layout([torch.rand(8, 1, 1), torch.rand(1, 8, 6, 6)])  # float: not this kernel
