"""Cross-entropy (log loss), the negative mean log-likelihood of a classifier.

For a binary outcome ``y`` in {0, 1} with predicted probability ``p``::

    log_loss = -(1/m) * sum_i w_i [y_i log p_i + (1 - y_i) log(1 - p_i)]

with ``m = sum_i w_i`` (``w = 1`` when no weights are given). For K classes the
sum is ``-log p_{i, y_i}``. ``base=2`` reports bits instead of nats.

:func:`log_loss_from_logits` takes the logits ``z`` instead of ``p`` and never
forms ``p``: ``-log sigmoid(z) = log1pexp(-z)`` and
``-log softmax(z)_y = logsumexp(z) - z_y``, so extreme logits lose no precision.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from .links import log_softmax

__all__ = ["log_loss", "log_loss_from_logits", "binary_nll_from_logits"]


def base_factor(base) -> float:
    if base is None or base == "e" or base == math.e:
        return 1.0
    if isinstance(base, str):
        raise ValueError(f"base must be 'e', a positive number or 2; got {base!r}")
    if not base > 0 or base == 1:
        raise ValueError(f"base must be positive and not 1; got {base!r}")
    return 1.0 / math.log(base)


def _weighted_mean(values, sample_weight) -> float:
    if sample_weight is None:
        return float(np.mean(values))
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != values.shape:
        raise ValueError(f"sample_weight has shape {w.shape}; expected {values.shape}")
    if np.any(w < 0) or not np.sum(w) > 0:
        raise ValueError("sample_weight must be non-negative with a positive sum")
    # a zero-weight row contributes nothing (never 0 * inf = NaN)
    pos = w > 0
    return float(np.dot(w[pos], values[pos]) / np.sum(w))


def _class_indices(y, n_classes: int) -> np.ndarray:
    idx = np.asarray(y)
    if not np.issubdtype(idx.dtype, np.integer):
        if not np.all(np.equal(np.mod(idx, 1), 0)):
            raise ValueError("multiclass y must hold class indices 0..K-1")
        idx = idx.astype(np.intp)
    if idx.size and (idx.min() < 0 or idx.max() >= n_classes):
        raise ValueError(f"class indices in y must lie in 0..{n_classes - 1}")
    return idx


def binary_nll_from_logits(y, z):
    """Per-row ``log(1 + exp(z)) - y z``, written as
    ``log1p(exp(-|z|)) + max(z, 0) - y z`` so that the term for a well-classified
    row (``y = 1``, ``z`` large) keeps its full relative precision."""
    return np.log1p(np.exp(-np.abs(z))) + (np.maximum(z, 0) - y * z)


def log_loss(y, p, *, base="e", sample_weight=None) -> float:
    """Mean cross-entropy of probabilities ``p`` for outcomes ``y``.

    Parameters
    ----------
    y : (m,) array. Binary: 0/1 (or soft labels in [0, 1]). Multiclass: class
        indices 0..K-1.
    p : (m,) probability of class 1 (binary), or (m, K) class probabilities.
    base : "e" (nats, default) or 2 (bits), or any other log base.
    sample_weight : optional (m,) non-negative weights; the mean is weighted.
    """
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y)
    if p.ndim == 1:
        yf = y.astype(np.float64)
        if yf.shape != p.shape:
            raise ValueError(f"y has shape {yf.shape} but p has shape {p.shape}")
        with np.errstate(divide="ignore"):
            values = -(special.xlogy(yf, p) + special.xlogy(1 - yf, 1 - p))
    elif p.ndim == 2:
        if y.shape != (p.shape[0],):
            raise ValueError(f"y has shape {y.shape}; expected ({p.shape[0]},)")
        idx = _class_indices(y, p.shape[1])
        with np.errstate(divide="ignore"):
            values = -np.log(p[np.arange(p.shape[0]), idx])
    else:
        raise ValueError("p must be 1-D (binary) or 2-D (multiclass)")
    return _weighted_mean(values, sample_weight) * base_factor(base)


def log_loss_from_logits(y, z, *, base="e", sample_weight=None) -> float:
    """Mean cross-entropy computed from logits, never forming probabilities.

    ``z`` is (m,) logits of class 1 (binary) or (m, K) logits (multiclass).
    """
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y)
    if z.ndim == 1:
        yf = y.astype(np.float64)
        if yf.shape != z.shape:
            raise ValueError(f"y has shape {yf.shape} but z has shape {z.shape}")
        values = binary_nll_from_logits(yf, z)
    elif z.ndim == 2:
        if y.shape != (z.shape[0],):
            raise ValueError(f"y has shape {y.shape}; expected ({z.shape[0]},)")
        idx = _class_indices(y, z.shape[1])
        values = -log_softmax(z, axis=1)[np.arange(z.shape[0]), idx]
    else:
        raise ValueError("z must be 1-D (binary) or 2-D (multiclass)")
    return _weighted_mean(values, sample_weight) * base_factor(base)
