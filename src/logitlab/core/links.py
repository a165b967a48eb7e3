"""Link functions of logistic regression, numerically stable at any finite input.

A linear model gives each class a *logit* (log-odds) ``z = X @ beta + b``.

* ``sigmoid(z) = 1 / (1 + exp(-z))`` maps a logit to a probability,
* ``logit(p) = log(p / (1 - p))`` is its inverse,
* ``odds(p) = p / (1 - p)``, so ``exp(beta_j)`` is an odds ratio,
* ``softmax(z)_k = exp(z_k) / sum_l exp(z_l)`` maps K logits to a distribution,
* ``log_softmax``, ``log_sigmoid`` and ``log1pexp(z) = log(1 + exp(z))`` are the
  logarithms needed by the log-likelihood, computed without forming ``p``.

Every function accepts scalars or arrays, keeps float32 as float32, and never
overflows or returns NaN for finite input (``|z|`` up to 1e308).
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["sigmoid", "logit", "odds", "log_odds", "softmax", "log_softmax",
           "log1pexp", "log_sigmoid"]


def _float_array(x):
    """Return ``x`` as a float array (float32 kept, everything else float64)."""
    a = np.asarray(x)
    if a.dtype == np.float32 or a.dtype == np.float64:
        return a
    return a.astype(np.float64)


def _scalar_or_array(result, x):
    return result[()] if np.ndim(x) == 0 else result


def sigmoid(z):
    """Logistic function ``1 / (1 + exp(-z))``, shape of ``z``.

    Evaluated as ``exp(z) / (1 + exp(z))`` for negative ``z`` so that tiny
    probabilities keep full relative precision; never overflows.
    """
    a = _float_array(z)
    out = np.asarray(special.expit(a))
    neg = a < 0
    if np.any(neg):  # expit's 1/(1 + e^-z) underflows to 0 below z = -709.78
        e = np.exp(a[neg])
        out[neg] = e / (1 + e)
    return _scalar_or_array(out, z)


def log_sigmoid(z):
    """``log(sigmoid(z)) = -log1pexp(-z)``, exact for large negative ``z``."""
    a = _float_array(z)
    return _scalar_or_array(-np.logaddexp(a.dtype.type(0), -a), z)


def log1pexp(z):
    """Softplus ``log(1 + exp(z))`` = ``max(z, 0) + log1p(exp(-|z|))``."""
    a = _float_array(z)
    return _scalar_or_array(np.logaddexp(a.dtype.type(0), a), z)


def logit(p):
    """Log-odds ``log(p / (1 - p))``, the inverse of :func:`sigmoid`.

    ``log(p)`` and ``log(1 - p)`` are each taken on the side where they are
    exact (``1 - p`` and ``p - 1`` are exact for ``p >= 0.5``), so the result is
    as accurate as ``p`` itself. ``logit(0) = -inf``, ``logit(1) = +inf``;
    probabilities outside [0, 1] give NaN, as the math does.
    """
    a = _float_array(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.log(a) - np.log1p(-a)            # accurate for p < 0.5
        high = np.log1p(a - 1) - np.log(1 - a)     # accurate for p >= 0.5
    return _scalar_or_array(np.where(a < 0.5, low, high), p)


def log_odds(p):
    """Alias of :func:`logit`."""
    return logit(p)


def odds(p):
    """Odds ``p / (1 - p)``; ``odds(1) = inf``."""
    a = _float_array(p)
    with np.errstate(divide="ignore"):
        return _scalar_or_array(a / (1 - a), p)


def log_softmax(z, axis=-1):
    """``z_k - logsumexp(z)`` along ``axis``; shape of ``z``.

    The maximum is subtracted first, so no exponential overflows, and the
    largest term (exactly 1) is taken out of the sum: ``log1p`` of the rest
    keeps full precision when one class dominates (``-log softmax ≈ 1e-22``).
    """
    a = np.moveaxis(_float_array(z), axis, -1)
    idx = np.argmax(a, axis=-1)[..., None]
    m = np.take_along_axis(a, idx, axis=-1)
    with np.errstate(over="ignore"):  # (-1e308) - (+1e308) is -inf: exp gives 0
        shifted = a - m
        e = np.exp(shifted)
    np.put_along_axis(e, idx, 0.0, axis=-1)
    out = shifted - np.log1p(np.sum(e, axis=-1, keepdims=True))
    return np.moveaxis(out, -1, axis)


def softmax(z, axis=-1):
    """``exp(z_k) / sum_l exp(z_l)`` along ``axis``; rows sum to one."""
    a = _float_array(z)
    m = np.max(a, axis=axis, keepdims=True)
    with np.errstate(over="ignore"):
        e = np.exp(a - m)
    return e / np.sum(e, axis=axis, keepdims=True)
