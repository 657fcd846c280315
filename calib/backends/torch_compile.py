"""torch.compile (inductor) of the same prepared model as the eager backend.

Compilation happens at the first call; it is done here, timed, and recorded as
`compile_s` so it never leaks into the cold-call or steady-state figures.
"""

from __future__ import annotations

import time

from calib.backends import torch_eager
from calib.backends.base import Prepared, RunConfig

NAME = "torch-compile"
unsupported_reason = torch_eager.unsupported_reason  # it compiles what the eager backend prepares


def prepare(model, config: RunConfig) -> Prepared:
    import torch

    prepared = torch_eager.prepare(model, config)
    mode = config.compile.mode
    compiled = torch.compile(prepared.module, mode=mode)
    inputs, context = prepared.inputs, prepared.call_context

    run = torch_eager.bound_call(compiled, inputs, context)

    started = time.perf_counter()
    with torch.inference_mode():
        run()
    if prepared.sync:
        prepared.sync()
    prepared.info["compile_s"] = time.perf_counter() - started
    prepared.info["compile_mode"] = mode
    prepared.run = run
    prepared.stream_runs = (run,) * config.streams if config.streams > 1 else ()  # threads share the compiled module
    prepared.run_on = torch_eager.run_on_inputs(compiled, inputs, context)
    return prepared
