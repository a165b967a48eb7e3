"""A mixed-effects logit's prediction explained: fixed part + random part → logit → odds → probability.

For row i: the fixed contributions x_ij β_j (the intercept included), then per
random-effects term and column the row's value z_ita times the conditional mode
b̂_{t, level, a} of its level (labelled ``"(Intercept) | herd = 3"``), then the
offset; the logit is their correctly rounded sum (``math.fsum``), the odds e^logit,
the probability logistic(logit), the decision ``classes_[1]`` when it exceeds 0.5.
A level not seen in fitting contributes 0 (its random effect's mean).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.lazy import pandas as pd
from ..core.links import sigmoid
from .explain import Explanation, select_rows

__all__ = ["explain_mixed_row"]


def _random_parts(model, df, row: int) -> list:
    """``(label, z value, z · b̂)`` for every column of every term at ``row``."""
    red, fit = model.random_design_, model.results_.fit
    mats = red.term_matrices(df.iloc[[row]])
    out = []
    for t, (term, b) in enumerate(zip(red.terms, fit.ranef)):
        label = ":".join(str(df.iloc[row][f]) for f in term.factors)
        level = term.levels.index(label) if label in term.levels else None
        for a, column in enumerate(term.columns):
            z = float(mats[t][0, a])
            value = 0.0 if level is None else float(b[level, a])
            suffix = "" if level is not None else " (new level)"
            out.append((f"{column} | {term.group} = {label}{suffix}", z, z * value))
    return out


def explain_mixed_row(model, df, X, row: int = 0, offset=None) -> Explanation:
    """The :class:`~logitlab.results.explain.Explanation` of ``df``'s row ``row``;
    X (n, p) the fixed-effects matrix of ``df``."""
    row = int(select_rows(row, len(df))[0])
    r = model.results_
    x = np.asarray(X)[row]
    names, values, contrib = [], [], []
    for name, xj, bj in zip(r.fixed_names, x, r.params):
        names.append(name)
        values.append(np.nan if name == "(Intercept)" else xj)
        contrib.append(xj * bj)
    for label, z, part in _random_parts(model, df, row):
        names.append(label)
        values.append(z)
        contrib.append(part)
    if offset is not None:
        off = np.asarray(offset, dtype=np.float64).ravel()
        names.append("(offset)")
        values.append(np.nan)
        contrib.append(float(off[row] if off.size > 1 else off[0]))
    event = model.classes_[1]
    table = pd.DataFrame({"value": values, str(event): contrib}, index=names)
    logit = math.fsum(contrib)
    p1 = float(sigmoid(logit))
    with np.errstate(over="ignore"):
        odds = np.exp(np.array([logit]))
    return Explanation(table, model.classes_, [event], np.array([logit]), odds,
                       np.array([1.0 - p1, p1]), model.classes_[int(p1 > 0.5)], 0.5, row)
