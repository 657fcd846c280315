"""--sweep real: op shapes read from real models' layers, in a space-filling order, then where the law errs."""

from calib.predict.real_shapes import _farthest_first, law_error_order, real_shape_specs
from calib.predict.sweep import OpSpec


def test_specs_are_the_models_own_layers_at_each_batch_size():
    specs = real_shape_specs(("tiny-cnn",), (1, 4))
    convs = {(spec.shape, spec.batch) for spec in specs if spec.op == "conv"}
    assert ((3, 8, 3, 1, 32, 1), 1) in convs and ((3, 8, 3, 1, 32, 1), 4) in convs
    assert {spec.op for spec in specs} >= {"conv", "relu", "linear", "add"}  # add: from the designed sweep
    assert len(specs) == len(set(specs))


def test_farthest_first_spreads_before_it_fills_in():
    specs = [OpSpec("conv", (c, c, 3, 1, 14, 1)) for c in (16, 17, 18, 512, 256)]
    ordered = _farthest_first(specs)
    assert ordered[:2] == [specs[0], specs[3]] and sorted(ordered, key=specs.index) == specs


def _row(spec: OpSpec, flops: float, ms: float) -> dict:
    return {"name": spec.label, "op_kind": "conv", "target": "Conv2d", "output_shape": f"1x{spec.shape[1]}x14x14",
            "flops": flops, "bytes": flops / 10, "median_ms": ms, "op_spec": spec.to_dict()}


def test_remaining_shapes_are_ordered_by_the_law_error_near_them():
    measured = [OpSpec("conv", (c, c, 3, 1, 14, 1)) for c in (16, 32, 64, 128, 256)]
    # the law is linear in FLOPs; the 256-channel conv takes 3x what it should: the law errs there
    rows = [_row(spec, 1e6 * scale, 0.001 * scale * (3 if spec.shape[0] == 256 else 1))
            for spec, scale in zip(measured, (1, 2, 4, 8, 16))]
    near_small, near_large = OpSpec("conv", (20, 20, 3, 1, 14, 1)), OpSpec("conv", (240, 240, 3, 1, 14, 1))
    unseen_op = OpSpec("relu", (64, 14))
    order = law_error_order([near_small, near_large, unseen_op], rows)
    assert order == [unseen_op, near_large, near_small]


def test_a_zero_pad_is_an_op_of_the_sweep_and_found_in_a_model():
    """EfficientNet-Lite's static "same" padding (ZeroPad2d) copies each conv's input: with no law for it, the
    fallback for ops of no kind priced its 17 pads at 0.002 ms against 1.8 ms measured."""
    import torch

    from calib.models.base import LoadedModel
    from calib.predict.real_shapes import _layers
    from calib.predict.sweep import build, designed

    padded = torch.nn.Sequential(torch.nn.ZeroPad2d(1), torch.nn.Conv2d(8, 8, 3)).eval()
    model = LoadedModel("padded", padded, "image", (8, 14, 14), "test")
    assert ("pad", (8, 14)) in _layers(model)
    module, inputs = build(OpSpec("pad", (8, 14), 2))
    assert tuple(module(*inputs).shape) == (2, 8, 16, 16)
    assert any(spec.op == "pad" for spec in designed("full"))
