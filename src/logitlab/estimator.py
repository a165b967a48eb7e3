"""``LogisticRegression``: the scikit-learn estimator on top of the solvers.

Binary outcomes get one logit ``z = X β + b`` and ``P(y = classes_[1]) = sigmoid(z)``;
K > 2 classes get K logits and ``softmax``. By default (``alpha=0``) the fit is
plain maximum likelihood, as in R ``glm`` / ``nnet::multinom`` and statsmodels;
``alpha > 0`` adds the elastic-net penalty of :mod:`logitlab.objective`.

Multinomial parametrization: an unpenalized fit estimates K - 1 coefficient
vectors against the reference class (default the first class), the
identifiable MLE; its ``coef_`` row for the reference class is zero. A
penalized fit estimates all K vectors (the symmetric softmax, as scikit-learn
and glmnet do). Either way ``coef_vs_reference_`` gives the log relative-risk
ratios of each other class against ``reference_class_``.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_is_fitted

from ._userwarn import warn
from . import solvers
from ._threads import blas_one_thread
from .backends import InMemoryData
from . import fitstats
from .diagnostics import CollinearityWarning, explain_fit, saturated_rows, warn_findings
from .kernels import Layout, logits as chunk_logits
from .links import log_sigmoid, log_softmax, logit, sigmoid, softmax
from .objective import Objective
from .separation import detect_separation, separation_check_is_cheap
from .validation import (_listing, check_groups, check_offset, check_sample_weight,
                         check_target, check_X)

_PENALTIES = (None, "none", "l2", "l1", "elasticnet", "firth")
#: largest number of coefficients for which the information matrix is kept
INFERENCE_MAX_SIZE = 2000
_COV_TYPES = ("nonrobust", "HC0", "HC1", "cluster")


def _check_threshold(value, n_classes=2) -> float:
    """A decision threshold: a number in [0, 1]; only 0.5 for multinomial models."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not 0 <= value <= 1):
        raise ValueError(f"threshold must be a number in [0, 1]; got {value!r}")
    if n_classes > 2 and value != 0.5:
        raise ValueError(f"threshold applies to binary models; this one has {n_classes} "
                         "classes and predicts the most probable one (leave threshold=0.5).")
    return float(value)


def _chain(first, second):
    """One result for two runs of a solver, the second started where the first
    stopped (the float64 polish): the second's solution, both histories."""
    second.n_iter += first.n_iter
    second.n_passes += first.n_passes
    second.history = {k: np.concatenate([first.history[k], second.history[k][1:]])
                      for k in second.history}
    second.flags = set(second.flags) | {"polished"}
    return second


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression by (penalized) maximum likelihood.

    Minimizes ``(1/S) Σ s_i nll_i + alpha (l1_ratio ‖β‖₁ + (1 - l1_ratio)/2 ‖β‖²)``
    with ``S = Σ s_i``; intercepts are not penalized. From scikit-learn's
    ``C``: ``alpha = 1 / (C * S)`` (``S = n_samples`` with unit weights).

    Parameters
    ----------
    penalty : {"l2", "l1", "elasticnet", None}, default "l2"
        Penalty applied when ``alpha > 0``. With ``alpha=0`` (the default) the
        fit is unpenalized maximum likelihood whatever ``penalty`` says.
    alpha : float >= 0, default 0.0
        Penalty strength.
    l1_ratio : float in [0, 1] or None
        Share of L1 in the elastic net (``penalty="elasticnet"``; default 0.5).
        Implied by ``penalty`` otherwise (l2: 0, l1: 1).
    fit_intercept : bool, default True
    solver : {"auto", "newton", "lbfgs", "newton-cg", "cd", "gd"}, default "auto"
        ``auto`` picks by size, sparsity and penalty; ``solver_`` says which.
    tol : float or None
        Convergence when the max-norm of the objective's (sub)gradient is at
        most ``tol``. None uses the
        solver's default (newton, newton-cg, cd 1e-10; lbfgs 1e-8; gd 1e-6).
    max_iter : int or None
        Iteration limit; None uses the solver's default (newton 100, lbfgs
        1000, newton-cg 200, cd 100, gd 10000).
    class_weight : dict, "balanced" or None
        Weights per class, multiplied into the sample weights.
    reference_class : label or None
        Baseline class for ``coef_vs_reference_`` (default ``classes_[0]``).
    warm_start : bool, default False
        Start from the previous fit's coefficients when the shapes agree.
    dtype : None, "float32" or "float64"
        None keeps float32 input in float32 (half the memory traffic) and
        uses float64 otherwise. A penalized binary fit on dense float32 X
        (with at least 2²⁰ entries) then also does its X-sized arithmetic in float32,
        about twice as fast; it stops once the gradient is down to its
        float32 rounding error (``tol_`` is raised to that bound), which
        leaves the objective within ~1e-12 (relative) of its minimum and the
        coefficients within ~1e-6. Everything else is float64 arithmetic.
    polish : bool, default False
        After a float32-arithmetic fit, continue in float64 arithmetic (on
        the same float32 X) to ``tol``: the float64 fit of the same numbers,
        for a few more passes.
    solver_options : dict or None
        Extra options for the solver, e.g. ``{"learning_rate": 0.5}`` for gd.
    callback : callable or None
        ``callback(iteration, objective, grad_norm)`` after every iteration.
    cov_type : {"nonrobust", "HC0", "HC1", "cluster"}, default "nonrobust"
        Covariance of the estimates for inference (unpenalized fits): the
        inverse Fisher information, or a sandwich (cluster needs ``groups``
        in ``fit``).
    threshold : float in [0, 1], default 0.5
        Decision threshold of a binary model: ``predict`` gives ``classes_[1]``
        when ``P(classes_[1]) > threshold`` (at 0.5: logit > 0). Set it with
        :meth:`set_threshold` or choose it on validation data with
        :meth:`tune_threshold`. Multinomial models predict the most probable class.
    engine : {"auto", "memory", "dask"}, default "auto"
        Where the rows are processed. ``auto``: on Dask for Dask collections
        and file paths, in memory otherwise; ``dask`` (a LocalCluster is started
        if there is no client); ``memory`` computes Dask inputs into memory.
        See :mod:`logitlab.distributed`.
    engine_options : dict or None
        Dask engine options: ``persist`` ("auto", True, False), ``checkpoint``
        (path of a per-iteration coefficient checkpoint to resume from),
        ``address`` (scheduler address), ``n_partitions``.

    Attributes
    ----------
    classes_ : (K,) the sorted labels. coef_ : (1, d) binary / (K, d) multinomial.
    intercept_ : (1,) / (K,). coef_vs_reference_, intercept_vs_reference_ :
    (K-1, d), (K-1,) against ``reference_class_`` for ``other_classes_``.
    n_iter_, converged_, solver_, objective_, grad_norm_, n_passes_,
    tol_ : the gradient tolerance used (after the per-solver default),
    history_ : dict with arrays "objective" and "grad_norm" per iteration.
    aliased_ : names of columns dropped as linear combinations of earlier ones
    (unpenalized fits; their coefficients are reported as aliased and held at 0).
    inference_state_ : JSON-safe dict of what inference needs (information
    matrix, log-likelihoods, ...) or None for penalized or very wide fits.
    """

    def __init__(self, penalty="l2", alpha=0.0, l1_ratio=None, fit_intercept=True,
                 solver="auto", tol=None, max_iter=None, class_weight=None,
                 reference_class=None, warm_start=False, dtype=None,
                 solver_options=None, callback=None, cov_type="nonrobust", threshold=0.5,
                 engine="auto", engine_options=None, polish=False):
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.reference_class = reference_class
        self.warm_start = warm_start
        self.dtype = dtype
        self.solver_options = solver_options
        self.callback = callback
        self.cov_type = cov_type
        self.threshold = threshold
        self.engine = engine
        self.engine_options = engine_options
        self.polish = polish

    # ------------------------------------------------------------------ options
    def _penalty_kind(self):
        """``(kind, alpha, l1_ratio)`` after checking the options."""
        if self.penalty not in _PENALTIES:
            raise ValueError(f"penalty must be one of 'l2', 'l1', 'elasticnet', 'firth' or None; "
                             f"got {self.penalty!r}")
        if not isinstance(self.alpha, numbers.Real) or not np.isfinite(self.alpha) or self.alpha < 0:
            raise ValueError(f"alpha must be a finite number >= 0; got {self.alpha!r}")
        if self.penalty == "firth":
            if self.alpha != 0 or self.l1_ratio is not None:
                raise ValueError("penalty='firth' has no strength or mix: leave alpha=0 and "
                                 "l1_ratio=None (Firth's penalty is ½ log det I(β)).")
            return "firth", 0.0, 0.0
        if self.penalty in (None, "none"):
            if self.alpha > 0:
                raise ValueError(f"penalty=None but alpha={self.alpha}; set penalty='l2', "
                                 "'l1' or 'elasticnet', or alpha=0.")
            return "none", 0.0, 0.0
        ratio = {"l2": 0.0, "l1": 1.0}.get(self.penalty)
        if self.penalty == "elasticnet":
            ratio = 0.5 if self.l1_ratio is None else self.l1_ratio
        elif self.l1_ratio is not None and self.l1_ratio != ratio:
            raise ValueError(f"l1_ratio={self.l1_ratio} only applies to penalty='elasticnet' "
                             f"(penalty={self.penalty!r} implies l1_ratio={ratio}).")
        if not isinstance(ratio, numbers.Real) or not 0 <= ratio <= 1:
            raise ValueError(f"l1_ratio must be in [0, 1]; got {ratio!r}")
        if self.alpha == 0:
            return "none", 0.0, 0.0
        kind = {0.0: "l2", 1.0: "l1"}.get(float(ratio), "elasticnet")
        return kind, float(self.alpha), float(ratio)

    def _check_options(self, kind):
        if self.tol is not None and (not isinstance(self.tol, numbers.Real) or not self.tol > 0):
            raise ValueError(f"tol must be a positive number; got {self.tol!r}")
        if self.max_iter is not None and (not isinstance(self.max_iter, numbers.Integral)
                                          or self.max_iter < 0):
            raise ValueError(f"max_iter must be a non-negative integer or None; got {self.max_iter!r}")
        if self.cov_type not in _COV_TYPES:
            raise ValueError(f"cov_type must be one of {list(_COV_TYPES)}; got {self.cov_type!r}")
        if self.dtype not in (None, "float32", "float64", np.float32, np.float64):
            raise ValueError(f"dtype must be None, 'float32' or 'float64'; got {self.dtype!r}")
        if not isinstance(self.polish, (bool, np.bool_)):
            raise ValueError(f"polish must be True or False; got {self.polish!r}")
        solvers.check_solver(self.solver, kind)

    # ---------------------------------------------------------------- fitting
    def _layout(self, n_features, n_classes, ref_index, kind) -> Layout:
        if n_classes == 2:
            free = (1,)
        elif kind == "none":
            free = tuple(k for k in range(n_classes) if k != ref_index)
        else:
            free = tuple(range(n_classes))
        return Layout(n_features, n_classes, free, bool(self.fit_intercept))

    def _reference_index(self, classes):
        if self.reference_class is None:
            return 0
        hits = np.flatnonzero(classes == self.reference_class)
        if hits.size != 1:
            raise ValueError(f"reference_class={self.reference_class!r} is not one of the "
                             f"classes {classes.tolist()}.")
        return int(hits[0])

    def _with_class_weight(self, s, classes, codes):
        """Row weights ``s`` times each row's class weight (``s`` itself, not a
        copy, without ``class_weight``)."""
        if self.class_weight is None:
            return s
        return s * self._class_weights(classes, codes)[codes]

    def _class_weights(self, classes, codes):
        if self.class_weight is None:
            return np.ones(classes.size)
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(classes.tolist())
            if unknown:
                from .io import option
                raise ValueError(f"{option('class_weight')} names classes not in y: "
                                 f"{sorted(map(str, unknown))}; "
                                 f"the classes in y are {classes.tolist()}.")
        return compute_class_weight(self.class_weight, classes=classes, y=classes[codes])

    @staticmethod
    def _pinned(layout):
        """The symmetric softmax with intercepts has one flat direction (adding a
        constant to every intercept): hold the first class's intercept fixed."""
        if layout.multinomial and layout.fit_intercept and layout.n_cols == layout.n_classes:
            fixed = np.zeros((layout.n_rows, layout.n_cols), dtype=bool)
            fixed[-1, 0] = True
            return fixed.ravel()
        return None

    @staticmethod
    def _canonical(layout, w):
        """Symmetric softmax: report intercepts centred to sum to zero (as
        scikit-learn does); the probabilities are unchanged."""
        if layout.multinomial and layout.fit_intercept and layout.n_cols == layout.n_classes:
            W = layout.matrix(w).copy()
            W[-1] -= W[-1].mean()
            return W.ravel()
        return w

    def _start(self, layout, y, s, n_classes):
        """Warm start, or intercepts at the log-odds of the weighted base rates."""
        if (self.warm_start and getattr(self, "_w", None) is not None
                and self._w.size == layout.size and self._layout_ == layout):
            return self._w.copy()
        W = np.zeros((layout.n_rows, layout.n_cols))
        if layout.fit_intercept:
            if n_classes == 2:
                W[-1, 0] = logit(np.clip(np.sum(s, where=y == 1) / s.sum(), 1e-12, 1 - 1e-12))
            else:
                share = np.bincount(y, weights=s, minlength=n_classes) / s.sum()
                logp = np.log(np.clip(share, 1e-12, None))
                # log-odds against the reference (unpenalized) or against class 0
                # (symmetric softmax, whose class-0 intercept is pinned)
                missing = [k for k in range(n_classes) if k not in layout.free_classes]
                W[-1] = logp[list(layout.free_classes)] - logp[missing[0] if missing else 0]
        return W.ravel()

    def fit(self, X, y, sample_weight=None, offset=None, groups=None):
        """Fit by (penalized) maximum likelihood.

        X : (n, d) array-like or sparse matrix (numeric; DataFrame column names
        become ``feature_names_in_``). y : (n,) labels of any hashable type.
        sample_weight : (n,) non-negative. offset : (n,) binary or (n, K)
        multinomial, added to the logits (coefficient fixed at 1). groups :
        (n,) cluster labels for ``cov_type="cluster"``.
        """
        self.__dict__.pop("design_", None)   # a plain fit has no formula design
        from . import distributed
        if distributed.wants_dask(self, X):
            return distributed.fit(self, X, y, sample_weight, offset, groups)
        X, y, sample_weight, offset, groups = map(distributed.to_memory,
                                                  (X, y, sample_weight, offset, groups))
        return self._fit(X, y, sample_weight, offset, min_features=1, groups=groups)

    def _fit_design(self, design, X, y, sample_weight=None, offset=None, groups=None):
        """Fit on the numeric design ``X`` that ``design`` (a fitted
        :class:`logitlab.formula.Design`) built from raw data. The design may have
        no columns (``y ~ 1``); predictions then take raw data frames, which
        ``design.transform`` encodes."""
        self.design_ = design
        return self._fit(X, y, sample_weight, offset, min_features=0, groups=groups)

    def _design_input(self, X):
        """Raw data frames go through the stored formula design, if any."""
        design = getattr(self, "design_", None)
        if design is not None and not isinstance(X, np.ndarray) and not sp.issparse(X):
            return design.transform(X), 0
        return X, 1

    def _fit(self, X, y, sample_weight, offset, min_features, groups=None):
        """Validate, build the objective, solve, then record and diagnose the fit.

        BLAS is held to one thread throughout (:class:`logitlab._threads.blas_one_thread`),
        not only in the solver: a multithreaded BLAS call before it (the base
        rate's length-n dot product) left an OpenBLAS thread spinning through
        the first two passes, which then ran one of our two threads at half
        speed (dense 1M×50: 36 ms a pass instead of 25)."""
        with blas_one_thread():
            return self._fit_unlocked(X, y, sample_weight, offset, min_features, groups)

    def _fit_unlocked(self, X, y, sample_weight, offset, min_features, groups):
        kind, alpha, l1_ratio = self._penalty_kind()
        self._check_options(kind)
        X = check_X(self, X, reset=True, dtype=self.dtype, min_features=min_features)
        group_codes = check_groups(groups, X.shape[0], self.cov_type)
        classes, codes = check_target(y, X.shape[0])
        _check_threshold(self.threshold, classes.size)
        if kind == "firth" and classes.size > 2:
            raise ValueError("penalty='firth' is implemented for binary outcomes; y has "
                             f"{classes.size} classes.")
        s = check_sample_weight(sample_weight, X.shape[0])
        s = self._with_class_weight(s, classes, codes)
        if not s.sum() > 0:
            raise ValueError("all rows have zero weight after applying class_weight.")
        offset = check_offset(offset, X.shape[0], classes.size)
        ref = self._reference_index(classes)
        layout = self._layout(X.shape[1], classes.size, ref, kind)
        with_inference = kind in ("none", "firth") and layout.size <= INFERENCE_MAX_SIZE
        # fits with inference (log-likelihood, deviance, standard errors) stay exact
        data = InMemoryData(X, codes, s, offset, layout, single=not with_inference)
        w0 = self._start(layout, codes, s, classes.size)
        # when a Hessian is dear, aliasing is read off the information at the
        # optimum (needed for inference anyway), refitting only if columns alias
        defer = (with_inference and kind == "none"
                 and data.n_rows * layout.size ** 2 > solvers.NEWTON_MAX_FLOPS)
        aliased = (fitstats.aliased_features(data, layout)
                   if with_inference and not defer else [])
        objective, result = self._solve_with(data, layout, w0, aliased, kind, alpha, l1_ratio, X)
        info = None
        if defer:
            info = fitstats.information(objective, result.coef)
            aliased = fitstats.aliased_after_fit(objective, info, result.coef)
            if aliased:
                info = None
                objective, result = self._solve_with(data, layout, w0, aliased, kind, alpha,
                                                     l1_ratio, X)
        if aliased:
            w0 = np.where(self._aliased_mask(layout, aliased), 0.0, w0)
        self.classes_ = classes
        self.reference_class_ = classes[ref]
        self._layout_ = layout
        self._w = result.coef
        self._store_result(result)
        self._report(objective, result, X, codes, w0, aliased, group_codes,
                     with_inference and kind == "none", with_inference, info)
        return self

    def _solve_with(self, data, layout, w0, aliased, kind, alpha, l1_ratio, X):
        """The objective (aliased columns held at 0, or the pinned intercept) and
        the solver's result from ``w0``."""
        fixed = self._aliased_mask(layout, aliased) if aliased else self._pinned(layout)
        if aliased:
            w0 = np.where(fixed, 0.0, w0)
        objective = Objective(data, alpha, l1_ratio, fixed, fixed_values=w0)
        result = self._solve(objective, w0, kind, sparse=sp.issparse(X))
        if self.polish and getattr(data, "single", False):
            data.single = False
            result = _chain(result, self._solve(objective, result.coef, kind,
                                                sparse=sp.issparse(X)))
        return objective, result

    def _solve(self, objective, w0, kind, sparse):
        """Run the chosen solver from the full start vector ``w0``; the result's
        ``coef`` is the full (canonical) coefficient vector."""
        name = self.solver if self.solver != "auto" else solvers.select_solver(
            objective.size, sparse, kind, objective.data.n_rows)
        tol = solvers.DEFAULT_TOL[name] if self.tol is None else self.tol
        max_iter = solvers.DEFAULT_MAX_ITER[name] if self.max_iter is None else self.max_iter
        options = solvers.check_options(name, self.solver_options)
        if name == "firth":
            options["penalty_coords"] = objective.free
        result = solvers.run(name, objective, objective.restrict(w0), tol=tol,
                             max_iter=max_iter, callback=self.callback, **options)
        result.coef = self._canonical(objective.layout, objective.expand(result.coef))
        return result

    def _feature_names(self, n_features) -> list:
        names = getattr(self, "feature_names_in_", None)
        return [str(n) for n in names] if names is not None else [f"x{j}" for j in range(n_features)]

    def _report(self, objective, result, X, codes, w0, aliased, group_codes, check_separation,
                with_inference, info=None):
        """Aliased columns, separation, the inference state and the warnings."""
        layout = objective.layout
        names = self._feature_names(X.shape[1])
        self.aliased_ = [(names + ["(Intercept)"])[j] for j in aliased]
        if aliased:
            warn(f"{_listing(self.aliased_)} {'is' if len(aliased) == 1 else 'are'} a linear "
                 "combination of earlier columns (or the intercept) and "
                 f"{'was' if len(aliased) == 1 else 'were'} dropped, as R's glm does: "
                 "reported as aliased, held at 0. Drop the redundant columns to silence "
                 "this.", CollinearityWarning)
        separation = None
        if check_separation and (separation_check_is_cheap(X, layout)
                                 or saturated_rows(objective, layout.matrix(result.coef))):
            separation = detect_separation(X, codes, objective.data.s, layout, aliased,
                                           W=layout.matrix(result.coef),
                                           offset=objective.data.offset)
            separation = separation if separation.checked else None
        self.inference_state_ = (self._inference_state(objective, result, w0, aliased, group_codes,
                                                       separation, info)
                                 if with_inference else None)
        self._fit_objective_ = objective
        warn_findings(explain_fit(objective, result, names,
                                  n_saturated=0 if with_inference and separation is None else None,
                                  separation=separation))

    @staticmethod
    def _aliased_mask(layout, aliased):
        if not aliased:
            return None
        fixed = np.zeros((layout.n_rows, layout.n_cols), dtype=bool)
        fixed[aliased] = True
        return fixed.ravel()

    def _inference_state(self, objective, result, w0, aliased, group_codes, separation,
                         info=None) -> dict:
        """JSON-safe record of what Wald inference needs (see logitlab.inference);
        ``info``: the full information at ``result.coef`` if already computed."""
        w = result.coef
        info = fitstats.information(objective, w) if info is None else info
        info = info[np.ix_(objective.free, objective.free)]
        n = float(objective.data.weight_sum)
        firth = result.solver == "firth"
        state = {
            "method": "firth" if firth else "mle", "cov_type": self.cov_type,
            "n_obs": n, "n_rows": int(objective.data.n_rows),
            "loglik": -float(result.objective) * n if not firth else fitstats.loglik(objective, w),
            "loglik_null": fitstats.null_loglik(objective, w0),
            "estimated": objective.free.tolist(),
            "aliased": [int(j) for j in aliased],
            "information": info.tolist(),
            "meat": None, "n_clusters": None,
            "separated": bool(separation is not None and separation.separated),
            "infinite": {} if separation is None else {
                str(k): v for k, v in separation.infinite.items()},
        }
        if firth:
            # logistf's convention: the restricted model keeps the full model's penalty
            state["penalized_loglik"] = -float(result.objective) * n
            state["penalized_loglik_null"] = fitstats.firth_null_loglik(objective, w0)
        if self.cov_type != "nonrobust":
            meat, n_clusters = fitstats.score_meat(objective, w, group_codes)
            state["meat"] = meat[np.ix_(objective.free, objective.free)].tolist()
            state["n_clusters"] = n_clusters
        return state

    def __getstate__(self):
        """Pickling (joblib too), as for scikit-learn estimators. Unpickling runs
        arbitrary code: unpickle only what you trust; exchange models as model
        files (:func:`logitlab.save` / :func:`logitlab.load` execute nothing)."""
        state = super().__getstate__()
        state.pop("_fit_objective_", None)   # holds the training rows: never pickled
        return state

    def _store_result(self, result):
        self.solver_ = result.solver
        self.tol_ = result.tol
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        self.objective_ = result.objective
        self.grad_norm_ = result.grad_norm
        self.n_passes_ = result.n_passes
        self.history_ = result.history
        layout = self._layout_
        W = layout.matrix(result.coef)
        d = layout.n_features
        b = W[d] if layout.fit_intercept else np.zeros(layout.n_cols)
        if not layout.multinomial:
            self.coef_ = W[:d].T.copy()
            self.intercept_ = b.copy()
        else:
            self.coef_ = np.zeros((layout.n_classes, d))
            self.intercept_ = np.zeros(layout.n_classes)
            self.coef_[list(layout.free_classes)] = W[:d].T
            self.intercept_[list(layout.free_classes)] = b
        self._set_reference_view()

    def _set_reference_view(self):
        ref = int(np.flatnonzero(self.classes_ == self.reference_class_)[0])
        others = [k for k in range(self.classes_.size) if k != ref]
        self.other_classes_ = self.classes_[others]
        if self.classes_.size == 2:
            sign = 1.0 if ref == 0 else -1.0
            self.coef_vs_reference_ = sign * self.coef_
            self.intercept_vs_reference_ = sign * self.intercept_
        else:
            self.coef_vs_reference_ = self.coef_[others] - self.coef_[ref]
            self.intercept_vs_reference_ = self.intercept_[others] - self.intercept_[ref]

    # -------------------------------------------------------------- inference
    def summary(self, level: float = 0.95, ci: str | None = None):
        """Summary table like R's ``summary(glm)``: coefficients, standard errors, z,
        p-values, intervals (``ci="wald"`` or ``"profile"``; default profile with
        penalized likelihood-ratio p-values for ``penalty="firth"``, as logistf,
        Wald otherwise), odds ratios and the model statistics. Returns a :class:`logitlab.summary.Summary` (prints in a
        terminal, renders in a notebook, ``.to_frame()``, ``.to_dict()``)."""
        from .summary import Summary
        return Summary(self, level=level, ci=ci)

    def conf_int(self, level: float = 0.95, method: str | None = None, terms=None):
        """Confidence intervals of the coefficients as a DataFrame (``ci_low``,
        ``ci_high`` and the odds-ratio bounds); ``method="profile"`` for
        profile-likelihood intervals (as R's ``confint``), ``"wald"``; default
        profile for ``penalty="firth"`` (as logistf), Wald otherwise."""
        from .inference import coef_table, default_ci_method
        from .profile import profile_ci
        method = default_ci_method(self) if method is None else method
        if method == "profile":
            return profile_ci(self, terms=terms, level=level)
        if method != "wald":
            raise ValueError(f"method must be 'wald' or 'profile'; got {method!r}")
        table = coef_table(self, level)[["ci_low", "ci_high", "or_ci_low", "or_ci_high"]]
        return table if terms is None else table.loc[list(terms)]

    def explain(self, X, rows=None, *, offset=None):
        """Predictions worked out: contributions ``β_j x_j``, intercept, logit,
        odds, probability and decision; the contributions sum to the logit.

        rows : None (every row: a DataFrame, see
            :func:`logitlab.explain.explain_frame`), an int (that row: an
            :class:`~logitlab.explain.Explanation`, printed as a table), or a
            list of ints, a boolean mask or a slice (a DataFrame of those rows,
            indexed by row position). Negative ints count from the end.
        """
        from .explain import explain
        lazy = self._on_dask("explain", X, offset)
        if lazy is not None and rows is not None:
            raise ValueError("rows= selects rows of in-memory data; on Dask select them "
                             "first (e.g. ddf.loc[...] or ddf.head(n)) and explain those.")
        return explain(self, X, rows, offset) if lazy is None else lazy

    # ------------------------------------------------------------ persistence
    def _state(self) -> dict:
        """What a fitted model is, as plain values and arrays (for model files).

        Keys: classes, reference_class, feature_names (list or None), layout
        (dict of :class:`Layout` fields), coef (full flat vector), fit (solver,
        n_iter, converged, objective, grad_norm, tol, n_passes, history).
        """
        check_is_fitted(self)
        names = getattr(self, "feature_names_in_", None)
        lay = self._layout_
        return {
            "classes": self.classes_, "reference_class": self.reference_class_,
            "feature_names": None if names is None else [str(n) for n in names],
            "layout": {"n_features": lay.n_features, "n_classes": lay.n_classes,
                       "free_classes": list(lay.free_classes), "fit_intercept": lay.fit_intercept},
            "coef": np.asarray(self._w, dtype=np.float64),
            "fit": {"solver": self.solver_, "n_iter": int(self.n_iter_),
                    "converged": bool(self.converged_), "objective": float(self.objective_),
                    "grad_norm": float(self.grad_norm_), "tol": float(self.tol_),
                    "n_passes": int(self.n_passes_),
                    "history": {k: np.asarray(v) for k, v in self.history_.items()}},
        }

    @classmethod
    def _from_state(cls, params: dict, state: dict, design=None):
        """Rebuild a fitted estimator from ``get_params()`` and :meth:`_state`."""
        from .solvers import SolverResult
        model = cls(**params)
        lay = state["layout"]
        model._layout_ = Layout(int(lay["n_features"]), int(lay["n_classes"]),
                                tuple(int(k) for k in lay["free_classes"]),
                                bool(lay["fit_intercept"]))
        model.classes_ = np.asarray(state["classes"])
        model.reference_class_ = model.classes_[
            int(np.flatnonzero(model.classes_ == state["reference_class"])[0])]
        model.n_features_in_ = model._layout_.n_features
        if state.get("feature_names") is not None:
            model.feature_names_in_ = np.asarray(state["feature_names"], dtype=object)
        if design is not None:
            model.design_ = design
        model.inference_state_ = state.get("inference")
        all_names = ([str(n) for n in getattr(model, "feature_names_in_", [])]
                     or [f"x{j}" for j in range(model.n_features_in_)]) + ["(Intercept)"]
        model.aliased_ = [all_names[j] for j in (model.inference_state_ or {}).get("aliased", [])]
        fit = state["fit"]
        model._w = np.asarray(state["coef"], dtype=np.float64)
        model._store_result(SolverResult(
            coef=model._w, objective=fit["objective"], grad_norm=fit["grad_norm"],
            n_iter=fit["n_iter"], converged=fit["converged"], solver=fit["solver"],
            tol=fit["tol"], history={k: np.asarray(v) for k, v in fit["history"].items()},
            n_passes=fit["n_passes"]))
        return model

    # ------------------------------------------------------------- prediction
    def _on_dask(self, method, X, offset):
        """Lazy Dask predictions for Dask input or a path (see
        :mod:`logitlab.dask_predict`), or None for in-memory input."""
        from . import dask_predict
        if not dask_predict.wants_dask(self, X):
            return None
        check_is_fitted(self)
        return dask_predict.predict(self, method, X, offset)

    def decision_function(self, X, offset=None):
        """Logits: (n,) of ``classes_[1]`` for binary models, (n, K) otherwise."""
        check_is_fitted(self)
        if (lazy := self._on_dask("decision_function", X, offset)) is not None:
            return lazy
        X, min_features = self._design_input(X)
        X = check_X(self, X, reset=False, dtype=None, min_features=min_features)
        offset = check_offset(offset, X.shape[0], self.classes_.size)
        return chunk_logits(X, self._layout_.matrix(self._w), self._layout_, offset)

    def predict_proba(self, X, offset=None):
        """Class probabilities (n, K), columns in the order of ``classes_``."""
        if (lazy := self._on_dask("predict_proba", X, offset)) is not None:
            return lazy
        z = self.decision_function(X, offset)
        if z.ndim == 1:
            return np.column_stack([sigmoid(-z), sigmoid(z)])
        return softmax(z, axis=1)

    def predict_log_proba(self, X, offset=None):
        """Log-probabilities (n, K), exact even where probabilities round to 0."""
        if (lazy := self._on_dask("predict_log_proba", X, offset)) is not None:
            return lazy
        z = self.decision_function(X, offset)
        if z.ndim == 1:
            return np.column_stack([log_sigmoid(-z), log_sigmoid(z)])
        return log_softmax(z, axis=1)

    def predict(self, X, offset=None):
        """Most probable class (binary: ``classes_[1]`` when ``P > threshold``,
        i.e. the logit is > logit(threshold); 0 at the default 0.5)."""
        if (lazy := self._on_dask("predict", X, offset)) is not None:
            return lazy
        z = self.decision_function(X, offset)
        cut = logit(_check_threshold(self.threshold, self.classes_.size)) if z.ndim == 1 else 0.0
        idx = (z > cut).astype(np.intp) if z.ndim == 1 else np.argmax(z, axis=1)
        return self.classes_[idx]

    # ------------------------------------------------- evaluation, threshold
    def set_threshold(self, value):
        """Set the decision threshold of a binary model (a number in [0, 1]); returns self."""
        _check_threshold(value, getattr(self, "classes_", np.empty(2)).size)
        self.threshold = float(value)
        return self

    def tune_threshold(self, X, y, metric="f1", sample_weight=None, offset=None):
        """Choose and store the threshold maximizing ``metric`` ("f1",
        "balanced_accuracy", "youden", "accuracy", "mcc") on validation data
        ``X, y`` (see :mod:`logitlab.threshold`); the value reached is in
        ``threshold_score_``. Returns self."""
        from .metric_inputs import encode, weights, as_labels
        from .threshold import best_threshold
        check_is_fitted(self)
        if self.classes_.size != 2:
            raise ValueError("tune_threshold is for binary models; this model has "
                             f"{self.classes_.size} classes and predicts the most probable one.")
        p = self.predict_proba(X, offset)[:, 1]
        y = as_labels(y, "y")
        if y.shape[0] != p.shape[0]:
            raise ValueError(f"y has {y.shape[0]} entries but X has {p.shape[0]} rows; they must match.")
        y01 = (encode(y, self.classes_, "y") == 1).astype(np.float64)
        self.threshold, self.threshold_score_ = best_threshold(
            y01, p, weights(sample_weight, p.shape[0]), metric)
        return self

    def evaluate(self, X, y, sample_weight=None, offset=None) -> dict:
        """All scalar metrics of the predictions on ``X`` against ``y`` (at the
        model's threshold), as :func:`logitlab.metrics.evaluate` (JSON-safe dict)."""
        from .metrics import evaluate
        P = self.predict_proba(X, offset)
        return evaluate(y, P[:, 1] if P.shape[1] == 2 else P, threshold=self.threshold,
                        sample_weight=sample_weight, labels=self.classes_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
