"""How far one set of outputs is from its fp32 reference: the numbers every fidelity check reports.

All arithmetic is in float64 on the CPU, so the metric itself adds no error. Errors are computed
over the elements that are finite in both tensors; NaN and Inf are counted separately (fp16
overflow shows up there) and make a configuration fail whatever its other numbers say.
"""

from __future__ import annotations

import math

METRIC_KEYS = ("max_abs", "mean_abs", "rel_error", "cosine", "sqnr_db", "top1_agreement", "top1_items",
               "nan_count", "inf_count", "elements", "reference_max_abs")


def output_tensors(outputs) -> list:
    """The tensors of one call's outputs, in a stable order (tensor, tuple/list, dict, nested)."""
    import torch

    if isinstance(outputs, torch.Tensor):
        return [outputs]
    if isinstance(outputs, dict):
        return [t for key in sorted(outputs) for t in output_tensors(outputs[key])]
    if isinstance(outputs, (tuple, list)):
        return [t for item in outputs for t in output_tensors(item)]
    if hasattr(outputs, "__array__"):  # numpy arrays from a backend that does not hand back tensors
        return [torch.as_tensor(outputs)]
    return []


def class_scores(outputs):
    """The [batch, classes] tensor of a classifier's outputs (its first output), else None."""
    tensors = output_tensors(outputs)
    if tensors and tensors[0].dim() == 2 and tensors[0].shape[1] > 1 and tensors[0].is_floating_point():
        return tensors[0]
    return None


def detached(outputs) -> list:
    """A CPU float32 copy of one call's output tensors, safe to keep as a reference."""
    return [t.detach().to("cpu", copy=True).float() if t.is_floating_point() else t.detach().to("cpu", copy=True)
            for t in output_tensors(outputs)]


def _flat(calls: list):
    import torch

    pieces = [t.detach().to("cpu").reshape(-1).double() for call in calls for t in output_tensors(call)]
    return torch.cat(pieces) if pieces else torch.zeros(0, dtype=torch.float64)


def compare(calls: list, reference_calls: list) -> dict:
    """Metrics of `calls` (a list of per-call outputs) against `reference_calls` (same structure)."""
    import torch

    if len(calls) != len(reference_calls):
        raise ValueError(f"{len(calls)} calls against {len(reference_calls)} reference calls")
    values, reference = _flat(calls), _flat(reference_calls)
    if values.shape != reference.shape:
        raise ValueError(f"outputs have {values.numel()} elements, the fp32 reference {reference.numel()}")
    result = {
        "nan_count": int(torch.isnan(values).sum()),
        "inf_count": int(torch.isinf(values).sum()),
        "elements": int(values.numel()),
        "max_abs": None, "mean_abs": None, "rel_error": None, "cosine": None, "sqnr_db": None,
        "top1_agreement": None, "top1_items": None, "reference_max_abs": None,
    }
    finite = torch.isfinite(values) & torch.isfinite(reference)
    if bool(finite.any()):
        result.update(_errors(values[finite], reference[finite]))
    result.update(_top1(calls, reference_calls))
    return result


def _errors(values, reference) -> dict:
    error = values - reference
    signal_power = float((reference * reference).sum())
    noise_power = float((error * error).sum())
    norms = float(values.norm() * reference.norm())
    return {
        "max_abs": float(error.abs().max()),
        "mean_abs": float(error.abs().mean()),
        # ||error|| / ||reference||: scale-free, unlike max_abs
        "rel_error": math.sqrt(noise_power / signal_power) if signal_power > 0 else None,
        "cosine": float((values * reference).sum()) / norms if norms > 0 else None,
        # None when the outputs are identical: no noise, infinite SQNR (JSON has no infinity)
        "sqnr_db": 10 * math.log10(signal_power / noise_power) if noise_power > 0 and signal_power > 0 else None,
        # the reference's scale: outputs of 1e-9 (random weights) are below what int8 can represent
        "reference_max_abs": float(reference.abs().max()),
    }


def _top1(calls: list, reference_calls: list) -> dict:
    import torch

    scores = [class_scores(call) for call in calls]
    reference_scores = [class_scores(call) for call in reference_calls]
    if not scores or any(s is None for s in scores + reference_scores):
        return {}
    predicted = torch.cat([s.argmax(dim=1).cpu() for s in scores])
    expected = torch.cat([s.argmax(dim=1).cpu() for s in reference_scores])
    return {"top1_agreement": float((predicted == expected).double().mean()), "top1_items": int(predicted.numel())}


def identical(calls: list) -> dict:
    """The metrics of a reference against itself (fp32): zero error, with its own NaN/Inf counts."""
    result = compare(calls, calls)
    if result["sqnr_db"] is None and result["cosine"] is not None:
        result["cosine"] = 1.0  # exact; the division can land one ulp off
    return result
