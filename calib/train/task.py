"""What is trained: the initial model, its loss, the batches in order, and (for labelled data) the eval.

Every precision starts from a copy of the same initial fp32 module and sees the same batches in the
same order: `make_batch(step, batch_size)` is a pure function of the step.

Where a task comes from:
- `digits-cnn`: scikit-learn's digits (1437 labelled training images, 360 held out), the model
  re-initialised from the seed (the catalog's shipped weights are already trained: a loss curve from
  them says little), each epoch's order a seeded permutation; eval = test-set accuracy.
- other catalog models: seeded synthetic batches (images ~ N(0, 1), token ids uniform) with seeded
  random class labels for the model's own output width (cross-entropy), else an MSE target of the
  output's shape. No eval: the labels are random.
- `fashion-cnn` (train only, not in the catalog): Fashion-MNIST from the Debian package, a small CNN
  from the seed; eval = accuracy on 2000 test images (calib.train.fashion).
- `file.py:factory`: the factory returns `module`, `(module, example_inputs)`, or
  `(module, example_inputs, loss_fn, make_batch)` where
      loss_fn(output, target) -> scalar tensor            (None: the synthetic default above)
      make_batch(step: int, batch_size: int) -> (inputs, target)
          inputs a tensor or a tuple of tensors (batch first, on the CPU), the same for a given step
          every time it is called                           (None: the synthetic default above)
  The module's own weights are the initial weights (fine-tuning a trained model is allowed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from calib.errors import ModelLoadError, UsageError
from calib.models.loader import check_inputs_fit
from calib.train import fashion
from calib.user_files import call_user, call_user_in_loop, described

# Real sizes: every catalog model trains at its own input size (the catalog's: 224x224 for the
# ImageNet CNNs and vit_b_16, 128 tokens for bert-base), since a small input hides what a precision
# or a memory format does (resnet18 batch 8 on an Intel AMX CPU: amp-bf16 channels_last 1.06x fp32 at
# 64x64, 2.69x at 224x224). The batch is the largest calib.train.sizing finds room for, up to this one
# (and says so when it lowered it); --input-shape/--seq-len, --batch-size, --steps, --layer-steps and
# --lr override ("lr_<optimizer>"). Tiny sizes are for tests (tests/train), not defaults.
TRAIN_DEFAULTS: dict[str, dict] = {
    "resnet18": {"batch_size": 8, "steps": 8, "layer_steps": 2},
    "resnet50": {"batch_size": 8, "steps": 6, "layer_steps": 2},
    "mobilenet_v2": {"batch_size": 8, "steps": 8, "layer_steps": 2},
    "mobilenet_v3_small": {"batch_size": 8, "steps": 8, "layer_steps": 2},
    "efficientnet_b0": {"batch_size": 8, "steps": 8, "layer_steps": 2},
    "vit_b_16": {"batch_size": 8, "steps": 6, "layer_steps": 2},
    "bert-base": {"batch_size": 8, "steps": 8, "layer_steps": 2},
    "hf": {"batch_size": 16, "steps": 20, "lr_sgd": 0.05, "lr_adamw": 5e-5},  # any hf:DIR (calib.train.text)
    "digits-cnn": {"batch_size": 32, "steps": 100, "lr_sgd": 0.05},
    "fashion-cnn": {"batch_size": 64, "steps": 200, "lr_sgd": 0.05},
    "tiny-cnn": {"batch_size": 16, "steps": 20},
    "tiny-mlp": {"batch_size": 32, "steps": 40},
    "tiny-bert": {"batch_size": 16, "steps": 20},
}
GPU_BATCH = 32  # the default batch on a GPU for the models above with batch 8 (a CPU's), before sizing


@dataclass(frozen=True)
class TrainTask:
    name: str
    module: object  # the initial fp32 nn.Module; never trained itself (each precision gets a copy)
    input_kind: str  # "image" | "tokens" | "features"
    item_shape: tuple[int, ...]
    loss_fn: Callable  # (output, target) -> scalar
    make_batch: Callable  # (step, batch_size) -> (inputs tuple, target)
    data: str  # what the batches are, in words
    # (model, forward_context, prepare_inputs) -> {"accuracy": float, "count": int}; None: unlabelled
    evaluate: Callable | None = None
    init: str = "seeded"  # "seeded" (re-initialised from --seed) | "as built" (a factory's own weights)
    info: dict = field(default_factory=dict)

    def check_batch(self, batch_size: int) -> None:
        """A labelled set smaller than the batch cannot fill one: refused before any step (a batch of 5000 on
        digits' 1437 images would train on 1437 and report samples/s for 5000)."""
        items = self.info.get("train_items")
        if items is not None and batch_size > items:
            raise UsageError(f"--batch-size {batch_size}: {self.name} has {items} training items, fewer than one "
                             f"batch; use --batch-size {items} or less")

    def items_per_sample(self) -> int:
        """Tokens per sample for text models (tokens/s), 1 otherwise."""
        return int(self.item_shape[0]) if self.input_kind == "tokens" and self.item_shape else 1


def build_task(loaded, seed: int = 0) -> TrainTask:
    """The task for a model calib.models.loader.load_any loaded."""
    import torch

    module = loaded.module
    if not isinstance(module, torch.nn.Module) or isinstance(module, torch.jit.ScriptModule):
        raise UsageError(f"{loaded.name}: calib train needs a trainable torch nn.Module (a catalog name or "
                         f"file.py:factory), not a {type(module).__name__}")
    if loaded.name == "digits-cnn" and loaded.source == "catalog":
        return _digits_task(seed)
    parts = tuple(getattr(loaded, "train_parts", ()) or ())
    loss_fn, make_batch = (tuple(parts) + (None, None))[:2]
    for what, value in (("loss_fn", loss_fn), ("make_batch", make_batch)):
        if value is not None and not callable(value):
            raise ModelLoadError(f"{loaded.name}: the factory's {what} is a {type(value).__name__}, not callable")
    check_inputs_fit(loaded)  # --input-shape 5,32,32 on a 3-channel model: one line, before any step
    probe_inputs = loaded.make_inputs(1, seed)
    default_loss, default_batch, data = _synthetic(loaded, module, probe_inputs, seed)
    return TrainTask(loaded.name, module, loaded.input_kind, tuple(loaded.item_shape),
                     _checked_loss(loss_fn, loaded.name) if loss_fn else default_loss,
                     _checked(make_batch, loaded.name) if make_batch else default_batch,
                     data if make_batch is None else "the factory's make_batch",
                     init="seeded" if loaded.source == "catalog" else "as built")


def _checked(make_batch, name):
    """The factory's make_batch, supervised (calib.user_files.call_user) and held to its contract: a batch
    of `batch_size` items (samples/s is reported for the batch asked for, so it must be the batch that ran)."""
    def batch(step, batch_size):
        try:
            inputs, target = call_user(make_batch, step, batch_size)
        except Exception as exc:  # noqa: BLE001 - the user's code: say where it failed
            raise ModelLoadError(f"{name}: make_batch({step}, {batch_size}) failed ({described(exc)})") from None
        inputs = (inputs if isinstance(inputs, tuple) else tuple(inputs) if isinstance(inputs, list)
                  else (inputs,))
        count = _leading_size(inputs[0]) if inputs else None
        if count != batch_size:
            raise ModelLoadError(f"{name}: make_batch({step}, {batch_size}) returned "
                                 f"{'no inputs' if count is None else f'{count} items'}, not {batch_size}: "
                                 "calib reports the speed of the batch size asked for (lower --batch-size)")
        return inputs, target
    return batch


def _leading_size(tensor) -> int | None:
    shape = getattr(tensor, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) > 0 else None


def _checked_loss(loss_fn, name):
    """The factory's loss_fn, supervised and held to its contract: a scalar floating-point tensor that
    backward() can start from (a string, a list or a [batch] vector is said in one line, not a traceback)."""
    import torch

    def loss(output, target):
        try:
            value = call_user_in_loop(loss_fn, output, target)  # timed: the step's forward includes it
        except Exception as exc:  # noqa: BLE001 - the user's code: say where it failed
            raise ModelLoadError(f"{name}: loss_fn(output, target) failed ({described(exc)})") from None
        if not isinstance(value, torch.Tensor):
            raise ModelLoadError(f"{name}: loss_fn(output, target) returned a {type(value).__name__}, not a "
                                 "scalar tensor")
        if value.numel() != 1 or not value.is_floating_point():
            raise ModelLoadError(f"{name}: loss_fn(output, target) returned a {value.dtype} tensor of shape "
                                 f"{list(value.shape)}, not a scalar floating-point tensor (reduce it: .mean())")
        return value if value.dim() == 0 else value.reshape(())
    return loss


def _synthetic(loaded, module, probe_inputs, seed: int):
    import torch

    was_training = module.training
    module.eval()
    with torch.no_grad():
        output = module(*probe_inputs)
    module.train(was_training)
    output = output[0] if isinstance(output, (tuple, list)) else output
    classes = int(output.shape[1]) if output.dim() == 2 else None

    def make_batch(step: int, batch_size: int):
        inputs = loaded.make_inputs(batch_size, seed=seed * 1_000_003 + step + 1)
        generator = torch.Generator().manual_seed(seed * 1_000_003 + step + 1)
        if classes:
            target = torch.randint(0, classes, (batch_size,), generator=generator)
        else:
            target = torch.randn((batch_size, *output.shape[1:]), generator=generator)
        return inputs, target

    if classes:
        loss = torch.nn.functional.cross_entropy
        what = f"synthetic seeded {loaded.input_kind} batches, random labels over {classes} classes (cross-entropy)"
    else:
        loss = torch.nn.functional.mse_loss
        what = f"synthetic seeded {loaded.input_kind} batches, random MSE target"
    return loss, make_batch, what


def _digits_task(seed: int) -> TrainTask:
    from calib.models.digits import DigitsCNN, INPUT_SHAPE, load_split

    train_x, train_y, test_x, test_y = load_split()
    return labelled_task("digits-cnn", DigitsCNN, INPUT_SHAPE, (train_x, train_y, test_x, test_y), seed,
                         f"sklearn digits: {len(train_x)} labelled training images in seeded epoch order, "
                         f"accuracy on {len(test_x)} held out")


def _fashion_task(seed: int) -> TrainTask:
    split = fashion.load_split()
    train_x, test_x = split[0], split[2]
    return labelled_task("fashion-cnn", fashion.build_model, fashion.INPUT_SHAPE, split, seed,
                         f"Fashion-MNIST ({fashion.FOLDER}): {len(train_x)} labelled training images in seeded epoch "
                         f"order, accuracy on the first {len(test_x)} test images")


def labelled_task(name: str, build_model, input_shape, split, seed: int, data_text: str) -> TrainTask:
    """A classifier trained with cross-entropy on (train_x, train_y), built from `seed`, fed in seeded
    epoch order, its accuracy measured on (test_x, test_y) after the steps."""
    import torch

    train_x, train_y, test_x, test_y = split
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        module = build_model()
    make_batch = epoch_batches(train_x, train_y, seed)

    def evaluate(model, forward_context, prepare_inputs):
        return accuracy_of(model, forward_context, test_x, test_y, prepare_inputs)

    return TrainTask(name, module, "image", input_shape, torch.nn.functional.cross_entropy, make_batch,
                     data_text, evaluate=evaluate, info={"labelled": True, "train_items": int(len(train_x))})


def epoch_batches(train_x, train_y, seed: int):
    """make_batch(step, batch_size) over a labelled training set: epochs in a seeded order (epoch e
    shuffled with seed + e), so every precision sees the same batches at the same steps."""
    import torch

    orders: dict[int, object] = {}

    def make_batch(step: int, batch_size: int):
        per_epoch = max(1, len(train_x) // batch_size)
        epoch, index = divmod(step, per_epoch)
        if epoch not in orders:
            orders[epoch] = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(seed + epoch))
        chosen = orders[epoch][index * batch_size:(index + 1) * batch_size]
        return (train_x[chosen],), train_y[chosen]

    return make_batch


def accuracy_of(model, forward_context, images, labels, cast=None) -> dict:
    """Top-1 accuracy of `model` on (images, labels), run as the precision trains (its context, its cast)."""
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), forward_context():
            inputs = images if cast is None else cast(images)
            predicted = model(inputs).float().argmax(dim=1)
    finally:
        model.train(was_training)
    return {"accuracy": float((predicted.cpu() == labels).float().mean()), "count": int(len(labels))}


def named_task(model: str, seed: int = 0) -> TrainTask | None:
    """The train-only tasks that are not catalog models (None for every other name)."""
    if model == "fashion-cnn":
        return _fashion_task(seed)
    return None


def train_defaults(model: str, device: str = "cpu") -> dict:
    """The model's defaults (hf:DIR: the "hf" entry); on a GPU the real-size models start at GPU_BATCH."""
    from calib.models.hf import is_hf_spec

    defaults = dict(TRAIN_DEFAULTS.get("hf" if is_hf_spec(model) else model, {}))
    if device.startswith("cuda") and defaults.get("batch_size") == 8:
        defaults["batch_size"] = GPU_BATCH
    return defaults
