"""The results of a fit: one object for every engine and family, statsmodels-like.

``model.results_`` is a :class:`LogitResults`. It holds the fitted family and
coefficients, the solver's record and, for likelihood fits (unpenalized or
Firth), the inference state; from these it gives::

    params, bse, zvalues (tvalues), pvalues     pandas Series by term
    cov_params()                                DataFrame (k, k)
    conf_int(level, method="wald"|"profile")    DataFrame of bounds
    llf, llnull, deviance, null_deviance, aic, bic, prsquared, llr, llr_pvalue
    df_model, df_resid, nobs
    summary(level, ci)                          :class:`logitlab.results.summary.Summary`

Terms are labelled as in :func:`logitlab.results.inference.term_labels`:
``(Intercept)`` and the feature names; multinomial terms are ``(class, term)``
pairs against the reference class. Aliased terms are left out of the
estimates (they are listed in ``aliased``). Penalized fits have coefficients
but no inference: the statistical attributes raise
:class:`~logitlab.results.inference.InferenceUnavailable`, saying why.
"""

from __future__ import annotations

import numpy as np
from ..core.lazy import pandas as pd

from ..core.layout import INTERCEPT
from ..fitting.outcome import FitOutcome, InferenceState
from ..solvers import SolverResult
from . import inference
from .profile import profile_ci


class LogitResults:
    """A fitted model's results (see the module docstring).

    Parameters
    ----------
    outcome : the pipeline's :class:`logitlab.fitting.outcome.FitOutcome`
    params : the estimator's parameters (``get_params()``), for the summary's
        header (penalty, alpha, l1_ratio, threshold)
    """

    def __init__(self, outcome: FitOutcome, params: dict | None = None):
        self.outcome = outcome
        self.params_given = dict(params or {})

    # ------------------------------------------------------------ the fit
    @property
    def family(self):
        return self.outcome.family

    @property
    def layout(self):
        return self.outcome.family.layout

    @property
    def coef(self) -> np.ndarray:
        """The full coefficient vector (size,) in the layout's order."""
        return self.outcome.coef

    @property
    def classes(self) -> np.ndarray:
        return self.outcome.classes

    @property
    def reference_class(self):
        return self.outcome.classes[self.outcome.reference]

    @property
    def feature_names(self) -> list:
        return self.outcome.feature_names

    @property
    def aliased(self) -> list:
        """Names of the columns dropped as aliased (held at 0)."""
        if not self.outcome.aliased:
            return []                  # no list of every name (70 MB at d = 10⁶)
        names = list(self.feature_names) + [INTERCEPT]
        return [names[j] for j in self.outcome.aliased]

    @property
    def inference(self) -> InferenceState | None:
        return self.outcome.inference

    @property
    def solver(self) -> SolverResult:
        return self.outcome.solver

    @property
    def objective(self):
        """The training objective (holds the rows; None for a loaded model)."""
        return self.outcome.objective

    @property
    def converged(self) -> bool:
        return bool(self.solver.converged)

    @property
    def penalized(self) -> bool:
        return float(self.params_given.get("alpha", 0.0) or 0.0) > 0

    # -------------------------------------------------------- estimates
    def _series(self, values, name):
        labels, _, _ = inference.parameters(self)
        return pd.Series(values, index=inference.label_index(labels), name=name)

    @property
    def params(self) -> pd.Series:
        """Estimated coefficients (log-odds; log relative-risk ratios against the
        reference class for multinomial models). A penalized fit, which has no
        inference, gives its (shrunk) coefficients, every class's for a symmetric
        multinomial fit."""
        if self.inference is None:
            order = inference.display_order(self)
            labels = inference.term_labels(self)
            return pd.Series(np.asarray(self.coef)[order],
                             index=inference.label_index([labels[i] for i in order]), name="coef")
        return self._series(inference.parameters(self)[1], "coef")

    @property
    def bse(self) -> pd.Series:
        """Standard errors: the square roots of the diagonal of :meth:`cov_params`."""
        V = inference.parameters(self)[2]
        return self._series(np.sqrt(np.maximum(np.diag(V), 0.0)), "std_err")

    @property
    def zvalues(self) -> pd.Series:
        """Wald statistics ``coef / std_err``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.params / self.bse).rename("z")

    tvalues = zvalues

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values of the Wald statistics (normal reference)."""
        return inference.coef_table(self)["p_value"].loc[self.params.index].rename("p_value")

    def cov_params(self) -> pd.DataFrame:
        """Covariance of the estimates (inverse information, or the sandwich of ``cov_type``)."""
        labels, _, V = inference.parameters(self)
        index = inference.label_index(labels)
        return pd.DataFrame(V, index=index, columns=index)

    def conf_int(self, level: float = 0.95, method: str | None = None,
                 terms=None) -> pd.DataFrame:
        """Confidence intervals (``ci_low``, ``ci_high`` and their odds ratios):
        Wald, or profile likelihood (``method="profile"``, refits on the training
        rows); default profile for Firth fits (as logistf), Wald otherwise."""
        method = inference.default_ci_method(self) if method is None else method
        if method == "profile":
            return profile_ci(self, terms=terms, level=level)
        if method != "wald":
            raise ValueError(f"method must be 'wald' or 'profile'; got {method!r}")
        table = inference.coef_table(self, level)[["ci_low", "ci_high", "or_ci_low",
                                                   "or_ci_high"]]
        return table if terms is None else table.loc[list(terms)]

    def coef_table(self, level: float = 0.95) -> pd.DataFrame:
        """The Wald table of :func:`logitlab.results.inference.coef_table`."""
        return inference.coef_table(self, level)

    # -------------------------------------------------------- statistics
    def statistics(self) -> dict:
        """Every model statistic (:func:`logitlab.results.inference.model_statistics`)."""
        return inference.model_statistics(self)

    def _stat(self, key):
        return self.statistics()[key]

    llf = property(lambda self: self._stat("log_likelihood"), doc="Log-likelihood ℓ.")
    llnull = property(lambda self: self._stat("null_log_likelihood"),
                      doc="Log-likelihood of the intercept-only model.")
    deviance = property(lambda self: self._stat("deviance"), doc="Deviance −2ℓ.")
    null_deviance = property(lambda self: self._stat("null_deviance"), doc="−2ℓ₀.")
    aic = property(lambda self: self._stat("aic"), doc="−2ℓ + 2k.")
    bic = property(lambda self: self._stat("bic"), doc="−2ℓ + k log n.")
    prsquared = property(lambda self: self._stat("pseudo_r2"), doc="McFadden's 1 − ℓ/ℓ₀.")
    llr = property(lambda self: self._stat("lr_stat"), doc="LR statistic against the null.")
    llr_pvalue = property(lambda self: self._stat("lr_p_value"), doc="Its χ² p-value.")
    df_model = property(lambda self: self._stat("df_model"),
                        doc="Estimated coefficients minus the intercepts.")
    df_resid = property(lambda self: self._stat("df_resid"), doc="nobs − k.")
    nobs = property(lambda self: self._stat("n_obs"), doc="Σ sample weights.")

    def summary(self, level: float = 0.95, ci: str | None = None, anova: bool = False):
        """The summary table (:class:`logitlab.results.summary.Summary`); ``anova=True``
        appends the type-II tests per column (LR when the rows are held, else Wald)."""
        from .summary import Summary
        return Summary(self, level=level, ci=ci, anova=anova)

    def without_rows(self) -> "LogitResults":
        """A copy that does not hold the training rows (pickles, model files,
        Dask workers): everything but profile intervals still works."""
        import dataclasses
        return LogitResults(dataclasses.replace(self.outcome, objective=None), self.params_given)

    def for_prediction(self) -> "LogitResults":
        """A copy with what predictions need only (no inference, no history):
        small, for Dask workers."""
        import dataclasses
        solver = dataclasses.replace(self.outcome.solver, history={})
        return LogitResults(dataclasses.replace(self.outcome, objective=None, inference=None,
                                                solver=solver), self.params_given)

    def __getstate__(self):
        # the training objective holds the rows: never pickled
        import dataclasses
        return {"outcome": dataclasses.replace(self.outcome, objective=None),
                "params_given": self.params_given}

    def __repr__(self) -> str:
        kind = "multinomial" if self.layout.multinomial else "binary"
        return (f"<LogitResults: {kind} logit, {self.layout.size} coefficients, "
                f"solver {self.solver.solver!r}, converged={self.converged}>")


# ------------------------------------------------------------ model files
def results_state(results: LogitResults) -> dict:
    """What a fitted model is, as plain values and arrays (model files, format 1).

    Keys: classes, reference_class, feature_names (list or None), layout
    (dict of :class:`~logitlab.core.layout.Layout` fields), coef (full flat
    vector), fit (solver, n_iter, converged, objective, grad_norm, tol,
    n_passes, history), inference (the JSON-safe inference record or None).
    """
    r = results.solver
    names = results.outcome.feature_names_in
    return {
        "classes": results.classes, "reference_class": results.reference_class,
        "feature_names": names, "layout": results.layout.to_dict(),
        "coef": np.asarray(results.coef, dtype=np.float64),
        "fit": {"solver": r.solver, "n_iter": int(r.n_iter), "converged": bool(r.converged),
                "objective": float(r.objective), "grad_norm": float(r.grad_norm),
                "tol": float(r.tol), "n_passes": int(r.n_passes),
                "history": {k: np.asarray(v) for k, v in r.history.items()}},
        "inference": None if results.inference is None else results.inference.to_dict(),
    }


def results_from_state(state: dict, params: dict | None = None) -> LogitResults:
    """A :class:`LogitResults` (no training rows) from :func:`results_state`'s dict."""
    from ..core.layout import Layout
    from ..families import family_from_layout
    layout = Layout.from_dict(state["layout"])
    classes = np.asarray(state["classes"])
    reference = int(np.flatnonzero(classes == state["reference_class"])[0])
    names = state.get("feature_names")
    fit = state["fit"]
    coef = np.asarray(state["coef"], dtype=np.float64)
    solver = SolverResult(
        coef=coef, objective=fit["objective"], grad_norm=fit["grad_norm"],
        n_iter=fit["n_iter"], converged=fit["converged"], solver=fit["solver"],
        tol=fit["tol"], history={k: np.asarray(v) for k, v in fit["history"].items()},
        n_passes=fit["n_passes"])
    inference = InferenceState.from_dict(state.get("inference"))
    outcome = FitOutcome(
        family=family_from_layout(layout), coef=coef, classes=classes, reference=reference,
        feature_names_in=None if names is None else [str(n) for n in names], solver=solver,
        aliased=[] if inference is None else list(inference.aliased),
        inference=inference)
    return LogitResults(outcome, params)
