"""Train every requested precision in turn, one record each, written after every one."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from calib.errors import CalibError, ModelLoadError, PrecisionUnavailable
from calib.lifecycle import other_cpu_use
from calib.settings import TuneSettings
from calib.train.candidates import choose, tune_settings
from calib.train.checkpointing import find_blocks
from calib.train.loop import train_precision
from calib.train.memory import release_memory
from calib.train.precisions import get_train_precision, unsupported_reason
from calib.train.record import add_fidelity, configuration_of, fill_trained, mark_train_unmeasured, new_train_record
from calib.train.settings import TrainSettings
from calib.user_files import call_user, described


def ordered_precisions(precisions: list[str], baseline: str) -> tuple[list[str], bool]:
    """The precisions with the baseline first (added when not asked for: the deviations need its curve);
    and whether it was added."""
    for name in [*precisions, baseline]:
        get_train_precision(name)  # an unknown name: exit 2 before any work
    unique = list(dict.fromkeys(precisions))
    added = baseline not in unique
    return [baseline, *[p for p in unique if p != baseline]], added


def configurations(precisions: list[str], checkpointing: list[str], baseline: str) -> list[tuple[str, str]]:
    """[(precision, activation checkpointing)] with the baseline configuration (the baseline precision
    without checkpointing: what every Δ is against) first, then each setting's precisions in order."""
    modes = list(dict.fromkeys(checkpointing or ["none"]))
    listed = [(baseline, "none")]
    for mode in modes:
        listed += [(name, mode) for name in precisions if (name, mode) not in listed]
    return listed


def train_all(task, precisions: list[str], settings: TrainSettings, device: str, device_report: dict | None,
              writer=None, baseline: str = "fp32", on_start: Callable | None = None,
              max_drop: float | None = None, checkpointing: list[str] | None = None,
              tune: TuneSettings | None = None, timer_for: Callable | None = None,
              batch_fit: dict | None = None) -> list[dict]:
    """Train every (precision, activation checkpointing) configuration in turn; each races its candidates
    (calib.train.candidates) first, then trains from the initial weights with the winner's settings."""
    import torch

    tune = tune or tune_settings(True, None)
    records = []
    try:  # the model's and the factory's code runs first here: what it raises (sys.exit() too) is said in one line
        call_user(_prime, task, settings, device)
    except CalibError:
        raise
    except Exception as exc:  # noqa: BLE001 - an fp32 step that fails would fail every precision
        raise ModelLoadError(f"{task.name}: a first fp32 training step failed ({described(exc)})") from None
    for name, mode in configurations(precisions, checkpointing or ["none"], baseline):
        precision = get_train_precision(name)
        variant = None if mode == "none" else f"ac-{mode}"
        record = new_train_record(configuration_of(task, name, settings.batch_size, device, variant), device_report)
        if on_start:
            on_start(name if variant is None else f"{name}+{variant}")
        try:
            reason = unsupported_reason(precision, device)
            if reason:
                raise PrecisionUnavailable(reason)
            if mode != "none" and not find_blocks(task.module)[1]:
                raise PrecisionUnavailable(f"--activation-checkpointing {mode}: {task.name} has no repeated blocks "
                                           "(an nn.ModuleList or nn.Sequential of one module class) to checkpoint")
            configured = replace(settings, activation_checkpointing=mode)
            candidate, configured, tuning = call_user(choose, task, precision, configured, device, tune,
                                                      record.get("verdict"), timer_for)
            # supervised: the model's, loss_fn's and make_batch's code runs here; sys.exit() fails this precision
            watch = other_cpu_use()  # what a neighbour takes makes step times no evidence: recorded, warned
            run = call_user(train_precision, task, precision, configured, device, record.get("verdict"))
            fill_trained(record, run, task, configured, watch.stop() if watch else None)
            record["backend_info"]["candidate"] = candidate
            if tuning is not None:
                record["tuning"] = tuning
            if batch_fit is not None:
                record["training"]["batch_fit"] = batch_fit
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - one precision failing must not lose the others
            mark_train_unmeasured(record, exc)
        finally:
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
        release_memory()
        records.append(record)
        add_fidelity(records, baseline, max_drop)
        if writer is not None:
            writer.add(record)
    if writer is not None:
        writer.flush()  # the deviations of records written before the baseline's were filled in since
    return records


def _prime(task, settings: TrainSettings, device: str) -> None:
    """Two untimed fp32 steps (and the eval) on a throwaway copy before the first precision, so that
    torch's one-off allocations (kernels, thread pools, the optimizer's and autograd's first use;
    150 MiB on a CPU) do not count as the first precision's peak memory."""
    import torch

    with torch.random.fork_rng(devices=[]):
        untimed = replace(settings, steps=2, warmup_steps=1, layers=False, compile=False,
                          activation_checkpointing="none")
        train_precision(task, get_train_precision("fp32"), untimed, device)
    release_memory()
