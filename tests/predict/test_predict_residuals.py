"""The learnt correction across keys (calib.predict.residuals): features read from rows, a shared effect learnt
where one key was measured and applied where another was, bounded, and absent without enough samples."""

import math
import random

import pytest

from calib.predict.cost_model import Sample, fit_cost_model
from calib.predict.residuals import CLIP, MIN_SAMPLES, fit_residuals, rich_features

pytest.importorskip("sklearn")


def _conv_row(cin, cout, size, groups, batch=1, kernel=3, engine=True):
    """An OpenVINO-style kernel row (the weight shape as the second input) or a torch-style one (params)."""
    flops = 2 * batch * cout * size * size * (cin // groups) * kernel * kernel
    weights = cout * (cin // groups) * kernel * kernel
    row = {"op_kind": "conv", "target": "Convolution", "output_shape": f"{batch}x{cout}x{size}x{size}",
           "flops": flops, "bytes": 4 * (batch * (cin + cout) * size * size + weights)}
    if engine:
        shape = f"{groups}x{cout // groups}x{cin // groups}x{kernel}x{kernel}" if groups > 1 else \
            f"{cout}x{cin}x{kernel}x{kernel}"
        row.update(input_shapes=f"{batch}x{cin}x{size}x{size}, {shape}", weight_bytes=4 * weights)
    else:
        row.update(input_shapes=f"{batch}x{cin}x{size}x{size}", params=weights)
    return row


def test_kernel_size_over_groups_read_from_the_weights_of_either_row_kind():
    engine = rich_features(_conv_row(72, 72, 56, 3))
    torch_row = rich_features(_conv_row(72, 72, 56, 3, engine=False))
    assert engine[7] == pytest.approx(math.log1p(9 / 3))  # k*k / groups
    assert torch_row[7] == pytest.approx(engine[7])
    dense = rich_features(_conv_row(72, 72, 56, 1))
    assert dense[7] == pytest.approx(math.log1p(9))
    strided = rich_features({**_conv_row(64, 64, 28, 1), "input_shapes": "1x64x56x56, 64x64x3x3"})
    assert strided[8] == pytest.approx(math.log(4))  # 56x56 in, 28x28 out


def test_too_few_samples_fit_nothing():
    assert fit_residuals([((0.0,) * 12, "k", 0.1)] * (MIN_SAMPLES - 1)) is None


def test_a_shared_effect_is_learnt_and_bounded():
    rng = random.Random(0)
    items = []
    for _ in range(400):
        grouped = rng.random() < 0.5
        row = _conv_row(rng.choice([32, 64, 128]), rng.choice([32, 64, 128]), rng.choice([14, 28, 56]),
                        8 if grouped else 1)
        items.append((rich_features(row), rng.choice(["a", "b"]), (0.5 if grouped else -0.1) + rng.gauss(0, 0.02)))
    learnt = fit_residuals(items)
    grouped = learnt.correction(rich_features(_conv_row(64, 64, 28, 8)), "a")
    dense = learnt.correction(rich_features(_conv_row(64, 64, 28, 1)), "b")
    assert grouped == pytest.approx(0.5, abs=0.1) and dense == pytest.approx(-0.1, abs=0.1)
    far = fit_residuals([(f, k, 5.0) for f, k, _ in items])
    assert far.correction(items[0][0], "a") == pytest.approx(CLIP)


def test_the_cost_model_prices_a_grouped_conv_of_an_unmeasured_key_by_what_other_keys_showed():
    """Grouped convs run at 1/2 the dense rate in every key measured; key 'c' was measured dense only. With the
    learnt correction its grouped conv costs about 2x its dense law; without it, the dense law's price."""
    rng = random.Random(1)

    def sample(key, grouped, source):
        row = _conv_row(rng.choice([32, 64, 128, 256]), rng.choice([32, 64, 128, 256]), rng.choice([7, 14, 28, 56]),
                        8 if grouped else 1)
        ms = 1e-3 + row["flops"] / 200e9 * 1e3 * (2.0 if grouped else 1.0)
        return Sample.of({**row, "cost_keys": [key, "kind:conv"], "median_ms": ms * rng.uniform(0.97, 1.03)},
                         source)

    samples = [sample(key, rng.random() < 0.5, f"model:{index % 5}") for key in ("a", "b") for index in range(150)]
    samples += [sample("c", False, f"model:{index % 5}") for index in range(60)]
    target = {**_conv_row(128, 128, 28, 8), "cost_keys": ["c", "kind:conv"]}
    truth = 1e-3 + target["flops"] / 200e9 * 1e3 * 2.0
    learnt = fit_cost_model(samples).node(target).predicted_ms
    plain = fit_cost_model(samples, learnt=False).node(target).predicted_ms
    assert abs(math.log(learnt / truth)) < 0.25 < abs(math.log(plain / truth))


def test_a_predictor_fits_the_learnt_correction_unless_told_not_to():
    """The full fit and every held-out one fit the regressor (every engine's tables use it), learnt=False none."""
    from calib.predict.cost_model import ModelSample, fit_predictor

    rng = random.Random(2)
    models = []
    for index in range(4):
        rows = []
        for position in range(40):
            row = _conv_row(rng.choice([32, 64, 128]), rng.choice([32, 64, 128]), rng.choice([7, 14, 28]), 1)
            rows.append({**row, "name": f"c{position}", "cost_keys": ["conv", "kind:conv"],
                         "median_ms": 1e-3 + row["flops"] / 200e9 * 1e3 * rng.uniform(0.9, 1.1)})
        models.append(ModelSample(f"m{index}", 1, sum(r["median_ms"] for r in rows), tuple(rows)))
    assert fit_predictor([], models, learnt=True).cost_model.residuals is not None
    assert fit_predictor([], models, learnt=False).cost_model.residuals is None


def test_channel_alignment_is_learnt_across_channel_counts():
    """Kernels block channels (by 16 on AVX-512 fp32): counts at 8 mod 16 ran 2-4x slower on the Intel AMX machine
    kind. Learnt on some such counts, it applies to another one never measured; an aligned count is not moved."""
    from calib.predict.residuals import alignment

    assert [alignment(c) for c in (0, 3, 72, 96, 116, 480, 1152)] == [0, 0, 3, 5, 2, 5, 6]
    rng = random.Random(1)
    items = []
    for _ in range(400):
        channels = rng.choice([40, 56, 88, 104, 64, 80, 96, 128, 144, 160, 192])
        row = _conv_row(channels, channels, rng.choice([7, 14, 28]), 1, engine=False)
        off_block = channels % 16 != 0
        items.append((rich_features(row), "conv", (0.6 if off_block else 0.0) + rng.gauss(0, 0.02)))
    learnt = fit_residuals(items)
    def correction(channels):  # 72: 8 mod 16, 112: 16 mod 32; neither measured
        return learnt.correction(rich_features(_conv_row(channels, channels, 14, 1, engine=False)), "conv")

    assert correction(72) == pytest.approx(0.6, abs=0.15) and correction(112) == pytest.approx(0.0, abs=0.15)
