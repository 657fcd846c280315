"""Model names for calibrate / predict: calib's own (catalog, files, via calib.models.loader) and any
torchvision classification architecture by name (`torchvision:regnet_y_400mf`, or the bare name when
the catalog has no such entry), built with random seeded weights: latency does not depend on them."""

from __future__ import annotations

from calib.errors import UsageError
from calib.models.catalog import CATALOG
from calib.models.loader import LoadedModel, SEED, load_any

PREFIX = "torchvision:"
# Kernel samples no calibration family holds: VGG's classifier head (25088 -> 4096 -> 4096 -> 1000), the
# large FullyConnected layers (hundreds of MB of weights, streamed from memory at batch 1) of VGG / AlexNet
# style heads, where the families' heads are 512..2048 -> 1000. nn-Meter style: a kernel where a real
# architecture puts it, measured as a model of its own.
FC_HEADS = {"fc-heads": (25088, (4096, 4096, 1000)), "fc-wide": (12544, (2048, 1000)), "fc-mid": (16384, (3072, 1000))}
# Grouped 3x3 convs where RegNet / ResNeXt-style families put them: per stage (56, 28, 14, 7 pixels, each entered
# at stride 2 but the first), (channels, channels per group) pairs spread over widths of 16-64 per group and
# 2-36 groups, each width at two sizes at least, each behind a 1x1 conv to its width. The calibration families
# hold few: ResNeXt-50's (32 groups) and the 400 MF RegNets' (8-16 per group, which OpenVINO runs on another kernel
# than 24+ per group), and 1.6 GF RegNets (24 per group) came out 13-17% low on OpenVINO at fp32 and bf16 in every
# bench without them. A width that is no multiple of 16 (24, 40, 56) pads the AVX-512 lanes: a grouped conv's
# cost follows its width and its group count, not its FLOPs alone.
GROUPED_GRID = (((96, 16), (120, 40), (128, 32), (144, 24), (192, 48)),
                ((160, 32), (240, 24), (256, 64), (336, 48), (224, 16)),
                ((320, 40), (384, 48), (448, 56), (432, 24), (512, 32)),
                ((640, 64), (768, 32), (896, 56), (864, 24), (720, 48)))
GROUPED_GRID_INPUT = (64, 56, 56)


def load_named(spec: str, input_shape: tuple[int, ...] | None = None):
    if spec in KERNEL_SAMPLES:
        return KERNEL_SAMPLES[spec](spec)
    name = spec[len(PREFIX):] if spec.startswith(PREFIX) else spec
    if spec.startswith(PREFIX) or (spec not in CATALOG and _is_torchvision(name)):
        return torchvision_model(name, input_shape)
    try:
        return load_any(spec, input_shape)
    except UsageError as exc:
        if "unknown model" in str(exc):
            raise UsageError(f"{exc}; or any torchvision classification model, as torchvision:NAME") from None
        raise


def _is_torchvision(name: str) -> bool:
    if not name.isidentifier():
        return False
    try:
        import torchvision

        return name in torchvision.models.list_models(module=torchvision.models)
    except Exception:  # noqa: BLE001
        return False


def torchvision_model(name: str, input_shape: tuple[int, ...] | None = None):
    import torch
    import torchvision

    if name not in torchvision.models.list_models(module=torchvision.models):
        raise UsageError(f"{PREFIX}{name}: not a torchvision classification model")
    torch.manual_seed(SEED)
    module = torchvision.models.get_model(name, weights=None).eval()
    shape = input_shape or ((3, 299, 299) if name == "inception_v3" else (3, 224, 224))
    return LoadedModel(name, module, "image", tuple(shape), source="torchvision", family="cnn", weights="random")


def _fc_head(name: str):
    """Linear + ReLU layers (FC_HEADS), the last without ReLU."""
    import torch

    features, widths = FC_HEADS[name]
    torch.manual_seed(SEED)
    layers, width = [], features
    for position, out in enumerate(widths):
        layers.append(torch.nn.Linear(width, out))
        if position < len(widths) - 1:
            layers.append(torch.nn.ReLU())
        width = out
    module = torch.nn.Sequential(*layers).eval()
    return LoadedModel(name, module, "image", (features,), source="kernel-sample", family="mlp", weights="random")


def _grouped_grid(name: str):
    """1x1 conv + grouped 3x3 conv blocks with BatchNorm and ReLU (GROUPED_GRID)."""
    import torch
    from torch import nn

    torch.manual_seed(SEED)
    item = GROUPED_GRID_INPUT
    layers, width = [], item[0]
    for stage, pairs in enumerate(GROUPED_GRID):
        for position, (channels, per_group) in enumerate(pairs):
            stride = 2 if stage and position == 0 else 1
            layers += [nn.Conv2d(width, channels, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
                       nn.Conv2d(channels, channels, 3, stride, 1, groups=channels // per_group, bias=False),
                       nn.BatchNorm2d(channels), nn.ReLU()]
            width = channels
    module = nn.Sequential(*layers).eval()
    return LoadedModel(name, module, "image", item, source="kernel-sample", family="cnn", weights="random")


# name -> its builder: the samples are calibration candidates (calib.predict.engines.ENGINE_MODELS), kept out of the
# whole-model map (a few kernels, not an architecture)
KERNEL_SAMPLES = {**{name: _fc_head for name in FC_HEADS}, "gconv-grid": _grouped_grid}
