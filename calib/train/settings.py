"""The settings of one `calib train` invocation, validated once (exit 2 with one line)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from calib.configuration import check_batch_size
from calib.errors import UsageError

OPTIMIZERS = ("sgd", "adamw")
DEFAULT_STEPS = 20
DEFAULT_LR = {"sgd": 0.01, "adamw": 1e-3}
DEFAULT_INIT_SCALE = 2.0 ** 16  # torch.amp.GradScaler's own default
DEFAULT_LAYER_STEPS = 3  # hooked steps per precision for --layers (after the timed ones)
MEMORY_FORMATS = ("contiguous", "channels_last")
# --activation-checkpointing: none; selective = every 2nd block recomputed in backward; full = every block
CHECKPOINTING = ("none", "selective", "full")


@dataclass(frozen=True)
class TrainSettings:
    steps: int = DEFAULT_STEPS  # every precision runs exactly these steps, on the same batches
    warmup_steps: int | None = None  # the first steps, untimed; None: a quarter of the steps, 1 to 5
    batch_size: int = 8
    optimizer: str = "sgd"
    lr: float | None = None  # None: DEFAULT_LR of the optimizer
    momentum: float = 0.9  # SGD only
    seed: int = 0
    init_scale: float = DEFAULT_INIT_SCALE  # GradScaler's first scale (amp-fp16)
    layers: bool = False
    layer_steps: int = DEFAULT_LAYER_STEPS
    compile: bool = False  # torch.compile the model (its compile time kept apart)
    eval: bool = True  # evaluate labelled tasks after the steps
    memory_format: str = "contiguous"  # of the model and 4-D inputs (a candidate calib.train.candidates races)
    activation_checkpointing: str = "none"  # CHECKPOINTING; a dimension of the sweep, like a precision

    def __post_init__(self):
        if self.steps < 2:
            raise UsageError(f"--steps {self.steps}: at least 2 (one warm-up and one timed step)")
        check_batch_size(self.batch_size)
        if self.optimizer not in OPTIMIZERS:
            raise UsageError(f"--optimizer {self.optimizer!r}: choose from {', '.join(OPTIMIZERS)}")
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise UsageError(f"--lr {self.lr:g}: must be a positive finite number")
        if not (math.isfinite(self.init_scale) and self.init_scale > 0):
            raise UsageError(f"--init-scale {self.init_scale:g}: must be a positive finite number")
        if self.warmup_steps is not None and not 0 <= self.warmup_steps < self.steps:
            raise UsageError(f"--warmup-steps {self.warmup_steps}: must be 0 to --steps - 1 ({self.steps - 1})")
        if self.memory_format not in MEMORY_FORMATS:
            raise UsageError(f"memory format {self.memory_format!r}: choose from {', '.join(MEMORY_FORMATS)}")
        if self.activation_checkpointing not in CHECKPOINTING:
            raise UsageError(f"--activation-checkpointing {self.activation_checkpointing!r}: choose from "
                             f"{', '.join(CHECKPOINTING)}")
        if self.layer_steps < 1:
            raise UsageError(f"--layer-steps {self.layer_steps}: must be a positive integer")

    @property
    def warmup(self) -> int:
        if self.warmup_steps is not None:
            return self.warmup_steps
        return max(1, min(5, self.steps // 4))

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def to_dict(self) -> dict:
        return {"stop_rule": "fixed_steps", "steps": self.steps, "warmup_steps": self.warmup,
                "timed_steps": self.steps - self.warmup, "batch_size": self.batch_size, "optimizer": self.optimizer,
                "lr": self.learning_rate, "momentum": self.momentum if self.optimizer == "sgd" else None,
                "seed": self.seed, "init_scale": self.init_scale, "compile": self.compile,
                "memory_format": self.memory_format, "activation_checkpointing": self.activation_checkpointing}
