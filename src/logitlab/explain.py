"""A prediction explained: contributions → logit → odds → probability.

For row ``x`` of a binary model the logit is the sum of the terms
``β_j x_j`` plus the intercept (plus an offset); the odds are ``e^logit``
and the probability ``sigmoid(logit)``; the decision is ``classes_[1]`` when
the probability exceeds the threshold (0.5). For K classes every class has
such a sum, the softmax turns the K logits into probabilities and the argmax
decides.

The logit reported is the correctly rounded sum of the listed terms
(``math.fsum``), so the contributions add up to it exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from .links import sigmoid, softmax
from .validation import check_X


@dataclass
class Explanation:
    """One row, step by step.

    terms : DataFrame indexed by feature (plus "(intercept)"/"(offset)") with
        columns value (x_j) and one contribution column per modelled class.
    logits : (C,) per class; odds : (C,) e^logit (binary: of classes_[1]);
    probabilities : (K,) over ``classes``; decision : predicted label.
    """

    terms: pd.DataFrame
    classes: np.ndarray
    logit_classes: list
    logits: np.ndarray
    odds: np.ndarray
    probabilities: np.ndarray
    decision: object
    threshold: float = 0.5


def _feature_names(model, d):
    names = getattr(model, "feature_names_in_", None)
    return [str(n) for n in names] if names is not None else [f"x{j}" for j in range(d)]


def explain_row(model, X, row: int = 0, offset=None) -> Explanation:
    """Explain the prediction of ``model`` for ``X[row]`` step by step."""
    check_is_fitted(model)
    X, min_features = model._design_input(X)
    Xv = check_X(model, X, reset=False, min_features=min_features)
    if not 0 <= row < Xv.shape[0]:
        raise ValueError(f"row {row} is out of range: the data have {Xv.shape[0]} rows.")
    x = np.asarray(Xv[row].toarray()).ravel() if hasattr(Xv, "toarray") else Xv[row]
    x = x.astype(np.float64)
    binary = model.classes_.size == 2
    coef = model.coef_[[0]] if binary else model.coef_
    intercept = model.intercept_[[0]] if binary else model.intercept_
    names = _feature_names(model, x.size)
    contrib = x[None, :] * coef                                   # (C, d)
    logit_classes = [model.classes_[1]] if binary else list(model.classes_)
    table = pd.DataFrame(contrib.T, index=names, columns=[str(c) for c in logit_classes])
    table.insert(0, "value", x)
    table.loc["(intercept)"] = [np.nan, *intercept]
    if offset is not None:
        off = np.atleast_1d(np.asarray(offset, dtype=np.float64)[row])
        table.loc["(offset)"] = [np.nan, *np.broadcast_to(off, (len(logit_classes),))]
    cols = table.columns[1:]
    logits = np.array([math.fsum(table[c].to_numpy()) for c in cols])
    if binary:
        p1 = float(sigmoid(logits[0]))
        probs = np.array([float(sigmoid(-logits[0])), p1])
        decision = model.classes_[int(p1 > 0.5)]
    else:
        probs = softmax(logits)
        decision = model.classes_[int(np.argmax(logits))]
    with np.errstate(over="ignore"):
        odds = np.exp(logits)
    return Explanation(table, model.classes_, logit_classes, logits, odds, probs, decision)
