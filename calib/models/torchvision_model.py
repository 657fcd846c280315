"""Any torchvision classification architecture by name: `torchvision:NAME`, or the bare NAME where the
catalog has no entry of that name (`regnet_y_400mf`). Every command that takes a model reads this one
grammar (calib.models.loader.load_model). Built with weights=None and the loaders' seed: latency does not
depend on the weight values and nothing is downloaded, so the record says `model_weights: "random"` and
fidelity is agreement with fp32, as for the catalog's torchvision entries.
"""

from __future__ import annotations

from calib.errors import UsageError
from calib.models.base import SEED, LoadedModel

PREFIX = "torchvision:"
# Inputs other than 3x224x224 that an architecture needs with weights=None.
_INPUT_SHAPES = {"inception_v3": (3, 299, 299)}
_TRANSFORMERS = ("vit_", "swin_", "maxvit_")


def is_torchvision_name(name: str) -> bool:
    """Whether `name` (without the prefix) is a torchvision classification model; imports torchvision,
    so ask only for a name nothing else claimed."""
    if not name.isidentifier():
        return False
    try:
        import torchvision

        return name in torchvision.models.list_models(module=torchvision.models)
    except Exception:  # noqa: BLE001 - torchvision missing or too old to list its models
        return False


def load_torchvision(name: str, input_shape: tuple[int, ...] | None = None) -> LoadedModel:
    import torch

    if not is_torchvision_name(name):
        raise UsageError(f"{PREFIX}{name}: not a torchvision classification model "
                         "(torchvision.models.list_models(module=torchvision.models) lists them)")
    import torchvision

    torch.manual_seed(SEED)
    module = torchvision.models.get_model(name, weights=None).eval()
    shape = tuple(input_shape or _INPUT_SHAPES.get(name, (3, 224, 224)))
    family = "transformer" if name.startswith(_TRANSFORMERS) else "cnn"
    return LoadedModel(name, module, "image", shape, source="torchvision", family=family, weights="random")
