"""A prediction's ground truth, timed as `calib run` and `calib predict --check` time a model: in a process that
has run nothing else (calib.worker.call_in_child), the table's engine prepared by calib's backend for it.

Why not one process for every model: a process that has built and run other models runs the next one slower.
Measured on the Intel AMX machine kind (torch fp32 b1, 2 threads): with 32 configurations prepared beside it and
timed in rounds, mobilenet_v2 ran 15.3-16.1 ms against 13.0 ms alone, efficientnet_b0 21.8 against 18.2 ms,
resnet18 22.8-23.7 against 21.9 ms; two fresh processes right after read 12.4, 17.8 and 21.0-22.0 ms. Depthwise
models moved most, so a bench's truth taken in one long process under-stated their predictions by 10-20%.
"""

from __future__ import annotations


def time_fresh(engine: str, precision: str, name: str, batch_sizes: tuple[int, ...], threads: int, block_s: float,
               rounds: int = 1) -> dict:
    """{"samples": {batch size: [ms, ...]}, "failed": {batch size: reason}}: model `name`
    (calib.predict.models.load_named) at each batch size, timed by the wall clock in a fresh process: each
    configuration prepared and warmed, then `rounds` FixedTime blocks of `block_s` seconds taken across the batch
    sizes in turn; a configuration that cannot be prepared is under "failed" with its reason, not "samples".
    Used for bench/predict.py's ground truth and calibration's revisits (calib.predict.calibrate.revisit)."""
    from calib.worker import call_in_child

    return call_in_child(_time_here, (engine, precision, name, tuple(batch_sizes), threads, block_s, rounds),
                         name=f"calib truth {name}")


def _time_here(engine, precision, name, batch_sizes, threads, block_s, rounds, progress) -> dict:
    import torch

    from calib.backends import get_backend
    from calib.backends.base import RunConfig
    from calib.predict.models import load_named
    from calib.settings import Int8Settings
    from calib.timing.clock import PerfCounterTimer
    from calib.timing.engine import FixedTime, Warmup, measure

    torch.set_num_threads(threads)
    backend = get_backend(engine)
    model = load_named(name)
    prepared, samples, failed = {}, {}, {}
    for batch in batch_sizes:
        config = RunConfig(precision=precision, device="cpu", batch_size=batch, threads=threads,
                           int8=Int8Settings(path="fx") if engine == "torch" else Int8Settings())
        try:
            prepared[batch] = backend.prepare(model, config)
            samples[batch] = []
        except Exception as exc:  # noqa: BLE001 - said by the caller, the other batch sizes go on
            failed[batch] = f"{type(exc).__name__}: {str(exc)[:100]}"
    try:
        with torch.inference_mode():
            for batch, item in prepared.items():
                measure(item.run, PerfCounterTimer(), stop=FixedTime(0.05, min_count=1),
                        warmup=Warmup(min_count=2, min_time_s=0.2, max_time_s=1.0))
            for round_index in range(rounds):
                order = list(prepared) if round_index % 2 == 0 else list(reversed(prepared))
                for batch in order:
                    result = measure(prepared[batch].run, PerfCounterTimer(), stop=FixedTime(block_s, min_count=3),
                                     warmup=Warmup(min_count=1, min_time_s=0.0, max_time_s=0.5))
                    samples[batch].extend(result.samples_ms)
    finally:
        for item in prepared.values():
            item.release()
    return {"samples": samples, "failed": failed}
