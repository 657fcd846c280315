"""What every model loader returns: a LoadedModel (module or graph, input description, seeded inputs).

The loaders (calib.models.loader for catalog names, .py factories, .pt and .pt2; calib.models.hf,
calib.models.onnx_model, calib.models.openvino_model) all build one; calib.models.loader.load_any picks
the loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEED = 0


@dataclass
class LoadedModel:
    name: str
    module: object  # torch.nn.Module (or ScriptModule / exported module)
    input_kind: str
    item_shape: tuple[int, ...]
    source: str
    family: str = "custom"
    vocab_size: int | None = None
    example_inputs: tuple | None = None  # user-provided, batch included
    info: dict = field(default_factory=dict)
    weights: str = "user"  # "random" (catalog, seeded init), "trained" (shipped), "user" (a file: yours)
    fixed_batch: int | None = None  # a graph exported for one batch size only (.pt2, .onnx): that size
    fixed_batch_hint: str = ""  # how to get a graph that takes other batch sizes
    train_parts: tuple = ()  # a factory's (loss_fn, make_batch) after (module, example_inputs): calib.train.task

    @property
    def example_batch(self) -> int | None:
        """The batch size of a factory's example inputs (their first tensor's first dimension), else None."""
        first = self.example_inputs[0] if self.example_inputs else None
        return int(first.shape[0]) if getattr(first, "dim", lambda: 0)() > 0 else None

    def example_batch_warning(self, batch_size: int) -> str | None:
        """The warning of a configuration measured at another batch size than the example inputs' (they
        are repeated or cut to `batch_size`: make_inputs), for every command that measures."""
        example = self.example_batch
        if example is None or example == batch_size:
            return None
        return (f"the model's example inputs have batch {example}; measured at batch {batch_size} "
                f"(--batch-size {example} measures theirs)")

    def make_inputs(self, batch_size: int, seed: int = SEED) -> tuple:
        """Seeded inputs for one call at this batch size (fp32 / int64, on the CPU)."""
        import torch

        if self.example_inputs is not None:
            return tuple(rebatch(t, batch_size) for t in self.example_inputs)
        generator = torch.Generator().manual_seed(seed)
        shape = (batch_size, *self.item_shape)
        if self.input_kind == "tokens":
            high = self.vocab_size or 1000
            return (torch.randint(0, high, shape, generator=generator),)
        return (torch.randn(shape, generator=generator),)


def rebatch(tensor, batch_size: int):
    if tensor.shape[0] == batch_size:
        return tensor
    reps = (batch_size + tensor.shape[0] - 1) // tensor.shape[0]
    return tensor.repeat(reps, *([1] * (tensor.dim() - 1)))[:batch_size]
