"""Choosing the decision threshold of a binary model on validation data.

A row is predicted positive when ``P(class 1) > t`` (strictly; see
:mod:`logitlab.evaluation.metrics`). Between two consecutive distinct predicted
probabilities ``u_j < u_{j+1}`` every ``t`` in ``[u_j, u_{j+1})`` makes the same
decisions, so the candidates are the midpoints ``(u_j + u_{j+1}) / 2`` plus
"everything positive" (``u_1 / 2``, when ``u_1 > 0``) and "everything negative"
(``t = u_m``). The weighted confusion counts at all candidates come from one
sort and cumulative sums, O(n log n).

Metrics (of the weighted counts tp, fp, fn, tn):

* ``"f1"``: ``2 tp / (2 tp + fp + fn)``
* ``"balanced_accuracy"``: ``(tpr + tnr) / 2``
* ``"youden"``: Youden's J, ``tpr + tnr - 1`` (the same maximizer as balanced accuracy)
* ``"accuracy"``: ``(tp + tn) / W``
* ``"mcc"``: Matthews' correlation ``(tp tn - fp fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn))``

Several thresholds may reach the maximum: the one closest to 0.5 is taken.
"""

from __future__ import annotations

import numpy as np

__all__ = ["THRESHOLD_METRICS", "best_threshold", "threshold_scores"]


def _div(a, b):
    return np.divide(a, b, out=np.zeros_like(a, dtype=float), where=b > 0)


#: metric name → the function of the confusion counts that ``best_threshold`` maximizes
THRESHOLD_METRICS = {
    "f1": lambda tp, fp, fn, tn: _div(2 * tp, 2 * tp + fp + fn),
    "balanced_accuracy": lambda tp, fp, fn, tn: (_div(tp, tp + fn) + _div(tn, tn + fp)) / 2,
    "youden": lambda tp, fp, fn, tn: _div(tp, tp + fn) + _div(tn, tn + fp) - 1,
    "accuracy": lambda tp, fp, fn, tn: (tp + tn) / (tp + fp + fn + tn),
    "mcc": lambda tp, fp, fn, tn: _div(tp * tn - fp * fn,
                                       np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))),
}


def threshold_scores(y01, p, w, metric="f1"):
    """``(thresholds, scores)``: every candidate threshold (increasing) and the
    metric's value there. ``y01`` (n,) 0/1, ``p`` (n,) P(class 1), ``w`` (n,) weights."""
    if metric not in THRESHOLD_METRICS:
        raise ValueError(f"metric must be one of {sorted(THRESHOLD_METRICS)}; got {metric!r}")
    keep = w > 0
    y01, p, w = y01[keep], p[keep], w[keep]
    u, inverse = np.unique(p, return_inverse=True)
    pos = np.bincount(inverse, weights=w * y01, minlength=u.size)
    neg = np.bincount(inverse, weights=w * (1 - y01), minlength=u.size)
    # candidate j (0..m): rows with value index >= j are positive
    tp = np.r_[np.cumsum(pos[::-1])[::-1], 0.0]
    fp = np.r_[np.cumsum(neg[::-1])[::-1], 0.0]
    fn = np.r_[0.0, np.cumsum(pos)]     # from the other side: never negative by rounding
    tn = np.r_[0.0, np.cumsum(neg)]
    thresholds = np.r_[u[0] / 2, (u[:-1] + u[1:]) / 2, u[-1]]
    if u[0] <= 0:          # p > t cannot make a zero probability positive
        tp, fp, fn, tn, thresholds = tp[1:], fp[1:], fn[1:], tn[1:], thresholds[1:]
    return thresholds, THRESHOLD_METRICS[metric](tp, fp, fn, tn)


def best_threshold(y01, p, w, metric="f1"):
    """``(threshold, value)`` maximizing ``metric``; on ties the threshold closest to 0.5."""
    thresholds, scores = threshold_scores(y01, p, w, metric)
    best = np.flatnonzero(scores >= scores.max() - 1e-12 * max(1.0, abs(scores.max())))
    j = best[np.argmin(np.abs(thresholds[best] - 0.5))]
    return float(thresholds[j]), float(scores[j])
