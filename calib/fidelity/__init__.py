"""Fidelity: what each precision costs in accuracy, against the fp32 reference.

metrics  - error numbers between outputs and their reference (max/mean abs, relative error,
           cosine, SQNR, top-1 agreement, NaN/Inf counts)
datasets - labelled data: digits-cnn's test split, or --eval-data image folders
assess   - evaluate(): called by the sweep after each configuration's timing
budget   - --max-drop: pass/fail and the compact text of the run table (no torch import)
user_eval - --eval path.py:fn: the user's score per configuration (load_eval, UserEval.score, Predictor)
alarm    - a total disagreement with fp32 (SQNR <= 1 dB, cosine near 0, top-1 near 0%): the loud warning
           the sweep adds to the record, and the fidelity cell's "BROKEN?"

The stored dict (record["fidelity"]): metrics.METRIC_KEYS, plus sample (with its item count), sample_items,
sample_capped_s (where the time cap cut the seeded items short), reference, is_reference,
accuracy, reference_accuracy, accuracy_drop (points; labelled data only), passed, judgement,
max_drop, notes, evaluation_s and compact; with --eval also score, reference_score, score_drop (points),
score_reference, score_extras, score_s, score_function and predict (how the batches were passed);
with text --eval-data on an encoder, method (how embeddings became class scores).
"""

from __future__ import annotations


def evaluate(settings, model, configuration, outputs, references, prepared=None):
    """calib.fidelity.assess.evaluate, imported when first used (it imports torch)."""
    from calib.fidelity.assess import evaluate as _evaluate

    return _evaluate(settings, model, configuration, outputs, references, prepared=prepared)


def references():
    """A new References cache for one sweep (calib.fidelity.assess.References)."""
    from calib.fidelity.assess import References

    return References()


__all__ = ["evaluate", "references"]
