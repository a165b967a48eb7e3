"""Profile-likelihood confidence intervals (R's ``confint`` on a glm; ``logistf``).

For coefficient ``β_c`` the interval at level ``1 - a`` is the set of values
``t`` with ``2 [ℓ(β̂) - max_{β: β_c = t} ℓ(β)] ≤ χ²₁(1 - a)``. Each bound is
found by Brent's method on the signed root
``ζ(t) = sign(t - β̂_c) sqrt(2 [ℓ̂ - ℓ_p(t)])`` (nearly linear in t), every
evaluation a constrained refit warm-started from the previous one: Newton for
maximum likelihood, Firth's scoring for ``penalty="firth"`` (then ``ℓ`` is the
penalized likelihood and the penalty keeps the full model's information, as in
``logistf``). A bound is infinite when ``ℓ_p`` never falls far enough (as for a
coefficient that separation sends to infinity).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .inference import _require_state, as_results, display_order, parameters, term_labels
from ..solvers.objective import Objective
from .. import solvers

_MAX_SE_STEPS = 60  # how far (in standard errors, doubling) to look for a bound


def _constrained_fit(model, base_objective, index, value, start_full):
    """Max log-likelihood (penalized for Firth) with coordinate ``index`` fixed."""
    layout = base_objective.layout
    fixed = np.ones(layout.size, dtype=bool)
    fixed[base_objective.free] = False
    fixed[index] = True
    w = start_full.copy()
    w[index] = value
    obj = Objective(base_objective.data, fixed=fixed, fixed_values=w)
    n = base_objective.data.weight_sum
    if as_results(model).inference.method == "firth":
        res = solvers.run("firth", obj, obj.restrict(w), tol=1e-9, max_iter=200,
                          penalty_coords=base_objective.free)
    else:
        res = solvers.run("newton", obj, obj.restrict(w), tol=1e-10, max_iter=200)
    return -res.objective * n, obj.expand(res.coef)


def profile_bounds(model, index, level=0.95):
    """``(low, high)`` profile-likelihood bounds of full-vector coordinate ``index``."""
    state = _require_state(model)
    objective = as_results(model).objective
    if objective is None:
        raise ValueError("profile intervals refit the model on its training data, which a "
                         "loaded or unpickled model does not carry: refit it first.")
    firth_fit = state.method == "firth"
    ll_hat = state.penalized_loglik if firth_fit else state.loglik
    w_hat = np.asarray(as_results(model).coef, dtype=np.float64)
    _, _, V = parameters(model)
    est = [i for i in display_order(model) if i in set(state.estimated)].index(index)
    se = float(np.sqrt(V[est, est]))
    crit = float(np.sqrt(stats.chi2.ppf(level, 1)))
    start = {"w": w_hat}

    def zeta(t):
        ll, w = _constrained_fit(model, objective, index, t, start["w"])
        start["w"] = w
        return np.sign(t - w_hat[index]) * np.sqrt(max(2.0 * (ll_hat - ll), 0.0))

    bounds = []
    for side in (-1.0, 1.0):
        start["w"] = w_hat
        step, lo_t, found = se, w_hat[index], None
        for _ in range(_MAX_SE_STEPS):
            t = w_hat[index] + side * step
            if abs(zeta(t)) >= crit:
                found = t
                break
            lo_t, step = t, step * 2.0
        if found is None:
            bounds.append(side * np.inf)
            continue
        a, b = sorted((lo_t, found))
        root = optimize.brentq(lambda t: abs(zeta(t)) - crit, a, b, xtol=1e-10 * max(1.0, abs(b)),
                               rtol=4 * np.finfo(float).eps, maxiter=100)
        bounds.append(root)
    return bounds[0], bounds[1]


def profile_ci(model, terms=None, level=0.95) -> pd.DataFrame:
    """Profile-likelihood intervals (and their odds ratios) for ``terms``
    (labels as in :func:`logitlab.results.inference.coef_table`; default all)."""
    state = _require_state(model)
    labels = term_labels(model)
    estimated = [i for i in display_order(model) if i in set(state.estimated)]
    chosen = estimated if terms is None else []
    if terms is not None:
        lookup = {labels[i]: i for i in estimated}
        unknown = [t for t in terms if t not in lookup]
        if unknown:
            raise ValueError(f"unknown terms {unknown}; the terms are {[labels[i] for i in estimated]}.")
        chosen = [lookup[t] for t in terms]
    rows = [profile_bounds(model, i, level) for i in chosen]
    index = [labels[i] for i in chosen]
    idx = (pd.MultiIndex.from_tuples(index, names=["class", "term"])
           if index and isinstance(index[0], tuple) else pd.Index(index, name="term"))
    out = pd.DataFrame(rows, columns=["ci_low", "ci_high"], index=idx)
    out["or_ci_low"] = np.exp(out["ci_low"])
    out["or_ci_high"] = np.exp(out["ci_high"])
    return out
