"""``ConditionalLogisticRegression``: the conditional logit for matched strata.

Matched case-control studies and choice data: rows come in strata (a case and
its matched controls; a chooser's alternatives) and the likelihood conditions
on the number of cases in each stratum, so anything constant within a stratum
(its baseline odds, a matching variable) cancels — there is no intercept::

    P(the cases of stratum s | m_s cases) = exp(Σ_{cases} η_i) / Σ_{|S| = m_s} exp(Σ_{i∈S} η_i)

with ``η = Xβ (+ offset)`` — R's ``survival::clogit``, ``method="exact"`` by the
Gail–Lubin–Rubinstein recursion (O(n_s · m_s) per stratum: strata of thousands
of rows are fine), or Breslow's / Efron's approximations. ``e^{β_j}`` is the
odds ratio of being a case for a unit increase of ``x_j`` within a stratum.

The fit is the pipeline of :class:`~logitlab.estimators.logistic.LogisticRegression`
(family :class:`~logitlab.families.ConditionalLogit`): Newton steps, standard
errors from the information, profile-likelihood intervals, the likelihood-ratio,
Wald and score tests that ``summary(clogit)`` prints, columns constant within
strata reported as aliased (clogit's NA).
"""

from __future__ import annotations

import numpy as np

from ..core.exceptions import check_is_fitted
from ..data.validation import check_offset
from .base import WithoutBernoulliDiagnostics
from .logistic import LogisticRegression

__all__ = ["ConditionalLogisticRegression"]


class ConditionalLogisticRegression(WithoutBernoulliDiagnostics, LogisticRegression):
    """Conditional (fixed-effects) logistic regression on matched strata.

    Parameters
    ----------
    method : {"exact", "breslow", "efron", "approximate"}, default "exact"
        The conditional likelihood: exact (no row weights), or R's coxph-style
        approximations with all cases of a stratum tied ("approximate" is R's
        name for Breslow's); they coincide with one case per stratum.
    penalty, alpha : as :class:`LogisticRegression`, L2 only.
    solver, tol, max_iter, solver_options, callback, verbose : as :class:`LogisticRegression`.

    Attributes
    ----------
    coef_ : ndarray of shape (d,)
        The log odds ratios β.
    classes_ : ndarray of shape (2,)
        The control and case labels.
    n_strata_ : int
        The number of strata given.
    results_
        The results object; the other fit attributes (``n_iter_``, ``converged_``,
        ``solver_``, ``history_``, ...) are those of :class:`LogisticRegression`.
    """

    _spec_extra = {"family": "conditional"}
    no_threshold = ("a conditional logit has no decision threshold: it predicts the most "
                    "probable row of each stratum.")

    def __init__(self, method="exact", penalty="l2", alpha=0.0, solver="auto", tol=None,
                 max_iter=None, solver_options=None, callback=None, verbose=0):
        self.method = method
        self.penalty = penalty
        self.alpha = alpha
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.solver_options = solver_options
        self.callback = callback
        self.verbose = verbose

    # fixed for this family besides those of WithoutBernoulliDiagnostics
    warm_start = False
    dtype = None
    cov_type = "nonrobust"
    engine = "memory"
    engine_options = None

    def fit(self, X, y, strata=None, sample_weight=None,
            offset=None) -> ConditionalLogisticRegression:
        """Fit by maximum conditional likelihood.

        X : (n, d) array-like (DataFrame column names become ``feature_names_in_``);
        y : (n,) 0/1 (case = the larger label); strata : (n,) stratum labels (or the
        name of a column of X); sample_weight : (n,) case weights (Breslow / Efron
        only); offset : (n,) added to η."""
        from ..engines import is_dask_collection
        if is_dask_collection(X):
            raise NotImplementedError(
                "conditional logit fits run in memory: each stratum must be in one place. "
                "Compute the Dask collection first (ddf.compute()), or fit a sample of strata.")
        if isinstance(strata, str) and hasattr(X, "columns"):
            if strata not in X.columns:
                raise ValueError(f"X has no column {strata!r} for strata; its columns are "
                                 f"{', '.join(map(repr, map(str, X.columns)))}.")
            strata, X = X[strata].to_numpy(), X.drop(columns=[strata])
        self._strata = strata
        try:
            return super().fit(X, y, sample_weight=sample_weight, offset=offset)
        finally:
            self._strata = None

    def fit_design(self, design, X, y, sample_weight=None, offset=None, groups=None,
                   strata=None):
        """A formula fit's design (see :meth:`LogisticRegression.fit_design`) with
        its ``strata``."""
        self._strata = strata
        try:
            return super().fit_design(design, X, y, sample_weight=sample_weight, offset=offset)
        finally:
            self._strata = None

    def _source_options(self) -> dict:
        return {"strata": getattr(self, "_strata", None)}

    def _set_results(self, results) -> None:
        self._set_fit_attributes(results)
        self.coef_ = np.asarray(results.coef, dtype=np.float64).copy()
        record = None if results.inference is None else results.inference.conditional
        if record is not None:
            self.n_strata_ = record["n_strata"]

    # ------------------------------------------------------------- prediction
    def decision_function(self, X, offset=None):
        """The linear predictor ``η = Xβ (+ offset)`` (n,) (R's ``predict(type="lp")``
        before its centring)."""
        X = self.design_matrix(X)
        return self.results_.family.linear_predictor(X, self.coef_,
                                                     check_offset(offset, X.shape[0], 2))

    def predict_risk(self, X, offset=None) -> np.ndarray:
        """``e^η`` (n,): the relative odds of being a case (R's ``type="risk"``
        up to its centring)."""
        with np.errstate(over="ignore"):
            return np.exp(self.decision_function(X, offset))

    def predict_proba(self, X, strata=None, y=None, offset=None) -> np.ndarray:
        """Within-stratum probabilities (n,): with one case per stratum (``y`` None),
        the probability that row i is its stratum's case, the softmax of η over the
        stratum (for choice data: the choice probabilities); with ``y`` given, the
        exact probability that row i is among its stratum's ``m_s`` cases."""
        from ..families.conditional import inclusion_probabilities, within_stratum_probabilities
        check_is_fitted(self)
        if isinstance(strata, str) and hasattr(X, "columns"):
            strata, X = X[strata].to_numpy(), X.drop(columns=[strata])
        if strata is None:
            raise ValueError("within-stratum probabilities need the strata of the rows: "
                             "predict_proba(X, strata=...).")
        Xd = self.design_matrix(X)
        Xd = Xd.toarray() if hasattr(Xd, "toarray") else np.asarray(Xd, dtype=np.float64)
        offset = check_offset(offset, Xd.shape[0], 2)
        if y is None:
            return within_stratum_probabilities(Xd, np.asarray(strata), self.coef_, offset)
        case = (np.asarray(y) == self.classes_[1]).astype(np.int8)
        return inclusion_probabilities(Xd, case, np.asarray(strata), self.coef_, offset)

    def predict_log_proba(self, X, strata=None, y=None, offset=None) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X, strata, y, offset))

    def predict(self, X, strata=None, offset=None) -> np.ndarray:
        """1 (``classes_[1]``) for the most probable row of each stratum, else
        ``classes_[0]``: the predicted case (or choice) of each stratum."""
        from ..data.validation import check_strata
        p = self.predict_proba(X, strata, offset=offset)
        if isinstance(strata, str) and hasattr(X, "columns"):
            strata = X[strata].to_numpy()
        codes, k = check_strata(strata, p.shape[0])
        best = np.full(k, -1.0)
        np.maximum.at(best, codes, p)
        return self.classes_[(p == best[codes]).astype(int)]

    # ------------------------------------------ what does not apply to matched strata
    def _unavailable(self, what: str):
        check_is_fitted(self)
        raise NotImplementedError(
            f"{what} is not defined for conditional logit models here; use coef_, summary, "
            "conf_int, wald_test, lr_test, decision_function and predict_proba(X, strata).")


    def margins(self, data, variables=None, at="overall", kind="dydx", dummy=False,
                count=False, level=0.95, se=True, weights=None, offset=None):
        self._unavailable("margins()")

    def explain(self, X, rows=None, *, offset=None):
        self._unavailable("explain()")

    def evaluate(self, X, y, sample_weight=None, offset=None) -> dict:
        self._unavailable("evaluate()")
