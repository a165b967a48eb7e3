"""What a report is computed from: the model (fitted here if needed) and the rows to evaluate.

:func:`prepare` reads the data (a table, a file path or a 2-D array), fits the
model when it is not fitted yet (by formula, or on the data minus the outcome),
and keeps the rows complete in every column the model uses; :class:`ReportData`
holds the result. Warnings of the fit become the page's notes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted


@dataclass
class ReportData:
    """What the report is computed from (after choosing the rows to evaluate).

    frame : the data as given (all rows), for the overview.
    X : what ``model.predict_proba`` takes, rows ``used`` only; y : (n_used,) labels;
    w : (n_used,) weights or None; offset : (n_used,) / (n_used, K) or None;
    used : (n_rows,) bool mask of the complete rows; y_name : outcome column or None.
    """

    model: object
    frame: pd.DataFrame
    X: object
    y: np.ndarray
    w: np.ndarray | None
    offset: np.ndarray | None
    used: np.ndarray
    y_name: str | None
    formula: str | None
    notes: list = field(default_factory=list)
    grouped: bool = False

    def bernoulli(self) -> "ReportData":
        """For grouped binomial rows (``y`` proportions, ``w`` trials): the same data as
        0/1 rows — each group once as its successes (y = 1) and once as its failures
        (y = 0), weighted by their counts — which the metrics, curves and the example
        need (a weighted 0/1 metric equals the grouped one). Others: self."""
        if not self.grouped:
            return self
        import dataclasses
        X = pd.concat([self.X, self.X]) if hasattr(self.X, "iloc") else np.vstack([self.X] * 2)
        n = len(self.y)
        offset = None if self.offset is None else np.concatenate([self.offset] * 2)
        return dataclasses.replace(
            self, X=X, y=np.concatenate([np.ones(n, dtype=int), np.zeros(n, dtype=int)]),
            w=np.concatenate([self.w * self.y, self.w * (1.0 - self.y)]), offset=offset,
            grouped=False)


# ------------------------------------------------------------------ inputs
def _as_frame(data, model) -> pd.DataFrame:
    """A pandas DataFrame of ``data`` (a table, a file path or a 2-D array)."""
    from ..data.io import read_table
    if isinstance(data, np.ndarray) or sp.issparse(data):
        arr = data.toarray() if sp.issparse(data) else np.asarray(data)
        if arr.ndim != 2:
            raise ValueError(f"data must be a table (2-D); got an array of shape {arr.shape}.")
        names = getattr(model, "feature_names_in_", None)
        cols = [str(n) for n in names] if names is not None and len(names) == arr.shape[1] \
            else [f"x{j}" for j in range(arr.shape[1])]
        return pd.DataFrame(arr, columns=cols)
    return read_table(data)


def _column_or_rows(value, df: pd.DataFrame, what: str):
    """``(column name or None, values (n,) or None)`` of a name or per-row values."""
    if value is None:
        return None, None
    if isinstance(value, str):
        if value not in df.columns:
            raise ValueError(f"{what} {value!r} is not a column of the data; its columns are "
                             f"{', '.join(map(repr, map(str, df.columns)))}.")
        return value, df[value].to_numpy()
    values = np.asarray(value)
    if values.shape[0] != len(df):
        raise ValueError(f"{what} has {values.shape[0]} entries but the data have "
                         f"{len(df)} rows.")
    return None, values


def is_mixed(model) -> bool:
    """Whether ``model`` is a :class:`~logitlab.estimators.mixed.MixedLogisticRegression`."""
    from ..estimators.mixed import MixedLogisticRegression
    return isinstance(model, MixedLogisticRegression)


def _fit_if_needed(model, df, y, formula, sample_weight, offset, missing):
    """The fitted model: ``model`` itself, or fitted here by formula or on (X, y)."""
    from ..estimators.logistic import LogisticRegression
    from ..estimators.formula_fit import fit as fit_formula
    from ..estimators.mixed_data import has_bars
    if formula is not None and has_bars(formula) and (model is None or is_mixed(model)):
        params = {} if model is None else model.get_params()   # a mixed-effects logit
        return fit_formula(formula, df, missing=missing, sample_weight=sample_weight,
                           offset=offset, **params)
    if is_mixed(model):
        if is_fitted(model):
            return model
        raise ValueError("the mixed-effects model is not fitted: pass formula='y ~ x + (1 | g)' "
                         "so that the report can fit it.")
    model = LogisticRegression() if model is None else model
    if formula is not None:
        params = {k: v for k, v in model.get_params().items() if k != "fit_intercept"}
        return fit_formula(formula, df, missing=missing, sample_weight=sample_weight,
                           offset=offset, **params)
    try:
        check_is_fitted(model)
        return model
    except Exception:     # sklearn's NotFittedError
        pass
    if y is None:
        raise ValueError("the model is not fitted: pass formula='y ~ x1 + x2' (fit by "
                         "formula) or y= (the outcome) so that the report can fit it.")
    y_col, y_values = _column_or_rows(y, df, "y")
    _, w = _column_or_rows(sample_weight, df, "sample_weight")
    _, off = _column_or_rows(offset, df, "offset")
    X = df.drop(columns=[c for c in (y_col, *_names(sample_weight, offset)) if c is not None])
    return model.fit(X, y_values, sample_weight=w, offset=off)


def _names(*values):
    return [v for v in values if isinstance(v, str)]


def _design_columns(model, df: pd.DataFrame, y_col, extra) -> tuple[list, object]:
    """``(columns the predictions need, how to select X)`` for formula or plain models."""
    design = getattr(model, "design_", None)
    if is_mixed(model):          # the fixed part's columns and those of the (… | g) terms
        from ..data.random_effects import bar_variables
        rhs = model.results_.formula.split("~", 1)[1]
        used = set(design.variables) | set(bar_variables(rhs, df.columns)[2])
        return [c for c in df.columns if c in used], None
    if design is not None:
        return [c for c in df.columns if c in set(design.variables)], None
    names = getattr(model, "feature_names_in_", None)
    if names is not None and set(map(str, names)) <= set(map(str, df.columns)):
        return [c for c in df.columns if str(c) in set(map(str, names))], list(names)
    cols = [c for c in df.columns if c != y_col and c not in extra]
    return cols, cols


def prepare(model, data, *, y=None, formula=None, sample_weight=None, offset=None,
            missing: str = "raise") -> ReportData:
    """Fit if needed and pick the rows to evaluate (those complete in every used column)."""
    caught_notes = []
    df = _as_frame(data, model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = _fit_if_needed(model, df, y, formula, sample_weight, offset, missing)
    caught_notes += [f"{w.category.__name__}: {w.message}" for w in caught]
    design = getattr(model, "design_", None)
    if y is None and design is not None:
        y = design.response
    from ..data.binomial import cbind_response
    counts = cbind_response(y, df) if isinstance(y, str) and design is not None else None
    if counts is not None:                 # cbind(s, f): proportions, the trials as weights
        trials = counts.successes + counts.failures
        with np.errstate(invalid="ignore", divide="ignore"):
            y = np.where(trials > 0, counts.successes / np.where(trials > 0, trials, 1.0), np.nan)
        base = None if sample_weight is None else _column_or_rows(sample_weight, df,
                                                                   "sample_weight")[1]
        sample_weight = trials * (1.0 if base is None else np.asarray(base, dtype=float))
    if y is None:
        raise ValueError("pass y= (the outcome column or values): the model has no formula "
                         "that names its response.")
    y_col, y_values = _column_or_rows(y, df, "y")
    _, w = _column_or_rows(sample_weight, df, "sample_weight")
    _, off = _column_or_rows(offset, df, "offset")
    extra = _names(sample_weight, offset)
    cols, select = _design_columns(model, df, y_col, extra)
    check = df[cols].copy()
    check["__y__"] = pd.isna(pd.Series(y_values, index=df.index))
    used = ~(pd.isna(df[cols]).any(axis=1).to_numpy() | check["__y__"].to_numpy())
    for values in (w, off):
        if values is not None:
            used &= ~pd.isna(pd.DataFrame(np.asarray(values).reshape(len(df), -1))).any(axis=1).to_numpy()
    if not used.any():
        raise ValueError("no row of the data is complete in the columns the model uses; "
                         "fill in or drop the missing values first.")
    rows = df.loc[used]
    X = rows if select is None else rows[select]
    data_obj = ReportData(model=model, frame=df, X=X, y=np.asarray(y_values)[used],
                          w=None if w is None else np.asarray(w, dtype=float)[used],
                          offset=None if off is None else np.asarray(off, dtype=float)[used],
                          used=used, y_name=y_col,
                          formula=_formula(model, design), notes=caught_notes,
                          grouped=counts is not None)
    if counts is not None:
        data_obj.y_name = counts.name
        diagnostics = ("" if is_mixed(model) else "the diagnostics use the groups (proportions "
                       "with their trials as weights); ")
        data_obj.notes.append(f"Grouped binomial response {counts.name}: {diagnostics}the "
                              "metrics and curves count each group's successes and failures as "
                              "0/1 rows weighted by their counts.")
    if (~used).any():
        data_obj.notes.append(f"{int((~used).sum())} of {len(df)} rows have missing values in "
                              "the columns the model uses; the metrics and figures use the "
                              f"other {int(used.sum())} rows.")
    return data_obj


def _formula(model, design) -> str | None:
    """The model's formula as written (a mixed model's with its ``(… | g)`` terms)."""
    if is_mixed(model):
        return model.results_.formula
    return None if design is None else design.formula


def is_fitted(model) -> bool:
    """Whether ``model`` is a fitted estimator (scikit-learn's check; a mixed-effects
    model, which is no scikit-learn estimator: its ``results_``)."""
    if model is None:
        return False
    if is_mixed(model):
        return "results_" in vars(model)
    try:
        check_is_fitted(model)
        return True
    except Exception:      # sklearn's NotFittedError
        return False


__all__ = ["ReportData", "is_fitted", "is_mixed", "prepare"]
