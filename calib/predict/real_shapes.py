"""`calib calibrate --sweep real` (torch): op shapes where real architectures put them, sampled adaptively.

Why: a designed grid spends its budget on shapes no network uses and misses the ones they do (RegNet's
group widths, MnasNet's 5x5 depthwise at 40 channels). Here the candidates are the layers of torchvision
families (calib.predict.engines.ENGINE_MODELS, disjoint from the prediction bench's unseen set, with the
VGG-size FullyConnected heads of calib.predict.models.FC_HEADS):
each family runs once on zeros at batch 1 with forward hooks on its convs, linears, norms, activations and
pools, and every distinct layer becomes an OpSpec at each calibration batch size; functional ops no hook
sees (add, cat, attention) keep the designed sweep's shapes.

There are far more candidates than a budget measures, so (LitePred's adaptive sampling, nn-Meter's
adaptive kernel sampling):
1. the first half of --budget-s measures a space-filling order: per op, farthest-point first in log-shape
   space, the ops merged by their fractional position, so a cut covers every op and its shape range;
2. the rest of the budget measures the remaining candidates where the fitted law is worst: each scored by
   the weighted |log error| of the law (calib.predict.cost_model) on its nearest measured shapes of the
   same op, highest first.
"""

from __future__ import annotations

import math
import time

from calib.predict.sweep import OpSpec, SweepResult, designed, run_sweep

_ACTIVATIONS = {"ReLU": "relu", "ReLU6": "relu6", "Hardswish": "hardswish", "SiLU": "silu", "Sigmoid": "sigmoid",
                "Hardsigmoid": "hardsigmoid", "GELU": "gelu"}
NEIGHBOURS = 3
FIRST_PHASE = 0.5  # share of the budget for the space-filling order


def real_shape_specs(names, batch_sizes) -> list[OpSpec]:
    """Every distinct layer shape of the named models, at each batch size, in space-filling order."""
    from calib.predict.models import load_named

    shapes: dict[str, list[tuple[int, ...]]] = {}
    for name in names:
        for op, shape in _layers(load_named(name)):
            shapes.setdefault(op, [])
            if shape not in shapes[op]:
                shapes[op].append(shape)
    groups = [[spec for spec in designed("full") if spec.op == op]  # functional ops no hook sees (add, cat, sdpa)
              for op in sorted({spec.op for spec in designed("full")} - set(shapes))]
    for op, found in shapes.items():
        specs = []
        for shape in found:
            for batch in batch_sizes:
                try:
                    specs.append(OpSpec(op, shape, batch))
                except Exception:  # noqa: BLE001 - a shape the builders cannot make (too big) is not a candidate
                    continue
        groups.append(_farthest_first(specs))
    # merged by fractional position: a cut keeps every op's spread, and each op a share of the sweep
    # proportional to its distinct shapes (convs most)
    ranked = [((index + 0.5) / len(group), order, spec) for order, group in enumerate(groups)
              for index, spec in enumerate(group)]
    return [spec for _, _, spec in sorted(ranked, key=lambda item: item[:2])]


def _layers(model) -> list[tuple[str, tuple[int, ...]]]:
    import torch
    from torch import nn

    found, handles = [], []

    def hook(module, inputs, output):
        first = inputs[0] if inputs else None
        if not isinstance(first, torch.Tensor):
            return
        shape = tuple(first.shape)
        if isinstance(module, nn.Conv2d) and len(shape) == 4 and module.dilation == (1, 1):
            found.append(("conv", (module.in_channels, module.out_channels, module.kernel_size[0], module.stride[0],
                                   shape[2], module.groups)))
        elif isinstance(module, nn.Linear):
            found.append(("linear", (max(1, first.numel() // shape[0] // module.in_features), module.in_features,
                                     module.out_features)))
        elif len(shape) == 4 and isinstance(module, nn.BatchNorm2d):
            found.append(("batchnorm", (shape[1], shape[2])))
        elif len(shape) == 4 and type(module).__name__ in _ACTIVATIONS:
            found.append((_ACTIVATIONS[type(module).__name__], (shape[1], shape[2])))
        elif len(shape) == 4 and isinstance(module, nn.MaxPool2d):
            found.append(("maxpool", (shape[1], shape[2])))
        elif len(shape) == 4 and isinstance(module, (nn.ZeroPad2d, nn.ConstantPad2d)):
            found.append(("pad", (shape[1], shape[2])))
        elif len(shape) == 4 and isinstance(module, nn.AdaptiveAvgPool2d):
            found.append(("avgpool", (shape[1], shape[2])))
        elif len(shape) == 3 and isinstance(module, nn.LayerNorm):
            found.append(("layernorm", (shape[1], shape[2])))

    for module in model.module.modules():
        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model.module(*model.make_inputs(1))
    finally:
        for handle in handles:
            handle.remove()
    return found


def _position(spec: OpSpec) -> tuple[float, ...]:
    return tuple(math.log(value) for value in (*spec.shape, spec.batch))


def _farthest_first(specs: list[OpSpec]) -> list[OpSpec]:
    """Greedy farthest-point order: each next spec the one farthest from all chosen so far."""
    if not specs:
        return []
    points = [_position(spec) for spec in specs]
    chosen = [0]
    nearest = [math.dist(point, points[0]) for point in points]
    nearest[0] = -1.0  # chosen: never again (min() keeps it below every distance)
    while len(chosen) < len(specs):
        index = max(range(len(specs)), key=nearest.__getitem__)
        chosen.append(index)
        nearest[index] = -1.0
        nearest = [min(value, math.dist(point, points[index])) for value, point in zip(nearest, points)]
    return [specs[i] for i in chosen]


def law_error_order(candidates: list[OpSpec], rows: list[dict]) -> list[OpSpec]:
    """`candidates` ordered by how badly the law fitted on `rows` (measured sweep rows with "op_spec")
    prices their nearest measured shapes of the same op; an op with no measured shape first."""
    from calib.predict.cost_model import Sample, fit_cost_model

    samples = [(row, Sample.of(row, "isolated")) for row in rows if row.get("median_ms") and row.get("op_spec")]
    if not samples:
        return list(candidates)
    model = fit_cost_model([sample for _, sample in samples])
    measured: dict[str, list[tuple[tuple[float, ...], float]]] = {}
    for row, sample in samples:
        law = next((model.laws[key] for key in (sample.key, *sample.kind_keys) if key in model.laws), None)
        if law is None:
            continue
        error = abs(math.log(sample.ms / max(law.base_ms(sample.flops, sample.bytes), 1e-9)))
        given = row["op_spec"]  # a tuple in this process, a list once stored
        spec = OpSpec(given["op"], tuple(given["shape"]), int(given.get("batch", 1)))
        measured.setdefault(spec.op, []).append((_position(spec), error))

    def score(spec: OpSpec) -> float:
        near = sorted((math.dist(_position(spec), point), error) for point, error in measured.get(spec.op, []))
        if not near:
            return math.inf
        weights = [math.exp(-distance) for distance, _ in near[:NEIGHBOURS]]
        return sum(w * error for w, (_, error) in zip(weights, near)) / sum(weights)

    return sorted(candidates, key=score, reverse=True)


def adaptive_sweep(specs: list[OpSpec], precision: str, device: str, threads: int, budget_s: float,
                   op_budget_s: float = 0.25, on_op=None, clock: str = "wall") -> SweepResult:
    """run_sweep in two phases (see the module docstring); one SweepResult."""
    started = time.perf_counter()
    first = run_sweep(specs, precision, device, threads, budget_s * FIRST_PHASE, op_budget_s, on_op, clock)
    over = {label.rsplit(":", 1)[0] for label in first.skipped if label.endswith("over the --budget-s")}
    remaining = [spec for spec in specs if spec.label in over]
    failed = [label for label in first.skipped if not label.endswith("over the --budget-s")]
    left = budget_s - (time.perf_counter() - started)
    second = run_sweep(law_error_order(remaining, first.rows), precision, device, threads, max(left, 0.0),
                       op_budget_s, on_op, clock)
    return SweepResult(first.rows + second.rows, first.measured + second.measured, failed + second.skipped,
                       time.perf_counter() - started)
