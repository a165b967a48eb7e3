"""What a fit produces: :class:`FitOutcome`, and the :class:`InferenceState` it
carries for likelihood fits.

Both are plain data, the same for every engine. :class:`InferenceState` is
what standard errors, tests, intervals and summaries need from the rows,
taken while the fit still holds them; its :meth:`~InferenceState.to_dict` is
the JSON-safe record that model files store under ``"inference"`` (keys
documented in :mod:`logitlab.persist.model_file`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np


@dataclass
class InferenceState:
    """Inference ingredients of a likelihood fit (unpenalized or Firth).

    method : "mle" or "firth"; cov_type : "nonrobust", "HC0", "HC1", "cluster"
    n_obs : Σ s (frequency weights), or for a grouped binomial response the number of
        groups of non-zero weight (R's ``nobs``); n_rows : number of rows
    loglik, loglik_null : log-likelihoods of the model and of the intercept-only model
    estimated : full-vector indices of the estimated coefficients (not aliased / pinned)
    aliased : feature rows dropped as aliased (``n_features`` is the intercept)
    information : (k, k) Fisher information over ``estimated``
    meat : (k, k) sandwich meat over ``estimated`` or None; n_clusters : int or None
    separated : the LP check found (quasi-)separation; infinite : {full index: ±1 / 0}
    penalized_loglik, penalized_loglik_null : Firth's penalized log-likelihoods (else None)
    grouped : None, or for a grouped binomial response (``cbind`` / proportions with
        trials, :mod:`logitlab.data.binomial`) ``{"form", "n_groups", "n_trials",
        "log_choose", "loglik_saturated"}``: R's statistics of the grouped fit are
        ``logLik = loglik + log_choose``, ``deviance = 2 (loglik_saturated − loglik)``,
        ``nobs = n_groups`` (``loglik`` being ``Σ s (y log p + (1 − y) log(1 − p))``)
    conditional : None, or for a conditional logit ``{"method", "n_events", "n_strata",
        "score_stat"}``: its likelihood, the number of cases and of informative strata
        (R's ``nevent``), and the score test of β = 0 (``U₀ᵀ I₀⁻¹ U₀``, clogit's
        "Score (logrank) test")
    """

    method: str
    cov_type: str
    n_obs: float
    n_rows: int
    loglik: float
    loglik_null: float
    estimated: list
    aliased: list
    information: np.ndarray
    meat: np.ndarray | None = None
    n_clusters: int | None = None
    separated: bool = False
    infinite: dict = field(default_factory=dict)
    penalized_loglik: float | None = None
    penalized_loglik_null: float | None = None
    grouped: dict | None = None
    conditional: dict | None = None

    def to_dict(self) -> dict:
        """The JSON-safe record (lists, floats, string keys), as model files store it."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["information"] = np.asarray(self.information, dtype=np.float64).tolist()
        out["meat"] = None if self.meat is None else np.asarray(self.meat).tolist()
        out["estimated"] = [int(i) for i in self.estimated]
        out["aliased"] = [int(j) for j in self.aliased]
        out["infinite"] = {str(k): int(v) for k, v in self.infinite.items()}
        if self.method != "firth":
            out.pop("penalized_loglik")
            out.pop("penalized_loglik_null")
        if self.conditional is None:       # optional, as grouped
            out.pop("conditional")
        else:
            c = self.conditional
            out["conditional"] = {"method": str(c["method"]), "n_events": int(c["n_events"]),
                                  "n_strata": int(c["n_strata"]),
                                  "score_stat": float(c["score_stat"])}
        if self.grouped is None:           # optional: absent from files of ungrouped fits
            out.pop("grouped")
        else:
            out["grouped"] = {"form": str(self.grouped["form"]),
                              "n_groups": int(self.grouped["n_groups"]),
                              "n_trials": float(self.grouped["n_trials"]),
                              "log_choose": float(self.grouped["log_choose"]),
                              "loglik_saturated": float(self.grouped["loglik_saturated"])}
        return out

    @classmethod
    def from_dict(cls, d: dict | None) -> "InferenceState | None":
        """From :meth:`to_dict`'s record (a model file's ``"inference"``); None stays None."""
        if d is None:
            return None
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in known}
        kwargs["information"] = np.asarray(d["information"], dtype=np.float64).reshape(
            len(d["estimated"]), len(d["estimated"]))
        if d.get("meat") is not None:
            kwargs["meat"] = np.asarray(d["meat"], dtype=np.float64)
        kwargs["infinite"] = {str(k): int(v) for k, v in (d.get("infinite") or {}).items()}
        return cls(**kwargs)


@dataclass
class FitOutcome:
    """A finished fit, whatever the engine.

    family : the fitted :class:`logitlab.families.Family` (its ``layout``)
    coef : (size,) full coefficient vector, canonical (aliased coefficients 0)
    classes : (K,) labels; reference : index of the reference class
    feature_names_in : the d column names given with X (DataFrame columns, a
        formula's design), or None (then the names are ``x0``, ``x1``, ...)
    solver : the :class:`logitlab.solvers.SolverResult` (coef aside)
    aliased : feature rows dropped as aliased
    inference : :class:`InferenceState` or None (penalized or very wide fits)
    objective : the training objective (holds the rows: never stored in files)
    findings : ``(warning class, message)`` pairs the fit raised
    engine : "memory" or "dask"; n_partitions : Dask partitions (else None)
    """

    family: object
    coef: np.ndarray
    classes: np.ndarray
    reference: int
    feature_names_in: list | None
    solver: object
    aliased: list
    inference: InferenceState | None
    objective: object = None
    findings: list = field(default_factory=list)
    engine: str = "memory"
    n_partitions: int | None = None

    @property
    def layout(self):
        return self.family.layout

    @property
    def feature_names(self) -> list:
        """The d column names (``x0``, ``x1``, ... when X had none)."""
        if self.feature_names_in is not None:
            return [str(n) for n in self.feature_names_in]
        return [f"x{j}" for j in range(self.family.layout.n_features)]
