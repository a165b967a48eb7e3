"""What :func:`logitlab.load` checks in a model file beyond its structure.

:mod:`logitlab.persist.model_file` checks the format, the checksum (and signature), every
key and type and the coefficient count. A file can pass all that and still
describe a model that fails later, at ``predict`` or ``summary`` time, or that
says one thing and computes another. These checks catch it at load:

* :func:`check_estimator`: the parameters pass the estimator's own checks
  (penalty, alpha, solver and its options, tol, cov_type, threshold,
  class_weight, engine options, ...) and agree with the stored fit (intercept,
  reference class, which classes have coefficients, the solver that ran);
* :func:`check_design`: the stored formula text is ``response ~ rhs``; the rhs,
  with the stored levels and transform state, encodes exactly the stored
  terms, columns and intercept (re-encoded on zero rows, so no data are
  needed), and uses exactly the stored variables;
* :func:`check_inference`: the inference state has what inference reads, with
  shapes that match the coefficients and finite matrices.

Each raises a ``ValueError`` that says what is wrong.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import pandas as pd


# ------------------------------------------------------------------ estimator
def check_estimator(params: dict, state: dict, estimator=None) -> str:
    """Run the estimator's parameter checks and compare them with the stored
    fit; returns the penalty kind ("none", "l2", "l1", "elasticnet", "firth").
    ``estimator``: the class (default ``LogisticRegression``)."""
    from .. import solvers
    from ..estimators.logistic import LogisticRegression
    from ..fitting.spec import check_threshold, class_weight_factors, reference_index

    model = (estimator or LogisticRegression)(**params)
    classes = state["classes"]
    K = classes.size
    lay = state["layout"]
    ordinal = lay.get("n_thresholds", 0) > 0
    try:
        spec = model.checked_spec()   # every option, the solver's too
        kind = spec.kind
        check_threshold(model.threshold, 2 if ordinal else K)
        class_weight_factors(model.class_weight, classes, np.ones(K))
    except (ValueError, TypeError) as err:
        raise ValueError(f"estimator.params: {str(err).splitlines()[0]}") from None
    if ordinal or lay.get("strata"):
        return _check_fitted_solver(state, kind, solvers)
    if bool(model.fit_intercept) != lay["fit_intercept"]:
        raise ValueError(f"estimator.params.fit_intercept is {model.fit_intercept} but the "
                         f"coefficients {'have' if lay['fit_intercept'] else 'lack'} an "
                         "intercept")
    ref = int(np.flatnonzero(classes == state["reference_class"])[0])
    try:
        given = (None if model.reference_class is None
                 else reference_index(model.reference_class, classes))
    except ValueError as err:
        raise ValueError(f"estimator.params: {err}") from None
    if given is not None and given != ref:
        raise ValueError(f"estimator.params.reference_class is {model.reference_class!r} but "
                         f"the stored reference class is {state['reference_class']!r}")
    if K > 2:
        reference_layout = kind in ("none", "firth")      # K − 1 columns
        free = [k for k in range(K) if k != ref] if reference_layout else list(range(K))
        if lay["free_classes"] != free:
            what = {"none": "maximum-likelihood", "firth": "Firth"}.get(kind, "penalized")
            raise ValueError(f"state.layout.free_classes is {lay['free_classes']} but a "
                             f"{what} multinomial fit has coefficients for the classes {free}")
    return _check_fitted_solver(state, kind, solvers)


def _check_fitted_solver(state: dict, kind: str, solvers) -> str:
    """The stored solver could have minimized the penalty ``kind``; returns ``kind``."""
    fitted = state["fit"]["solver"]
    try:
        solvers.check_solver(fitted, kind)
    except ValueError as err:
        raise ValueError(f"state.fit.solver: {str(err).splitlines()[0]}") from None
    if fitted == "auto":
        raise ValueError("state.fit.solver must name the solver that ran, not 'auto'")
    return kind


# --------------------------------------------------------------------- design
def check_design(design, state: dict) -> None:
    """The formula text, terms, columns and variables of a loaded design agree
    with each other and with the coefficients' layout."""
    from ..data.formula import formula_variables, parse_rhs, quote_response

    expected = f"{quote_response(design.response)} ~ {design.rhs}"
    if design.formula != expected:
        raise ValueError(f"design.formula {design.formula!r} is not the formula its design "
                         f"encodes ({expected!r})")
    # ordinal thresholds and conditional strata take the intercept's place, whatever the coding
    replaced = state["layout"].get("n_thresholds", 0) > 0 or bool(state["layout"].get("strata"))
    if not replaced and design.intercept != state["layout"]["fit_intercept"]:
        raise ValueError(f"design.intercept is {design.intercept} but the coefficients "
                         f"{'have' if state['layout']['fit_intercept'] else 'lack'} an "
                         "intercept")
    joined = [c for cols in design.terms.values() for c in cols]
    if joined != design.columns:
        raise ValueError("design.columns are not the columns of design.terms in order")
    used = formula_variables(parse_rhs(design.rhs), design.variables)
    if used != set(design.variables):
        raise ValueError(f"design.variables {design.variables} are not the variables the "
                         f"formula {design.rhs!r} uses ({sorted(used)})")
    for expr, f in design.factors.items():
        if f["kind"] == "categorical" and (
                len(set(map(repr, f["levels"]))) != len(f["levels"])
                or repr(f["reference"]) not in set(map(repr, f["levels"]))):
            raise ValueError(f"design.factors[{expr!r}]: the levels must be distinct and "
                             "hold the reference level")
    terms, intercept = _encoded_structure(design)
    if terms != design.terms or intercept != design.intercept:
        raise ValueError(f"the formula {design.rhs!r} with the stored levels encodes the "
                         f"columns {[c for cs in terms.values() for c in cs]}"
                         f"{' and an intercept' if intercept else ''}, not the stored "
                         f"{design.columns}{' and an intercept' if design.intercept else ''}")


def _empty_frame(design) -> pd.DataFrame:
    """Zero rows with every variable: categorical columns typed as their levels."""
    levels = {}
    for f in design.factors.values():
        if f["kind"] == "categorical" and f.get("column") is not None:
            levels.setdefault(f["column"], f["levels"])
    columns = {}
    for name in design.variables:
        values = levels.get(name)
        if values is None:
            columns[name] = np.empty(0)
        elif any(isinstance(v, str) for v in values):
            columns[name] = pd.Series([], dtype=object)
        else:
            columns[name] = np.asarray(values)[:0]
    return pd.DataFrame(columns)


def _encoded_structure(design) -> tuple[dict, bool]:
    """``(terms -> columns, intercept)`` that the stored ModelSpec produces."""
    from ..data.formula import formula_context
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mm = design.model_spec.get_model_matrix(_empty_frame(design),
                                                    context=formula_context())
    except Exception as err:  # noqa: BLE001 - formulaic raises many kinds
        raise ValueError(f"the formula {design.rhs!r} cannot encode data with the stored "
                         f"levels and transform state ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''})") from None
    terms, intercept = {}, False
    for st in mm.model_spec.structure:
        if str(st.term) == "1":
            intercept = True
        else:
            terms[str(st.term)] = list(st.columns)
    return terms, intercept


# ------------------------------------------------------------------ inference
def _finite_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def _square(value, k, what):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.shape != (k, k) or not np.isfinite(arr).all():
        raise ValueError(f"inference.{what} must be a {k} × {k} matrix of finite numbers "
                         "(one row and column per estimated coefficient)")


def _indices(value, upper, what):
    if not (isinstance(value, list) and all(type(j) is int for j in value)
            and value == sorted(set(value)) and all(0 <= j < upper for j in value)):
        raise ValueError(f"inference.{what} must be increasing indices in [0, {upper})")


def check_inference(inference, state: dict, kind: str, cov_type: str) -> None:
    """What :mod:`logitlab.inference` reads, checked against the layout."""
    if inference is None:
        return
    if kind not in ("none", "firth"):
        raise ValueError(f"a penalized fit ({kind}) has no likelihood inference, but the file "
                         "holds an inference state")
    if not isinstance(inference, dict):
        raise ValueError("'inference' must be an object or null")
    need = {"method", "cov_type", "n_obs", "loglik", "loglik_null", "estimated", "aliased",
            "information"}
    if kind == "firth":
        need |= {"penalized_loglik", "penalized_loglik_null"}
    if not need <= set(inference):
        raise ValueError(f"'inference' lacks {sorted(need - set(inference))}")
    method = "firth" if kind == "firth" else "mle"
    if inference["method"] != method or inference["cov_type"] != cov_type:
        raise ValueError(f"inference.method and cov_type must be {method!r} and {cov_type!r} "
                         "(the estimator's)")
    numbers_ = ["n_obs", "loglik", "loglik_null"] + (
        ["penalized_loglik", "penalized_loglik_null"] if kind == "firth" else [])
    if not all(_finite_number(inference[k]) for k in numbers_) or not inference["n_obs"] > 0:
        raise ValueError(f"inference.{', '.join(numbers_)} must be finite numbers (n_obs > 0)")
    lay = state["layout"]
    n_rows = (lay["n_features"] + int(lay["fit_intercept"])
              + lay.get("n_thresholds", 0) * (1 + len(lay.get("nominal", []))))
    _indices(inference["estimated"], n_rows * len(lay["free_classes"]), "estimated")
    _indices(inference["aliased"], n_rows, "aliased")
    k = len(inference["estimated"])
    _square(inference["information"], k, "information")
    if cov_type != "nonrobust" or inference.get("meat") is not None:
        _square(inference.get("meat"), k, "meat")
    if cov_type == "cluster" and not (type(inference.get("n_clusters")) is int
                                      and inference["n_clusters"] >= 2):
        raise ValueError("inference.n_clusters must be an integer >= 2 (cov_type='cluster')")
    _check_grouped(inference.get("grouped"))
    if not isinstance(inference.get("infinite", {}), dict) or \
            type(inference.get("separated", False)) is not bool:
        raise ValueError("inference.separated must be true or false and inference.infinite "
                         "an object")


def _check_grouped(grouped) -> None:
    """The optional record of a grouped binomial response (absent in older files)."""
    if grouped is None:
        return
    if not isinstance(grouped, dict) or grouped.get("form") not in ("cbind", "proportion"):
        raise ValueError("inference.grouped must be an object with form 'cbind' or 'proportion'")
    if not (type(grouped.get("n_groups")) is int and grouped["n_groups"] >= 1):
        raise ValueError("inference.grouped.n_groups must be an integer >= 1")
    if not all(_finite_number(grouped.get(k))
               for k in ("n_trials", "log_choose", "loglik_saturated")):
        raise ValueError("inference.grouped.n_trials, log_choose and loglik_saturated must be "
                         "finite numbers")


#: zero rows with a design's variables (categorical columns typed as their levels)
empty_frame = _empty_frame

__all__ = ["check_estimator", "check_design", "check_inference", "empty_frame"]
