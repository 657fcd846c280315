"""--max-drop X: which stored fidelity results fail the budget, and the compact column text.

What X means depends on what was measured (the strictest reading available is used):
  - the user's --eval score: it may fall at most X points (of 100) below fp32's score;
  - labels (digits-cnn, --eval-data): test-set accuracy may fall at most X points below fp32;
  - a classifier without labels: at most X% of top-1 predictions may differ from fp32's
    (a disagreement is an upper bound on the accuracy it can cost);
  - other outputs: cosine similarity to fp32 of at least 1 - X/100 (X=1 -> 0.99).
NaN or Inf that fp32 does not produce fail every budget, and without any budget too.
Pure Python: `calib recommend` re-judges stored results with another X without importing torch.
"""

from __future__ import annotations

from calib.fidelity.alarm import MARKER, evidence


def judge(fidelity: dict | None, max_drop: float | None) -> tuple[bool | None, str]:
    """(passed, why): True/False against `max_drop`, None when there is no budget or nothing to judge."""
    if not fidelity:
        return None, "no fidelity data"
    broken = _non_finite(fidelity)
    if broken:
        return False, broken
    if fidelity.get("is_reference"):
        return (None if max_drop is None else True), "fp32 reference"
    if max_drop is None:
        return None, "no --max-drop budget"
    if fidelity.get("score_drop") is not None:
        drop = fidelity["score_drop"]
        return drop <= max_drop, f"--eval score drop {drop:.2f} points {'<=' if drop <= max_drop else '>'} {max_drop:g}"
    if fidelity.get("accuracy_drop") is not None:
        drop = fidelity["accuracy_drop"]
        return drop <= max_drop, f"accuracy drop {drop:.2f} points {'<=' if drop <= max_drop else '>'} {max_drop:g}"
    if fidelity.get("top1_agreement") is not None:
        changed = 100 * (1 - fidelity["top1_agreement"])
        verdict = changed <= max_drop
        return verdict, (f"top-1 changed on {changed:.1f}% of {fidelity.get('top1_items')} items "
                         f"{'<=' if verdict else '>'} {max_drop:g}")
    if fidelity.get("cosine") is not None:
        floor = 1 - max_drop / 100
        verdict = fidelity["cosine"] >= floor
        return verdict, f"cosine {fidelity['cosine']:.5f} {'>=' if verdict else '<'} floor {floor:.4f}"
    return None, "no fidelity metrics (no fp32 reference)"


def _non_finite(fidelity: dict) -> str:
    nan_count, inf_count = fidelity.get("nan_count") or 0, fidelity.get("inf_count") or 0
    if not (nan_count or inf_count):
        return ""
    if fidelity.get("is_reference"):
        return f"fp32 itself produces {nan_count} NaN / {inf_count} Inf"
    return f"{nan_count} NaN / {inf_count} Inf in the outputs (overflow?)"


def compact(fidelity: dict) -> str:
    """A few characters for the run table: accuracy and its drop, or top-1 agreement and SQNR."""
    parts = [MARKER] if evidence(fidelity) else []  # outputs unrelated to fp32's: calib.fidelity.alarm
    nan_count, inf_count = fidelity.get("nan_count") or 0, fidelity.get("inf_count") or 0
    if nan_count:
        parts.append(f"NaN x{nan_count}")
    if inf_count:
        parts.append(f"Inf x{inf_count}")
    if fidelity.get("score") is not None:  # the user's --eval score says it best; details are in the record
        drop = fidelity.get("score_drop")
        suffix = "ref" if fidelity.get("is_reference") else ("?" if drop is None else f"{0.0 - drop:+.1f}")
        parts.append(f"score {100 * fidelity['score']:.1f} ({suffix})")
    elif fidelity.get("accuracy") is not None:
        drop = fidelity.get("accuracy_drop")
        suffix = "ref" if fidelity.get("is_reference") else ("?" if drop is None else f"{0.0 - drop:+.1f}")
        parts.append(f"acc {100 * fidelity['accuracy']:.1f}% ({suffix})")
    elif fidelity.get("is_reference"):
        parts.append("reference")
    elif fidelity.get("reference") is None:
        parts.append("no fp32 reference")
    else:
        if fidelity.get("top1_agreement") is not None:
            parts.append(f"top1 {100 * fidelity['top1_agreement']:.0f}%")
        elif fidelity.get("cosine") is not None:
            parts.append(f"cos {fidelity['cosine']:.4f}")
        sqnr = fidelity.get("sqnr_db")
        parts.append("exact" if sqnr is None and fidelity.get("max_abs") == 0 else
                     (f"sqnr {sqnr:.0f} dB" if sqnr is not None else ""))
    return " ".join(part for part in parts if part)
