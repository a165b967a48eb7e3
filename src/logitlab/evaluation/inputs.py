"""Checking the inputs of :mod:`logitlab.evaluation.metrics`: labels, probabilities, weights.

Every metric takes ``y_true`` (labels of any sortable type, or 0/1),
``proba`` and optional ``sample_weight`` and ``labels``:

* ``proba`` of shape (n,) is P(``labels[1]``) of a binary outcome;
* ``proba`` of shape (n, K) holds one column per class, in ``labels`` order.

``labels`` defaults to the sorted distinct values of ``y_true``; pass it when
``y_true`` does not show every class (e.g. a validation set holding one class).
A binary ``y_true`` holding only 0 (or only 1) with 1-D ``proba`` is read as
``labels=[0, 1]``.

:func:`prepare` turns these into ``(codes, P, w, classes)``: class indices
(n,), probabilities (n, K) (K = 2 for 1-D input), weights (n,) and labels (K,).
Problems raise ``ValueError``/``TypeError`` naming the row and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.validation import check_sample_weight

#: rows of ``proba`` must sum to 1 within this absolute tolerance
SUM_TOL = 1e-6


@dataclass
class Prepared:
    """Checked metric inputs: ``codes`` (n,) into ``classes`` (K,), ``P`` (n, K)
    with rows summing to 1, weights ``w`` (n,) and ``binary_input`` (proba was 1-D)."""

    codes: np.ndarray
    P: np.ndarray
    w: np.ndarray
    classes: np.ndarray
    binary_input: bool

    @property
    def n_classes(self) -> int:
        return int(self.classes.size)

    def onehot(self) -> np.ndarray:
        """(n, K) indicator of the true class."""
        Y = np.zeros_like(self.P)
        Y[np.arange(self.codes.size), self.codes] = 1.0
        return Y


def as_labels(y, what: str = "y_true") -> np.ndarray:
    """A 1-D array of labels without missing values (the row of the first one named)."""
    if isinstance(y, (pd.Series, pd.Index, pd.Categorical)):
        y = pd.Series(y).to_numpy()
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{what} must be one label per row (1-D); got shape {y.shape}.")
    if y.size == 0:
        raise ValueError(f"{what} is empty; metrics need at least one row.")
    missing = np.asarray(pd.isna(y))
    if missing.any():
        rows = np.flatnonzero(missing)
        raise ValueError(f"{what} contains missing values (None/NaN) in {rows.size} rows "
                         f"(first row {rows[0]}); drop those rows first.")
    if y.dtype.kind == "O":
        if len({"str" if isinstance(v, str) else "number" for v in y}) > 1:
            raise TypeError(f"{what} mixes strings and numbers; convert the labels to one type.")
        if all(not isinstance(v, str) for v in y):
            y = np.asarray(y.tolist())
    return y


def check_lengths(n_y: int, n_p: int, what_p: str = "proba") -> None:
    if n_y != n_p:
        raise ValueError(f"y_true has {n_y} entries but {what_p} has {n_p} rows; "
                         "they must have one entry per row.")


def as_proba(proba) -> np.ndarray:
    if isinstance(proba, (pd.DataFrame, pd.Series)):
        proba = proba.to_numpy()
    try:
        P = np.asarray(proba, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("proba must be numeric probabilities.") from None
    if P.ndim == 2 and P.shape[1] == 1:
        P = P[:, 0]
    if P.ndim not in (1, 2):
        raise ValueError(f"proba must be (n,) or (n, K); got shape {P.shape}.")
    return P


def check_proba_values(P: np.ndarray, what: str = "proba") -> None:
    """NaN/inf, values outside [0, 1] and rows not summing to 1, with the first row."""
    rows2 = P.reshape(P.shape[0], -1)
    bad = np.flatnonzero(~np.isfinite(rows2).all(axis=1))
    if bad.size:
        raise ValueError(f"{what} contains NaN or inf in {bad.size} rows (first row {bad[0]}); "
                         "probabilities must be finite numbers in [0, 1].")
    out = np.flatnonzero(((rows2 < 0) | (rows2 > 1)).any(axis=1))
    if out.size:
        i = out[0]
        raise ValueError(f"{what} must lie in [0, 1]; {out.size} rows do not (first row {i}: "
                         f"{rows2[i].tolist()}). Pass probabilities, not logits or scores.")
    if P.ndim == 2:
        sums = P.sum(axis=1)
        off = np.flatnonzero(np.abs(sums - 1.0) > SUM_TOL)
        if off.size:
            i = off[0]
            raise ValueError(f"each row of {what} must sum to 1; {off.size} rows do not (first "
                             f"row {i} sums to {sums[i]:.10g}). Pass predict_proba output with "
                             "one column per class.")


def _classes(y, labels, n_cols: int, binary_input: bool) -> np.ndarray:
    if labels is not None:
        classes = np.asarray(labels)
        if classes.ndim != 1 or pd.unique(classes).size != classes.size:
            raise ValueError(f"labels must be a list of distinct labels; got {list(classes)}.")
        if classes.size != n_cols:
            raise ValueError(f"labels has {classes.size} entries but proba has {n_cols} "
                             "columns; give one label per column"
                             + (" (1-D proba means 2 classes)." if binary_input else "."))
        return classes
    classes = np.unique(y)
    if classes.size == n_cols:
        return classes
    if binary_input and classes.size == 1 and y.dtype.kind in "biuf" and classes[0] in (0, 1):
        return np.array([False, True]) if y.dtype.kind == "b" else np.array([0, 1], dtype=y.dtype)
    if (not binary_input and y.dtype.kind in "iu" and classes.size < n_cols
            and classes.min() >= 0 and classes.max() < n_cols):
        return np.arange(n_cols, dtype=y.dtype)
    raise ValueError(f"y_true has {classes.size} distinct labels {classes.tolist()[:10]} but proba "
                     f"has {n_cols} columns" + (" (1-D proba means 2 classes)" if binary_input
                                               else "") + "; pass labels=[...] in column order.")


def encode(y: np.ndarray, classes: np.ndarray, what: str = "y_true") -> np.ndarray:
    """Index of each label in ``classes``; unknown labels raise naming the first row."""
    order = np.argsort(classes, kind="stable")
    try:
        pos = np.searchsorted(classes[order], y)
    except TypeError:
        raise TypeError(f"{what} labels and labels {classes.tolist()} are of different "
                        "types.") from None
    pos = np.clip(pos, 0, classes.size - 1)
    found = classes[order][pos] == y
    found = np.asarray(found, dtype=bool).reshape(y.shape)
    if not found.all():
        rows = np.flatnonzero(~found)
        unknown = pd.unique(y[rows]).tolist()
        raise ValueError(f"{what} contains labels not in labels={classes.tolist()}: "
                         f"{unknown[:5]} ({rows.size} rows, first row {rows[0]}).")
    return order[pos].astype(np.intp)


def weights(sample_weight, n: int) -> np.ndarray:
    """Checked weights (n,), ones by default (see validation.check_sample_weight)."""
    if sample_weight is not None:
        sw = np.asarray(sample_weight)
        if sw.ndim == 1 and sw.shape[0] != n:
            raise ValueError(f"sample_weight has {sw.shape[0]} entries but y_true has {n} "
                             "rows; give one weight per row.")
    return check_sample_weight(sample_weight, n)


def prepare(y_true, proba, sample_weight=None, labels=None) -> Prepared:
    """Check the metric inputs; see the module docstring."""
    y = as_labels(y_true)
    P = as_proba(proba)
    check_lengths(y.shape[0], P.shape[0])
    check_proba_values(P)
    binary_input = P.ndim == 1
    classes = _classes(y, labels, 2 if binary_input else P.shape[1], binary_input)
    if classes.size < 2:
        raise ValueError("proba has a single column; give at least 2 classes (or a 1-D proba "
                         "of P(class 1) for a binary outcome).")
    codes = encode(y, classes)
    if binary_input:
        P = np.column_stack([1.0 - P, P])
    return Prepared(codes, P, weights(sample_weight, y.shape[0]), classes, binary_input)


def binary_score(y_true, score, sample_weight=None, pos_label=None):
    """``(y01, score, w)`` for a binary curve: ``y01`` is 1 for ``pos_label``
    (default: the larger of the two labels). ``score`` is any real number."""
    y = as_labels(y_true)
    s = np.asarray(score.to_numpy() if hasattr(score, "to_numpy") else score, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"score must be 1-D (one score per row); got shape {s.shape}.")
    check_lengths(y.shape[0], s.shape[0], "score")
    bad = np.flatnonzero(~np.isfinite(s))
    if bad.size:
        raise ValueError(f"score contains NaN or inf in {bad.size} rows (first row {bad[0]}).")
    classes = np.unique(y)
    if classes.size > 2:
        raise ValueError(f"y_true must be binary here; it has {classes.size} labels "
                         f"{classes.tolist()[:10]}. For K classes use one-vs-rest: y_true == k.")
    if pos_label is None:
        if classes.size == 1 and not (y.dtype.kind in "biuf" and classes[0] in (0, 1)):
            raise ValueError(f"y_true holds one label ({classes[0]!r}); pass pos_label=.")
        pos_label = classes[-1] if classes.size == 2 or classes[0] == 1 else 1
    y01 = (y == pos_label).astype(np.float64)
    return y01, s, weights(sample_weight, y.shape[0])
