"""A total disagreement with fp32: outputs unrelated to the reference's, said as a loud warning with what
is likely broken, never only as "top1 0% sqnr 0 dB" in a table cell.

Pure Python on a stored fidelity dict (calib.fidelity.assess), so a reader can ask it of any result.
The marks are far from what a working conversion gives: bf16 keeps 30-50 dB of SQNR and int8 10-30 dB
on real models; 1 dB means the error is as large as the signal.
"""

from __future__ import annotations

SQNR_AT_MOST_DB = 1.0  # the error as large as the signal (0 dB: outputs all zero, or unrelated)
COSINE_AT_MOST = 0.1  # the outputs point elsewhere
TOP1_AT_MOST = 0.05  # top-1 agrees on (almost) no item...
TOP1_MIN_ITEMS = 8  # ...of enough items to say so
TOP1_TIES_SQNR_DB = 10.0  # with outputs this close, top-1 flips between nearly tied classes (random weights)
VANISHING_OUTPUT = 1e-6  # fp32's largest output this small: the activations vanished (random weights)
MARKER = "BROKEN?"  # the fidelity cell's prefix (calib.fidelity.budget.compact)


def evidence(fidelity: dict | None) -> list[str]:
    """The numbers that show a total disagreement ("SQNR 0.0 dB", "top-1 agrees on 0% of 64 items"),
    empty when there is none or nothing to judge (fp32 itself, no reference, NaN/Inf: judged elsewhere)."""
    if not fidelity or fidelity.get("is_reference") or fidelity.get("reference") is None:
        return []
    found = []
    sqnr, cosine, top1 = fidelity.get("sqnr_db"), fidelity.get("cosine"), fidelity.get("top1_agreement")
    if sqnr is not None and sqnr <= SQNR_AT_MOST_DB:
        found.append(f"SQNR {sqnr:.1f} dB")
    if cosine is not None and cosine <= COSINE_AT_MOST:
        found.append(f"cosine {cosine:.3f}")
    items = fidelity.get("top1_items") or 0
    if (top1 is not None and top1 <= TOP1_AT_MOST and items >= TOP1_MIN_ITEMS
            and (sqnr is not None and sqnr < TOP1_TIES_SQNR_DB)):
        found.append(f"top-1 agrees on {100 * top1:.0f}% of {items} items")
    return found


def warning(fidelity: dict | None, precision: str, weights: str | None = None) -> str | None:
    """The warning line for a configuration whose outputs are unrelated to fp32's, else None."""
    shown = evidence(fidelity)
    if not shown:
        return None
    head = (f"TOTAL DISAGREEMENT with fp32 ({', '.join(shown)}; on {fidelity.get('sample') or 'its sample'}, "
            f"against {fidelity['reference']}): this {precision} model does not compute what fp32 does")
    scale = fidelity.get("reference_max_abs")
    if scale is not None and scale < VANISHING_OUTPUT:
        origin = "random weights let the activations vanish" if weights == "random" else "the activations vanish"
        return (f"{head}. fp32's outputs are at most {scale:.2g} ({origin}): too small for {precision} to "
                "represent, so the comparison says nothing about a trained model; measure with real weights "
                "(file.py:factory, --eval) to judge it")
    return f"{head}. Likely broken: {_causes(precision)}"


def _causes(precision: str) -> str:
    from calib.precisions import PRECISIONS

    family = PRECISIONS[precision].family if precision in PRECISIONS else "float"
    engine = "an engine bug (another -b backend or --candidate shows whether it follows the engine)"
    if family in ("int8", "fp8"):
        calibration = ("the calibration data (record's calibration_data; --calib-data with real inputs), "
                       if precision == "int8-static" else "")
        return (f"{calibration}a layer quantized that should stay float (the output layer, a softmax or "
                f"normalisation: `calib sensitivity` ranks them, --fallback keeps them fp32), or {engine}")
    return (f"overflow or underflow in {precision} (see the NaN/Inf counts and `calib show --fidelity`), a layer "
            f"that needs fp32, or {engine}")
