"""Tests per formula term, as R's ``car::Anova`` and ``drop1``.

A *term* is a formula term of ``model.design_`` (a factor with all its dummies,
an interaction with all its columns; in a multinomial model its columns in every
non-reference class, :func:`logitlab.results.hypotheses.model_terms`); a fit on a
matrix has one term per column. The factors of a term are its ``:``-separated
parts; term ``u`` *contains* term ``t`` (a relative of ``t``, car's
``relatives``) when every factor of ``t`` is a factor of ``u``.

Statistics, for a term ``t`` with relatives ``R(t)`` and ``ℓ(M)`` the maximized
log-likelihood of the model on the columns ``M``:

* type II, LR: ``2 [ℓ(all - R(t)) - ℓ(all - R(t) - t)]`` — marginality: the term is
  tested in the model without its higher-order relatives;
* type II, Wald: the Wald statistic of the rows ``L`` spanning the coefficients of
  ``t ∪ R(t)`` that are ``V``-orthogonal to ``R(t)``'s (``L V_{·,R(t)} = 0``: car's
  ``ConjComp``), ``(Lβ̂)ᵀ (L V Lᵀ)⁻¹ (Lβ̂)``;
* type III, LR: ``2 [ℓ(all) - ℓ(all - t)]``; the intercept is not tested (as car);
* type III, Wald: ``β̂_tᵀ V_tt⁻¹ β̂_t``, with a row ``(Intercept)`` first (as car);
* ``drop1``: type III LR for each term not contained in another (R's ``drop.scope``),
  with the deviance and AIC of each reduced model and a ``<none>`` row.

The degrees of freedom are the numbers of estimated coefficients tested;
p-values are χ² upper tails. ``V`` is the fit's covariance (robust when
``cov_type`` is). LR tests refit on the training rows the results hold
(``results.objective``: the numeric design with the same weights and offsets): a
Newton fit with the dropped coefficients held at 0, the fit's aliased columns
held at 0 as in the full fit. Loaded models and Dask fits hold no rows: Wald.

Aliased columns: a term whose columns are all aliased has df 0 and no statistic
(car: NA); the other terms are tested in the model without the aliased columns
(those R's glm dropped). R's refits re-estimate an aliased column once a column it
is a combination of is dropped (so ``drop1`` there reports 0 on 0 df); logitlab
keeps the model as fitted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import linalg, stats

from .. import solvers
from ..core.exceptions import ConvergenceWarning, bridged
from ..core.layout import INTERCEPT
from ..core.userwarn import warn
from ..data.formula import split_top_level
from ..solvers.objective import Objective
from .hypotheses import INTERCEPT_TERM, model_terms, term_positions
from .inference import as_results, model_statistics, parameters, require_inference

TYPES = {2: 2, 3: 3, "2": 2, "3": 3, "II": 2, "III": 3}
TESTS = {"lr": "LR", "lrt": "LR", "chisq": "LR", "wald": "Wald"}
REFIT_TOL = 1e-11      #: gradient tolerance (per unit weight) of an LR refit
REFIT_MAX_ITER = 200   #: Newton iterations of an LR refit


def term_factors(term: str) -> frozenset:
    """The ``:``-separated factors of a term name (outside brackets and quotes):
    ``"age:C(race)"`` -> ``{"age", "C(race)"}``."""
    parts = split_top_level(term, ":")
    return frozenset(parts)


def relatives(terms) -> dict:
    """``{term: [terms containing it]}`` (car's ``relatives``)."""
    factors = {t: term_factors(t) for t in terms}
    return {t: [u for u in terms if u != t and factors[t] <= factors[u]] for t in terms}


def _check_type_test(type, test):
    if type not in TYPES:
        raise ValueError(f"type must be 2 or 3 ('II' or 'III'); got {type!r}.")
    key = str(test).lower()
    if key not in TESTS:
        raise ValueError(f"test must be 'LR' or 'Wald'; got {test!r}.")
    return TYPES[type], TESTS[key]


def lr_unavailable(model) -> str | None:
    """Why LR tests per term cannot be computed for ``model`` (None when they can)."""
    results = as_results(model)
    state = require_inference(model)
    if results.outcome.engine == "dask":
        return ("likelihood-ratio tests refit the model on its rows, which a Dask fit does not "
                "hold in this process: use test='Wald', or fit in memory")
    if results.objective is None:
        return ("likelihood-ratio tests refit the model on its training rows, which a loaded or "
                "unpickled model does not carry: use test='Wald', or refit it (the CLI's "
                "'logitlab anova --model MODEL DATA' refits on DATA)")
    if state.method != "mle":
        return ("per-term likelihood-ratio tests are for maximum-likelihood fits; this is a "
                f"{state.method} fit: use test='Wald'")
    return None


class _Refits:
    """Maximized log-likelihoods of the model with some coefficients held at 0."""

    def __init__(self, model):
        results = as_results(model)
        self.base = results.objective
        self.coef = np.asarray(results.coef, dtype=np.float64)
        self.n = float(self.base.data.weight_sum)
        self.full_ll = require_inference(model).loglik
        self.cache = {}

    def loglik(self, zero) -> tuple[float, int]:
        """``(ℓ, k)``: the maximum with the full-vector coordinates ``zero`` held at
        0, and the number of coefficients it estimates."""
        zero = tuple(sorted(set(int(i) for i in zero) & set(self.base.free.tolist())))
        k = self.base.free.size - len(zero)
        if not zero:
            return self.full_ll, k
        if zero not in self.cache:
            fixed = np.ones(self.base.layout.size, dtype=bool)
            fixed[self.base.free] = False
            fixed[list(zero)] = True
            values = self.base.expand(self.base.restrict(self.coef))
            values[list(zero)] = 0.0
            objective = Objective(self.base.data, self.base.alpha, self.base.l1_ratio, fixed,
                                  fixed_values=values)
            result = solvers.run("newton", objective, objective.restrict(values),
                                 tol=REFIT_TOL, max_iter=REFIT_MAX_ITER, callback=None)
            ll = -float(result.objective) * self.n
            self.cache[zero] = ll if result.converged else np.nan
        return self.cache[zero], k


def _full_indices(model, columns) -> list:
    """Full-vector coordinates of the design ``columns`` (every class), the
    intercept as ``(Intercept)``."""
    results = as_results(model)
    layout = results.layout
    names = [str(n) for n in results.feature_names] + [INTERCEPT]
    rows = [names.index(str(c)) for c in columns]
    return [j * layout.n_cols + k for j in rows for k in range(layout.n_cols)]


def _wald(beta, V, positions, relative_positions=()):
    """Wald statistic of the coefficients ``positions`` (type II: the part of
    ``positions ∪ relative_positions`` V-orthogonal to ``relative_positions``)."""
    S = list(positions) + list(relative_positions)
    if not positions:
        return np.nan, 0
    if relative_positions:
        L = linalg.null_space(V[np.ix_(list(relative_positions), S)]).T
    else:
        L = np.eye(len(S))
    b = L @ beta[S]
    C = L @ V[np.ix_(S, S)] @ L.T
    try:
        stat = float(b @ linalg.solve(C, b, assume_a="pos"))
    except linalg.LinAlgError:           # a singular covariance block: its pseudo-inverse
        stat = float(b @ linalg.pinvh(C) @ b)
    return stat, L.shape[0]


def anova(model, type=2, test="LR") -> pd.DataFrame:
    """One row per formula term, as ``car::Anova(fit, type, test.statistic)``.

    Parameters
    ----------
    model : a fitted estimator (formula or matrix fit) or its results
    type : 2 / "II" (marginality respected) or 3 / "III"
    test : "LR" (refits on the training rows) or "Wald"

    Returns a DataFrame indexed by term with the statistic (``"LR Chisq"`` or
    ``"Chisq"``), ``df`` (int) and ``p_value``; type III Wald starts with an
    ``(Intercept)`` row when the model has one. ``attrs`` holds ``type`` and ``test``.
    """
    kind, test = _check_type_test(type, test)
    labels, beta, V = parameters(model)
    terms = model_terms(model)
    rels = relatives(list(terms))
    rows = {}
    if test == "LR":
        why = lr_unavailable(model)
        if why is not None:
            raise ValueError(why + ".")
        refits = _Refits(model)
        for t, cols in terms.items():
            drop_rel = [c for u in (rels[t] if kind == 2 else []) for c in terms[u]]
            ll2, k2 = refits.loglik(_full_indices(model, drop_rel))
            ll1, k1 = refits.loglik(_full_indices(model, drop_rel + cols))
            rows[t] = _lr_row(t, ll2, ll1, k2 - k1)
    else:
        if kind == 3 and as_results(model).layout.fit_intercept:
            rows[INTERCEPT_TERM] = _chi2(*_wald(beta, V, term_positions(labels, [INTERCEPT])))
        for t, cols in terms.items():
            rel = [c for u in (rels[t] if kind == 2 else []) for c in terms[u]]
            rel_pos = term_positions(labels, rel)
            rows[t] = _chi2(*_wald(beta, V, term_positions(labels, cols), rel_pos))
    name = "LR Chisq" if test == "LR" else "Chisq"
    out = pd.DataFrame([(s, d, p) for s, d, p in rows.values()],
                       index=pd.Index(list(rows), name="term"), columns=[name, "df", "p_value"])
    out["df"] = out["df"].astype(int)
    out.attrs.update(type=kind, test=test)
    return out


def _chi2(stat, df):
    return (stat, df, float(stats.chi2.sf(stat, df)) if df > 0 else np.nan)


def _lr_row(term, ll_with, ll_without, df):
    if not (np.isfinite(ll_with) and np.isfinite(ll_without)):
        warn(f"likelihood-ratio test of '{term}': a refit did not converge; its statistic "
             "and p-value are reported as NaN.", bridged(ConvergenceWarning))
        return (np.nan, df, np.nan)
    if df == 0:
        return (np.nan, 0, np.nan)
    return _chi2(max(2.0 * (ll_with - ll_without), 0.0), df)


def drop1(model, test="LRT") -> pd.DataFrame:
    """R's ``drop1(fit, test="LRT")``: the model without each term that no other
    term contains, against the full model.

    Returns a DataFrame indexed by ``"<none>"`` (the full model) and the terms, with
    ``df`` (coefficients dropped), ``deviance`` and ``aic`` of each model, ``LRT``
    (= the change in deviance) and ``p_value`` (NaN on the ``<none>`` row).
    ``test``: "LRT" or "Chisq" (the same test for a logistic model).
    """
    if str(test).lower() not in ("lrt", "chisq"):
        raise ValueError(f"test must be 'LRT' or 'Chisq' (the same for a logistic model); "
                         f"got {test!r}.")
    why = lr_unavailable(model)
    if why is not None:
        raise ValueError(why.replace("use test='Wald'", "use anova(test='Wald')") + ".")
    st = model_statistics(model)
    terms = model_terms(model)
    rels = relatives(list(terms))
    refits = _Refits(model)
    rows = [("<none>", np.nan, st["deviance"], st["aic"], np.nan, np.nan)]
    for t, cols in terms.items():
        if rels[t]:
            continue
        ll, k = refits.loglik(_full_indices(model, cols))
        df = st["n_params"] - k
        lrt = 2.0 * (st["log_likelihood"] - ll)
        p = float(stats.chi2.sf(lrt, df)) if df > 0 else np.nan
        rows.append((t, df, st["deviance"] + lrt, st["aic"] + lrt - 2.0 * df, lrt, p))
    out = pd.DataFrame([r[1:] for r in rows], index=pd.Index([r[0] for r in rows], name="term"),
                       columns=["df", "deviance", "aic", "LRT", "p_value"])
    return out


def default_anova(model) -> pd.DataFrame:
    """The type-II table a summary appends: LR when the rows are held, else Wald."""
    return anova(model, type=2, test="LR" if lr_unavailable(model) is None else "Wald")


__all__ = ["anova", "drop1", "default_anova", "relatives", "term_factors", "lr_unavailable"]
