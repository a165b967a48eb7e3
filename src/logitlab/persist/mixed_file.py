"""Model files of mixed-effects logits (format version 3): the document and its reading.

:mod:`logitlab.persist.model_file` writes and reads every model file (format,
checksum, signature, size and depth limits); a ``MixedLogisticRegression`` is
laid out here. Format version 3 adds this estimator class and nothing else: files
of the other models are written exactly as before (version 1 or 2).

Layout (``"format_version": 3``, estimator class ``"MixedLogisticRegression"``)::

    "estimator": {"class": "MixedLogisticRegression",
                  "params": {"n_agq": 1, "max_iter": 1000, "new_levels": "raise", "verbose": 0}},
    "state": {
      "classes": {"dtype", "values"},          # the two labels (failure, event); [0, 1] for counts
      "feature_names": [...] | null,           # fits on arrays (fit(X, y, groups)) only
      "formula": "y ~ x + (1 + x | g)",        # as fitted (summary's Formula line)
      "response": "y",
      "fixed_names": ["(Intercept)", "x"],     # p names of β
      "dropped": [...], "n_dropped": 0,        # aliased fixed columns; rows dropped (missing)
      "random_terms": [                        # lme4's order
        {"group": "g", "factors": ["g"], "columns": ["(Intercept)", "x"],
         "levels": ["g01", ...], "lhs": "1 + x",
         "lhs_design": {... Design.to_dict() of the left side ...}}, ...],
      "beta": [p], "vcov": [[p × p]],          # vcov: non-finite entries tagged
      "theta": [n_theta], "b": [q],            # q = Σ_t n_levels_t k_t, level by level
      "condvar": [[n_t k_t k_t], ...],         # per term, row-major
      "fit": {"n_agq", "nobs", "df", "loglik", "deviance", "conditional_deviance", "aic",
              "bic", "converged", "singular", "messages": [...], "scaled_gradient": [...],
              "hessian_eigenvalues": [...], "n_iterations": [i1, i2], "n_evaluations",
              "residual_quantiles": [min, q1, median, q3, max]}   # of the Pearson residuals
    },
    "design": {... Design.to_dict() of the fixed part ...}

No data are stored: the summary's residual quantiles are stored as the five
numbers it prints; ``conf_int(method="profile")`` of a loaded model (it needs the
data) raises a ``ValueError`` saying so. The random effects' standard
deviations and correlations, the conditional modes per term and the standard
errors are recomputed from θ, b and vcov by the code that computed them in the
fit, so a loaded model's summary, JSON document and predictions are identical.

A term's left side is rebuilt from ``lhs_design`` (the formula text, categorical
levels and the state of stateful transforms such as ``scale(x)``) and checked by
encoding zero rows: it must give exactly the stored ``columns``.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.jsonvalues import from_json_value, to_json_value
from ..results.mixed import MixedResults
from .fields import (FORMAT, SIGNATURE, InvalidModelFile, checksum, decode_classes,
                         encode_classes, encode_params, finite_floats, is_int, is_number,
                         require, signature)

__all__ = ["mixed_document", "mixed_model_from_document", "MIXED_FORMAT_VERSION",
           "StoredMixedResults", "NoDataProblem", "lhs_design"]

#: the format version of mixed-effects model files
MIXED_FORMAT_VERSION = 3


# ----------------------------------------------------------------------- save
def _numbers(values, where: str) -> list:
    """Floats as JSON values, non-finite ones tagged (``{"__float__": "nan"}``)."""
    return [to_json_value(float(v), where) for v in np.asarray(values, np.float64).ravel()]


def lhs_design(term, response: str, known_columns):
    """A term's left side as a :class:`~logitlab.data.formula.Design` (its formulaic
    spec's categorical levels and transform state), so that ``Design.to_dict``
    and ``Design.from_dict`` carry it. ``known_columns``: the data columns the
    model uses (to tell a column named like a formula function)."""
    from ..data.formula import (Design, describe_spec, formula_variables, parse_rhs,
                                quote_response)
    spec = term.spec
    parsed = parse_rhs(term.lhs)
    columns, terms, intercept, factors = describe_spec(spec, parsed)
    return Design(formula=f"{quote_response(response)} ~ {term.lhs}", response=response,
                  rhs=term.lhs, intercept=intercept, columns=columns, terms=terms,
                  variables=sorted(formula_variables(parsed, known_columns)), factors=factors,
                  transform_state=spec.transform_state, model_spec=spec)


def _random_terms(model) -> list:
    r = model.results_
    known = set(model.design_.variables) | {f for t in model.random_design_.terms
                                            for f in t.factors}
    out = []
    for t in model.random_design_.terms:
        out.append({"group": t.group, "factors": list(t.factors), "columns": list(t.columns),
                    "levels": [str(v) for v in t.levels], "lhs": t.lhs,
                    "lhs_design": lhs_design(t, r.response, known).to_dict()})
    return out


def _residual_quantiles(results) -> list:
    """The five numbers of the summary's "Scaled residuals" line."""
    return _numbers(results.residual_quantiles(), "residual quantiles")


def mixed_document(model, key: bytes | None = None) -> dict:
    """The model-file document (format version 3) of a fitted
    ``MixedLogisticRegression`` (with checksum; signed with ``key`` when given)."""
    from ..core.version import __version__

    model._check_fitted()
    r, fit = model.results_, model.results_.fit
    names = model.__dict__.get("feature_names_in_")
    doc = {
        "format": FORMAT,
        "format_version": MIXED_FORMAT_VERSION,
        "logitlab_version": __version__,
        "estimator": {"class": "MixedLogisticRegression",
                      "params": encode_params(model.get_params(deep=False))},
        "state": {
            "classes": encode_classes(np.asarray(model.classes_)),
            "feature_names": None if names is None else [str(n) for n in names],
            "formula": str(r.formula), "response": str(r.response),
            "fixed_names": [str(n) for n in r.fixed_names],
            "dropped": [str(n) for n in r.dropped], "n_dropped": int(r.n_dropped),
            "random_terms": _random_terms(model),
            "beta": finite_floats(fit.beta, "beta"),
            "vcov": [_numbers(row, "vcov") for row in np.atleast_2d(fit.vcov)],
            "theta": finite_floats(fit.theta, "theta"),
            "b": finite_floats(fit.b, "the conditional modes b"),
            "condvar": [_numbers(V, "condvar") for V in fit.condvar],
            "fit": {"n_agq": int(fit.n_agq), "nobs": int(fit.nobs), "df": int(fit.df),
                    **{k: to_json_value(float(getattr(fit, k)), k)
                       for k in ("loglik", "deviance", "conditional_deviance", "aic", "bic")},
                    "converged": bool(fit.converged), "singular": bool(fit.singular),
                    "messages": [str(m) for m in fit.messages],
                    "scaled_gradient": _numbers(fit.scaled_gradient, "scaled gradient"),
                    "hessian_eigenvalues": _numbers(fit.hessian_eigenvalues,
                                                    "Hessian eigenvalues"),
                    "n_iterations": [int(i) for i in fit.n_iterations],
                    "n_evaluations": int(fit.n_evaluations),
                    "residual_quantiles": _residual_quantiles(r)},
        },
        "design": model.design_.to_dict(),
    }
    if key is not None:
        doc[SIGNATURE] = signature(doc, key)
    doc["sha256"] = checksum(doc)
    return doc


# ----------------------------------------------------------------------- load
class NoDataError(ValueError, AttributeError):
    """The fitting data of a loaded mixed model were asked for (an AttributeError
    too, so ``getattr(problem, name, default)`` gives the default)."""


class NoDataProblem:
    """Stands in for the fitting data of a model loaded from a file: any use
    (profile-likelihood intervals refit the model on its data) is a clear error."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise NoDataError("this mixed-effects model was loaded from a model file, which holds "
                         "no data; profile-likelihood intervals refit the model on its data: "
                         "fit it again (or use Wald intervals, conf_int(method='wald')).")


class StoredMixedResults(MixedResults):
    """:class:`~logitlab.results.mixed.MixedResults` of a loaded model: no rows.
    ``residual_quantiles()`` returns the five stored quantiles (min, 1Q, median,
    3Q, max) of the fitted model's Pearson residuals, which is all the summary
    reads; the residuals themselves need the data."""

    def __init__(self, *args, residual_quantiles, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored_quantiles = np.asarray(residual_quantiles, dtype=np.float64)

    def residual_quantiles(self) -> np.ndarray:
        return self.stored_quantiles.copy()

    def pearson_residuals(self) -> np.ndarray:
        raise ValueError("a loaded mixed model has no data: its Pearson residuals need the "
                         "rows it was fitted on (fit it again); the summary's quantiles "
                         "are stored.")


def _strings(x) -> bool:
    return isinstance(x, list) and all(isinstance(v, str) for v in x)


def _vector(value, n, what, finite=True) -> np.ndarray:
    ok = isinstance(value, list) and (n is None or len(value) == n) and all(
        (type(v) in (int, float) and math.isfinite(v)) if finite else is_number(v)
        for v in value)
    require(ok, f"state.{what} must be a list of {'' if n is None else n} "
                f"{'finite ' if finite else ''}numbers")
    return np.array(from_json_value(value), dtype=np.float64)


def _check_design(spec, response, where):
    """A stored Design (dict) rebuilt and checked as the other model files' designs."""
    from ..data.formula import Design
    from .checks import check_design
    require(isinstance(spec, dict), f"{where} must be an object")
    try:
        design = Design.from_dict(spec)
        check_design(design, {"layout": {"fit_intercept": design.intercept}})
    except (ValueError, TypeError, KeyError) as err:
        raise InvalidModelFile(f"{where} is invalid: {str(err).rstrip('.')}") from None
    require(design.response == response, f"{where}.response {design.response!r} is not the "
                                          f"model's response {response!r}")
    return design


def _lhs_spec(design, columns, where):
    """The formulaic spec of a term's left side; encoding zero rows must give ``columns``."""
    import warnings

    from ..data.formula import formula_context
    from .checks import empty_frame
    spec = design.model_spec.update(na_action="raise")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mm = spec.get_model_matrix(empty_frame(design), context=formula_context(),
                                       output="pandas")
    except Exception as err:  # noqa: BLE001 - formulaic raises many kinds
        raise InvalidModelFile(f"{where} cannot encode data ({type(err).__name__})") from None
    got = ["(Intercept)" if c == "Intercept" else str(c) for c in mm.columns]
    require(got == columns, f"{where} encodes the columns {got}, not the stored {columns}")
    return spec


def _random_design(terms, response, formula):
    """The :class:`~logitlab.data.random_effects.RandomEffectsDesign` of the stored terms."""
    import scipy.sparse as sp

    from ..data.formula import FormulaError, split_formula
    from ..data.random_effects import (RandomEffectsDesign, RandomTerm, expand_bars,
                                       lme4_term_order, split_bars)
    require(isinstance(terms, list) and terms, "state.random_terms must be a non-empty list")
    out = []
    for i, t in enumerate(terms):
        where = f"state.random_terms[{i}]"
        keys = {"group", "factors", "columns", "levels", "lhs", "lhs_design"}
        require(isinstance(t, dict) and keys <= set(t), f"{where} must have the keys "
                                                        f"{sorted(keys)}")
        require(_strings(t["factors"]) and t["factors"] and isinstance(t["group"], str)
                and t["group"] == ":".join(t["factors"]),
                f"{where}.factors must be column names joined by ':' into its group")
        require(_strings(t["columns"]) and t["columns"]
                and len(set(t["columns"])) == len(t["columns"]),
                f"{where}.columns must be distinct names")
        require(_strings(t["levels"]) and len(t["levels"]) >= 2
                and len(set(t["levels"])) == len(t["levels"]),
                f"{where}.levels must be at least 2 distinct level labels (text)")
        require(isinstance(t["lhs"], str), f"{where}.lhs must be formula text")
        design = _check_design(t["lhs_design"], response, f"{where}.lhs_design")
        require(design.rhs == t["lhs"], f"{where}.lhs_design is not the design of its lhs "
                                        f"{t['lhs']!r}")
        spec = _lhs_spec(design, t["columns"], f"{where}.lhs_design")
        k = len(t["columns"])
        out.append(RandomTerm(group=t["group"], columns=list(t["columns"]),
                              levels=list(t["levels"]), codes=np.empty(0, np.int64),
                              matrix=np.empty((0, k)), lhs=t["lhs"],
                              factors=tuple(t["factors"]), spec=spec))
    try:                         # the formula's bar terms are the stored terms, in lme4's order
        bars = expand_bars(split_bars(split_formula(formula)[1])[1])
    except FormulaError as err:
        raise InvalidModelFile(f"state.formula: {err}") from None
    keys = [(b.lhs, ":".join(g.strip().strip("`") for g in b.group.split(":"))) for b in bars]
    levels = {(t.lhs, t.group): t.n_levels for t in out}
    require(sorted(keys) == sorted(levels),
            f"state.random_terms are not the random-effects terms of the formula {formula!r}")
    expected = [keys[j] for j in lme4_term_order([levels[k] for k in keys])]
    require(expected == [(t.lhs, t.group) for t in out],
            "state.random_terms are not in lme4's order of the formula's terms")
    q = sum(t.n_levels * t.n_columns for t in out)
    return RandomEffectsDesign(fixed="", terms=out, Z=sp.csc_matrix((0, q)))


def _fit_record(fit, p, n_theta) -> dict:
    keys = {"n_agq", "nobs", "df", "loglik", "deviance", "conditional_deviance", "aic", "bic",
            "converged", "singular", "messages", "scaled_gradient", "hessian_eigenvalues",
            "n_iterations", "n_evaluations", "residual_quantiles"}
    require(isinstance(fit, dict) and keys <= set(fit),
            f"state.fit lacks {sorted(keys - set(fit)) if isinstance(fit, dict) else keys}")
    require(is_int(fit["n_agq"]) and 1 <= fit["n_agq"] <= 100,
            "state.fit.n_agq must be an integer from 1 to 100")
    require(is_int(fit["nobs"]) and fit["nobs"] >= 1, "state.fit.nobs must be an integer >= 1")
    require(fit["df"] == p + n_theta and is_int(fit["df"]),
            f"state.fit.df must be the number of parameters, p + n_theta = {p + n_theta}")
    stats = {k: fit[k] for k in ("loglik", "deviance", "conditional_deviance", "aic", "bic")}
    require(all(type(v) in (int, float) and math.isfinite(v) for v in stats.values()),
            "state.fit.loglik, deviance, conditional_deviance, aic and bic must be finite "
            "numbers")
    dev, df, n = stats["deviance"], fit["df"], fit["nobs"]
    close = lambda a, b: abs(a - b) <= 1e-9 * max(1.0, abs(b))  # noqa: E731
    require(close(stats["loglik"], -dev / 2) and close(stats["aic"], dev + 2 * df)
            and close(stats["bic"], dev + math.log(n) * df),
            "state.fit: loglik, aic and bic must be -deviance/2, deviance + 2 df and "
            "deviance + log(nobs) df")
    require(type(fit["converged"]) is bool and type(fit["singular"]) is bool,
            "state.fit.converged and singular must be true or false")
    require(_strings(fit["messages"]), "state.fit.messages must be a list of strings")
    require(isinstance(fit["n_iterations"], list) and len(fit["n_iterations"]) == 2
            and all(is_int(i) and i >= 0 for i in fit["n_iterations"])
            and is_int(fit["n_evaluations"]) and fit["n_evaluations"] >= 0,
            "state.fit.n_iterations must be two integers and n_evaluations an integer")
    quantiles = _vector(fit["residual_quantiles"], 5, "fit.residual_quantiles")
    require(bool(np.all(np.diff(quantiles) >= 0)),
            "state.fit.residual_quantiles must be increasing (min, 1Q, median, 3Q, max)")
    return {**stats, "n_agq": fit["n_agq"], "nobs": n, "df": df,
            "converged": fit["converged"], "singular": fit["singular"],
            "messages": list(fit["messages"]),
            "scaled_gradient": _vector(fit["scaled_gradient"], None, "fit.scaled_gradient",
                                       finite=False),
            "hessian_eigenvalues": _vector(fit["hessian_eigenvalues"], None,
                                           "fit.hessian_eigenvalues", finite=False),
            "n_iterations": tuple(fit["n_iterations"]), "n_evaluations": fit["n_evaluations"],
            "residual_quantiles": quantiles}


def _glmm_fit(state, red, p):
    """The :class:`~logitlab.solvers.glmer.GlmmFit` of the stored numbers; the
    variance components, per-term modes and SEs recomputed as the fit computes them."""
    from ..families.glmm_structure import ThetaLayout
    from ..solvers.glmer import SINGULAR_TOL, GlmmFit
    layout = ThetaLayout(red.n_levels, red.n_columns)
    beta = _vector(state["beta"], p, "beta")
    vcov_rows = state["vcov"]
    require(isinstance(vcov_rows, list) and len(vcov_rows) == p,
            f"state.vcov must be a {p} × {p} matrix")
    vcov = np.array([_vector(r, p, "vcov rows", finite=False) for r in vcov_rows]
                    ).reshape(p, p)
    finite = np.isfinite(vcov)
    require(bool(finite.all() and np.allclose(vcov, vcov.T, rtol=0, atol=0)
                 and np.all(np.diag(vcov) >= 0)) or not finite.any(),
            "state.vcov must be a symmetric matrix with a non-negative diagonal (or all NaN "
            "when the Hessian was singular)")
    theta = _vector(state["theta"], layout.n_theta, "theta")
    require(bool(np.all(theta[layout.lower] >= 0)),
            "state.theta: the diagonal elements (standard deviations relative to 1) must be "
            ">= 0")
    b = _vector(state["b"], layout.q, "b")
    cond = state["condvar"]
    require(isinstance(cond, list) and len(cond) == len(red.terms),
            "state.condvar must have one entry per random-effects term")
    condvar = []
    for t, values in zip(red.terms, cond):
        m, k = t.n_levels, t.n_columns
        V = _vector(values, m * k * k, f"condvar of {t.group}", finite=False)
        condvar.append(V.reshape(m, k, k))
    rec = _fit_record(state["fit"], p, layout.n_theta)
    require(rec["singular"] == layout.is_singular(theta, SINGULAR_TOL),
            "state.fit.singular does not match theta")
    fit = GlmmFit(beta=beta, se=np.sqrt(np.diag(vcov)), vcov=vcov, theta=theta,
                  varcorr=layout.varcorr(theta), u=None, b=b, ranef=layout.split_by_term(b),
                  condvar=condvar, loglik=rec["loglik"], deviance=rec["deviance"],
                  conditional_deviance=rec["conditional_deviance"], aic=rec["aic"],
                  bic=rec["bic"], df=rec["df"], nobs=rec["nobs"], n_agq=rec["n_agq"],
                  gradient=None, hessian=None, scaled_gradient=rec["scaled_gradient"],
                  hessian_eigenvalues=rec["hessian_eigenvalues"], converged=rec["converged"],
                  singular=rec["singular"], messages=rec["messages"],
                  n_evaluations=rec["n_evaluations"], n_iterations=rec["n_iterations"])
    return fit, rec["residual_quantiles"]


def mixed_model_from_document(doc: dict, params: dict):
    """A fitted ``MixedLogisticRegression`` from a checked document (format, checksum
    and signature already verified); a malformed field raises ``InvalidModelFile``."""
    from ..data.formula import split_formula
    from ..estimators.mixed import MixedLogisticRegression

    require(doc["format_version"] >= MIXED_FORMAT_VERSION,
            "a MixedLogisticRegression needs format version 3")
    state = doc["state"]
    keys = {"classes", "feature_names", "formula", "response", "fixed_names", "dropped",
            "n_dropped", "random_terms", "beta", "vcov", "theta", "b", "condvar", "fit"}
    require(isinstance(state, dict), "'state' must be an object")
    require(keys <= set(state), f"'state' lacks {sorted(keys - set(state))}")
    classes = decode_classes(state["classes"])
    require(classes.size == 2, "state.classes must hold two labels (failure, event)")
    require(isinstance(state["formula"], str) and isinstance(state["response"], str),
            "state.formula and state.response must be strings")
    try:
        response, _ = split_formula(state["formula"])
    except ValueError as err:
        raise InvalidModelFile(f"state.formula: {err}") from None
    require(response == state["response"], f"state.response {state['response']!r} is not the "
                                            f"response of the formula {state['formula']!r}")
    design = _check_design(doc["design"], state["response"], "design")
    names = state["fixed_names"]
    kept = [c for c in design.columns if c not in set(state["dropped"])]
    require(_strings(state["dropped"]) and set(state["dropped"]) <= set(design.columns),
            "state.dropped must name columns of the design")
    require(_strings(names) and names == (["(Intercept)"] if design.intercept else []) + kept,
            "state.fixed_names must be the design's columns ('(Intercept)' first when it has "
            "an intercept) without the dropped ones")
    require(is_int(state["n_dropped"]) and state["n_dropped"] >= 0,
            "state.n_dropped must be an integer >= 0")
    features = state["feature_names"]
    require(features is None or _strings(features),
            "state.feature_names must be null or a list of strings")
    red = _random_design(state["random_terms"], state["response"], state["formula"])
    red.fixed = design.rhs
    fit, quantiles = _glmm_fit(state, red, len(names))
    results = StoredMixedResults(fit, names, [(t.group, t.columns, t.levels) for t in red.terms],
                               red.theta_names, state["formula"], state["response"],
                               np.empty(0), np.empty(0), state["dropped"],
                               state["n_dropped"], residual_quantiles=quantiles)
    try:
        return MixedLogisticRegression.from_results(results, params, design, red, classes,
                                                    features, problem=NoDataProblem())
    except ValueError as err:
        raise InvalidModelFile(f"estimator.params: {err}") from None
