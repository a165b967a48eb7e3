"""A prediction explained: contributions → logit → odds → probability.

For row ``x`` of a binary model the logit is the sum of the terms
``β_j x_j`` plus the intercept (plus an offset); the odds are ``e^logit``
and the probability ``sigmoid(logit)``; the decision is ``classes_[1]`` when
the probability exceeds the model's threshold (default 0.5). For K classes every class has
such a sum, the softmax turns the K logits into probabilities and the argmax
decides.

The logit reported is the correctly rounded sum of the listed terms
(``math.fsum``), so the contributions add up to it exactly.

``model.explain(X, rows)``: ``rows`` is an int (one row, an
:class:`Explanation` that prints as a table), or a list / array of ints, a
boolean mask or a slice (a DataFrame as :func:`explain_frame`, indexed by row
position); ``None`` (default) explains every row.
"""

from __future__ import annotations

import html
import math
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from ..core.layout import INTERCEPT, OFFSET
from ..core.links import sigmoid, softmax


@dataclass(repr=False)
class Explanation:
    """One row, step by step; prints as a table (text, and HTML in notebooks).

    Attributes
    ----------
    terms : DataFrame
        Indexed by feature (plus "(Intercept)" / "(offset)"), with columns value
        (x_j) and one contribution column per modelled class.
    logits : ndarray of shape (C,)
        The logit of each modelled class.
    odds : ndarray of shape (C,)
        e^logit (binary: of ``classes_[1]``).
    probabilities : ndarray of shape (K,)
        Over ``classes``.
    decision : label
        The predicted label.
    row : int or None
        The row's position in the data (None when not known).
    """

    terms: pd.DataFrame
    classes: np.ndarray
    logit_classes: list
    logits: np.ndarray
    odds: np.ndarray
    probabilities: np.ndarray
    decision: object
    threshold: float = 0.5
    row: int | None = None

    def _title(self) -> str:
        where = "" if self.row is None else f" of row {self.row}"
        return f"Prediction{where} explained: contributions → logit → odds → probability"

    def _cells(self) -> tuple[list, list, list]:
        """Header, term rows and summary rows, as strings."""
        cols = list(self.terms.columns[1:])
        binary = len(cols) == 1
        header = ["term", "x"] + (["coef × x"] if binary else [f"{c}: coef × x" for c in cols])
        terms = [[str(name), "" if np.isnan(r["value"]) else _num(r["value"]),
                  *[f"{r[c] + 0.0:+.6f}" for c in cols]] for name, r in self.terms.iterrows()]
        summary = [["logit (sum)", "", *[f"{z:+.6f}" for z in self.logits]]]
        if binary:
            summary += [["odds = e^logit", "", _num(self.odds[0])],
                        [f"P({self.logit_classes[0]}) = odds/(1+odds)", "",
                         f"{self.probabilities[1]:.6f}"],
                        [f"decision (P > {self.threshold:g})", "", str(self.decision)]]
        else:
            best = int(np.argmax(self.probabilities))
            summary += [["softmax: P(class)", "", *[f"{p:.6f}" for p in self.probabilities]],
                        ["decision (argmax)", "", *[str(self.decision) if k == best else ""
                                                    for k in range(len(cols))]]]
        return header, terms, summary

    def __str__(self) -> str:
        header, terms, summary = self._cells()
        rows = [header] + terms + summary
        widths = [max(len(r[j]) for r in rows) for j in range(len(header))]

        def line(r):
            return "  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                             for j, (c, w) in enumerate(zip(r, widths))).rstrip()
        rule = "-" * len(line(["-" * w for w in widths]))
        return "\n".join([self._title(), line(header), rule, *map(line, terms), rule,
                          *map(line, summary)])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        header, terms, summary = self._cells()

        def row(cells, tag="td", style=""):
            out = "".join(f'<{tag} style="text-align:{"left" if j == 0 else "right"}">'
                          f"{html.escape(c)}</{tag}>" for j, c in enumerate(cells))
            return f"<tr{style}>{out}</tr>"
        top = ' style="border-top:1px solid currentColor"'
        body = [row(r) for r in terms] + [row(r, style=top if i == 0 else "")
                                          for i, r in enumerate(summary)]
        return (f"<table><caption>{html.escape(self._title())}</caption><thead>"
                f"{row(header, 'th')}</thead><tbody>{''.join(body)}</tbody></table>")


def _num(x) -> str:
    return f"{x:.6g}" if np.isfinite(x) else str(x)


def select_rows(rows, n: int) -> np.ndarray:
    """Positions (0-based) of ``rows`` among ``n``: an int (negative counts from
    the end), a list / array of ints, a boolean mask of length ``n``, or a slice."""
    if isinstance(rows, slice):
        return np.arange(n)[rows]
    if isinstance(rows, (bool, np.bool_)) or not (
            isinstance(rows, numbers.Integral) or np.ndim(rows) == 1):
        raise TypeError(f"rows must be an int, a list of ints, a boolean mask or a slice; got "
                        f"{type(rows).__name__}.")
    arr = np.atleast_1d(np.asarray(rows))
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ValueError(f"a boolean rows mask needs one entry per row ({n}); got {arr.size}.")
        return np.flatnonzero(arr)
    if arr.size and arr.dtype.kind not in "iu":
        raise TypeError(f"rows must be integers (row positions); got {arr.dtype} values.")
    arr = arr.astype(np.intp)
    bad = arr[(arr < -n) | (arr >= n)]
    if bad.size:
        raise ValueError(f"row{'s' if bad.size > 1 else ''} {', '.join(map(str, bad[:5]))} "
                         f"{'are' if bad.size > 1 else 'is'} out of range: the data have {n} "
                         f"rows (0 to {n - 1}, or -1 back to -{n} from the end).")
    return np.where(arr < 0, arr + n, arr)


def feature_names(model, d):
    """The model's d feature names (``x0``, ``x1``, ... when it was fitted on arrays)."""
    names = getattr(model, "feature_names_in_", None)
    return [str(n) for n in names] if names is not None else [f"x{j}" for j in range(d)]


def explain_row(model, X, row: int = 0, offset=None) -> Explanation:
    """Explain the prediction of ``model`` for ``X[row]`` step by step (a
    negative ``row`` counts from the end)."""
    check_is_fitted(model)
    Xv = model.design_matrix(X)
    if isinstance(row, (bool, np.bool_)) or not isinstance(row, numbers.Integral):
        raise TypeError(f"row must be an int (a row position); got {type(row).__name__}.")
    row = int(select_rows(row, Xv.shape[0])[0])          # negative: from the end
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
    table.loc[INTERCEPT] = [np.nan, *intercept]
    if offset is not None:
        off = np.atleast_1d(_offset_rows(offset, Xv.shape[0])[row])
        table.loc[OFFSET] = [np.nan, *np.broadcast_to(off, (len(logit_classes),))]
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
                       float(getattr(model, "threshold", 0.5)), int(row))


def _offset_rows(offset, n: int) -> np.ndarray:
    """The offset as (n,) or (n, K) floats; a scalar applies to every row."""
    off = np.asarray(offset, dtype=np.float64)
    if off.ndim == 0:
        return np.full(n, float(off))
    if off.shape[0] != n:
        raise ValueError(f"offset has {off.shape[0]} rows but X has {n}; they must match.")
    return off


def explain(model, X, rows=None, offset=None):
    """``model.explain``: an :class:`Explanation` for an int ``rows``, else the
    :func:`explain_frame` of the selected rows (all rows for ``None``)."""
    if isinstance(rows, numbers.Integral) and not isinstance(rows, (bool, np.bool_)):
        return explain_row(model, X, rows, offset)
    return explain_frame(model, X, offset, rows=rows)


def explain_frame(model, X, offset=None, rows=None) -> pd.DataFrame:
    """Explain many rows at once: one row per input row (or per selected row
    of ``rows``, see :func:`select_rows`; the index is the row position).

    Binary models: one column per feature with its contribution ``β_j x_j``,
    ``(Intercept)``, ``(offset)`` when given, then ``logit`` (the exact sum of
    those columns), ``odds``, ``probability`` (of ``classes_[1]``) and
    ``predicted``. Multinomial models: columns ``(class, term)`` for every
    class's contributions and ``(class, "logit")``, then
    ``("probability", class)`` and ``("predicted", "")``.
    """
    check_is_fitted(model)
    Xv = model.design_matrix(X)
    Xd = Xv.toarray() if hasattr(Xv, "toarray") else np.asarray(Xv, dtype=np.float64)
    n = Xd.shape[0]
    off = None if offset is None else _offset_rows(offset, n).reshape(n, -1)
    index = None
    if rows is not None:
        index = select_rows(rows, n)
        Xd = Xd[index]
        off = None if off is None else off[index]
    binary = model.classes_.size == 2
    coef = model.coef_[[0]] if binary else model.coef_
    intercept = model.intercept_[[0]] if binary else model.intercept_
    classes = [model.classes_[1]] if binary else list(model.classes_)
    names = feature_names(model, Xd.shape[1]) + [INTERCEPT] + ([OFFSET] if off is not None
                                                              else [])
    parts = {}
    logits = np.empty((len(Xd), len(classes)))
    for k, c in enumerate(classes):
        terms = Xd * coef[k]
        columns = [terms, np.full((len(Xd), 1), intercept[k])]
        if off is not None:
            columns.append(off[:, [min(k, off.shape[1] - 1)]])
        block = np.hstack(columns)
        logits[:, k] = [math.fsum(r) for r in block]
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
    out = pd.DataFrame(parts, index=index)
    if not binary:
        out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


def _exp(z):
    with np.errstate(over="ignore"):
        return np.exp(z)
