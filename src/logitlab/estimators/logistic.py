"""``LogisticRegression``: the scikit-learn estimator on top of the solvers.

Binary outcomes get one logit ``z = X β + b`` and ``P(y = classes_[1]) = sigmoid(z)``;
K > 2 classes get K logits and ``softmax``. By default (``alpha=0``) the fit is
plain maximum likelihood, as in R ``glm`` / ``nnet::multinom`` and statsmodels;
``alpha > 0`` adds the elastic-net penalty of :mod:`logitlab.solvers.objective`.

Multinomial parametrization: an unpenalized fit estimates K - 1 coefficient
vectors against the reference class (default the first class), the
identifiable MLE; its ``coef_`` row for the reference class is zero. A
penalized fit estimates all K vectors (the symmetric softmax, as scikit-learn
and glmnet do). Either way ``coef_vs_reference_`` gives the log relative-risk
ratios of each other class against ``reference_class_``.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import scipy.sparse as sp

from ..core import progress
from ..core.exceptions import check_is_fitted
from ..core.links import logit
from ..data.io import read_table
from ..data.validation import check_offset, check_X
from ..engines import is_path, to_memory, use_dask
from ..engines.memory import MemorySource
from ..fitting import pipeline
from ..fitting.diagnostics import warn_findings
from ..fitting.spec import INFERENCE_MAX_SIZE, check_threshold, fit_spec
from ..results.results import LogitResults
from .base import ClassifierBase

__all__ = ["LogisticRegression", "INFERENCE_MAX_SIZE"]

class LogisticRegression(ClassifierBase):
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
    verbose : {0, 1, 2, "always"} or bool, default 0
        Progress of the fit on standard error (:mod:`logitlab.core.progress`): 1
        (True) a live line with the iteration, objective, max|gradient| and time
        elapsed when the output is interactive (a terminal or a notebook); 2 also
        one line per iteration; "always" those lines even when it is not. Never
        changes the result; 0 (the default) costs nothing.
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
        See :mod:`logitlab.engines.dask.engine`.
    engine_options : dict or None
        Dask engine options: ``persist`` ("auto", True, False), ``checkpoint``
        (path of a per-iteration coefficient checkpoint to resume from),
        ``address`` (scheduler address), ``n_partitions``.

    Attributes
    ----------
    classes_ : ndarray of shape (K,)
        The sorted labels.
    coef_ : ndarray of shape (1, d) (binary) or (K, d) (multinomial)
        The coefficients β of the logits.
    intercept_ : ndarray of shape (1,) or (K,)
        The intercepts b.
    coef_vs_reference_, intercept_vs_reference_ : ndarray of shape (K-1, d), (K-1,)
        Log relative-risk ratios against ``reference_class_``, for ``other_classes_``.
    n_iter_ : int
        Iterations of the solver.
    converged_ : bool
        Whether the (sub)gradient's max-norm reached ``tol_``.
    solver_ : str
        The solver that ran (``solver="auto"`` resolved).
    objective_ : float
        The objective at the estimate: the mean cross-entropy, plus the penalty.
    grad_norm_ : float
        Max-norm of the objective's (sub)gradient at the estimate.
    n_passes_ : int
        Passes over the data.
    tol_ : float
        The gradient tolerance used (after the per-solver default).
    history_ : dict
        Arrays ``"objective"`` and ``"grad_norm"``, one entry per iteration
        (entry 0 is the starting point).
    aliased_ : list of str
        Names of columns dropped as linear combinations of earlier ones
        (unpenalized fits; their coefficients are reported as aliased and held at 0).
    inference_state_ : dict or None
        JSON-safe dict of what inference needs (information matrix,
        log-likelihoods, ...), or None for penalized or very wide fits.
    results_ : LogitResults
        The fit's results object (:class:`logitlab.results.results.LogitResults`).
    """

    def __init__(self, penalty: str | None = "l2", alpha: float = 0.0,
                 l1_ratio: float | None = None, fit_intercept: bool = True,
                 solver: str = "auto", tol: float | None = None, max_iter: int | None = None,
                 class_weight: dict | str | None = None, reference_class=None,
                 warm_start: bool = False, dtype: str | None = None,
                 solver_options: dict | None = None, callback: Callable | None = None,
                 cov_type: str = "nonrobust", threshold: float = 0.5, engine: str = "auto",
                 engine_options: dict | None = None, polish: bool = False,
                 verbose: int | bool | str = 0) -> None:
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
        self.verbose = verbose

    # ---------------------------------------------------------------- fitting
    #: options of the fit that are not constructor parameters (the model family)
    _spec_extra: dict = {}

    def checked_spec(self):
        """The checked :class:`~logitlab.fitting.spec.FitSpec` of the parameters."""
        return fit_spec({**self.get_params(), **self._spec_extra})

    def _source_options(self) -> dict:
        """Extra keywords of the in-memory engine's source (the ordinal labels)."""
        return {}

    def fit(self, X, y, sample_weight=None, offset=None, groups=None) -> LogisticRegression:
        """Fit by (penalized) maximum likelihood.

        X : (n, d) array-like or sparse matrix (numeric; DataFrame column names
        become ``feature_names_in_``), a Dask collection, or a path to a data file
        (then ``y``, ``sample_weight``, ``offset`` and ``groups`` may be column
        names). y : (n,) labels of any hashable type. sample_weight : (n,)
        non-negative. offset : (n,) binary or (n, K) multinomial, added to the
        logits (coefficient fixed at 1). groups : (n,) cluster labels for
        ``cov_type="cluster"``.
        """
        self.__dict__.pop("design_", None)   # a plain fit has no formula design
        spec = self.checked_spec()     # every option checked before any pass
        progress.check_verbose(self.verbose)
        if use_dask(spec.engine, X):
            from ..engines.dask.source import DaskSource
            return self.fit_source(DaskSource(X, y, sample_weight, offset, groups,
                                              dtype=self.dtype, cov_type=spec.cov_type,
                                              engine_options=spec.engine_options,
                                              **self._source_options()))
        X, y, sample_weight, offset, groups = _columns_by_name(
            *map(to_memory, (X, y, sample_weight, offset, groups)))
        return self._fit_memory(X, y, sample_weight, offset, groups, min_features=1)

    def fit_design(self, design, X, y, sample_weight=None, offset=None, groups=None):
        """Fit on the numeric design ``X`` that ``design`` (a fitted
        :class:`logitlab.data.formula.Design`) built from raw data (what
        :func:`logitlab.fit` does). The design may have no columns (``y ~ 1``);
        predictions then take raw data frames, which ``design.transform`` encodes."""
        self.checked_spec()
        self.design_ = design
        return self._fit_memory(X, y, sample_weight, offset, groups, min_features=0)

    def fit_source(self, source, design=None):
        """Fit on an engine's prepared input (:class:`logitlab.engines.summary.Source`,
        e.g. a Dask formula's partitions), with the formula ``design`` that
        encodes it, if any."""
        summary = source.summary
        self.n_features_in_ = summary.n_features
        if summary.feature_names is not None:
            self.feature_names_in_ = np.asarray(summary.feature_names, dtype=object)
        else:
            self.__dict__.pop("feature_names_in_", None)
        if design is not None:
            self.design_ = design
        return self._run(source)

    def _fit_memory(self, X, y, sample_weight, offset, groups, min_features):
        X = check_X(self, X, reset=True, dtype=self.dtype, min_features=min_features)
        names = getattr(self, "feature_names_in_", None)
        source = MemorySource(X, y, sample_weight, offset, groups, cov_type=self.cov_type,
                              feature_names=None if names is None else [str(n) for n in names],
                              **self._source_options())
        return self._run(source)

    def _run(self, source):
        """Run the fit pipeline on an engine's source, store its results, warn."""
        spec = self.checked_spec()
        results = getattr(self, "results_", None)
        warm = (pipeline.WarmStart(results.family, results.coef,
                                   getattr(self, "_solver_state", None))
                if self.warm_start and results is not None else None)
        with progress.iterations(self.verbose, "logitlab fit") as show:
            if show is not None:
                spec = dataclasses.replace(spec, callback=progress.chain(spec.callback, show))
            outcome = pipeline.fit(spec, source, warm)
        # the solver's reusable state (cd's Hessian) serves the next warm start only
        self._solver_state = outcome.solver.state if self.warm_start else None
        outcome.solver.state = None
        self._set_results(LogitResults(outcome, self.get_params()))
        warn_findings(outcome.findings)
        return self

    def _set_fit_attributes(self, results: LogitResults) -> None:
        """The attributes every family's estimator has: ``results_``, ``classes_``, the
        solver's record (``solver_``, ``n_iter_``, ``converged_``, ...), ``aliased_``,
        ``engine_``."""
        self.results_ = results
        outcome, r = results.outcome, results.solver
        self.classes_ = outcome.classes
        self.n_features_in_ = results.layout.n_features
        self.solver_, self.tol_, self.n_iter_ = r.solver, r.tol, r.n_iter
        self.converged_, self.objective_, self.grad_norm_ = r.converged, r.objective, r.grad_norm
        self.n_passes_, self.history_ = r.n_passes, r.history
        self.aliased_ = results.aliased
        self.engine_ = outcome.engine
        if outcome.n_partitions is not None:
            self.n_partitions_ = outcome.n_partitions

    def _set_results(self, results: LogitResults) -> None:
        """The scikit-learn attributes, from the results."""
        self._set_fit_attributes(results)
        self.reference_class_ = results.reference_class
        layout = results.layout
        W = layout.matrix(results.coef)
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

    @classmethod
    def from_results(cls, results: LogitResults, params: dict | None = None, design=None):
        """A fitted estimator from ``results`` (e.g. read from a model file):
        ``params`` its parameters, ``design`` its formula design."""
        model = cls(**dict(params or {}))
        names = results.outcome.feature_names_in
        if names is not None:
            model.feature_names_in_ = np.asarray(names, dtype=object)
        if design is not None:
            model.design_ = design
        model._set_results(results)
        return model

    @property
    def inference_state_(self) -> dict | None:
        """The JSON-safe record of what inference needs (information matrix,
        log-likelihoods, ...; ``results_.inference.to_dict()``), or None for
        penalized or very wide fits."""
        if "results_" not in self.__dict__:
            raise AttributeError("inference_state_ exists once the model is fitted")
        state = self.results_.inference
        return None if state is None else state.to_dict()

    def __getstate__(self):
        """Pickling (joblib too), as for scikit-learn estimators. Unpickling runs
        arbitrary code: unpickle only what you trust; exchange models as model
        files (:func:`logitlab.save` / :func:`logitlab.load` execute nothing)."""
        state = dict(super().__getstate__())   # a copy: never strip this model's own rows
        state.pop("_solver_state", None)
        if "results_" in state:              # the training rows are never pickled
            state["results_"] = state["results_"].without_rows()
        return state

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
    def summary(self, level: float = 0.95, ci: str | None = None, anova: bool = False):
        """Summary table like R's ``summary(glm)``: coefficients, standard errors, z,
        p-values, intervals (``ci="wald"`` or ``"profile"``; default profile with
        penalized likelihood-ratio p-values for ``penalty="firth"``, as logistf,
        Wald otherwise), odds ratios and the model statistics. Returns a
        :class:`logitlab.results.summary.Summary` (prints in a terminal, renders in a
        notebook, ``.to_frame()``, ``.to_dict()``). ``anova=True`` appends the type-II
        table per formula term (:meth:`anova`; LR when the training rows are held, else
        Wald)."""
        from ..results.summary import Summary
        check_is_fitted(self)
        # the header shows the parameters as they are now (e.g. a tuned threshold)
        current = LogitResults(self.results_.outcome, self.get_params())
        return Summary(current, level=level, ci=ci, anova=anova, terms_of=self)

    def conf_int(self, level: float = 0.95, method: str | None = None, terms=None):
        """Confidence intervals of the coefficients as a DataFrame (``ci_low``,
        ``ci_high`` and the odds-ratio bounds); ``method="profile"`` for
        profile-likelihood intervals (as R's ``confint``), ``"wald"``; default
        profile for ``penalty="firth"`` (as logistf), Wald otherwise."""
        check_is_fitted(self)
        return self.results_.conf_int(level=level, method=method, terms=terms)

    # -------- post-estimation: estimates and predictions with intervals
    @property
    def params_(self):
        """Estimated coefficients as a pandas Series by term (``results_.params``;
        aliased terms left out)."""
        return self._fitted_results("params_").params

    @property
    def bse_(self):
        """Standard errors by term (``results_.bse``; unpenalized or Firth fits)."""
        return self._fitted_results("bse_").bse

    @property
    def pvalues_(self):
        """Two-sided Wald p-values by term (``results_.pvalues``)."""
        return self._fitted_results("pvalues_").pvalues

    def cov_params(self):
        """Covariance of the estimates, a (k, k) DataFrame by term (``results_.cov_params()``)."""
        check_is_fitted(self)
        return self.results_.cov_params()

    def get_prediction(self, X, level: float = 0.95, offset=None):
        """Predictions with standard errors and confidence intervals (a DataFrame
        per row, per (row, class) for multinomial models), computed on the logit
        scale and transformed, with the fit's covariance (robust / cluster too):
        see :func:`logitlab.results.predictions.prediction_intervals`."""
        from ..engines import is_dask_collection
        from ..results.predictions import prediction_intervals
        check_is_fitted(self)
        if is_dask_collection(X):
            raise TypeError("get_prediction takes in-memory rows; for a Dask DataFrame map it "
                            "over the partitions (ddf.map_partitions(model.get_prediction), "
                            "binary models) or use 'logitlab predict MODEL DATA --dask ADDRESS "
                            "--ci 0.95 --out preds.parquet'.")
        return prediction_intervals(self, X, level=level, offset=offset)

    def _fitted_results(self, name: str):
        if "results_" not in self.__dict__:
            raise AttributeError(f"{name} exists once the model is fitted")
        return self.results_

    def explain(self, X, rows=None, *, offset=None):
        """Predictions worked out: contributions ``β_j x_j``, intercept, logit,
        odds, probability and decision; the contributions sum to the logit.

        rows : None (every row: a DataFrame, see
            :func:`logitlab.explain.explain_frame`), an int (that row: an
            :class:`~logitlab.explain.Explanation`, printed as a table), or a
            list of ints, a boolean mask or a slice (a DataFrame of those rows,
            indexed by row position). Negative ints count from the end.
        """
        from ..results.explain import explain
        lazy = self._on_dask("explain", X, offset)
        if lazy is not None and rows is not None:
            raise ValueError("rows= selects rows of in-memory data; on Dask select them "
                             "first (e.g. ddf.loc[...] or ddf.head(n)) and explain those.")
        return explain(self, X, rows, offset) if lazy is None else lazy

    # -------- post-estimation: tests per term
    def anova(self, type=2, test="LR"):
        """One row per formula term (a factor with all its dummies, an interaction),
        as R's ``car::Anova(fit, type, test.statistic)``: ``type`` 2 (marginality)
        or 3, ``test`` "LR" (refits on the training rows) or "Wald"; see
        :func:`logitlab.results.anova.anova`."""
        from ..results.anova import anova
        check_is_fitted(self)
        return anova(self, type=type, test=test)

    def drop1(self, test="LRT"):
        """R's ``drop1(fit, test="LRT")``: deviance, AIC and LR test of dropping each
        term not contained in another (:func:`logitlab.results.anova.drop1`)."""
        from ..results.anova import drop1
        check_is_fitted(self)
        return drop1(self, test=test)

    def wald_test(self, hypotheses=None, *, terms=None, R=None, q=None):
        """Wald test of terms (``terms=["C(race)"]``: all its coefficients), of
        linear hypotheses as text (``"age = 0"``, ``["C(race)[T.2] = C(race)[T.3]",
        "lwt = 0"]``, ``"2*age - lwt = 1"``; multinomial ``"2:age = 0"``) or of
        ``R β = q``; returns ``{"statistic", "df", "p_value"}``
        (:func:`logitlab.results.inference.wald_test`)."""
        from ..results.inference import wald_test
        check_is_fitted(self)
        return wald_test(self, terms=terms, R=R, q=q, hypotheses=hypotheses)

    def lr_test(self, other):
        """Likelihood-ratio test of this model against a nested ``other`` (either may
        be the smaller one); formula fits are checked to be nested and fitted to the
        same rows (:func:`logitlab.results.inference.lr_test`)."""
        from ..results.inference import lr_test, require_inference
        check_is_fitted(self)
        k_self = len(require_inference(self).estimated)
        k_other = len(require_inference(other).estimated)
        return lr_test(other, self) if k_other <= k_self else lr_test(self, other)
    # -------- post-estimation: residuals and influence
    def residuals(self, X=None, y=None, type="deviance", sample_weight=None, offset=None):
        """Residuals as R's ``residuals.glm`` / ``rstandard`` / ``rstudent``: ``type``
        "deviance", "pearson", "response", "working", "standardized_deviance",
        "standardized_pearson" or "studentized"; (n,) for binary models ((n, K) for
        multinomial "response" and "pearson"). Default the training rows; else ``X``
        and ``y`` (labels, or proportions with the trials as ``sample_weight``); a Dask
        DataFrame with ``y`` (and weights, offset) as column names gives a lazy result.
        Formulas: :mod:`logitlab.results.influence` (Dask: ``results.dask_diagnostics``)."""
        from ..results import dask_diagnostics, influence
        check_is_fitted(self)
        where = dask_diagnostics if dask_diagnostics.on_dask(X) else influence
        return where.residuals(self, X, y, type=type, sample_weight=sample_weight,
                               offset=offset)

    def influence(self, X=None, y=None, sample_weight=None, offset=None):
        """Per-row leverage, residuals, Cook's distance, DFBETA(S), DFFIT, covariance
        ratio and R's ``influence.measures`` flags (``influential``), as a DataFrame
        (binary models; see :func:`logitlab.results.influence.influence_measures`;
        lazy on Dask, as :meth:`residuals`)."""
        from ..results import dask_diagnostics, influence
        check_is_fitted(self)
        if dask_diagnostics.on_dask(X):
            return dask_diagnostics.influence(self, X, y, sample_weight, offset)
        return influence.influence_measures(self, X, y, sample_weight, offset)

    def goodness_of_fit(self, X=None, y=None, sample_weight=None, offset=None, g=10):
        """Hosmer–Lemeshow (``g`` groups), le Cessie–van Houwelingen and the grouped
        Pearson and deviance χ² (dict of :class:`logitlab.results.goodness.GofTest`;
        binary models; see :mod:`logitlab.results.goodness`; on Dask the first two)."""
        from ..results import dask_diagnostics, goodness
        check_is_fitted(self)
        where = dask_diagnostics if dask_diagnostics.on_dask(X) else goodness
        return where.goodness_of_fit(self, X, y, sample_weight, offset, g=g)
    # -------- post-estimation: marginal effects
    def margins(self, data, variables=None, at="overall", kind="dydx", dummy=False,
                count=False, level=0.95, se=True, weights=None, offset=None):
        """Marginal effects on the class probabilities with delta-method standard
        errors (R ``marginaleffects`` / statsmodels ``get_margeff`` semantics):
        average effects over the rows of ``data`` (``at="overall"``), at the
        means (``"mean"``), at a grid (dict) or at given rows (DataFrame);
        derivatives for numeric variables (through the formula), discrete
        changes against the reference level for categorical ones. See
        :func:`logitlab.results.margins.marginal_effects` for the math and the
        table's columns."""
        from ..results.margins import marginal_effects
        check_is_fitted(self)
        return marginal_effects(self, data, variables=variables, at=at, kind=kind, dummy=dummy,
                                count=count, level=level, se=se, weights=weights, offset=offset)

    # ------------------------------------------------------------- prediction
    def _on_dask(self, method, X, offset):
        """Lazy Dask predictions for Dask input or several files (see
        :mod:`logitlab.engines.dask.predict`), or None for in-memory input."""
        check_is_fitted(self)
        if not use_dask(self.engine, X, fitted_on=getattr(self, "engine_", None),
                        predicting=True):
            return None
        from ..engines.dask import predict as dask_predict
        return dask_predict.predict(self, method, X, offset)

    def design_matrix(self, X):
        """The checked numeric design of ``X`` for this model: raw data frames go
        through the stored formula design (``design_``), if any; returns a float
        array or CSR matrix of shape ``(n, n_features_in_)``."""
        check_is_fitted(self)
        design = getattr(self, "design_", None)
        if is_path(X):
            X = read_table(X)
        if design is not None and not isinstance(X, np.ndarray) and not sp.issparse(X):
            return check_X(self, design.transform(X), reset=False, dtype=None, min_features=0)
        return check_X(self, X, reset=False, dtype=None, min_features=1)

    def decision_function(self, X, offset=None) -> np.ndarray:
        """Logits: (n,) of ``classes_[1]`` for binary models, (n, K) otherwise."""
        if (lazy := self._on_dask("decision_function", X, offset)) is not None:
            return lazy
        X = self.design_matrix(X)
        offset = check_offset(offset, X.shape[0], self.classes_.size)
        results = self.results_
        return results.family.linear_predictor(X, results.layout.matrix(results.coef), offset)

    def predict_proba(self, X, offset=None) -> np.ndarray:
        """Class probabilities (n, K), columns in the order of ``classes_``."""
        if (lazy := self._on_dask("predict_proba", X, offset)) is not None:
            return lazy
        return self.results_.family.probabilities(self.decision_function(X, offset))

    def predict_log_proba(self, X, offset=None) -> np.ndarray:
        """Log-probabilities (n, K), exact even where probabilities round to 0."""
        if (lazy := self._on_dask("predict_log_proba", X, offset)) is not None:
            return lazy
        return self.results_.family.log_probabilities(self.decision_function(X, offset))

    def predict(self, X, offset=None) -> np.ndarray:
        """Most probable class (binary: ``classes_[1]`` when ``P > threshold``,
        i.e. the logit is > logit(threshold); 0 at the default 0.5)."""
        if (lazy := self._on_dask("predict", X, offset)) is not None:
            return lazy
        z = self.decision_function(X, offset)
        cut = logit(check_threshold(self.threshold, self.classes_.size)) if z.ndim == 1 else 0.0
        idx = (z > cut).astype(np.intp) if z.ndim == 1 else np.argmax(z, axis=1)
        return self.classes_[idx]

    # ------------------------------------------------- evaluation, threshold
    def set_threshold(self, value):
        """Set the decision threshold of a binary model (a number in [0, 1]); returns self."""
        check_threshold(value, getattr(self, "classes_", np.empty(2)).size)
        self.threshold = float(value)
        return self

    def tune_threshold(self, X, y, metric="f1", sample_weight=None, offset=None):
        """Choose and store the threshold maximizing ``metric`` ("f1",
        "balanced_accuracy", "youden", "accuracy", "mcc") on validation data
        ``X, y`` (see :mod:`logitlab.evaluation.threshold`); the value reached is in
        ``threshold_score_``. Returns self."""
        from ..evaluation.inputs import encode, weights, as_labels
        from ..evaluation.threshold import best_threshold
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
        model's threshold), as :func:`logitlab.evaluation.metrics.evaluate` (JSON-safe dict)."""
        from ..evaluation.metrics import evaluate
        P = self.predict_proba(X, offset)
        return evaluate(y, P[:, 1] if P.shape[1] == 2 else P, threshold=self.threshold,
                        sample_weight=sample_weight, labels=self.classes_)


def _columns_by_name(X, y, sample_weight, offset, groups):
    """In-memory inputs where ``X`` is a path or a DataFrame and the others may
    be its column names (as on Dask): the named columns are taken out of X."""
    if is_path(X):
        X = read_table(X)
    named = {k: v for k, v in (("y", y), ("sample_weight", sample_weight),
                               ("offset", offset), ("groups", groups)) if isinstance(v, str)}
    if not named:
        return X, y, sample_weight, offset, groups
    columns = getattr(X, "columns", None)
    if columns is None:
        raise TypeError(f"{', '.join(named)} given as column names, but X has no columns "
                        "(give a DataFrame or a data file, or pass arrays).")
    absent = [v for v in named.values() if v not in columns]
    if absent:
        raise ValueError(f"X has no column {', '.join(map(repr, absent))}; its columns are "
                         f"{', '.join(map(repr, map(str, columns)))}.")
    values = {k: X[v].to_numpy() for k, v in named.items()}
    X = X.drop(columns=list(named.values()))
    return (X, values.get("y", y), values.get("sample_weight", sample_weight),
            values.get("offset", offset), values.get("groups", groups))
