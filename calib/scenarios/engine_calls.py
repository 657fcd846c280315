"""What a scenario calls: one callable per stream, finished when it returns, with each engine's threads.

A scenario times calls with the host clock from another thread than the one that prepared the model, so
three things the single-stream timer handles (calib.timing.clock) must hold here too:
  * a call has finished when it returns. ONNX Runtime and OpenVINO calls are synchronous; a torch call on
    CUDA only enqueues work, so each stream runs on its own CUDA stream (torch.cuda.Stream, entered in its
    thread) and its call waits for that stream: streams overlap on the device as trtexec's --streams do,
    and a latency is the work's, not the enqueue's. Written for a CUDA box; not run on this one.
  * torch's inference mode and current CUDA stream are thread-local: entered in every stream's thread.
  * torch's intra-op pool is process-wide: N torch streams run with fewer threads each, restored after.
    ONNX Runtime sessions and OpenVINO compiled models set their threads themselves (calib.backends).
"""

from __future__ import annotations

import contextlib


def stream_calls(prepared, streams: int) -> tuple:
    """One callable per stream: the backend's own (separate sessions or infer requests), or for one
    stream the prepared model's run; on CUDA each waits for its own stream's work."""
    runs = tuple(getattr(prepared, "stream_runs", ()) or ())
    if len(runs) >= streams:
        runs = runs[:streams]
    elif streams == 1:
        runs = (prepared.run,)
    else:
        raise RuntimeError(f"the backend prepared {max(1, len(runs))} stream(s), not {streams}")
    return tuple(_finished(run, prepared) for run in runs)


def _finished(run, prepared):
    if getattr(prepared, "sync", None) is None:
        return run
    if _torch_cuda(prepared):
        import torch

        def waited():
            outputs = run()
            torch.cuda.current_stream().synchronize()  # this thread's stream (thread_context)
            return outputs

        return waited
    sync = prepared.sync

    def synced():
        outputs = run()
        sync()
        return outputs

    return synced


def _torch_cuda(prepared) -> bool:
    return getattr(prepared, "module", None) is not None and str(prepared.device).startswith("cuda")


@contextlib.contextmanager
def engine_threads(prepared, threads_per_stream: int):
    """Yields the per-thread context factory for run_workers (None: nothing per thread)."""
    if getattr(prepared, "module", None) is None:
        yield None
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads_per_stream)
    device = torch.device(prepared.device) if _torch_cuda(prepared) else None
    try:
        yield lambda: _torch_thread_context(device)
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _torch_thread_context(device):
    import torch

    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.inference_mode())
        if device is not None:
            stack.enter_context(torch.cuda.stream(torch.cuda.Stream(device)))
        yield


__all__ = ["stream_calls", "engine_threads"]
