"""``MixedLogisticRegression``: the mixed-effects (multilevel) logit, as lme4's ``glmer``.

For observation i in level j of each grouping factor::

    logit P(y_i = 1 | b) = x_iᵀβ + Σ_t z_itᵀ b_{t, j_t(i)} + offset_i,    b_tj ~ N(0, Σ_t)

β are the fixed effects (``e^β`` odds ratios *conditional* on the random
effects, i.e. within a group), b the random effects of each level of each
grouping factor (an intercept, or an intercept and slopes, per term), Σ_t
their covariance matrices (the variance components). Written in lme4's
syntax: ``y ~ x + (1 | school)``, ``(1 + x | school)``, ``(1 + x || school)``
(uncorrelated), ``(1 | school/class)`` (nested), ``(1 | subject) + (1 | item)``
(crossed); ``cbind(successes, failures) ~ …`` for grouped binomial counts.

The fit is maximum likelihood of the marginal likelihood ∫ p(y | b) p(b) db:
its Laplace approximation (``n_agq=1``, glmer's default) by penalized IRLS on
the random effects inside an optimization over the covariance parameters θ and
β, or adaptive Gauss–Hermite quadrature with ``n_agq`` nodes for one scalar
random effect (glmer's ``nAGQ``); see :mod:`logitlab.solvers.glmer`.

Use ``logitlab.fit("y ~ x + (1 | g)", data)`` (a formula with a bar term fits
this model), or ``MixedLogisticRegression().fit(X, y, groups=g)`` for a random
intercept per group on arrays.
"""

from __future__ import annotations

import numpy as np

from ..core.exceptions import NotFittedError
from .mixed_data import fixed_matrix, mixed_data

__all__ = ["MixedLogisticRegression", "PREDICTION_KINDS"]

#: what ``predict_proba(..., kind=)`` accepts
PREDICTION_KINDS = ("conditional", "population", "marginal")


class MixedLogisticRegression:
    """Mixed-effects logistic regression (a GLMM with the logit link); see the module docstring.

    Parameters
    ----------
    n_agq : int, default 1
        1: the Laplace approximation; > 1: adaptive Gauss–Hermite quadrature
        with that many nodes (one scalar random-effects term only, as glmer).
    max_iter : int, default 1000
        Iterations of each optimization stage.
    new_levels : {"raise", "population"}, default "raise"
        Predicting for a level of a grouping factor not seen in fitting raises
        a ``ValueError`` naming it, or ("population") uses random effects 0
        for it (lme4's ``allow.new.levels = TRUE``).
    verbose : {0, 1, 2, "always"}, default 0
        Progress of the fit (each stage's iterations: the deviance and its
        largest gradient component) and of profile intervals (parameters done,
        time left), as :mod:`logitlab.core.progress` shows it.

    Attributes
    ----------
    fixed_effects_ : pandas Series
        β by name (``"(Intercept)"`` first when there is one).
    random_effects_ : dict
        Per grouping factor, a DataFrame of the conditional modes b̂ by level.
    theta_ : ndarray
        The relative covariance parameters (lme4's ``getME(fit, "theta")``).
    loglik_, aic_, bic_ : float
    converged_, singular_ : bool
        The convergence check passed; a variance component is at its bound 0.
    n_iter_ : tuple of int
        Iterations of the two optimization stages.
    classes_ : ndarray of shape (2,)
        The response labels (failure, event); [0, 1] for counts.
    results_ : :class:`logitlab.results.mixed.MixedResults`
    design_, random_design_ : the fixed part's formula design and the random-effects design.
    """

    def __init__(self, n_agq: int = 1, max_iter: int = 1000, new_levels: str = "raise",
                 verbose: int = 0):
        self.n_agq = n_agq
        self.max_iter = max_iter
        self.new_levels = new_levels
        self.verbose = verbose

    # sklearn-style parameters
    def get_params(self, deep: bool = True) -> dict:
        return {"n_agq": self.n_agq, "max_iter": self.max_iter, "new_levels": self.new_levels,
                "verbose": self.verbose}

    def set_params(self, **params) -> MixedLogisticRegression:
        for k, v in params.items():
            if k not in self.get_params():
                raise ValueError(f"{k!r} is not a parameter of MixedLogisticRegression; its "
                                 f"parameters are {sorted(self.get_params())}.")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items()
                   if v != MixedLogisticRegression().get_params()[k]}
        return f"MixedLogisticRegression({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    def _check_params(self) -> None:
        if isinstance(self.n_agq, bool) or not isinstance(self.n_agq, (int, np.integer)) \
                or not 1 <= self.n_agq <= 100:
            raise ValueError(f"n_agq must be an integer from 1 (Laplace) to 100; got {self.n_agq!r}.")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, (int, np.integer)) \
                or self.max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer; got {self.max_iter!r}.")
        if self.new_levels not in ("raise", "population"):
            raise ValueError(f"new_levels must be 'raise' or 'population'; got {self.new_levels!r}.")

    # ------------------------------------------------------------------ fit
    def fit_formula(self, formula: str, data, *, weights=None, offset=None,
                    missing: str = "raise", unseen: str = "raise") -> MixedLogisticRegression:
        """Fit ``formula`` (lme4 syntax) on ``data`` (a data frame, or anything
        :func:`logitlab.read_table` reads). ``weights``: prior weights (trials
        for a proportion response), ``offset``: added to the logit (column
        names or arrays); ``missing``: "raise" or "drop"."""
        from ..data.io import read_table
        self._check_params()
        df = read_table(data)
        return self._fit_data(mixed_data(formula, df, weights=weights, offset=offset,
                                         missing=missing, unseen=unseen))

    def fit(self, X, y, groups, sample_weight=None, offset=None) -> MixedLogisticRegression:
        """A random intercept per group on arrays: ``X`` (n, d) features (a
        DataFrame keeps its column names), ``y`` (n,) two labels, ``groups`` (n,)
        the group of each row; ``sample_weight`` prior weights, ``offset`` (n,)."""
        df, formula = self._array_frame(X, y, groups, reset=True)
        self._check_params()
        return self._fit_data(mixed_data(formula, df, weights=sample_weight, offset=offset))

    def _array_frame(self, X, y, groups, reset: bool):
        from ..core.lazy import pandas as pd
        from ..data.formula import quote_name
        if isinstance(X, pd.DataFrame):
            names = [str(c) for c in X.columns]
            values = X.to_numpy()
        else:
            values = np.asarray(X, dtype=np.float64)
            if values.ndim != 2:
                raise ValueError(f"X must be 2-d (n rows × d features); got shape {values.shape}.")
            names = [f"x{j}" for j in range(values.shape[1])]
        if reset:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif list(names) != list(self.feature_names_in_):
            raise ValueError(f"X has the features {names}, but the model was fitted on "
                             f"{list(self.feature_names_in_)}.")
        if groups is None:
            raise ValueError("a mixed-effects model needs groups= (the group of each row).")
        df = pd.DataFrame(values, columns=names)
        gname = "group" if "group" not in names else "group_"
        df[gname] = np.asarray(groups)
        if y is not None:
            df["y_"] = np.asarray(y)
        rhs = " + ".join(quote_name(n) for n in names) or "1"
        return df, f"y_ ~ {rhs} + (1 | {gname})"

    def _fit_data(self, data) -> MixedLogisticRegression:
        from ..families.glmm_laplace import GlmmProblem
        from ..families.glmm_structure import ThetaLayout
        from ..results.mixed import MixedResults
        from ..solvers.glmer import fit_glmm

        red = data.random
        layout = ThetaLayout(red.n_levels, red.n_columns)
        problem = GlmmProblem(data.X, red.Z, data.y, layout, weights=data.weights,
                              offset=data.offset)
        from ..core.progress import iterations
        with iterations(self.verbose, "glmer") as show:
            fit = fit_glmm(problem, n_agq=int(self.n_agq), max_iter=int(self.max_iter),
                           callback=show)
        terms = [(t.group, t.columns, t.levels) for t in red.terms]
        self.results_ = MixedResults(fit, data.fixed_names, terms, red.theta_names,
                                     data.formula, data.response, data.y, data.weights,
                                     data.dropped, data.n_dropped)
        self.design_, self.random_design_ = data.design, red
        self.problem_ = problem
        self.classes_ = np.asarray(data.classes if data.classes is not None else [0, 1],
                                   dtype=object if data.classes is not None and any(
                                       isinstance(c, str) for c in data.classes) else None)
        self._set_attributes()
        return self

    def _set_attributes(self) -> None:
        from ..core.lazy import pandas as pd
        r = self.results_
        fit = r.fit
        self.fixed_effects_ = pd.Series(fit.beta, index=r.fixed_names, name="fixed_effects")
        self.random_effects_ = r.ranef_tables(cond_var=False)
        self.theta_ = fit.theta
        self.loglik_, self.aic_, self.bic_ = fit.loglik, fit.aic, fit.bic
        self.converged_, self.singular_ = fit.converged, fit.singular
        self.n_iter_ = fit.n_iterations

    def _check_fitted(self) -> None:
        if "results_" not in self.__dict__:
            raise NotFittedError("This MixedLogisticRegression is not fitted yet; call "
                                 "logitlab.fit('y ~ x + (1 | g)', data) or .fit(X, y, groups).")

    # ------------------------------------------------------------ inference
    def summary(self, level: float = 0.95, ci: str = "wald"):
        """glmer's summary (text; ``.to_dict()`` the JSON document); ``ci``:
        "wald" or "profile" intervals in its table (profile: the variance
        components' intervals too, below the random effects)."""
        self._check_fitted()
        intervals = variance = None
        if ci == "profile":
            table = self.conf_int(level, method="profile")
            fixed = self.results_.fixed_names
            intervals = table.loc[fixed, ["low", "high"]].to_numpy()
            variance = table.drop(index=fixed)
        elif ci != "wald":
            raise ValueError(f"ci must be 'wald' or 'profile'; got {ci!r}.")
        return self.results_.summary(level, intervals, ci, variance)

    def conf_int(self, level: float = 0.95, method: str = "wald", parm=None):
        """Intervals (a DataFrame, columns ``low``, ``high``): Wald for the fixed
        effects (``method="wald"``, lme4's ``confint(method = "Wald")``), or
        profile-likelihood intervals (``"profile"``) for every variance
        component — each term's standard deviations and correlations, in lme4's
        order and names (``"sd_(Intercept)|g"``, ``"cor_x.(Intercept)|g"``,
        ``"sd_x|g"``: its ``.sig01``, ``.sig02``, …) — and the fixed effects, as
        ``confint(fit, method = "profile")``; an SD's lower end is 0 and a
        correlation's end ±1 when the likelihood does not fall far enough before
        that bound. ``parm``: names to compute."""
        from ..results.mixed_profile import profile_intervals, wald_table
        self._check_fitted()
        if not 0 < level < 1:
            raise ValueError(f"level must be between 0 and 1; got {level!r}.")
        if method == "wald":
            return wald_table(self.results_, level, parm)
        if method != "profile":
            raise ValueError(f"method must be 'wald' or 'profile'; got {method!r}.")
        return profile_intervals(self.problem_, self.results_, level, parm, self.verbose)

    def varcorr(self):
        """The variance components (lme4's ``VarCorr``): a DataFrame."""
        self._check_fitted()
        return self.results_.varcorr_table()

    def ranef(self, cond_var: bool = True) -> dict:
        """The conditional modes of the random effects per grouping factor (with
        their conditional SDs), lme4's ``ranef(fit, condVar = TRUE)``."""
        self._check_fitted()
        return self.results_.ranef_tables(cond_var)

    # ------------------------------------------------------------ prediction
    def _new_data(self, data, groups=None):
        from ..data.io import read_table
        if "feature_names_in_" in self.__dict__ and not hasattr(data, "columns") \
                and not isinstance(data, (str, dict)) or groups is not None:
            df, _ = self._array_frame(data, None, groups, reset=False)
            return df
        return read_table(data).reset_index(drop=True)

    def _check_new_levels(self, df) -> None:
        if self.new_levels == "population":
            return
        unseen = self.random_design_.unseen_levels(df)
        if unseen:
            group, levels = next(iter(unseen.items()))
            raise ValueError(f"the grouping factor {group!r} has level"
                             f"{'s' if len(levels) > 1 else ''} "
                             f"{', '.join(map(repr, levels[:5]))} not seen in fitting; their "
                             "random effects are unknown. Pass new_levels='population' to "
                             "predict them with random effects 0, or kind='marginal' for the "
                             "population average.")

    def _offset(self, offset, df):
        """The offset (n,): None (0), an array, or the name of a column of ``df``."""
        n = len(df)
        if offset is None:
            return np.zeros(n)
        if isinstance(offset, str):
            if offset not in df.columns:
                raise ValueError(f"offset names the column {offset!r}, which the data do not "
                                 "have; give the column or an array of offsets.")
            offset = df[offset].to_numpy()
        o = np.asarray(offset, dtype=np.float64).ravel()
        if o.shape != (n,) or not np.all(np.isfinite(o)):
            raise ValueError(f"offset must have one finite value per row ({n}).")
        return o

    def decision_function(self, data, offset=None, kind: str = "conditional", groups=None):
        """The logit η (n,): ``"conditional"`` x β + z b̂ (+ offset), or
        ``"population"`` with the random effects at 0 (lme4's ``re.form = NA``)."""
        self._check_fitted()
        if kind not in ("conditional", "population"):
            raise ValueError("decision_function's kind must be 'conditional' or 'population' "
                             "(a marginal probability has no single logit).")
        df = self._new_data(data, groups)
        X = fixed_matrix(self.design_, df, self.results_.fixed_names)
        eta = X @ self.results_.params + self._offset(offset, df)
        if kind == "conditional":
            self._check_new_levels(df)
            eta = eta + self.random_design_.transform(df) @ self.results_.fit.b
        return eta

    def predict_event_proba(self, data, offset=None, kind: str = "conditional",
                            groups=None) -> np.ndarray:
        """P(y = event) (n,): ``kind="conditional"`` given the random effects
        of the row's levels, ``"population"`` at random effects 0, or
        ``"marginal"`` averaged over the random-effects distribution
        (∫ logistic(xβ + zᵀb) N(b; 0, Σ) db, the population-average probability)."""
        from ..core.links import sigmoid
        if kind not in PREDICTION_KINDS:
            raise ValueError(f"kind must be one of {PREDICTION_KINDS}; got {kind!r}.")
        if kind != "marginal":
            return sigmoid(self.decision_function(data, offset, kind, groups))
        from ..families.glmm_predict import marginal_probability
        from ..families.glmm_structure import ThetaLayout
        self._check_fitted()
        df = self._new_data(data, groups)
        X = fixed_matrix(self.design_, df, self.results_.fixed_names)
        red = self.random_design_
        cov = ThetaLayout(red.n_levels, red.n_columns).covariances(self.results_.fit.theta)
        return marginal_probability(X, self.results_.params, red.term_matrices(df), cov,
                                    offset=self._offset(offset, df))

    def predict_proba(self, data, offset=None, kind: str = "conditional", groups=None):
        """(n, 2): P(classes_[0]), P(classes_[1]) (see :meth:`predict_event_proba`)."""
        p = self.predict_event_proba(data, offset, kind, groups)
        return np.column_stack([1.0 - p, p])

    def predict(self, data, offset=None, kind: str = "conditional", groups=None):
        """The label of each row: ``classes_[1]`` when its probability exceeds 0.5."""
        return self.classes_[(self.predict_event_proba(data, offset, kind, groups) > 0.5)
                             .astype(int)]

    def explain(self, data, row: int = 0, offset=None, groups=None):
        """One row step by step: fixed contributions x_j β_j, each random effect
        z_t b̂ of the row's levels, offset (an array or a column name) → logit
        → odds → probability
        (an :class:`logitlab.results.explain.Explanation`)."""
        from ..results.mixed_explain import explain_mixed_row
        self._check_fitted()
        df = self._new_data(data, groups)
        self._check_new_levels(df)
        X = fixed_matrix(self.design_, df, self.results_.fixed_names)
        off = None if offset is None else self._offset(offset, df)
        return explain_mixed_row(self, df, X, row, off)

    # ------------------------------------------------------------ model files
    # For logitlab.persist.mixed_file: a fitted model rebuilt from what a model
    # file holds (no data); saving is logitlab.save(model, path).
    @classmethod
    def from_results(cls, results, params: dict, design, random_design, classes,
                     feature_names=None, problem=None) -> MixedLogisticRegression:
        """A fitted model from its parts (as read from a model file): ``results``
        a :class:`~logitlab.results.mixed.MixedResults`, ``design`` the fixed
        part's formula design, ``random_design`` the random-effects design,
        ``classes`` the two labels; ``problem`` stands in for the fitting data
        (a loaded model has none)."""
        model = cls(**dict(params))
        model._check_params()
        model.results_ = results
        model.design_, model.random_design_ = design, random_design
        model.problem_ = problem
        model.classes_ = np.asarray(classes)
        if feature_names is not None:
            model.feature_names_in_ = np.asarray(feature_names, dtype=object)
        model._set_attributes()
        return model
