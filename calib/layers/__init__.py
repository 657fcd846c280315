"""Per-layer latency tables: where the time of one inference goes, at each precision.

`profile(prepared, end_to_end_ms, settings)` is what the sweep calls after the end-to-end
measurement. It picks the method: torch.fx graph marks (calib.layers.fx_profile) when the
model traces, forward hooks on modules (calib.layers.hooks) when it does not. Backends with
no torch module (ONNX Runtime) bring their own profiler as `prepared.profile_layers`, which
the sweep calls instead. Every table has the same shape (calib.layers.table.finish_table).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from calib.errors import first_line
from calib.layers.table import by_kind, compare_tables, finish_table, top_layers

if TYPE_CHECKING:
    from calib.settings import LayerSettings

__all__ = ["profile", "profile_module", "finish_table", "by_kind", "top_layers", "compare_tables"]


def profile(prepared, end_to_end_ms: float, settings: LayerSettings | None = None) -> dict | None:
    """The layer table of one prepared configuration, or None when nothing can be profiled."""
    if prepared.module is None:
        return None
    autocast = prepared.call_context is not None and prepared.storage_dtype != prepared.compute_dtype
    try:
        return profile_module(prepared.module, prepared.inputs, end_to_end_ms, settings=settings,
                              device=prepared.device,
                              call_context=prepared.call_context, sync=prepared.sync,
                              expected_compute=prepared.compute_dtype,
                              configuration=_configuration(prepared, autocast))
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - a failed per-layer pass must not discard the end-to-end result
        return finish_table([], end_to_end_ms, "failed", reason=f"{type(exc).__name__}: {first_line(exc, 200)}")


def profile_module(module, inputs: tuple, end_to_end_ms: float | None, settings=None, device: str = "cpu",
                   call_context=None, sync=None, expected_compute: str | None = None,
                   configuration: str = "", method: str = "auto", host_clock=None) -> dict:
    """fx graph marks when the module traces (method 'auto' or 'fx'), module hooks otherwise ('hooks').
    `host_clock`: a nanosecond clock for CPU timing (default perf_counter; calib.predict may pass
    time.thread_time_ns)."""
    import torch

    from calib.layers.fx_profile import profile_fx
    from calib.layers.graph import TraceFailed
    from calib.layers.hooks import profile_hooks

    def run_context():
        stack = contextlib.ExitStack()
        stack.enter_context(torch.inference_mode())
        if call_context is not None:
            stack.enter_context(call_context())
        return stack

    if _is_scripted(module):
        return finish_table([], end_to_end_ms, "unavailable", reason="TorchScript modules cannot be traced or hooked")
    arguments = dict(run_context=run_context, device=device, end_to_end_ms=end_to_end_ms, settings=settings,
                     expected_compute=expected_compute, configuration=configuration, sync=sync,
                     host_clock=host_clock)
    trace_error = None
    if method in ("auto", "fx"):
        try:
            return profile_fx(module, tuple(inputs), **arguments)
        except TraceFailed as exc:
            if method == "fx":
                raise
            trace_error = str(exc)
    return profile_hooks(module, tuple(inputs), trace_error=trace_error, **arguments)


def _is_scripted(module) -> bool:
    import torch

    return isinstance(module, torch.jit.ScriptModule)


def _configuration(prepared, autocast: bool) -> str:
    from calib.layers.facts import configuration_label

    return configuration_label(prepared.storage_dtype, prepared.compute_dtype, autocast)
