"""Choosing the penalty by cross-validation: :class:`LogisticRegressionCV`.

The penalty is the elastic net of :class:`logitlab.LogisticRegression`,
``alpha (l1_ratio ‖β‖₁ + (1 − l1_ratio)/2 ‖β‖²)`` added to the mean weighted
negative log-likelihood. As glmnet does:

1. **Grid.** ``alpha_max`` is the smallest alpha at which β = 0 solves the
   problem (KKT at β = 0 with the intercepts fitted): with ``p⁰`` the fitted
   intercept-only probabilities (weighted base rates; 1/K without intercept)
   and ``g = Xᵀ diag(s) (p⁰ − Y) / Σs`` (d × K), ``alpha_max = max|g| /
   l1_ratio``. Pure L2 (l1_ratio = 0) never gives β = 0; it uses glmnet's
   convention ``max|g| / 0.001``. The grid is ``n_alphas`` values spaced evenly
   in log scale from ``alpha_max`` down to ``eps · alpha_max`` (``eps`` 1e-4
   when n ≥ d, 1e-2 otherwise, as glmnet; 100 times smaller for pure L2,
   whose grid otherwise tends to end above the best alpha), always computed
   on all rows.
2. **Path.** Each fold's training rows are fitted at every alpha from the
   largest to the smallest, each fit starting from the previous solution
   (``warm_start=True``), through the public ``LogisticRegression`` API.
3. **Score.** Each fit scores the held-out rows (``scoring``, with their
   sample weights): ``scores_[f, j]``. Per alpha the mean over folds is weighted
   by each fold's held-out weight ``W_f`` (glmnet's convention; with equal folds
   the plain mean, as scikit-learn), and its standard error is
   ``sqrt(Σ_f W_f (score_f − mean)² / Σ_f W_f / (k − 1))`` (the usual
   ``std / sqrt(k)`` for equal folds).
4. **Choice.** ``rule="min"``: the alpha with the best mean (the largest alpha
   on ties). ``rule="1se"``: the largest alpha whose mean is within one
   standard error (of the best alpha's mean) of the best (Hastie, Tibshirani &
   Friedman, *Elements of Statistical Learning*, §7.10).
5. **Refit.** The path on all rows (``coefs_path_``, for plotting), and the
   model at the chosen alpha is ``best_estimator_``.

Comparing with scikit-learn: its objective is ``C Σ s_i nll_i + penalty``, so
on a training fold with weight sum ``S_train`` its ``C`` is our ``alpha = 1 /
(C · S_train)``; its final refit on all rows uses ``1 / (C · S)`` — a
different alpha (by the factor (k − 1)/k for equal folds). Ours refits at the
alpha chosen by CV.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
from ..core.lazy import pandas as pd

from ..core import progress
from ..core.userwarn import warn
from ..evaluation import metrics
from ..core.threads import blas_one_thread
from ..core.exceptions import ConvergenceWarning, bridged, check_is_fitted
from ..fitting.spec import class_weight_factors, penalty_kind
from .base import ClassifierBase
from .logistic import LogisticRegression
from ..data.binomial import is_proportion
from ..data.validation import check_sample_weight, check_target, check_X

__all__ = ["LogisticRegressionCV", "SCORERS", "alpha_max", "alpha_grid", "choose_index"]

#: the L1 share glmnet uses for the top of an L2 path
L2_PATH_RATIO = 1e-3


def _f1(y, proba, sample_weight=None, labels=None):
    average = "binary" if np.ndim(proba) == 1 else "macro"
    return metrics.precision_recall_f1(y, proba, average=average, sample_weight=sample_weight,
                                       labels=labels)["f1"]


#: scoring name → (function(y, proba, sample_weight=, labels=), greater_is_better)
SCORERS = {
    "log_loss": (metrics.log_loss, False),
    "brier": (metrics.brier_score, False),
    "accuracy": (metrics.accuracy, True),
    "balanced_accuracy": (metrics.balanced_accuracy, True),
    "roc_auc": (metrics.roc_auc, True),
    "f1": (_f1, True),
}


def alpha_max(X, codes, s, n_classes, fit_intercept, l1_ratio) -> float:
    """Smallest alpha with β = 0 optimal (see the module docstring); X (n, d)
    array or sparse, codes (n,) class indices, s (n,) weights."""
    K = 1 if n_classes == 2 else n_classes
    Y = (codes == 1).astype(float)[:, None] if K == 1 else np.eye(n_classes)[codes]
    base = (s @ Y) / s.sum() if fit_intercept else np.full(K, 0.5 if K == 1 else 1.0 / K)
    R = s[:, None] * (base[None, :] - Y)
    g = np.asarray(X.T @ R) / s.sum()
    top = float(np.max(np.abs(g))) if g.size else 0.0
    return top / max(float(l1_ratio), L2_PATH_RATIO)


def alpha_grid(top: float, n_alphas: int, eps: float) -> np.ndarray:
    """``n_alphas`` values from ``top`` down to ``eps · top``, evenly in log scale."""
    if not top > 0:
        raise ValueError("every feature is orthogonal to the outcome's residuals at β = 0 (e.g. "
                         "constant columns): no penalty path exists; pass alphas=[...] explicitly.")
    return np.geomspace(top, top * eps, n_alphas)


def default_eps(shape, l1_ratio) -> float:
    """glmnet's ``lambda.min.ratio`` (1e-4 when n >= d, else 1e-2), times 1e-2
    for pure L2, whose top (``max|g| / 0.001``) is far above any useful value."""
    eps = 1e-4 if shape[0] >= shape[1] else 1e-2
    return eps * 1e-2 if l1_ratio == 0 else eps


def choose_index(mean, se, rule: str, greater_is_better: bool) -> tuple:
    """``(index_min, index_chosen)`` into a grid sorted by decreasing alpha:
    the best mean (first on ties = largest alpha), and for ``rule="1se"`` the
    first (largest-alpha) index whose mean is within one standard error of it."""
    sign = -1.0 if greater_is_better else 1.0
    loss = sign * np.asarray(mean)
    best = int(np.argmin(loss))
    if rule == "min":
        return best, best
    within = np.flatnonzero(loss <= loss[best] + se[best])
    return best, int(within[0])


def _fold_summary(scores, fold_weight):
    """Weighted mean over folds (rows) and its standard error, per alpha (column)."""
    share = fold_weight / fold_weight.sum()
    mean = share @ scores
    k = scores.shape[0]
    var = share @ (scores - mean) ** 2 / (k - 1) if k > 1 else np.full(mean.shape, np.nan)
    return mean, np.sqrt(var)


class LogisticRegressionCV(ClassifierBase):
    """Logistic regression with the penalty strength chosen by k-fold cross-validation.

    See the module docstring for the grid, the path, the scores and the rules.

    Parameters
    ----------
    alphas : None, int or array-like
        None: a grid of 50 alphas from ``alpha_max``; an int: that many; an
        array: those alphas (sorted to decreasing).
    penalty : {"l2", "l1", "elasticnet"}, default "l2"
    l1_ratio : float in [0, 1] or None (elasticnet: default 0.5)
    cv : int, splitter or iterable of (train, test), default 5
        An int means scikit-learn's ``StratifiedKFold(cv)`` (no shuffling, as
        scikit-learn's ``LogisticRegressionCV``).
    scoring : str or callable, default "log_loss"
        "log_loss", "brier" (minimized), "accuracy", "balanced_accuracy",
        "roc_auc", "f1" (maximized; F1 is macro for K > 2), or a callable
        ``f(y_true, proba, sample_weight=..., labels=...)`` returning a loss
        (minimized). ``proba`` is (n,) P(classes_[1]) for binary outcomes.
    rule : {"min", "1se"}, default "min"
    refit : bool, default True
        Fit the path on all rows and keep the model at the chosen alpha.
    eps : float or None
        Smallest alpha of a generated grid as a share of ``alpha_max``.
    fit_intercept, solver, tol, max_iter, class_weight, reference_class, dtype, solver_options, polish :
        as for :class:`LogisticRegression` (every fit uses them).
    verbose : {0, 1, 2, "always"} or bool, default 0
        Progress on standard error (:mod:`logitlab.core.progress`): the fits done of
        folds × alphas (+ the refit path), time elapsed and left; 1 (True) a live
        line when the output is interactive, 2 also a line per fit, "always" those
        lines even when it is not. The best estimator inherits it.

    Attributes
    ----------
    alphas_ : ndarray of shape (A,)
        The penalty strengths, decreasing.
    scores_ : ndarray of shape (k, A)
        Held-out score per fold and alpha.
    mean_scores_, se_scores_ : ndarray of shape (A,)
        Their mean over the folds and its standard error.
    fold_weights_ : ndarray of shape (k,)
        Held-out weight per fold.
    index_min_, index_1se_, best_index_ : int
        Positions in ``alphas_`` (``best_index_`` follows ``rule``).
    alpha_min_, alpha_1se_, alpha_ : float
        The corresponding alphas (``alpha_`` follows ``rule``).
    greater_is_better_ : bool
        Whether a higher score is better.
    n_iter_ : ndarray of shape (k, A)
        Solver iterations of the fold fits.
    coefs_path_, intercepts_path_ : ndarray of shape (A, C, d), (A, C)
        The path refit on all rows (C = 1 binary, K otherwise).
    n_nonzero_path_ : ndarray of shape (A,)
        Non-zero coefficients along the path (refit only).
    best_estimator_ : LogisticRegression
        The fitted :class:`LogisticRegression` at ``alpha_`` (refit only).
    classes_, coef_, intercept_, n_features_in_, feature_names_in_
        As for :class:`LogisticRegression` (``feature_names_in_`` for data frames).
    """

    def __init__(self, alphas=None, penalty="l2", l1_ratio=None, cv=5, scoring="log_loss",
                 rule="min", refit=True, eps=None, fit_intercept=True, solver="auto", tol=None,
                 max_iter=None, class_weight=None, reference_class=None, dtype=None,
                 solver_options=None, polish=False, verbose=0):
        self.alphas = alphas
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.cv = cv
        self.scoring = scoring
        self.rule = rule
        self.refit = refit
        self.eps = eps
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.reference_class = reference_class
        self.dtype = dtype
        self.solver_options = solver_options
        self.polish = polish
        self.verbose = verbose

    # ------------------------------------------------------------- options
    def _base(self) -> LogisticRegression:
        """The LogisticRegression every fit uses (alpha set along the path)."""
        if self.penalty not in ("l2", "l1", "elasticnet"):
            raise ValueError(f"penalty must be 'l2', 'l1' or 'elasticnet' for cross-validating "
                             f"the penalty strength; got {self.penalty!r}")
        return LogisticRegression(
            penalty=self.penalty, alpha=1.0, l1_ratio=self.l1_ratio,
            fit_intercept=self.fit_intercept, solver=self.solver, tol=self.tol,
            max_iter=self.max_iter, class_weight=self.class_weight,
            reference_class=self.reference_class, warm_start=True,
            dtype=self.dtype, solver_options=self.solver_options, polish=self.polish)

    def _scorer(self):
        if callable(self.scoring):
            return self.scoring, False
        if self.scoring not in SCORERS:
            raise ValueError(f"scoring must be one of {sorted(SCORERS)} or a callable; "
                             f"got {self.scoring!r}")
        return SCORERS[self.scoring]

    def _grid(self, X, codes, s, n_classes, ratio) -> np.ndarray:
        if self.alphas is None or isinstance(self.alphas, (int, np.integer)):
            n_alphas = 50 if self.alphas is None else int(self.alphas)
            if n_alphas < 1:
                raise ValueError(f"alphas as an int is the grid size, >= 1; got {n_alphas}")
            eps = self.eps if self.eps is not None else default_eps(X.shape, ratio)
            if not 0 < eps < 1:
                raise ValueError(f"eps must be in (0, 1); got {eps!r}")
            top = alpha_max(X, codes, s, n_classes, self.fit_intercept, ratio)
            return alpha_grid(top, n_alphas, eps)
        grid = np.asarray(self.alphas, dtype=np.float64).ravel()
        if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
            raise ValueError(f"alphas must be positive finite numbers; got {self.alphas!r}")
        return np.sort(grid)[::-1]

    # ----------------------------------------------------------------- fit
    def fit(self, X, y, sample_weight=None, groups=None) -> LogisticRegressionCV:
        """Cross-validate the path, choose alpha, refit (see the module docstring).

        X : (n, d) array-like or sparse. y : (n,) labels. sample_weight : (n,)
        used in every fit and every held-out score. groups : passed to the
        splitter (e.g. ``GroupKFold``).

        BLAS is held to one thread throughout, as in
        :meth:`LogisticRegression.fit`: the held-out scoring between fits (``X @ β``)
        would otherwise leave OpenBLAS threads spinning into the next fit's passes.
        """
        with blas_one_thread():
            return self._fit_unlocked(X, y, sample_weight, groups)

    def _fit_unlocked(self, X, y, sample_weight, groups):
        if self.rule not in ("min", "1se"):
            raise ValueError(f"rule must be 'min' or '1se'; got {self.rule!r}")
        progress.check_verbose(self.verbose)
        base = self._base()
        _, _, ratio = penalty_kind(base.penalty, base.alpha, base.l1_ratio)
        scorer, greater = self._scorer()
        Xc = check_X(self, X, reset=True, dtype=self.dtype)
        if sample_weight is not None and is_proportion(y):
            raise ValueError("y holds proportions with the trials as sample_weight (a grouped "
                             "binomial response), which cross-validation does not split; fit "
                             "LogisticRegression, or expand the groups into 0/1 rows.")
        classes, codes = check_target(y, Xc.shape[0])
        labels = classes[codes]
        s = check_sample_weight(sample_weight, Xc.shape[0])
        counts = np.bincount(codes, minlength=classes.size)
        factors = class_weight_factors(self.class_weight, classes, counts)
        fit_s = s if self.class_weight is None else s * factors[codes]
        totals = np.bincount(codes, weights=fit_s, minlength=classes.size)
        if np.count_nonzero(totals > 0) < 2:
            raise ValueError(f"only the class {classes[totals > 0].tolist()} has positive sample "
                             "weight; cross-validating a classifier needs at least 2 classes.")
        self.classes_ = classes
        self.alphas_ = self._grid(Xc, codes, fit_s, classes.size, ratio)
        from sklearn.model_selection import check_cv   # CV users pay for it, only them
        folds = list(check_cv(self.cv, labels, classifier=True).split(Xc, labels, groups))
        if len(folds) < 2:
            raise ValueError(f"cross-validation needs at least 2 folds; cv gave {len(folds)}.")
        k, A = len(folds), self.alphas_.size
        with progress.steps(self.verbose, f"CV {k} folds × {A} alphas"
                            + (" + refit" if self.refit else ""),
                            k * A + (A if self.refit else 0)) as done:
            self._fit_folds(base, X, y, sample_weight, Xc, labels, s, folds, classes, scorer,
                            greater, done)
        return self

    def _fit_folds(self, base, X, y, sample_weight, Xc, labels, s, folds, classes, scorer,
                   greater, done):
        """The cross-validation, the choice of alpha and the refit; ``done``: the
        :class:`logitlab.core.progress.Steps` counter of the fits."""
        self.scores_, self.n_iter_, self.fold_weights_ = self._cross_validate(
            base, Xc, labels, s, folds, classes, scorer, sample_weight is None, done)
        self.mean_scores_, self.se_scores_ = _fold_summary(self.scores_, self.fold_weights_)
        self.greater_is_better_ = greater
        self.index_min_, self.index_1se_ = choose_index(self.mean_scores_, self.se_scores_,
                                                        "1se", greater)
        self.best_index_ = self.index_min_ if self.rule == "min" else self.index_1se_
        self.alpha_min_ = float(self.alphas_[self.index_min_])
        self.alpha_1se_ = float(self.alphas_[self.index_1se_])
        self.alpha_ = float(self.alphas_[self.best_index_])
        if self.refit:
            self._refit(base, X, y, sample_weight, done)

    def _path(self, base, X, y, s, on_fit, done=None, where=""):
        """Fit at every alpha (decreasing) with warm starts; ``on_fit(j, model)``;
        ``done.advance`` after each fit (progress)."""
        model = copy.deepcopy(base)
        unconverged = 0
        for j, a in enumerate(self.alphas_):
            model.alpha = float(a)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.fit(X, y, sample_weight=s)
            unconverged += any(issubclass(w.category, ConvergenceWarning) for w in caught)
            on_fit(j, model)
            if done is not None:
                done.advance(f"{where}alpha {j + 1}/{self.alphas_.size} = {a:.4g}")
        return unconverged

    def _cross_validate(self, base, X, labels, s, folds, classes, scorer, unit_weights,
                        done=None):
        k, A = len(folds), self.alphas_.size
        scores = np.empty((k, A))
        n_iter = np.zeros((k, A), dtype=np.int64)
        fold_weight = np.array([s[test].sum() for _, test in folds])
        if np.any(fold_weight <= 0):
            raise ValueError("a cross-validation fold has no held-out weight; check the "
                             "sample weights or the folds.")
        unconverged = 0
        for f, (train, test) in enumerate(folds):
            missing = np.setdiff1d(classes, labels[train])
            if missing.size:
                raise ValueError(f"fold {f}'s training rows lack class(es) {missing.tolist()}; "
                                 "use fewer folds or a stratified splitter.")
            Xte, yte, ste = X[test], labels[test], s[test]

            def record(j, model, f=f, Xte=Xte, yte=yte, ste=ste):
                P = model.predict_proba(Xte)
                proba = P[:, 1] if P.shape[1] == 2 else P
                try:
                    scores[f, j] = scorer(yte, proba, sample_weight=ste, labels=classes)
                except ValueError as err:
                    raise ValueError(f"scoring fold {f} failed: {err}") from None
                n_iter[f, j] = model.n_iter_

            fit_s = None if unit_weights else s[train]   # None: no n-sized ones per fit
            unconverged += self._path(base, X[train], labels[train], fit_s, record, done,
                                      f"fold {f + 1}/{k}, ")
        if unconverged:
            warn(f"{unconverged} of {k * A} cross-validation fits did not converge "
                 "(raise max_iter, or drop the smallest alphas).", bridged(ConvergenceWarning))
        return scores, n_iter, fold_weight

    def _refit(self, base, X, y, sample_weight, done=None):
        """The path on all rows; keep the fit at the chosen alpha."""
        A = self.alphas_.size
        C = 1 if self.classes_.size == 2 else self.classes_.size
        self.coefs_path_ = np.zeros((A, C, self.n_features_in_))
        self.intercepts_path_ = np.zeros((A, C))
        self.n_nonzero_path_ = np.zeros(A, dtype=np.int64)

        def record(j, model):
            self.coefs_path_[j] = model.coef_
            self.intercepts_path_[j] = model.intercept_
            self.n_nonzero_path_[j] = int(np.count_nonzero(model.coef_))
            if j == self.best_index_:
                best = copy.deepcopy(model)
                best.warm_start = False
                best.verbose = self.verbose
                self.best_estimator_ = best

        self._path(base, X, y, sample_weight, record, done, "refit, ")
        self.coef_ = self.best_estimator_.coef_
        self.intercept_ = self.best_estimator_.intercept_

    # ------------------------------------------------------------ results
    def results_frame(self) -> pd.DataFrame:
        """One row per alpha: alpha, mean, se, each fold's score (``fold_0``...),
        ``n_nonzero`` on all rows (refit) and markers ``is_min`` / ``is_1se``."""
        check_is_fitted(self, "scores_")
        out = pd.DataFrame({"alpha": self.alphas_, "mean": self.mean_scores_,
                            "se": self.se_scores_})
        for f in range(self.scores_.shape[0]):
            out[f"fold_{f}"] = self.scores_[f]
        if hasattr(self, "n_nonzero_path_"):
            out["n_nonzero"] = self.n_nonzero_path_
        out["is_min"] = np.arange(self.alphas_.size) == self.index_min_
        out["is_1se"] = np.arange(self.alphas_.size) == self.index_1se_
        return out

    # --------------------------------------------------------- prediction
    def _best(self) -> LogisticRegression:
        check_is_fitted(self, "scores_")
        if not hasattr(self, "best_estimator_"):
            raise ValueError("this LogisticRegressionCV was fitted with refit=False: it has no "
                             "model to predict with; refit=True, or fit LogisticRegression"
                             "(alpha=cv.alpha_).")
        return self.best_estimator_

    def decision_function(self, X):
        """Logits of the model at ``alpha_`` (see LogisticRegression.decision_function)."""
        return self._best().decision_function(X)

    def predict_proba(self, X) -> np.ndarray:
        return self._best().predict_proba(X)

    def predict_log_proba(self, X) -> np.ndarray:
        return self._best().predict_log_proba(X)

    def predict(self, X) -> np.ndarray:
        return self._best().predict(X)

    def evaluate(self, X, y, sample_weight=None) -> dict:
        """Metrics of the model at ``alpha_`` (see LogisticRegression.evaluate)."""
        return self._best().evaluate(X, y, sample_weight=sample_weight)

    def summary(self, level: float = 0.95):
        return self._best().summary(level=level)


def fit_design_cv(design, X, y, sample_weight, estimator_params: dict, cv, cv_options: dict):
    """``logitlab.fit(formula, data, cv=k)``: cross-validate on the formula's design
    and return the chosen ``LogisticRegression`` (with ``design_``) carrying the
    cross-validation as ``cv_`` (a fitted :class:`LogisticRegressionCV`)."""
    allowed = set(LogisticRegressionCV().get_params()) - {"cv", "refit"}
    params = {k: v for k, v in estimator_params.items() if k not in ("alpha", "threshold")}
    unknown = sorted(set(params) - allowed - set(cv_options))
    if "alpha" in estimator_params:
        raise ValueError("alpha is chosen by cross-validation when cv is given; pass "
                         "cv_options={'alphas': [...]} to set the grid instead.")
    if unknown:
        raise ValueError(f"{', '.join(unknown)} cannot be combined with cv (allowed: "
                         f"{', '.join(sorted(allowed))}).")
    searcher = LogisticRegressionCV(cv=cv, **{**params, **cv_options})
    searcher.fit(X, y, sample_weight=sample_weight)
    model = searcher.best_estimator_
    model.design_ = design
    model.cv_ = searcher
    if "threshold" in estimator_params:
        model.set_threshold(estimator_params["threshold"])
    return model
