"""Preparing the model again for another scenario point: another batch size, N streams, fewer threads each.

The sweep's prepared model is the candidate calib.tuning kept (a memory format, an int8 recipe); a
point must run that same candidate, so the candidate is looked up by the name the backend recorded
(backend_info "candidate") and only its batch size and streams change.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace


def reprepare_for(model, configuration, run_config, prepared):
    """A factory (batch or None for the configuration's, streams, threads per stream) -> context manager
    yielding a Prepared; the sweep's own prepared model when nothing changes."""
    base = _kept_candidate(model, configuration, run_config, (prepared.info or {}).get("candidate"))

    @contextlib.contextmanager
    def reprepare(batch_size, streams: int, threads_per_stream: int):
        batch_size = batch_size or configuration.batch_size
        all_threads = streams == 1 and threads_per_stream == base.threads
        if batch_size == configuration.batch_size and all_threads:
            yield prepared  # the sweep closes it
            return
        from calib import lifecycle

        config = replace(base, batch_size=batch_size, streams=streams,
                         stream_threads=None if all_threads else threads_per_stream)
        with lifecycle.prepare(model, replace(configuration, batch_size=batch_size,
                                              input_shape=(batch_size, *configuration.input_shape[1:])),
                               config) as point:
            yield point

    return reprepare


def _kept_candidate(model, configuration, run_config, name: str | None):
    if not name:
        return run_config
    from calib.tuning import candidates_of

    for candidate, config in candidates_of(model, configuration, run_config):
        if candidate == name:
            return config
    return run_config


__all__ = ["reprepare_for"]
