"""A prediction explained: contributions → logit → odds → probability.

For row ``x`` of a binary model the logit is the sum of the terms
``β_j x_j`` plus the intercept (plus an offset); the odds are ``e^logit``
and the probability ``sigmoid(logit)``; the decision is ``classes_[1]`` when
the probability exceeds the model's threshold (default 0.5). For K classes every class has
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

from ..core.links import sigmoid, softmax


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


def feature_names(model, d):
    """The model's d feature names (``x0``, ``x1``, ... when it was fitted on arrays)."""
    names = getattr(model, "feature_names_in_", None)
    return [str(n) for n in names] if names is not None else [f"x{j}" for j in range(d)]


def explain_row(model, X, row: int = 0, offset=None) -> Explanation:
    """Explain the prediction of ``model`` for ``X[row]`` step by step."""
    check_is_fitted(model)
    Xv = model.design_matrix(X)
    if not 0 <= row < Xv.shape[0]:
        raise ValueError(f"row {row} is out of range: the data have {Xv.shape[0]} rows.")
    x = np.asarray(Xv[row].toarray()).ravel() if hasattr(Xv, "toarray") else Xv[row]
    x = x.astype(np.float64)
    binary = model.classes_.size == 2
    coef = model.coef_[[0]] if binary else model.coef_
    intercept = model.intercept_[[0]] if binary else model.intercept_
    names = feature_names(model, x.size)
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
        threshold = float(getattr(model, "threshold", 0.5))
        decision = model.classes_[int(p1 > threshold)]
    else:
        probs = softmax(logits)
        decision = model.classes_[int(np.argmax(logits))]
    with np.errstate(over="ignore"):
        odds = np.exp(logits)
    return Explanation(table, model.classes_, logit_classes, logits, odds, probs, decision,
                       float(getattr(model, "threshold", 0.5)))


def explain_frame(model, X, offset=None) -> pd.DataFrame:
    """Explain many rows at once: one row per input row.

    Binary models: one column per feature with its contribution ``β_j x_j``,
    ``(intercept)``, ``(offset)`` when given, then ``logit`` (the exact sum of
    those columns), ``odds``, ``probability`` (of ``classes_[1]``) and
    ``predicted``. Multinomial models: columns ``(class, term)`` for every
    class's contributions and ``(class, "logit")``, then
    ``("probability", class)`` and ``("predicted", "")``.
    """
    first = explain_row(model, X, 0, offset)
    Xv = model.design_matrix(X)
    Xd = Xv.toarray() if hasattr(Xv, "toarray") else np.asarray(Xv, dtype=np.float64)
    binary = model.classes_.size == 2
    coef = model.coef_[[0]] if binary else model.coef_
    intercept = model.intercept_[[0]] if binary else model.intercept_
    classes = first.logit_classes
    off = None if offset is None else np.asarray(offset, dtype=np.float64).reshape(len(Xd), -1)
    parts = {}
    logits = np.empty((len(Xd), len(classes)))
    for k, c in enumerate(classes):
        terms = Xd * coef[k]
        columns = [terms, np.full((len(Xd), 1), intercept[k])]
        if off is not None:
            columns.append(off[:, [min(k, off.shape[1] - 1)]])
        block = np.hstack(columns)
        logits[:, k] = [math.fsum(r) for r in block]
        names = list(first.terms.index)
        for j, name in enumerate(names):
            parts[(str(c), name) if not binary else name] = block[:, j]
        parts[(str(c), "logit") if not binary else "logit"] = logits[:, k]
    if binary:
        parts["odds"] = _exp(logits[:, 0])
        parts["probability"] = sigmoid(logits[:, 0])
        threshold = float(getattr(model, "threshold", 0.5))
        parts["predicted"] = model.classes_[(parts["probability"] > threshold).astype(int)]
    else:
        probs = softmax(logits, axis=1)
        for k, c in enumerate(model.classes_):
            parts[("probability", str(c))] = probs[:, k]
        parts[("predicted", "")] = model.classes_[np.argmax(logits, axis=1)]
    out = pd.DataFrame(parts)
    if not binary:
        out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


def _exp(z):
    with np.errstate(over="ignore"):
        return np.exp(z)
