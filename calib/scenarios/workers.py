"""One worker per stream: inline when there is one (no thread between the clock and the call), else a
thread each, all started together, the first exception re-raised in the caller.

Threads, not processes: every engine calib drives releases the GIL inside a call (ONNX Runtime's
Run, OpenVINO's infer, PyTorch's kernels), so N threads keep N calls in flight, as benchmark_app's
infer requests and trtexec's streams do. Per-thread state an engine needs (torch's inference mode is
thread-local) comes from `thread_context`, entered once in each worker thread.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Callable, Sequence


def run_workers(calls: Sequence[Callable[[], object]], body: Callable[[int, Callable[[], object]], None],
                thread_context: Callable[[], contextlib.AbstractContextManager] | None = None) -> None:
    """body(worker_index, call) for each stream's call, concurrently."""
    if len(calls) == 1:
        body(0, calls[0])
        return
    errors: list[BaseException] = []
    ready = threading.Barrier(len(calls))

    def worker(index: int, call) -> None:
        try:
            with (thread_context() if thread_context else contextlib.nullcontext()):
                ready.wait()
                body(index, call)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller below
            errors.append(exc)
            ready.abort()

    threads = [threading.Thread(target=worker, args=(index, call), name=f"calib-stream-{index}", daemon=True)
               for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
    if real or errors:
        raise (real or errors)[0]


__all__ = ["run_workers"]
