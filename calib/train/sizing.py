"""A training batch that fits the machine: the default batch, lowered (and said) when memory is short.

Two untimed fp32 steps, at batch 1 and 2, each in calib.train.memory.PeakMemory, give what one more
sample costs (activations) and what does not grow with the batch (the model copy, its gradients, the
optimizer state, workspaces). A configuration's need at batch b is estimated as
    RACED_COPIES x fixed + b x per_sample x HEADROOM
(the candidate race holds a model and optimizer per candidate; autocast keeps low-precision copies of
activations beside fp32 ones, hence the headroom), and the batch is halved until that fits in
FILL of the memory available now (CUDA: torch.cuda.mem_get_info's free bytes; CPU: psutil's available).
Only the default batch is ever lowered: an explicit --batch-size is the user's to keep.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from calib.train.memory import release_memory

RACED_COPIES = 2
HEADROOM = 1.5
FILL = 0.8


@dataclass(frozen=True)
class BatchFit:
    batch_size: int
    requested: int
    fixed_bytes: int
    per_sample_bytes: int
    available_bytes: int
    note: str | None = None  # said to the user (and kept in the record) when the batch was lowered

    def to_dict(self) -> dict:
        return {"batch_size": self.batch_size, "requested": self.requested, "fixed_bytes": self.fixed_bytes,
                "per_sample_bytes": self.per_sample_bytes, "available_bytes": self.available_bytes,
                "lowered": self.batch_size != self.requested, "note": self.note}


def available_bytes(device: str) -> int:
    if device.startswith("cuda"):
        import torch

        return int(torch.cuda.mem_get_info(torch.device(device))[0])
    import psutil

    return int(psutil.virtual_memory().available)


def largest_batch(requested: int, fixed: int, per_sample: int, available: int) -> int:
    """The largest of requested, requested/2, ... (at least 1) whose estimated need fits FILL x available."""
    batch = requested
    while batch > 1 and RACED_COPIES * fixed + batch * per_sample * HEADROOM > FILL * available:
        batch //= 2
    return batch


def fit_batch(task, settings, device: str, available: int | None = None) -> BatchFit:
    from calib.train.loop import train_precision
    from calib.train.precisions import get_train_precision

    import torch

    peaks = []
    for batch in (1, 2):
        probe = replace(settings, batch_size=batch, steps=2, warmup_steps=1, layers=False, eval=False,
                        compile=False, activation_checkpointing="none")
        with torch.random.fork_rng(devices=[]):
            run = train_precision(task, get_train_precision("fp32"), probe, device)
        peaks.append(int(run.memory.get("peak_bytes") or 0))
        release_memory()
    per_sample = max(0, peaks[1] - peaks[0])
    fixed = max(0, peaks[0] - per_sample)
    available = available if available is not None else available_bytes(device)
    batch = largest_batch(settings.batch_size, fixed, per_sample, available)
    note = None
    if batch != settings.batch_size:
        gib = 1024 ** 3
        note = (f"batch lowered from {settings.batch_size} to {batch} for memory: {available / gib:.1f} GiB "
                f"available, about {fixed / gib:.2f} GiB per model copy and {per_sample / 2 ** 20:.0f} MiB per "
                f"sample measured at batch 1 and 2 (--batch-size to choose)")
    return BatchFit(batch, settings.batch_size, fixed, per_sample, available, note)
