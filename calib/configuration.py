"""The one identity of a measured configuration: what was measured, with one key and one label.

Modelled on torch.utils.benchmark's TaskSpec: a frozen value that every layer shares. The
results file stores it as a record's "identity" dict (calib.results.schema); everything that
aligns, labels or reports records rebuilds it with `Configuration.of(record)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from calib.errors import UsageError

FIELDS = ("model", "backend", "precision", "batch_size", "input_shape", "device")
# A variant of a precision: "mixed" is int8 with some layers kept in float (calib.sensitivity's
# fallback). Stored in the identity only when set, so files without it read as before.
OPTIONAL_FIELDS = ("variant",)


def check_batch_size(batch_size: int) -> int:
    """The one batch-size rule, for every type that takes one (SweepSpec, TrainSettings, CalibrationPlan):
    a positive integer."""
    if batch_size <= 0:
        raise UsageError(f"--batch-size {batch_size}: must be positive")
    return batch_size


@dataclass(frozen=True)
class Configuration:
    model: str
    backend: str
    precision: str
    batch_size: int
    input_shape: tuple[int, ...]
    device: str
    variant: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "input_shape", tuple(int(d) for d in self.input_shape))

    @classmethod
    def from_identity(cls, identity: dict) -> "Configuration":
        return cls(**{name: identity[name] for name in FIELDS},
                   **{name: identity[name] for name in OPTIONAL_FIELDS if identity.get(name)})

    @classmethod
    def of(cls, record: dict) -> "Configuration":
        """The configuration of a stored (or in-progress) record."""
        return cls.from_identity(record["identity"])

    def to_identity(self) -> dict:
        """The JSON form stored as a record's "identity"."""
        identity = {"model": self.model, "backend": self.backend, "precision": self.precision,
                    "batch_size": self.batch_size, "input_shape": list(self.input_shape), "device": self.device}
        if self.variant:
            identity["variant"] = self.variant
        return identity

    @property
    def key(self) -> tuple:
        """Hashable; equal for the same configuration in two results files."""
        return (self.model, self.backend, self.precision, self.batch_size, self.input_shape, self.device,
                *self._variant_key)

    @property
    def row_key(self) -> tuple:
        """The key without the device: the same configuration measured on several machines lines up."""
        return (self.model, self.backend, self.precision, self.batch_size, self.input_shape, *self._variant_key)

    @property
    def _variant_key(self) -> tuple:
        return (self.variant,) if self.variant else ()

    @property
    def precision_label(self) -> str:
        """The precision with its variant: int8-static, or int8-static+mixed."""
        return f"{self.precision}+{self.variant}" if self.variant else self.precision

    @property
    def peer_key(self) -> tuple:
        """The key without the precision: the configurations a precision is compared with (its fp32
        speed-up, `calib layers --compare-precision`) share it. The input shape follows the batch."""
        return (self.model, self.backend, self.batch_size, self.device)

    @property
    def short_label(self) -> str:
        """model backend precision bN: progress lines and warnings."""
        return f"{self.model} {self.backend} {self.precision_label} b{self.batch_size}"

    @property
    def row_label(self) -> str:
        """The label without the device (compare's rows)."""
        return f"{self.short_label} [{'x'.join(str(d) for d in self.input_shape)}]"

    @property
    def label(self) -> str:
        return f"{self.row_label} {self.device}"

    def __str__(self) -> str:
        return self.label
