"""How good are the predicted probabilities? Scores, curves and calibration.

Every function takes ``y_true`` (labels, or 0/1), ``proba`` — (n,) for
P(``labels[1]``) of a binary outcome or (n, K) with one column per class in
``labels`` order — and optional ``sample_weight`` (n,) and ``labels`` (see
:mod:`logitlab.evaluation.inputs`). With weights ``w`` every average is
``Σ w_i f_i / Σ w_i``; zero-weight rows contribute nothing.

Decisions: a binary row is predicted ``labels[1]`` when ``P(labels[1]) >
threshold`` (strictly, so that ``threshold=0.5`` is the fitted model's
``predict``: logit > 0); K classes are predicted by the largest probability
(the first one on ties).

Values agree with scikit-learn's functions of the same names (tests/test_metrics.py)
except where stated: no clipping of probabilities in :func:`log_loss`, macro
averages over all ``labels`` (scikit-learn: over the labels present in y_true
or the predictions), and undefined ratios (no predicted positives) are 0 as with
scikit-learn's ``zero_division=0``, without a warning.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..core.userwarn import warn
from .calibration import (calibration_intercept_slope, calibration_table,
                          expected_calibration_error, fit_intercept_slope)
from ..core.losses import base_factor
from .inputs import (as_proba, as_labels, binary_score, check_lengths, check_proba_values,
                     encode, prepare, weights)

__all__ = [
    "log_loss", "brier_score", "accuracy", "balanced_accuracy", "precision_recall_f1",
    "roc_auc", "roc_curve", "confusion_matrix", "predict_labels",
    "calibration_intercept_slope", "expected_calibration_error", "calibration_table", "evaluate",
]

_AVERAGES = ("binary", "macro", "micro", "weighted", None)


def _mean(w, values) -> float:
    pos = w > 0          # never 0 * inf
    return float(np.dot(w[pos], values[pos]) / w.sum())


def _check_threshold(threshold) -> float:
    if not isinstance(threshold, (int, float, np.floating, np.integer)) or not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be a number in [0, 1]; got {threshold!r}")
    return float(threshold)


def _decide(prep, threshold: float) -> np.ndarray:
    """Predicted class indices: P(class 1) > threshold (binary), else the argmax."""
    if prep.n_classes == 2:
        return (prep.P[:, 1] > threshold).astype(np.intp)
    return np.argmax(prep.P, axis=1)


def predict_labels(proba, *, threshold=0.5, labels=None):
    """The labels the probabilities decide on (see the module docstring), (n,).
    ``labels`` defaults to ``[0, 1]`` for 1-D ``proba`` and ``0..K-1`` otherwise."""
    P = as_proba(proba)
    check_proba_values(P)
    K = 2 if P.ndim == 1 else P.shape[1]
    classes = np.arange(K) if labels is None else np.asarray(labels)
    if classes.shape != (K,):
        raise ValueError(f"labels has {classes.size} entries but proba has {K} classes.")
    if K == 2:
        p1 = P if P.ndim == 1 else P[:, 1]
        return classes[(p1 > _check_threshold(threshold)).astype(np.intp)]
    return classes[np.argmax(P, axis=1)]


# ----------------------------------------------------------------- scores
def log_loss(y_true, proba, *, sample_weight=None, labels=None, base="e") -> float:
    """Mean negative log-likelihood ``-Σ w_i log p_{i, y_i} / Σ w_i`` in nats
    (``base="e"``) or bits (``base=2``).

    Exact for every p in (0, 1) (no clipping). A true class given probability
    exactly 0 makes the loss infinite: returned as ``inf`` with a warning.
    """
    prep = prepare(y_true, proba, sample_weight, labels)
    p_true = prep.P[np.arange(prep.codes.size), prep.codes]
    zero = np.flatnonzero((p_true == 0) & (prep.w > 0))
    if zero.size:
        warn(f"{zero.size} rows give their true class probability 0 (first row "
             f"{zero[0]}): the log loss is infinite.", RuntimeWarning)
        return math.inf
    pos = prep.w > 0
    nll = np.zeros_like(p_true)
    nll[pos] = -np.log(p_true[pos])
    return _mean(prep.w, nll) * base_factor(base)


def brier_score(y_true, proba, *, sample_weight=None, labels=None) -> float:
    """Mean squared error of the probabilities.

    Binary: ``Σ w_i (p_i - y_i)² / Σ w_i`` with p = P(class 1), in [0, 1].
    K classes: ``Σ w_i Σ_k (p_ik - [y_i = k])² / Σ w_i``, in [0, 2]
    (scikit-learn's ``brier_score_loss`` with ``scale_by_half="auto"``).
    """
    prep = prepare(y_true, proba, sample_weight, labels)
    sq = ((prep.P - prep.onehot()) ** 2).sum(axis=1)
    return _mean(prep.w, sq / 2 if prep.n_classes == 2 else sq)


def accuracy(y_true, proba, *, threshold=0.5, sample_weight=None, labels=None) -> float:
    """Weighted share of rows whose decided class is the true one."""
    prep = prepare(y_true, proba, sample_weight, labels)
    hit = (_decide(prep, _check_threshold(threshold)) == prep.codes).astype(np.float64)
    return _mean(prep.w, hit)


def _confusion(codes, pred, w, K) -> np.ndarray:
    return np.bincount(codes * K + pred, weights=w, minlength=K * K).reshape(K, K)


def _ratio(num, den):
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _per_class(C):
    """Per-class (precision, recall, f1, support) from a confusion matrix (true × predicted)."""
    tp = np.diag(C)
    support = C.sum(axis=1)
    predicted = C.sum(axis=0)
    return (_ratio(tp, predicted), _ratio(tp, support),
            _ratio(2 * tp, support + predicted), support)


def balanced_accuracy(y_true, proba, *, threshold=0.5, sample_weight=None, labels=None) -> float:
    """Mean over classes of the recall (weighted), as scikit-learn's
    ``balanced_accuracy_score``; classes absent from y_true are left out."""
    prep = prepare(y_true, proba, sample_weight, labels)
    C = _confusion(prep.codes, _decide(prep, _check_threshold(threshold)), prep.w, prep.n_classes)
    _, recall, _, support = _per_class(C)
    return float(recall[support > 0].mean())


def precision_recall_f1(y_true, proba, *, threshold=0.5, average="binary",
                        sample_weight=None, labels=None) -> dict:
    """Precision ``tp / (tp + fp)``, recall ``tp / (tp + fn)`` and F1
    ``2 tp / (2 tp + fp + fn)`` with weighted counts, plus ``support`` (the
    weight of the true rows concerned).

    ``average``: "binary" — for ``labels[1]`` (binary outcomes only);
    "micro" — from the counts summed over classes; "macro" — the unweighted
    mean over ``labels``; "weighted" — the mean weighted by each class's
    support; None — lists per class. Returns a dict.
    """
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {list(_AVERAGES)}; got {average!r}")
    prep = prepare(y_true, proba, sample_weight, labels)
    K = prep.n_classes
    C = _confusion(prep.codes, _decide(prep, _check_threshold(threshold)), prep.w, K)
    precision, recall, f1, support = _per_class(C)
    if average == "binary":
        if K != 2:
            raise ValueError(f"average='binary' needs a binary outcome; there are {K} classes. "
                             "Use average='macro', 'micro' or 'weighted'.")
        return {"precision": float(precision[1]), "recall": float(recall[1]),
                "f1": float(f1[1]), "support": float(support[1])}
    if average is None:
        return {"labels": prep.classes.tolist(), "precision": precision.tolist(),
                "recall": recall.tolist(), "f1": f1.tolist(), "support": support.tolist()}
    if average == "micro":
        tp = np.trace(C)
        total = C.sum()
        p = r = f = float(tp / total)        # every error is one fp and one fn
        return {"precision": p, "recall": r, "f1": f, "support": float(total)}
    share = np.full(K, 1.0 / K) if average == "macro" else support / support.sum()
    return {"precision": float(share @ precision), "recall": float(share @ recall),
            "f1": float(share @ f1), "support": float(support.sum())}


def confusion_matrix(y_true, y_pred_labels, *, labels=None, sample_weight=None) -> np.ndarray:
    """(K, K) counts (or weight sums): row = true label, column = predicted label,
    both in ``labels`` order (default: the sorted labels of both arguments).
    Integer counts without weights, float weight sums with them."""
    y = as_labels(y_true)
    pred = as_labels(y_pred_labels, "y_pred_labels")
    check_lengths(y.shape[0], pred.shape[0], "y_pred_labels")
    classes = np.unique(np.concatenate([y, pred])) if labels is None else np.asarray(labels)
    codes, pcodes = encode(y, classes), encode(pred, classes, "y_pred_labels")
    w = weights(sample_weight, y.shape[0])
    C = _confusion(codes, pcodes, w, classes.size)
    return C.round().astype(np.int64) if sample_weight is None else C


# ------------------------------------------------------------------- ROC
def _clf_curve(y01, s, w):
    """Weighted (fps, tps, thresholds) at each distinct score, descending;
    zero-weight rows dropped (as scikit-learn does)."""
    keep = w != 0
    y01, s, w = y01[keep], s[keep], w[keep]
    order = np.argsort(-s, kind="mergesort")
    s, y01, w = s[order], y01[order], w[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tps = np.cumsum(y01 * w)[last]
    fps = np.cumsum((1 - y01) * w)[last]
    return fps, tps, s[last]


def roc_curve(y_true, score, *, sample_weight=None, pos_label=None, drop_intermediate=False):
    """ROC curve: ``(fpr, tpr, thresholds)``, thresholds decreasing from ``inf``.

    At threshold t a row counts as positive when ``score >= t``; ``fpr`` and
    ``tpr`` are the weighted shares of negatives and positives above it.
    ``pos_label`` defaults to the larger of the two labels. With
    ``drop_intermediate=True`` collinear points are dropped (scikit-learn's default).
    """
    y01, s, w = binary_score(y_true, score, sample_weight, pos_label)
    fps, tps, thr = _clf_curve(y01, s, w)
    if not (tps[-1] > 0 and fps[-1] > 0):
        raise ValueError("the ROC curve needs rows of both classes with positive weight; "
                         f"y_true has {'no positives' if tps[-1] <= 0 else 'no negatives'}.")
    if drop_intermediate and fps.size > 2:
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        fps, tps, thr = fps[keep], tps[keep], thr[keep]
    fps, tps, thr = np.r_[0.0, fps], np.r_[0.0, tps], np.r_[np.inf, thr]
    return fps / fps[-1], tps / tps[-1], thr


def _binary_auc(y01, s, w) -> float:
    """Area under the ROC curve = P(score of a positive > score of a negative)
    + ½ P(tie), with weighted pairs."""
    fps, tps, _ = _clf_curve(y01, s, w)
    if not (tps[-1] > 0 and fps[-1] > 0):
        raise ValueError("ROC AUC is undefined when y_true holds one class (with positive "
                         "weight); evaluate on data containing both classes.")
    fpr, tpr = np.r_[0.0, fps] / fps[-1], np.r_[0.0, tps] / tps[-1]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def roc_auc(y_true, proba, *, multi_class="ovr", average="macro", sample_weight=None,
            labels=None) -> float:
    """ROC AUC. Binary: of P(``labels[1]``). K classes: ``multi_class="ovr"``
    averages the AUC of each class against the rest (``average="macro"``: plain
    mean; "weighted": by class weight); ``"ovo"`` is Hand & Till's (2001) mean
    over class pairs (weighted by the pair's weight share with "weighted")."""
    if multi_class not in ("ovr", "ovo"):
        raise ValueError(f"multi_class must be 'ovr' or 'ovo'; got {multi_class!r}")
    if average not in ("macro", "weighted"):
        raise ValueError(f"average must be 'macro' or 'weighted'; got {average!r}")
    prep = prepare(y_true, proba, sample_weight, labels)
    Y, P, w = prep.onehot(), prep.P, prep.w
    if prep.n_classes == 2:
        return _binary_auc(Y[:, 1], P[:, 1], w)
    K = prep.n_classes
    if multi_class == "ovr":
        scores = np.array([_binary_auc(Y[:, k], P[:, k], w) for k in range(K)])
        share = np.full(K, 1.0 / K) if average == "macro" else (w @ Y) / w.sum()
        return float(share @ scores)
    pairs, prevalence = [], []
    for a in range(K):
        for b in range(a + 1, K):
            rows = (prep.codes == a) | (prep.codes == b)
            auc_a = _binary_auc(Y[rows, a], P[rows, a], w[rows])
            auc_b = _binary_auc(Y[rows, b], P[rows, b], w[rows])
            pairs.append((auc_a + auc_b) / 2)
            prevalence.append(w[rows].sum())
    pairs, prevalence = np.array(pairs), np.array(prevalence)
    if average == "macro":
        return float(pairs.mean())
    return float(pairs @ prevalence / prevalence.sum())


# -------------------------------------------------------------- everything
def _finite(x):
    return float(x) if x is not None and np.isfinite(x) else None


def _try(fn, *args, **kwargs):
    """Value of a metric, or None where it is undefined on these data (e.g. one class)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    except ValueError:
        return None


def evaluate(y_true, proba, *, threshold=0.5, sample_weight=None, labels=None) -> dict:
    """All scalar metrics as a JSON-safe dict (floats, ints, None where undefined
    on these data — e.g. ROC AUC when y_true holds one class, an infinite log loss).

    Binary keys: n, weight_sum, prevalence, threshold, log_loss, log_loss_bits,
    brier, accuracy, balanced_accuracy, precision, recall, f1, roc_auc,
    calibration_intercept, calibration_slope (None when the recalibration fit
    diverges: predictions separating the outcome), ece. K classes: n, weight_sum,
    n_classes, log_loss, log_loss_bits, brier, accuracy, balanced_accuracy,
    precision_macro, recall_macro, f1_macro, roc_auc (one-vs-rest, macro) and
    ece (top-label).
    """
    prep = prepare(y_true, proba, sample_weight, labels)
    threshold = _check_threshold(threshold)
    args = (prep.classes[prep.codes], prep.P if prep.n_classes > 2 else prep.P[:, 1])
    kw = {"sample_weight": prep.w, "labels": prep.classes}
    out = {"n": int(prep.codes.size), "weight_sum": float(prep.w.sum())}
    ll = _try(log_loss, *args, **kw)
    out["log_loss"], out["log_loss_bits"] = _finite(ll), _finite(None if ll is None else ll / math.log(2))
    out["brier"] = brier_score(*args, **kw)
    out["accuracy"] = accuracy(*args, threshold=threshold, **kw)
    out["balanced_accuracy"] = balanced_accuracy(*args, threshold=threshold, **kw)
    if prep.n_classes == 2:
        out["prevalence"] = float(prep.w @ (prep.codes == 1) / prep.w.sum())
        out["threshold"] = threshold
        prf = precision_recall_f1(*args, threshold=threshold, **kw)
        out.update({k: prf[k] for k in ("precision", "recall", "f1")})
        out["roc_auc"] = _try(roc_auc, *args, **kw)
        cal = _try(fit_intercept_slope, args[0] == prep.classes[1], args[1], sample_weight=prep.w)
        ok = cal is not None and cal[2]      # None when the recalibration fit diverges
        out["calibration_intercept"] = _finite(cal[0]) if ok else None
        out["calibration_slope"] = _finite(cal[1]) if ok else None
    else:
        out["n_classes"] = prep.n_classes
        prf = precision_recall_f1(*args, threshold=threshold, average="macro", **kw)
        out.update({f"{k}_macro": prf[k] for k in ("precision", "recall", "f1")})
        out["roc_auc"] = _try(roc_auc, *args, **kw)
    out["ece"] = _finite(expected_calibration_error(*args, **kw))
    return out
