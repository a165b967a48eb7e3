"""Calibration: do predicted probabilities match observed frequencies?

* :func:`calibration_intercept_slope` — logistic recalibration (Cox 1958;
  Van Calster et al. 2016, 2019): with ``x = logit(p)``,

  - the **calibration slope** is ``b`` in the weighted logistic fit
    ``logit P(y=1) = a + b·x`` (1 when the predictions are neither too extreme
    (< 1) nor too modest (> 1));
  - the **calibration intercept** (calibration-in-the-large) is ``a`` in the
    fit ``logit P(y=1) = a + x`` with ``x`` as an offset (slope fixed at 1): 0
    when the mean prediction matches the event rate, > 0 when risks are
    underestimated.

* :func:`calibration_table` — predictions grouped into bins: per bin the
  weighted mean prediction, the observed weighted event fraction and its
  confidence interval (Wilson score, or exact Clopper–Pearson, with the Kish
  effective size ``(Σw)² / Σw²`` — the row count when unweighted).
* :func:`expected_calibration_error` — ``ECE = Σ_b (W_b / W) |observed_b −
  mean predicted_b|`` over the bins of that table (Naeini et al. 2015).

Binary outcomes use ``p = P(labels[1])`` and the event ``y = labels[1]``.
For K classes the table and the ECE are *top-label* (Guo et al. 2017): the
prediction is the largest probability (the confidence) and the event is that
its class is the true one; the intercept and slope are for binary outcomes
(per class: ``calibration_intercept_slope(y == k, proba[:, k])``).

Bins (as scikit-learn's ``calibration_curve``): ``strategy="uniform"`` cuts
[0, 1] into ``n_bins`` equal widths; ``"quantile"`` at the quantiles of the
predictions (of rows with positive weight, unweighted, ``numpy.percentile``).
A prediction on an inner edge falls in the lower bin (bins ``(e_k, e_k+1]``,
the first one closed).

References: Van Calster B, et al. A calibration hierarchy for risk models was
defined: from utopia to empirical data. J Clin Epidemiol 2016;74:167–176.
Van Calster B, McLernon DJ, van Smeden M, et al. Calibration: the Achilles heel
of predictive analytics. BMC Medicine 2019;17:230.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from ..core.userwarn import warn
from ..core.links import log1pexp, sigmoid
from .inputs import prepare

__all__ = ["calibration_intercept_slope", "calibration_table", "expected_calibration_error"]

_STRATEGIES = ("uniform", "quantile")


def _binary_inputs(y_true, proba, sample_weight, labels, what):
    prep = prepare(y_true, proba, sample_weight, labels)
    if prep.n_classes != 2:
        raise ValueError(f"{what} is for binary outcomes; proba has {prep.n_classes} classes. "
                         "Per class use one-vs-rest: (y_true == k, proba[:, k]).")
    return (prep.codes == 1).astype(np.float64), prep.P[:, 1], prep.w


def _halving_step(nll, theta, free, step, current, newton_region):
    """Newton step with step halving: ``(theta - t·step, nll there, t)`` for the first
    ``t = 1, 1/2, …`` that does not increase ``nll``; ``(None, None, 0)`` if none does.
    Inside the Newton decrement's quadratic region (``gᵀH⁻¹g`` tiny) the objective's
    change is below rounding, so the full step is taken untested (a test there stalls
    on noise, short of the optimum)."""
    t = 1.0
    while t > 1e-12:
        trial = theta.copy()
        trial[free] -= t * step
        value = nll(trial)
        if newton_region or value <= current:
            return trial, value, t
        t /= 2
    return None, None, 0.0


def _logistic_fit(y, x, w, slope_free: bool, tol=1e-14, max_iter=100):
    """Weighted ML of ``logit P(y=1) = a + b x`` (b fixed at 1 unless
    ``slope_free``) by Newton's method with step halving; returns (a, b, converged)."""
    theta = np.array([0.0, 1.0])
    Z = np.column_stack([np.ones_like(x), x]) if slope_free else np.ones((x.size, 1))
    free = slice(0, 2 if slope_free else 1)

    def nll(t):
        eta = t[0] + t[1] * x
        return float(w @ (log1pexp(eta) - y * eta))

    current = nll(theta)
    for _ in range(max_iter):
        eta = theta[0] + theta[1] * x
        p = sigmoid(eta)
        grad = Z.T @ (w * (p - y))
        if np.max(np.abs(grad)) <= tol:
            return theta[0], theta[1], True
        H = (Z * (w * p * (1 - p))[:, None]).T @ Z
        try:
            step = np.linalg.solve(H, grad)
        except np.linalg.LinAlgError:
            break
        trial, value, t = _halving_step(nll, theta, free, step, current,
                                        newton_region=grad @ step <= 1e-10 * (1.0 + abs(current)))
        if trial is None:
            break
        theta, current = trial, value
        if np.max(np.abs(t * step)) <= 1e-13 * (1 + np.max(np.abs(theta))):
            break
    eta = theta[0] + theta[1] * x
    grad = Z.T @ (w * (sigmoid(eta) - y))
    return theta[0], theta[1], bool(np.max(np.abs(grad)) <= 1e-8)


def calibration_intercept_slope(y_true, proba, *, sample_weight=None, labels=None):
    """``(intercept, slope)`` of logistic recalibration (see the module docstring):
    slope = ``b`` in ``logit P(y=1) = a + b logit(p)``; intercept = ``a`` in
    ``logit P(y=1) = a + logit(p)`` (offset). Perfect calibration: (0, 1).

    Needs p strictly inside (0, 1) and both classes. If the predictions separate
    the outcome (all events on one side of some p, ties allowed) the slope's
    maximum-likelihood estimate is infinite: ``±inf`` with a warning.
    """
    a, b, converged = fit_intercept_slope(y_true, proba, sample_weight=sample_weight,
                                          labels=labels)
    if not converged:
        warn("the logistic recalibration fit did not converge (the predictions "
             "separate the outcome): the slope is infinite or unreliable.",
             RuntimeWarning)
    return a, b


def fit_intercept_slope(y_true, proba, *, sample_weight=None, labels=None):
    """:func:`calibration_intercept_slope` without the warning: ``(a, b, converged)``."""
    y, p, w = _binary_inputs(y_true, proba, sample_weight, labels, "calibration_intercept_slope")
    keep = w > 0
    y, p, w = y[keep], p[keep], w[keep] / w[keep].sum()
    edge = np.flatnonzero((p <= 0) | (p >= 1))
    if edge.size:
        raise ValueError(f"calibration slope and intercept need probabilities strictly between "
                         f"0 and 1 (their logit is used); {edge.size} rows are 0 or 1 (first: "
                         f"p = {p[edge[0]]}).")
    event = float(w @ y)
    if event <= 0 or event >= 1:
        raise ValueError("calibration slope and intercept need both classes in y_true (with "
                         "positive weight).")
    x = np.log(p) - np.log1p(-p)
    a_off, _, ok_a = _logistic_fit(y, x, w, slope_free=False)
    x1, x0 = x[y == 1], x[y == 0]
    if x0.max() <= x1.min() or x1.max() <= x0.min():
        # (quasi-)complete separation by x: the slope's MLE is infinite
        return float(a_off), math.copysign(math.inf, x1.max() - x0.max()), False
    _, b, ok_b = _logistic_fit(y, x, w, slope_free=True)
    return float(a_off), float(b), ok_a and ok_b


def _event_and_prediction(y_true, proba, sample_weight, labels):
    """Binary: (y == labels[1], P(labels[1])); K classes: top-label (correct, confidence)."""
    prep = prepare(y_true, proba, sample_weight, labels)
    if prep.n_classes == 2:
        return (prep.codes == 1).astype(np.float64), prep.P[:, 1], prep.w
    top = np.argmax(prep.P, axis=1)
    return (top == prep.codes).astype(np.float64), prep.P[np.arange(top.size), top], prep.w


def _edges(pred, w, n_bins, strategy):
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got {n_bins!r}")
    if strategy not in _STRATEGIES:
        raise ValueError(f"strategy must be one of {list(_STRATEGIES)}; got {strategy!r}")
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    return np.percentile(pred[w > 0], np.linspace(0, 1, n_bins + 1) * 100)


def _interval(observed, weight, weight_sq, level, method):
    """CI of a weighted proportion with the Kish effective size n = W² / Σw²."""
    n = np.divide(weight ** 2, weight_sq, out=np.zeros_like(weight), where=weight_sq > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "wilson":
            z = stats.norm.ppf(0.5 + level / 2)
            centre = (observed + z * z / (2 * n)) / (1 + z * z / n)
            half = z / (1 + z * z / n) * np.sqrt(observed * (1 - observed) / n + z * z / (4 * n * n))
            low, high = centre - half, centre + half
        elif method == "exact":
            x, a = observed * n, 1 - level
            low = np.where(x > 0, stats.beta.ppf(a / 2, x, n - x + 1), 0.0)
            high = np.where(x < n, stats.beta.ppf(1 - a / 2, x + 1, n - x), 1.0)
        else:
            raise ValueError(f"ci must be 'wilson' or 'exact'; got {method!r}")
    empty = weight <= 0
    return np.where(empty, np.nan, np.clip(low, 0, 1)), np.where(empty, np.nan, np.clip(high, 0, 1))


def calibration_table(y_true, proba, *, n_bins=10, strategy="uniform", sample_weight=None,
                      labels=None, level=0.95, ci="wilson") -> pd.DataFrame:
    """One row per bin (empty bins included, with NaN means): ``bin``, ``lower``,
    ``upper`` (edges), ``count`` (rows), ``weight`` (Σw), ``mean_predicted``,
    ``observed`` (weighted event fraction), ``ci_low``/``ci_high`` (``ci="wilson"``
    or ``"exact"`` at ``level``). See the module docstring for the binning."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level!r}")
    y, pred, w = _event_and_prediction(y_true, proba, sample_weight, labels)
    edges = _edges(pred, w, n_bins, strategy)
    ids = np.searchsorted(edges[1:-1], pred)
    count = np.bincount(ids, minlength=n_bins).astype(np.int64)
    weight = np.bincount(ids, weights=w, minlength=n_bins)
    weight_sq = np.bincount(ids, weights=w * w, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pred = np.bincount(ids, weights=w * pred, minlength=n_bins) / weight
        observed = np.bincount(ids, weights=w * y, minlength=n_bins) / weight
    mean_pred[weight <= 0] = np.nan
    observed[weight <= 0] = np.nan
    low, high = _interval(observed, weight, weight_sq, level, ci)
    return pd.DataFrame({"bin": np.arange(n_bins), "lower": edges[:-1], "upper": edges[1:],
                         "count": count, "weight": weight, "mean_predicted": mean_pred,
                         "observed": observed, "ci_low": low, "ci_high": high})


def expected_calibration_error(y_true, proba, *, n_bins=10, strategy="uniform",
                               sample_weight=None, labels=None) -> float:
    """``Σ_b (W_b / W) |observed_b − mean_predicted_b|`` over the bins of
    :func:`calibration_table` (binary: P(labels[1]); K classes: top-label)."""
    table = calibration_table(y_true, proba, n_bins=n_bins, strategy=strategy,
                              sample_weight=sample_weight, labels=labels)
    used = table["weight"] > 0
    gap = (table["observed"] - table["mean_predicted"]).abs()[used]
    return float((table["weight"][used] * gap).sum() / table["weight"].sum())
