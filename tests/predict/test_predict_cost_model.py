"""The cost model on synthetic tables with a known law (no timing: the samples are made up)."""

import math

import pytest

from calib.predict.cost_model import ModelSample, Sample, fit_cost_model, fit_law, fit_predictor


def _conv_row(cin, cout, hw, k=3, name="c", law=None, ms=None):
    flops = 2 * cout * hw * hw * cin * k * k
    size = 4 * (cin * hw * hw + cout * hw * hw + cout * cin * k * k)
    row = {"name": name, "op_kind": "conv", "target": "Conv2d", "input_shapes": f"1x{cin}x{hw}x{hw}",
           "input_dtypes": "float32", "output_shape": f"1x{cout}x{hw}x{hw}", "params": cout * cin * k * k,
           "flops": flops, "bytes": size}
    if law is not None:
        row["median_ms"] = law(flops, size)
    if ms is not None:
        row["median_ms"] = ms
    return row


def _law(flops, size):  # 10 us overhead, 20 GFLOP/s, 5 GB/s
    return 0.010 + flops / 20e9 * 1e3 + size / 5e9 * 1e3


SHAPES = [(c, 2 * c, hw) for c in (8, 16, 32, 64, 128) for hw in (7, 14, 28, 56)]


def test_law_is_recovered_from_a_synthetic_table():
    samples = [Sample.of(_conv_row(cin, cout, hw, law=_law), "isolated") for cin, cout, hw in SHAPES]
    law = fit_law("conv", samples)
    assert law.overhead_ms == pytest.approx(0.010, rel=0.05)
    assert law.ms_per_gflop == pytest.approx(1e3 / 20, rel=0.05)
    assert law.ms_per_mb == pytest.approx(1e3 / 5e3, rel=0.1)


def test_unseen_shape_is_predicted_by_the_law():
    model = fit_cost_model([Sample.of(_conv_row(cin, cout, hw, law=_law), "isolated") for cin, cout, hw in SHAPES])
    row = _conv_row(48, 96, 21)
    node = model.node(row)
    assert node.costed and node.key == "conv"
    assert node.predicted_ms == pytest.approx(_law(row["flops"], row["bytes"]), rel=0.02)


def test_nearest_shapes_correct_a_region_the_law_misses():
    def bumpy(flops, size, hw):  # the library is 1.6x slower at 7x7 outputs, whatever the law says
        return _law(flops, size) * (1.6 if hw == 7 else 1.0)

    samples = []
    for cin, cout, hw in SHAPES + [(c, 2 * c, 7) for c in (48, 80, 96)]:  # channels a multiple of 16: plain convs
        row = _conv_row(cin, cout, hw)
        row["median_ms"] = bumpy(row["flops"], row["bytes"], hw)
        samples.append(Sample.of(row, "isolated"))
    model = fit_cost_model(samples)
    small = _conv_row(112, 224, 7)
    truth = bumpy(small["flops"], small["bytes"], 7)
    base = model.laws["conv"].base_ms(small["flops"], small["bytes"])
    corrected = model.node(small).predicted_ms
    assert abs(corrected / truth - 1) < abs(base / truth - 1)
    assert corrected == pytest.approx(truth, rel=0.12)


def test_unknown_op_falls_back_to_its_kind_then_is_listed_uncosted():
    rows = [{"name": f"r{i}", "op_kind": "activation", "target": "ReLU", "input_dtypes": "float32",
             "output_shape": f"1x{c}x8x8", "flops": c * 64, "bytes": 8 * c * 64, "median_ms": 0.002 + c * 1e-5}
            for i, c in enumerate((8, 16, 32, 64))]
    model = fit_cost_model([Sample.of(row, "isolated") for row in rows])
    gelu = {"name": "g", "op_kind": "activation", "target": "GELU", "input_dtypes": "float32",
            "output_shape": "1x16x8x8", "flops": 1024, "bytes": 8192}
    node = model.node(gelu)
    assert node.costed and node.key == "kind:activation" and "priced by the 'kind:activation' law" in node.note
    odd = {"name": "x", "op_kind": "embedding", "target": "Embedding", "input_dtypes": "int64",
           "output_shape": "1x16x64", "flops": 0, "bytes": 4096}
    uncosted = model.node(odd)
    assert not uncosted.costed and uncosted.predicted_ms > 0 and "uncosted" in uncosted.note


def test_whole_model_factor_and_interval_come_from_held_out_models():
    isolated = [Sample.of(_conv_row(cin, cout, hw, law=_law), "isolated") for cin, cout, hw in SHAPES]
    models = []
    for index, widths in enumerate(((8, 16, 32), (16, 32, 64), (32, 64, 128), (8, 32, 128))):
        rows = tuple(_conv_row(c, 2 * c, 28, name=f"m{index}_{c}", law=_law) for c in widths)
        node_sum = sum(row["median_ms"] for row in rows)
        models.append(ModelSample(f"m{index}", 1, 1.25 * node_sum, rows))  # the model costs 1.25x its layers
    predictor = fit_predictor(isolated, models)
    assert predictor.factor == pytest.approx(1.25, rel=0.03)
    assert len(predictor.validation) == 4
    unseen = [_conv_row(c, 2 * c, 14, name=f"u{c}") for c in (24, 48)]
    truth = 1.25 * sum(_law(r["flops"], r["bytes"]) for r in unseen)
    prediction = predictor.predict(unseen)
    assert prediction.predicted_ms == pytest.approx(truth, rel=0.05)
    assert prediction.low_ms <= truth <= prediction.high_ms
    assert math.isclose(prediction.predicted_ms, prediction.node_sum_ms * prediction.factor)


def test_a_table_without_models_says_its_interval_is_wide():
    isolated = [Sample.of(_conv_row(cin, cout, hw, law=_law), "isolated") for cin, cout, hw in SHAPES]
    prediction = fit_predictor(isolated, []).predict([_conv_row(16, 32, 14)])
    assert prediction.factor == 1.0
    assert prediction.high_ms / prediction.predicted_ms > 1.2


def _quantized_dw(c, hw, functional, ms=None):
    row = {"name": f"dw{c}", "op_kind": "conv", "input_dtypes": "quint8", "input_shapes": f"1x{c}x{hw + 2}x{hw + 2}",
           "output_shape": f"1x{c}x{hw}x{hw}", "flops": 0 if functional else 18 * c * hw * hw,
           "bytes": 2 * c * hw * hw}
    row.update({"target": "torch._ops.quantized.conv2d", "params": 0} if functional else
               {"target": "QuantizedConv2d", "params": 9 * c})
    if ms is not None:
        row["median_ms"] = ms
    return row


def test_a_functional_quantized_depthwise_conv_is_its_own_kernel_not_priced_by_module_convs():
    """EfficientNet-Lite's F.conv2d depthwise convs ran 70-150x slower under torch's FX int8 than module
    depthwise convs of the same shape: a table of module convs leaves them unpredictable, never priced."""
    modules = [_quantized_dw(c, hw, False, ms=0.01 + c * hw * hw * 2e-7) for c in (32, 64, 144, 240)
               for hw in (7, 14, 28)]
    model = fit_cost_model([Sample.of(row, "isolated") for row in modules])
    assert model.node(_quantized_dw(144, 28, False)).costed
    node = model.node(_quantized_dw(144, 56, True))
    assert not node.costed and "q:conv-dw/functional" in node.note
    measured = [_quantized_dw(c, hw, True, ms=c * hw * hw * 5e-5) for c in (32, 64, 144, 240) for hw in (7, 14, 28)]
    model = fit_cost_model([Sample.of(row, "isolated") for row in modules + measured])
    node = model.node(_quantized_dw(144, 14, True))
    assert node.costed and node.key == "q:conv-dw/functional"
    assert node.predicted_ms == pytest.approx(144 * 14 * 14 * 5e-5, rel=0.3)


def test_unaligned_convs_do_not_correct_an_aligned_neighbour():
    """Int8 depthwise convs at channel counts off a multiple of 8 (ShuffleNet 1.0's 116) ran 60x slower than aligned
    ones: they fall back to the aligned law, but as neighbours they priced MnasNet 0.5's aligned conv at 34x."""
    def cost(c, hw):
        return 0.01 + c * hw * hw * 2e-7

    aligned = [_quantized_dw(c, hw, False, ms=cost(c, hw)) for c in (32, 64, 128, 256) for hw in (7, 14, 28)]
    unaligned = [_quantized_dw(c, 14, False, ms=60 * cost(c, 14)) for c in (116, 116, 116, 116, 116)]
    model = fit_cost_model([Sample.of(row, "isolated") for row in aligned + unaligned])
    node = model.node(_quantized_dw(128, 14, False))  # aligned, nearest the unaligned ones
    assert node.key == "q:conv-dw" and node.predicted_ms == pytest.approx(cost(128, 14), rel=0.5)
    assert model.node(_quantized_dw(116, 14, False)).predicted_ms > 10 * cost(116, 14)


def _cat_row(c, hw, strided, ms=None):
    row = {"name": "cat", "op_kind": "elementwise", "target": "torch.cat",
           "input_shapes": f"4x{c}x{hw}x{hw}, 4x{c}x{hw}x{hw}", "input_dtypes": "float32, float32",
           "output_shape": f"4x{2 * c}x{hw}x{hw}", "params": 0, "flops": 0, "bytes": 4 * 4 * 4 * c * hw * hw}
    if strided:
        row["strided_input"] = True
    if ms is not None:
        row["median_ms"] = ms
    return row


def test_an_op_reading_a_strided_view_has_a_key_and_a_law_of_its_own():
    """ShuffleNet re-quantizes a channel half (.chunk) of its input in every unit: 2-4x slower than the same op on a
    whole tensor. Those samples get a key of their own and stay out of the plain law and its neighbours."""
    from calib.predict.features import fallback_keys

    assert fallback_keys(_cat_row(64, 14, True))[:2] == ["torch.cat/strided", "torch.cat"]
    assert fallback_keys(_cat_row(64, 14, False))[0] == "torch.cat"

    def cost(c, hw):
        return 0.005 + c * hw * hw * 1e-6

    plain = [_cat_row(c, hw, False, ms=cost(c, hw)) for c in (16, 32, 64, 128) for hw in (7, 14, 28)]
    strided = [_cat_row(c, hw, True, ms=4 * cost(c, hw)) for c in (24, 48, 96) for hw in (14, 28)]
    model = fit_cost_model([Sample.of(row, "isolated") for row in plain + strided], learnt=False)
    assert model.node(_cat_row(48, 14, False)).predicted_ms == pytest.approx(cost(48, 14), rel=0.2)
    node = model.node(_cat_row(48, 14, True))
    assert node.key == "torch.cat/strided" and node.predicted_ms == pytest.approx(4 * cost(48, 14), rel=0.2)


def test_a_streamed_kernel_measured_at_one_size_is_priced_by_its_bytes():
    """A kernel streaming its weights (an '@stream' key) measured at one weight size only (a VGG head at batch 1
    and 4) prices a smaller one by its bytes, as memory bandwidth does, not at the measured time; any other key
    with so few samples keeps its median (a small op's time is its overhead)."""
    def row(weight_mb, batch, key, ms=None):
        size = weight_mb * 1e6
        return {"name": "fc", "op_kind": "linear", "cost_keys": [f"ov:FullyConnected:{key}", f"kind:{key}"],
                "flops": 2 * size * batch, "bytes": size, "weight_bytes": size, "model_weight_bytes": size,
                **({"median_ms": ms} if ms is not None else {})}

    for key, expected in (("u8@stream", 0.75), ("u8", 2.5)):
        samples = [Sample.of(row(100, batch, key, ms=2.5), "model:head") for batch in (1, 4)]
        model = fit_cost_model(samples, learnt=False)
        assert model.node(row(30, 1, key)).predicted_ms == pytest.approx(expected, rel=0.02)


def test_an_interval_from_two_architectures_says_it_knows_little_however_many_kernel_samples_beside():
    """The kernel samples (calib.predict.models.KERNEL_SAMPLES) are held out too but give the interval no error:
    with two architectures behind it, the interval is the wide one of few models (a transferred table measured
    5 models, 3 of them samples, and its interval covered 31% of the unseen ones)."""
    from calib.predict.cost_model import FEW_MODELS_HALF_WIDTH

    isolated = [Sample.of(_conv_row(cin, cout, hw, law=_law), "isolated") for cin, cout, hw in SHAPES]
    models = []
    for name, widths in (("m0", (8, 16, 32)), ("m1", (16, 32, 64)), ("fc-heads", (32, 64)), ("fc-wide", (8, 64)),
                         ("fc-mid", (16, 128))):
        rows = tuple(_conv_row(c, 2 * c, 28, name=f"{name}_{c}", law=_law) for c in widths)
        models.append(ModelSample(name, 1, sum(row["median_ms"] for row in rows), rows))
    predictor = fit_predictor(isolated, models)
    assert -predictor.log_low >= FEW_MODELS_HALF_WIDTH and predictor.log_high >= FEW_MODELS_HALF_WIDTH


def test_a_float_conv_off_a_block_of_16_channels_is_keyed_apart_and_a_quantized_one_off_8():
    """oneDNN's fp32 convs block channels by 16 (24 / 40 channels ran 1.5-2.2x slower than 32 / 48 at 112x112 on
    the Intel AMX machine kind); quantized ones by 8."""
    from calib.predict.features import cost_key

    assert cost_key(_conv_row(32, 64, 56)) == "conv"
    assert cost_key(_conv_row(40, 80, 56)) == "conv/odd"
    assert cost_key(_conv_row(3, 32, 224)) == "conv"  # an RGB stem is its own case
    assert cost_key(_quantized_dw(128, 56, False)) == "q:conv-dw"
    assert cost_key(_quantized_dw(116, 56, False)) == "q:conv-dw/odd"


def test_a_quantized_depthwise_conv_off_a_block_of_32_channels_is_keyed_apart_and_priced_by_its_own_samples():
    """torch's x86 int8 depthwise convs block channels by 32 (624 channels ran 2.4x slower per channel than 608 or
    640 at 14x14 on the Intel AMX machine kind): such a conv is keyed apart from the aligned ones, out of their law,
    and priced by it offset by its own samples."""
    from calib.predict.features import cost_key, fallback_keys

    assert cost_key(_quantized_dw(144, 56, False)) == "q:conv-dw/off32"
    assert cost_key(_quantized_dw(40, 56, False)) == "q:conv-dw/off32"
    assert cost_key(_quantized_dw(160, 56, False)) == "q:conv-dw"
    assert fallback_keys(_quantized_dw(624, 14, False))[:2] == ["q:conv-dw/off32", "q:conv-dw"]
    aligned = [Sample.of(_quantized_dw(c, hw, False, ms=1e-6 * 18 * c * hw * hw), "isolated")
               for c in (32, 64, 128, 256) for hw in (14, 28, 56)]
    off = [Sample.of(_quantized_dw(c, 28, False, ms=2.5e-6 * 18 * c * 28 * 28), "isolated") for c in (144, 240, 272)]
    model = fit_cost_model(aligned + off, learnt=False)
    assert model.laws["q:conv-dw"].ms_per_gflop == pytest.approx(1000, rel=0.05)  # the aligned ones' law alone
    assert model.node(_quantized_dw(624, 14, False)).predicted_ms > 1.8 * model.node(_quantized_dw(640, 14, False)).predicted_ms


def _scale_row(c, hw, ms=None):
    row = {"name": f"mul{c}", "op_kind": "elementwise", "target": "torch._ops.quantized.mul",
           "input_shapes": f"1x{c}x1x1, 1x{c}x{hw}x{hw}, scalar, scalar", "input_dtypes": "quint8, quint8, float32, int64",
           "output_shape": f"1x{c}x{hw}x{hw}", "params": 0, "flops": 0, "bytes": 2 * c * hw * hw + c}
    if ms is not None:
        row["median_ms"] = ms
    return row


def test_a_quantized_broadcast_multiply_is_priced_by_the_elements_in_its_channel_tail():
    """torch's x86 quantized broadcast mul runs channels off a block of 64 one at a time (96 channels cost 64 plus
    32 at the 32-channel price, on the Intel AMX machine kind): its law's compute term is those elements."""
    from calib.predict.features import law_flops

    assert law_flops(_scale_row(128, 56)) == 0
    assert law_flops(_scale_row(96, 56)) == 32 * 56 * 56
    assert law_flops({**_scale_row(96, 56), "input_dtypes": "float32, float32"}) == 0  # a float mul: its FLOPs

    def cost(c, hw):  # a vector element 0.2 ns, a tail element 1.3 ns
        return 0.003 + 2e-7 * c * hw * hw + 1.1e-6 * (c % 64) * hw * hw

    samples = [Sample.of(_scale_row(c, hw, ms=cost(c, hw)), "isolated") for c in (32, 48, 64, 128, 192, 256)
               for hw in (14, 28, 56)]
    model = fit_cost_model(samples, learnt=False)
    for c in (80, 144, 640):
        assert model.node(_scale_row(c, 28)).predicted_ms == pytest.approx(cost(c, 28), rel=0.1)


def test_a_quantized_grouped_conv_has_a_key_of_its_own_read_from_the_module():
    """torch's int8 grouped convs (RegNet, ResNeXt) ran near a fixed time whatever their FLOPs (0.57 to 6.4 ms per
    GFLOP at group widths 64 to 8), so the dense convs' law priced them at half: the profile records the groups and
    a quantized grouped conv is keyed apart from the dense and depthwise ones."""
    import torch

    from calib.layers.fx_profile import collect_facts
    from calib.predict.features import cost_key

    graph_module = torch.fx.symbolic_trace(torch.nn.Sequential(
        torch.nn.Conv2d(32, 32, 3, padding=1, groups=2), torch.nn.Conv2d(32, 32, 3, padding=1, groups=32),
        torch.nn.Conv2d(32, 32, 1)).eval())
    facts = list(collect_facts(graph_module, (torch.randn(1, 32, 8, 8),)).values())
    assert [row.get("groups") for row in facts] == [2, 32, None]
    quantized = [{**row, "input_dtypes": "quint8"} for row in facts]
    assert [cost_key(row) for row in quantized] == ["q:conv-g", "q:conv-dw", "q:conv"]
    assert [cost_key(row) for row in facts] == ["conv", "conv-dw", "conv"]  # float convs keep one key


def _quantized_cat_row(inputs, c, hw, batch=1, ms=None, rank=4):
    shape = f"{batch}x{c}x{hw}x{hw}" if rank == 4 else f"{batch}x{c}x{hw}"
    out = f"{batch}x{c * inputs}x{hw}x{hw}" if rank == 4 else f"{batch}x{c * inputs}x{hw}"
    elements = batch * c * inputs * hw * (hw if rank == 4 else 1)
    row = {"name": "cat", "op_kind": "elementwise", "target": "torch.cat", "input_shapes": ", ".join([shape] * inputs),
           "input_dtypes": ", ".join(["quint8"] * inputs), "output_shape": out, "params": 0, "flops": elements,
           "bytes": 2 * elements}
    if ms is not None:
        row["median_ms"] = ms
    return row


def test_a_quantized_cat_is_priced_by_the_channel_segments_it_copies():
    """A channels-last quantized cat copies one channel segment per input per pixel: 256 channels at 54x54 took
    0.11 ms from 2 inputs and 1.04 ms from 32 (Intel AMX machine kind), the same bytes. Priced by bytes alone,
    DenseNet's many-input cats made SqueezeNet's two-input ones 1.8x their time. A cat of 3-D tensors (ViT's class
    token) runs another kernel: keyed apart, out of the 4-D law."""
    from calib.predict.features import cost_key, fallback_keys, law_flops

    assert law_flops(_quantized_cat_row(2, 128, 54, batch=4)) == 4 * 54 * 54 * 2
    assert law_flops(_quantized_cat_row(32, 8, 54, batch=4)) == 4 * 54 * 54 * 32
    float_cat = {**_quantized_cat_row(2, 128, 54), "input_dtypes": "float32, float32"}
    assert law_flops(float_cat) == 128 * 2 * 54 * 54  # a float cat: its FLOPs
    assert law_flops({**_quantized_cat_row(2, 128, 54), "strided_input": True}) == 128 * 2 * 54 * 54  # a row-major read
    flat = _quantized_cat_row(2, 384, 49, rank=3)
    assert cost_key(flat) == "q:torch.cat/rank" and fallback_keys(flat)[:2] == ["q:torch.cat/rank", "q:torch.cat"]

    def cost(inputs, c, hw):  # 3 ns a segment, 12 ns a kB
        return 0.008 + 3e-6 * inputs * hw * hw + 1.2e-5 * 2 * inputs * c * hw * hw / 1e3

    samples = [Sample.of(_quantized_cat_row(n, c, hw, ms=cost(n, c, hw)), "isolated")
               for n in (2, 8, 32) for c in (16, 64, 128) for hw in (7, 14, 28, 56)]
    samples += [Sample.of(_quantized_cat_row(2, 384, hw, ms=0.08, rank=3), "isolated") for hw in (50, 197, 50)]
    model = fit_cost_model(samples, learnt=False)
    for n, c, hw in ((4, 32, 54), (16, 32, 20), (2, 256, 13)):
        assert model.node(_quantized_cat_row(n, c, hw)).predicted_ms == pytest.approx(cost(n, c, hw), rel=0.1)


def test_a_quantized_grouped_conv_off_a_group_width_of_16_is_keyed_apart():
    """Group widths 8 / 24 / 56 ran 1.3-3.5x slower per output than 16 / 32 / 64 (torch int8, Intel AMX machine
    kind)."""
    from calib.predict.features import cost_key, fallback_keys

    def grouped(channels, width):
        return {"op_kind": "conv", "target": "ConvReLU2d", "input_shapes": f"1x{channels}x28x28",
                "input_dtypes": "quint8", "output_shape": f"1x{channels}x28x28", "groups": channels // width,
                "params": channels * width * 9}

    assert [cost_key(grouped(192, w)) for w in (8, 16, 24, 32, 48, 64)] == [
        "q:conv-g/odd", "q:conv-g", "q:conv-g/odd", "q:conv-g", "q:conv-g", "q:conv-g"]
    assert fallback_keys(grouped(168, 24))[:2] == ["q:conv-g/odd", "q:conv-g"]
    assert cost_key({**grouped(192, 24), "input_dtypes": "float32"}) == "conv"  # float convs keep one key


def test_the_interval_holds_the_machines_drift_between_fresh_processes():
    """The held-out errors compare each prediction with a model's median over its processes; a later check meets
    the machine where it is then. calib's revisits measure how far that moves, and the interval adds it in
    quadrature (two runs on the Intel AMX machine kind drifted 7% between calibration and check: coverage 75% ->
    91%)."""
    from calib.predict.cost_model import drift_half_width

    assert drift_half_width(()) == 0.0
    assert drift_half_width(tuple(i / 100 for i in range(20))) == pytest.approx(0.18)  # rank ceil(21 * 0.9)
    isolated = [Sample.of(_conv_row(cin, cout, hw, law=_law), "isolated") for cin, cout, hw in SHAPES]
    models = [ModelSample(f"m{index}", 1, 1.25 * sum(row["median_ms"] for row in rows), rows)
              for index, widths in enumerate(((8, 16, 32), (16, 32, 64), (32, 64, 128), (8, 32, 128)))
              for rows in [tuple(_conv_row(c, 2 * c, 28, name=f"m{index}_{c}", law=_law) for c in widths)]]
    still = fit_predictor(isolated, models)
    moving = fit_predictor(isolated, models, drift=(0.0, 0.01, 0.12, 0.12, 0.02))
    assert still.drift == 0.0 and moving.drift == pytest.approx(0.12)
    assert moving.log_high == pytest.approx(math.hypot(still.log_high, 0.12))
    assert moving.log_low == pytest.approx(-math.hypot(still.log_low, 0.12))
