"""``OrderedLogisticRegression``: the proportional-odds (cumulative logit) model.

For ordered categories ``c_0 < c_1 < … < c_{K−1}`` (``classes_``)::

    logit P(y ≤ c_k | x) = ζ_k − xᵀβ          k = 0, …, K − 2

R ``MASS::polr``'s and ``ordinal::clm``'s sign convention: a positive ``β_j``
moves the outcome to higher categories, and ``e^{β_j}`` is the odds ratio of
``y > c_k`` against ``y ≤ c_k`` for a unit increase of ``x_j``, the same at
every cut ``k`` (the proportional-odds assumption). ``thresholds_`` are the
cut points ``ζ`` (increasing); there is no separate intercept.

Partial proportional odds (R ``clm``'s ``nominal =``): the features in
``nominal`` get one coefficient per cut, ``logit P(y ≤ c_k) = ζ_k − xᵀβ − x_j γ_{j,k}``,
labelled ``"c_k|c_{k+1}.name"`` (``γ`` has the sign of ``β``: clm reports ``−γ``).
:meth:`OrderedLogisticRegression.nominal_test` and ``brant_test`` test the
proportional-odds assumption per term.

The fit is the same pipeline as :class:`~logitlab.estimators.logistic.LogisticRegression`
(family :class:`~logitlab.families.ordinal.CumulativeLogit`): maximum
likelihood by Newton (or an L2 penalty on the slopes), standard errors from
the information, profile-likelihood intervals, weights and offsets.
"""

from __future__ import annotations

import numpy as np

from ..core.exceptions import check_is_fitted
from ..data.validation import check_offset
from .base import WithoutBernoulliDiagnostics
from .logistic import LogisticRegression

__all__ = ["OrderedLogisticRegression"]


class OrderedLogisticRegression(WithoutBernoulliDiagnostics, LogisticRegression):
    """Ordinal logistic regression (proportional odds); see the module docstring.

    Parameters
    ----------
    levels : sequence or None
        The categories from lowest to highest. None: the order of an ordered
        pandas Categorical ``y``, or the numeric order of numeric labels; text
        labels need ``levels`` (no order is guessed).
    nominal : sequence or None
        Features whose effect differs by threshold (partial proportional odds):
        column names or indices; in formula fits also formula terms (``"C(g)"``:
        all its columns).
    penalty, alpha : as :class:`LogisticRegression`, L2 only (``alpha > 0``
        shrinks the slopes, never the thresholds).
    solver, tol, max_iter, warm_start, dtype, solver_options, callback, verbose,
    cov_type, engine, engine_options : as :class:`LogisticRegression`.

    Attributes
    ----------
    classes_ : ndarray of shape (K,)
        The ordered categories.
    coef_ : ndarray of shape (d,)
        The slopes β.
    thresholds_ : ndarray of shape (K − 1,)
        The cut points ζ (increasing), labelled ``"c_k|c_{k+1}"`` in tables as in R.
    results_
        The results object; the other fit attributes (``n_iter_``, ``converged_``,
        ``solver_``, ``history_``, ...) are those of :class:`LogisticRegression`.
    """

    _spec_extra = {"family": "ordinal"}
    no_threshold = "an ordinal model has no decision threshold: it predicts the most probable category."

    def __init__(self, levels=None, nominal=None, penalty="l2", alpha=0.0, solver="auto",
                 tol=None, max_iter=None, warm_start=False, dtype=None, solver_options=None,
                 callback=None, cov_type="nonrobust", engine="auto", engine_options=None,
                 verbose=0):
        self.levels = levels
        self.nominal = nominal
        self.penalty = penalty
        self.alpha = alpha
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start
        self.dtype = dtype
        self.solver_options = solver_options
        self.callback = callback
        self.cov_type = cov_type
        self.engine = engine
        self.engine_options = engine_options
        self.verbose = verbose

    def checked_spec(self):
        from ..fitting.spec import fit_spec
        return fit_spec({**self.get_params(), **self._spec_extra,
                         "nominal_indices": self.nominal_indices()})

    def nominal_indices(self) -> tuple:
        """The design columns of ``nominal`` (names, indices or formula terms),
        checked against the features of the data being fitted (none before
        they are known)."""
        if not self.nominal:
            return ()
        if "n_features_in_" not in self.__dict__:
            return ()
        entries = [self.nominal] if isinstance(self.nominal, (str, int)) else list(self.nominal)
        names = [str(n) for n in getattr(self, "feature_names_in_", [])]
        terms = getattr(getattr(self, "design_", None), "terms", {}) or {}
        out = []
        for entry in entries:
            if isinstance(entry, (int, np.integer)) and not isinstance(entry, bool) \
                    and 0 <= entry < self.n_features_in_:
                out.append(int(entry))
            elif str(entry) in terms:
                out += [names.index(c) for c in terms[str(entry)]]
            elif str(entry) in names:
                out.append(names.index(str(entry)))
            else:
                known = list(terms) or names or list(range(self.n_features_in_))
                raise ValueError(f"nominal names {entry!r}, which is not a feature of the data "
                                 f"(the {'terms' if terms else 'features'} are {known}).")
        return tuple(sorted(set(out)))

    def fit(self, X, y, sample_weight=None, offset=None, groups=None) -> OrderedLogisticRegression:
        """Fit by maximum likelihood (L2-penalized with ``alpha > 0``).

        X : (n, d) array-like or sparse matrix; y : (n,) ordered labels (see
        ``levels``); sample_weight : (n,) non-negative frequency weights;
        offset : (n,) added to ``η = Xβ``; groups : clusters for
        ``cov_type="cluster"``."""
        self._data_levels = _categorical_levels(X, y) if self.levels is None else None
        return super().fit(X, y, sample_weight=sample_weight, offset=offset, groups=groups)

    def _source_options(self) -> dict:
        levels = self.levels if self.levels is not None else \
            getattr(self, "_data_levels", None)
        return {"ordinal": True, "levels": levels}

    def _set_results(self, results) -> None:
        self._set_fit_attributes(results)
        beta, zeta = results.family.split(results.coef)
        self.coef_, self.thresholds_ = beta.copy(), zeta.copy()
        if results.layout.nominal:
            self.nominal_coef_ = results.family.nominal_effects(results.coef).copy()

    # ------------------------------------------------------------- prediction
    def decision_function(self, X, offset=None):
        """The linear predictor ``η = Xβ (+ offset)`` (n,): higher means higher categories."""
        X = self.design_matrix(X)
        results = self.results_
        return results.family.eta(X, results.coef, check_offset(offset, X.shape[0], 2))

    def cumulative_logits(self, X, offset=None):
        """``logit P(y ≤ c_k) = ζ_k − η`` (n, K − 1) (minus the nominal effects)."""
        X = self.design_matrix(X)
        results = self.results_
        Z = results.family.linear_predictor(X, results.coef,
                                            check_offset(offset, X.shape[0], 2))
        if results.layout.nominal:
            from ..families.ordinal import check_increasing_cuts
            check_increasing_cuts(Z, "its predicted probabilities")
        return Z

    def predict_cumulative_proba(self, X, offset=None) -> np.ndarray:
        """``P(y ≤ c_k)`` (n, K − 1), k = 0, …, K − 2."""
        from ..core.links import sigmoid
        return sigmoid(self.cumulative_logits(X, offset))

    def predict_proba(self, X, offset=None) -> np.ndarray:
        """Category probabilities (n, K), columns in the order of ``classes_``."""
        return self.results_.family.probabilities(self.cumulative_logits(X, offset))

    def predict_log_proba(self, X, offset=None) -> np.ndarray:
        """Log category probabilities (n, K), exact in the tails."""
        return self.results_.family.log_probabilities(self.cumulative_logits(X, offset))

    def predict(self, X, offset=None) -> np.ndarray:
        """The most probable category of each row."""
        return self.classes_[np.argmax(self.predict_log_proba(X, offset), axis=1)]

    # ------------------------------------------------ tests of proportional odds
    def nominal_test(self):
        """R ``ordinal::nominal_test``: per term, the LR test against the model in
        which that term's effect differs by cut (a DataFrame: ``df``, ``loglik``,
        ``aic``, ``lrt``, ``p_value``; see :mod:`logitlab.results.ordinal_tests`)."""
        from ..results.ordinal_tests import nominal_test
        check_is_fitted(self)
        return nominal_test(self)

    def brant_test(self):
        """Brant's (1990) Wald tests of proportional odds, omnibus and per term
        (``statistic``, ``df``, ``p_value``; see :mod:`logitlab.results.ordinal_tests`)."""
        from ..results.ordinal_tests import brant_test
        check_is_fitted(self)
        return brant_test(self)

    # ------------------------------------------ what applies to binary models only
    def _unavailable(self, what: str):
        check_is_fitted(self)
        raise NotImplementedError(
            f"{what} is defined for binary (and some multinomial) models, not for this ordinal "
            "model; use predict_proba, get_prediction, explain, conf_int, wald_test, lr_test, "
            "nominal_test or brant_test.")

    def explain(self, X, rows=None, *, offset=None):
        """Predictions worked out: contributions ``β_j x_j`` → ``η`` → cumulative
        logits ``ζ_k − η`` → ``P(y ≤ c_k)`` → ``P(y = c_k)`` → the most probable
        level. ``rows``: an int (an :class:`~logitlab.results.ordinal_explain.OrdinalExplanation`,
        printed as tables), else the DataFrame of the selected rows (all for None;
        see :func:`~logitlab.results.ordinal_explain.explain_ordinal_frame`)."""
        import numbers
        from ..results.ordinal_explain import explain_ordinal_frame, explain_ordinal_row
        check_is_fitted(self)
        if isinstance(rows, numbers.Integral) and not isinstance(rows, (bool, np.bool_)):
            return explain_ordinal_row(self, X, rows, offset)
        return explain_ordinal_frame(self, X, offset, rows=rows)


def _categorical_levels(X, y):
    """The categories of an ordered Categorical ``y`` given as a Dask series or as a
    column name of a Dask DataFrame ``X`` (in memory the engine reads them itself),
    else None."""
    column = X[y] if isinstance(y, str) and hasattr(X, "columns") and y in X.columns else y
    dtype = getattr(column, "dtype", None)
    if getattr(dtype, "name", "") != "category" or not getattr(dtype, "ordered", False):
        return None
    known = getattr(getattr(column, "cat", None), "known", True)
    categories = getattr(dtype, "categories", None)
    return None if categories is None or not known else list(categories)
