"""``logitlab.fit(formula, data)``: a formula fit, in memory or on Dask.

The formula layer (:mod:`logitlab.data.formula`) parses the formula and
builds the :class:`~logitlab.data.formula.Design`; the engine is chosen by
:func:`logitlab.engines.use_dask` (Dask collections and several files go to
Dask); the returned :class:`~logitlab.estimators.logistic.LogisticRegression`
keeps the design in ``design_`` and encodes raw data when predicting.
"""

from __future__ import annotations

import re

import numpy as np

from ..core.lazy import pandas as pd
from ..data.binomial import cbind_columns, cbind_response
from ..data.formula import (
    Design,
    check_formula_options,
    check_response,
    column_uses,
    first_observed_level,
    formula_terms,
    rows_argument,
    set_intercept_from_design,
    split_formula,
    split_top_level,
)
from ..data.io import check_text_columns, drop_missing_rows, read_table
from ..engines import to_memory, use_dask
from ..fitting.spec import fit_spec
from .logistic import LogisticRegression


def fit(formula: str, data, *, missing: str = "raise", sample_weight=None, offset=None,
        groups=None, unseen: str = "raise", cv=None, cv_options=None, na_values=None,
        sep=None, **estimator_params) -> LogisticRegression:
    """Fit a logistic regression from a formula.

    Parameters
    ----------
    formula : str
        ``"response ~ terms"`` (see :mod:`logitlab.data.formula`).
    data : DataFrame, Table, dict or path
        A pandas / polars DataFrame, pyarrow Table, dict of columns or a path
        to a CSV / TSV / Parquet file (:func:`logitlab.read_table`); a Dask
        DataFrame, a glob or a directory of files (or ``engine="dask"``) fits on Dask.
    missing : {"raise", "drop"}, default "raise"
        What to do with rows with missing values in the response, the used
        columns, or sample_weight / offset. "drop" warns with
        :class:`logitlab.data.io.MissingValuesWarning` and records the count in
        ``model.design_.n_dropped``.
    sample_weight, offset, groups : str or array-like, optional
        A column name or an array with one entry per row (offset (n, K) for
        K > 2 classes: arrays only; groups are the cluster labels for
        ``cov_type="cluster"``; on Dask: column names). Columns named here are
        not part of ``.``.
    unseen : {"raise", "reference"}, default "raise"
        Stored as ``model.design_.unseen``: what predicting does with unseen
        categorical levels.
    cv, cv_options : int or splitter, dict, optional
        With ``cv`` (folds or a splitter), the penalty strength is chosen by
        :class:`logitlab.estimators.cv.LogisticRegressionCV` (``cv_options``: its
        other parameters, e.g. ``{"alphas": 30, "rule": "1se"}``); the returned
        model is the refit at the chosen alpha, with the search in ``model.cv_``.
    na_values, sep : optional
        How a CSV / TSV file is read (:func:`logitlab.read_table`). The used
        columns are checked by :func:`logitlab.data.io.check_text_columns`.
    **estimator_params
        Passed to :class:`logitlab.LogisticRegression` (``family="ordinal"`` or
        ``"conditional"`` fits the other families). A formula with lme4's
        random-effects terms, ``y ~ x + (1 | g)``, fits a
        :class:`logitlab.MixedLogisticRegression` (its parameters: ``n_agq``,
        ``max_iter``, ``new_levels``, ``verbose``; ``sample_weight`` and
        ``offset`` as here). The formula decides
        ``fit_intercept``; a categorical response's first level is the default
        ``reference_class`` (as in R).

    Returns
    -------
    LogisticRegression (or the family's estimator)
        The fitted estimator; ``model.design_`` is its
        :class:`~logitlab.data.formula.Design` and ``model.predict_proba(raw_data)``
        encodes raw data.
    """
    check_formula_options(missing, unseen)
    family = estimator_params.pop("family", None)
    if family == "mixed" or (family is None and _has_bars(formula)):
        return _fit_mixed(formula, data, missing, sample_weight, offset, groups, unseen, cv,
                          na_values, sep, estimator_params)
    family = "logit" if family is None else family
    if family == "ordinal":
        return _fit_ordinal(formula, data, missing, sample_weight, offset, groups, unseen, cv,
                            na_values, sep, estimator_params)
    if family == "conditional":
        strata = estimator_params.pop("strata", None)
        if strata is not None and groups is not None:
            raise ValueError("give the strata once (strata=); groups are not used by a "
                             "conditional logit.")
        return _fit_conditional(formula, data, missing, sample_weight, offset,
                                groups if strata is None else strata, unseen, cv, na_values, sep,
                                estimator_params)
    if family != "logit":
        raise ValueError(f"family must be 'logit' (binary or multinomial, by the number of "
                         f"classes), 'ordinal', 'conditional' or 'mixed'; got {family!r}")
    spec = fit_spec(LogisticRegression(**estimator_params).get_params())
    if use_dask(spec.engine, data):
        if cv is not None:
            raise ValueError("cv is not available on Dask: fit in memory, or choose alpha "
                             "on a sample.")
        return _fit_dask(formula, data, missing, sample_weight, offset, groups, unseen,
                         estimator_params, na_values, sep)
    df = read_table(to_memory(data), na_values=na_values, sep=sep)   # engine='memory': computed
    return _fit_memory(formula, df, missing, sample_weight, offset, groups, unseen, cv,
                       cv_options, estimator_params)


def _has_bars(formula) -> bool:
    from .mixed_data import has_bars
    return isinstance(formula, str) and has_bars(formula)


def _fit_mixed(formula, data, missing, sample_weight, offset, groups, unseen, cv, na_values,
               sep, params):
    """A mixed-effects logit (a formula with lme4's ``(… | g)`` terms), in memory."""
    from .mixed import MixedLogisticRegression
    if cv is not None or groups is not None:
        raise ValueError(f"{'cv' if cv is not None else 'groups'} is not available for "
                         "mixed-effects models; the groups are the formula's '(… | g)' terms.")
    from ..engines import is_dask_collection
    if is_dask_collection(data) or params.get("engine") == "dask":
        raise NotImplementedError("mixed-effects fits run in memory: compute the Dask "
                                  "DataFrame first (df.compute()).")
    params = {k: v for k, v in params.items() if k != "engine"}
    allowed = set(MixedLogisticRegression().get_params())
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(f"{', '.join(unknown)} do not apply to mixed-effects models; their "
                         f"options are {sorted(allowed)}.")
    df = read_table(to_memory(data), na_values=na_values, sep=sep)
    return MixedLogisticRegression(**params).fit_formula(
        formula, df, weights=sample_weight, offset=offset, missing=missing, unseen=unseen)


def _fit_ordinal(formula, data, missing, sample_weight, offset, groups, unseen, cv, na_values,
                 sep, params):
    """An ordinal (cumulative logit) formula fit, in memory: the response's order
    from ``levels=``, an ordered Categorical column, or its numbers."""
    from .ordinal import OrderedLogisticRegression
    if cv is not None:
        raise ValueError("cv is not available for ordinal models; fit with a given alpha.")
    fit_spec({**OrderedLogisticRegression(**params).get_params(), "family": "ordinal"})
    if use_dask(params.get("engine", "auto"), data):
        return _fit_dask(formula, data, missing, sample_weight, offset, groups, unseen, params,
                         na_values, sep, estimator=OrderedLogisticRegression)
    df = read_table(to_memory(data), na_values=na_values, sep=sep)
    return _fit_memory(formula, df, missing, sample_weight, offset, groups, unseen, None, None,
                       params, estimator=OrderedLogisticRegression)


def _fit_memory(formula, df, missing, sample_weight, offset, groups, unseen, cv, cv_options,
                params, estimator=LogisticRegression):
    response, rhs = split_formula(formula)
    cbind_cols = cbind_columns(response, df.columns)   # cbind(successes, failures): its columns
    if cbind_cols is None:
        check_response(response, df.columns)
    responses = cbind_cols or [response]
    n = len(df)
    w_col, w = rows_argument(sample_weight, "sample_weight", n, df)
    o_col, o = rows_argument(offset, "offset", n, df)
    g_col, g = rows_argument(groups, "groups", n, df)
    others = [c for c in df.columns if c not in {*responses, w_col, o_col, g_col}]
    rhs, parsed, variables = formula_terms(rhs, df.columns, others)
    as_is, categorical = column_uses(parsed, df.columns)
    check_text_columns(df, numeric=[c for c in variables if str(c) in as_is and c not in responses],
                       categorical=[c for c in variables if str(c) in categorical],
                       response=response if cbind_cols is None else None,
                       numbers_only={**{c: "cbind count" for c in cbind_cols or ()},
                                     **{c: what for c, what in ((w_col, "sample_weight"),
                                                                (o_col, "offset"))
                                        if c is not None}})
    used = responses + [c for c in variables if c not in responses] + \
        list(dict.fromkeys(c for c in (w_col, o_col, g_col)
                           if c is not None and c not in variables and c not in responses))
    df, (w, o, g), n_dropped = drop_missing_rows(
        df, used, [("sample_weight", w, w_col), ("offset", o, o_col), ("groups", g, g_col)],
        missing)
    design, X = Design.build(rhs, df[variables], response=response, unseen=unseen,
                             n_rows=n, n_dropped=n_dropped)
    if estimator is not LogisticRegression:
        return _fit_family_design(estimator, design, X, df[response], cbind_cols, w, o, g, params)
    set_intercept_from_design(formula, design, params)
    if cbind_cols is not None:          # grouped binomial: classes 0/1, the trials as weights
        if cv is not None:
            raise ValueError("cv is not available for a cbind(successes, failures) response; "
                             "fit without cv.")
        model = LogisticRegression(**params)
        return model.fit_design(design, X, cbind_response(response, df.reset_index(drop=True)),
                                sample_weight=w, offset=o, **({} if g is None else {"groups": g}))
    y = df[response]
    if params.get("reference_class") is None and first_observed_level(y) is not None:
        params["reference_class"] = first_observed_level(y)
    if isinstance(y.dtype, pd.CategoricalDtype):
        y = pd.Series(np.asarray(y.astype(object)), index=y.index)
    y = y.reset_index(drop=True)
    if cv is not None:
        if o is not None or g is not None:
            raise ValueError("cv cannot be combined with offset or groups.")
        from .cv import fit_design_cv
        return fit_design_cv(design, X, y, w, params, cv, dict(cv_options or {}))
    model = LogisticRegression(**params)
    return model.fit_design(design, X, y, sample_weight=w, offset=o,
                             **({} if g is None else {"groups": g}))


_STRATA_TERM = re.compile(r"(^|\+)\s*strata\(\s*([^()]+?)\s*\)\s*(?=\+|$)")


def split_strata(formula: str) -> tuple:
    """``(formula without its strata(...) term, the stratum column or None)``:
    ``"case ~ x + strata(id)"`` -> ``("case ~ x", "id")`` (R's clogit syntax)."""
    response, rhs = split_formula(formula)
    found = list(_STRATA_TERM.finditer(rhs))
    if len(found) > 1:
        raise ValueError(f"the formula {formula!r} has {len(found)} strata(...) terms; give one "
                         "(combine the columns into one stratum id first).")
    if not found:
        return formula, None
    rest = _STRATA_TERM.sub(lambda m: m.group(1), rhs, count=1).strip().strip("+").strip()
    return f"{response} ~ {rest or '1'}", found[0].group(2).strip().strip("`")


def _fit_conditional(formula, data, missing, sample_weight, offset, groups, unseen, cv,
                     na_values, sep, params):
    """A conditional logit formula fit, in memory: the strata from ``+ strata(col)``
    (or the ``groups`` argument)."""
    from .conditional import ConditionalLogisticRegression
    if cv is not None:
        raise ValueError("cv is not available for conditional logit models.")
    formula, column = split_strata(formula)
    if column is not None and groups is not None:
        raise ValueError("give the strata once: + strata(column) in the formula, or strata=.")
    column = groups if column is None else column
    if column is None:
        raise ValueError("a conditional logit needs the strata: add + strata(column) to the "
                         "formula (as R's clogit), or pass strata=column.")
    ConditionalLogisticRegression(**params).checked_spec()
    from ..engines import is_dask_collection
    if is_dask_collection(data):
        raise NotImplementedError("conditional logit fits run in memory: each stratum must "
                                  "be in one place; compute the Dask DataFrame first.")
    df = read_table(to_memory(data), na_values=na_values, sep=sep)
    if isinstance(column, str):
        names = [c.strip().strip("`") for c in split_top_level(column, ",")]
        absent = [c for c in names if c not in df.columns]
        if absent:
            raise ValueError(f"the strata column{'s' if len(absent) > 1 else ''} "
                             f"{', '.join(map(repr, absent))} {'are' if len(absent) > 1 else 'is'}"
                             f" not a column of the data; its columns are "
                             f"{', '.join(map(repr, map(str, df.columns)))}.")
        if len(names) > 1:       # strata(a, b): one stratum per combination, as R's strata()
            column = f"strata({', '.join(names)})"
            df = df.assign(**{column: list(zip(*(df[c] for c in names)))})
    return _fit_memory(formula, df, missing, sample_weight, offset, column, unseen, None, None,
                       params, estimator=ConditionalLogisticRegression)


def _fit_family_design(estimator, design, X, y, cbind_cols, w, o, g, params):
    """The fit of another family on a built design: ordinal (its levels) or
    conditional (``g``: the strata)."""
    if getattr(estimator, "_spec_extra", {}).get("family") == "conditional":
        if cbind_cols is not None:
            raise ValueError("a conditional logit needs a 0/1 case column, not cbind(...).")
        if isinstance(y.dtype, pd.CategoricalDtype):
            y = pd.Series(np.asarray(y.astype(object)), index=y.index)
        return estimator(**params).fit_design(design, X, y.reset_index(drop=True),
                                              sample_weight=w, offset=o, strata=g)
    return _fit_ordinal_design(estimator, design, X, y, cbind_cols, w, o, g, params)


def _fit_ordinal_design(estimator, design, X, y, cbind_cols, w, o, g, params):
    """The ordinal fit on a built design: the thresholds replace the intercept
    (its column is never in the design), the response keeps its order."""
    if cbind_cols is not None:
        raise ValueError("an ordinal model needs one ordered response column, not "
                         "cbind(successes, failures).")
    if isinstance(y.dtype, pd.CategoricalDtype) and params.get("levels") is None:
        if not y.dtype.ordered:
            raise ValueError(f"the response {y.name!r} is an unordered Categorical: make it "
                             "ordered (df[col] = df[col].cat.as_ordered(), after "
                             "reorder_categories) or pass levels=[lowest, ..., highest].")
        params = {**params, "levels": list(y.dtype.categories)}
        y = pd.Series(np.asarray(y.astype(object)), index=y.index)
    model = estimator(**params)
    return model.fit_design(design, X, y.reset_index(drop=True), sample_weight=w, offset=o,
                            **({} if g is None else {"groups": g}))


def _fit_dask(formula, data, missing, sample_weight, offset, groups, unseen, params,
              na_values=None, sep=None, estimator=LogisticRegression):
    from ..engines.dask.formula import prepare_formula
    ordinal = estimator is not LogisticRegression
    engine_options = estimator(**params).get_params().get("engine_options")
    prepared = prepare_formula(formula, data, missing=missing, sample_weight=sample_weight,
                               offset=offset, groups=groups, unseen=unseen,
                               na_values=na_values, sep=sep, dtype=params.get("dtype"),
                               cov_type=params.get("cov_type", "nonrobust"),
                               engine_options=engine_options, ordinal=ordinal,
                               levels=params.get("levels"))
    if ordinal:
        params = {**params, "levels": np.asarray(prepared.scanned.classes).tolist()}
    else:
        set_intercept_from_design(formula, prepared.design, params)
    if not ordinal and params.get("reference_class") is None and \
            prepared.reference_class is not None:
        params["reference_class"] = prepared.reference_class
    model = estimator(**params)
    spec = model.checked_spec()
    from ..engines.dask.source import DaskSource
    source = DaskSource(dtype=model.dtype, cov_type=spec.cov_type,
                        engine_options=spec.engine_options, source=prepared.source,
                        scanned=prepared.scanned)
    return model.fit_source(source, prepared.design)
