"""The data of a mixed-effects logit formula fit: ``y ~ x + (1 + x | g)`` on a data frame.

:func:`mixed_data` turns a formula with lme4's random-effects terms and a data
frame into what :func:`logitlab.solvers.glmer.fit_glmm` fits:

* the response: 0/1 (bool, numbers, or two labels: the second of the sorted
  labels, or of a Categorical's categories, is the event, as R's factor
  response), ``cbind(successes, failures)`` (proportions, trials as prior
  weights), or proportions with ``weights`` giving the trials;
* the fixed part (everything but the bar terms) through the formula layer
  (:class:`logitlab.data.formula.Design`: ``C()``, interactions, ``scale()``),
  the intercept as a first column ``"(Intercept)"`` as in lme4;
* the random-effects terms (:func:`logitlab.data.random_effects.random_effects_design`);
* prior weights and an offset (column names or arrays), and the missing-value
  rule over every used column (``missing="raise"`` names the column and row;
  ``"drop"`` warns and records the count).

Rank-deficient fixed effects (a column that is a combination of the others)
are dropped with a warning, as glmer drops them ("fixed-effect model matrix is
rank deficient so dropping 1 column").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.lazy import pandas as pd
from ..core.userwarn import warn
from ..data.binomial import binomial_target, cbind_columns, cbind_response
from ..data.formula import (
    Design,
    FormulaError,
    check_response,
    column_uses,
    formula_terms,
    rows_argument,
    split_formula,
)
from ..data.io import check_text_columns, drop_missing_rows
from ..data.random_effects import bar_variables, random_effects_design
from ..data.validation import check_target

__all__ = ["MixedData", "mixed_data", "fixed_matrix", "RankDeficiencyWarning", "has_bars"]


class RankDeficiencyWarning(UserWarning):
    """Fixed-effect columns dropped because they are combinations of the others."""


@dataclass
class MixedData:
    """A mixed-effects formula on its data.

    design : the fixed part's :class:`~logitlab.data.formula.Design`
    random : the :class:`~logitlab.data.random_effects.RandomEffectsDesign`
    X : (n, p) fixed-effects matrix (the intercept first when there is one)
    fixed_names : its p column names (lme4's: ``"(Intercept)"``, formulaic's otherwise)
    dropped : fixed-effect columns dropped as rank deficient
    y : (n,) proportions in [0, 1]; weights : (n,) prior weights (trials × weights)
    offset : (n,) or None
    classes : the two response labels (failure, event) of a label response, or None
    response, formula : as written; n_dropped : rows dropped for missing values
    """
    design: Design
    random: object
    X: np.ndarray
    fixed_names: list
    y: np.ndarray
    weights: np.ndarray
    offset: np.ndarray | None
    response: str
    formula: str
    classes: list | None = None
    dropped: list = field(default_factory=list)
    n_dropped: int = 0
    form: str = "binary"


def has_bars(formula: str) -> bool:
    """Whether a formula's right side has a random-effects term ``(… | g)``."""
    from ..data.random_effects import split_bars
    try:
        _, rhs = split_formula(formula)
    except Exception:                       # the formula's own errors come later
        return False
    try:
        return bool(split_bars(rhs)[1])
    except FormulaError:
        return True                         # a malformed bar: let the mixed path say why


def fixed_matrix(design: Design, data, fixed_names) -> np.ndarray:
    """The fixed-effects matrix (n, p) of new data: the design's columns, with
    a leading column of ones when ``fixed_names`` starts with ``"(Intercept)"``."""
    Xd = design.transform(data)
    cols = [c for c in fixed_names if c != "(Intercept)"]
    X = Xd[cols].to_numpy(np.float64)
    if fixed_names and fixed_names[0] == "(Intercept)":
        X = np.column_stack([np.ones(len(X)), X])
    return X


def _response_values(response, cbind_cols, df, w):
    """(y proportions, prior weights, classes, form) of the response."""
    n = len(df)
    if cbind_cols is not None:
        target = binomial_target(cbind_response(response, df.reset_index(drop=True)), w, n)
        return target.y, target.s, None, "cbind"
    y = df[response]
    if w is not None and y.dtype.kind == "f" and np.any((y > 0) & (y < 1)):
        target = binomial_target(y.to_numpy(np.float64), w, n)
        return target.y, target.s, None, "proportion"
    if isinstance(y.dtype, pd.CategoricalDtype):
        observed = [c for c in y.dtype.categories if c in set(y.tolist())]
        if len(observed) != 2:
            raise ValueError(f"the response {response!r} has {len(observed)} observed levels "
                             f"({observed}); a mixed-effects logit needs two.")
        codes = (y == observed[1]).to_numpy(np.float64)
        classes = observed
    else:
        classes, codes = check_target(y.reset_index(drop=True), n)
        if len(classes) != 2:
            raise ValueError(f"the response {response!r} has {len(classes)} classes "
                             f"({list(classes)[:6]}); a mixed-effects logit needs two "
                             "(0/1, two labels, or cbind(successes, failures)).")
        classes = list(classes)
        codes = np.asarray(codes, dtype=np.float64)
    weights = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    if np.any(~np.isfinite(weights)) or np.any(weights < 0):
        row = int(np.flatnonzero(~np.isfinite(weights) | (weights < 0))[0])
        raise ValueError(f"weights must be finite and non-negative; row {row} has "
                         f"{weights[row]!r}.")
    return codes, weights, classes, "binary"


def _drop_aliased(X: np.ndarray, names: list) -> tuple[np.ndarray, list, list]:
    """Drop columns of X in the span of the earlier ones (pivoted QR, R's rule
    ``|r_jj| < 1e-7 · max |r_jj|``), keeping the earliest columns."""
    from scipy.linalg import qr
    if X.shape[1] == 0:
        return X, names, []
    keep = []
    for j in range(X.shape[1]):
        cand = keep + [j]
        R = qr(X[:, cand], mode="r")[0]
        d = np.abs(np.diag(R))
        if d[-1] > 1e-7 * max(d.max(), 1e-300):
            keep.append(j)
    dropped = [names[j] for j in range(X.shape[1]) if j not in keep]
    return X[:, keep], [names[j] for j in keep], dropped


def mixed_data(formula: str, df, *, weights=None, offset=None, missing: str = "raise",
               unseen: str = "raise") -> MixedData:
    """Check and encode a mixed-effects formula on the data frame ``df``; see
    the module docstring. Raises :class:`~logitlab.data.formula.FormulaError`
    or ``ValueError`` naming what is wrong (a column, a row, a level)."""
    response, rhs = split_formula(formula)
    cbind_cols = cbind_columns(response, df.columns)
    if cbind_cols is None:
        check_response(response, df.columns)
    responses = cbind_cols or [response]
    n = len(df)
    w_col, w = rows_argument(weights, "weights", n, df)
    o_col, o = rows_argument(offset, "offset", n, df)
    fixed_rhs, bars, bar_columns = bar_variables(rhs, df.columns)
    others = [c for c in df.columns if c not in {*responses, w_col, o_col}]
    fixed_rhs, parsed, variables = formula_terms(fixed_rhs, df.columns, others)
    as_is, categorical = column_uses(parsed, df.columns)
    check_text_columns(df, numeric=[c for c in variables if str(c) in as_is],
                       categorical=[c for c in variables if str(c) in categorical],
                       response=response if cbind_cols is None else None,
                       numbers_only={**{c: "cbind count" for c in cbind_cols or ()},
                                     **{c: what for c, what in ((w_col, "weights"),
                                                                (o_col, "offset"))
                                        if c is not None}})
    used = list(dict.fromkeys([*responses, *variables, *bar_columns,
                               *(c for c in (w_col, o_col) if c is not None)]))
    df, (w, o), n_dropped = drop_missing_rows(
        df, used, [("weights", w, w_col), ("offset", o, o_col)], missing)
    df = df.reset_index(drop=True)
    y, prior, classes, form = _response_values(response, cbind_cols, df, w)
    design, Xd = Design.build(fixed_rhs, df[variables], response=response, unseen=unseen,
                              n_rows=n, n_dropped=n_dropped)
    names = (["(Intercept)"] if design.intercept else []) + list(design.columns)
    X = Xd.to_numpy(np.float64)
    if design.intercept:
        X = np.column_stack([np.ones(len(df)), X])
    X, names, dropped = _drop_aliased(X, names)
    if dropped:
        warn(f"fixed-effect model matrix is rank deficient so dropping {len(dropped)} "
             f"column{'s' if len(dropped) > 1 else ''}: {', '.join(dropped)} (a combination of "
             "the others).", RankDeficiencyWarning)
    random = random_effects_design(rhs, df)
    off = None if o is None else np.asarray(o, dtype=np.float64)
    return MixedData(design=design, random=random, X=X, fixed_names=names, y=y, weights=prior,
                     offset=off, response=response, formula=formula, classes=classes,
                     dropped=dropped, n_dropped=n_dropped, form=form)
