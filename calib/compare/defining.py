"""The settings that define a configuration besides its identity: two records with one identity measured
different things when these differ, and a gate between them judges nothing.

- training (`calib train`, the record's training settings): the optimizer, its learning rate and momentum,
  the steps and warm-up steps, the seed, the GradScaler's initial scale and torch.compile. Another optimizer
  or step count moves samples/s and the loss curve by itself.
- int8-static (`calib run`, the record's calibration_data): where the calibration data comes from (the
  source, the --calib-data given, how many items) and how the ranges are observed (--calib-method and its
  percentile, --qscheme, --weight-granularity). Another observer is another quantized model.

A key one of the two records lacks (a file written before calib recorded it) is no difference, as an
environment key older files lack is none (calib.compare.environment). `calib check` refuses a pair that
differs unless --force; `--history` leaves such runs out of a configuration's window unless --force."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from calib.results.record import Record, ResultFile, as_record, as_result

TRAINING_KEYS = ("optimizer", "lr", "momentum", "steps", "warmup_steps", "seed", "init_scale", "compile")
CALIBRATION_KEYS = ("source", "data", "items", "method", "percentile", "qscheme", "weight_granularity")
# How a difference names a key: "optimizer sgd vs adam", "calibration method minmax vs percentile".
_NAMES = {"lr": "learning rate", "warmup_steps": "warm-up steps", "init_scale": "GradScaler init scale",
          "source": "calibration data source", "data": "--calib-data", "items": "calibration items",
          "method": "calibration method", "percentile": "calibration percentile", "qscheme": "qscheme",
          "weight_granularity": "weight granularity"}


def defining_settings(record: Record | Mapping) -> dict:
    """The settings of this record that define its configuration (module docstring), by key; {} for a
    record that has none (fp32 inference, a file from before they were recorded)."""
    record = as_record(record)
    if record.training is not None:
        settings = (record.training or {}).get("settings") or {}
        return {key: settings[key] for key in TRAINING_KEYS if key in settings}
    if record.identity.precision == "int8-static":
        calibration = record.extra.get("calibration_data") or {}
        if isinstance(calibration, Mapping):
            return {key: calibration[key] for key in CALIBRATION_KEYS if key in calibration}
    return {}


def settings_difference(first: Record | Mapping, second: Record | Mapping) -> tuple[str, ...]:
    """Each defining setting both records hold with different values: "optimizer sgd vs adam"."""
    ours, theirs = defining_settings(first), defining_settings(second)
    # None on one side: a setting that does not apply there (AdamW's momentum), named by the one that differs
    return tuple(f"{_NAMES.get(key, key)} {_shown(ours[key])} vs {_shown(theirs[key])}" for key in ours
                 if key in theirs and None not in (ours[key], theirs[key]) and ours[key] != theirs[key])


@dataclass(frozen=True)
class ConfigurationDifference:
    """The defining settings two runs differ in, grouped by the configurations that differ alike."""

    first: str  # labels of the two runs, e.g. file names
    second: str
    found: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # (differences, configuration labels)

    @property
    def settings(self) -> list[str]:
        return list(dict.fromkeys(difference for differences, _ in self.found for difference in differences))

    def line(self) -> str:
        """One line: what differs, in which configurations (the first two named)."""
        parts = []
        for differences, labels in self.found:
            shown = ", ".join(labels[:2]) + (f" and {len(labels) - 2} more" if len(labels) > 2 else "")
            parts.append(f"{', '.join(differences)} (in {shown})")
        return (f"{self.first} vs {self.second}: settings that define the configuration differ: "
                f"{'; '.join(parts)}")


def configuration_difference(first_result: ResultFile | Mapping, second_result: ResultFile | Mapping,
                             first: str, second: str) -> ConfigurationDifference | None:
    """The defining settings that differ between the records of one identity in two runs, or None."""
    first_result, second_result = as_result(first_result), as_result(second_result)
    theirs = {record.key: record for record in second_result.records}
    found: dict[tuple[str, ...], list[str]] = {}
    for record in first_result.records:
        other = theirs.get(record.key)
        differences = settings_difference(record, other) if other is not None else ()
        if differences:
            found.setdefault(differences, []).append(record.label)
    if not found:
        return None
    return ConfigurationDifference(first, second, tuple((key, tuple(labels)) for key, labels in found.items()))


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
