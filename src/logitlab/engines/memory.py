"""The in-memory engine: NumPy / SciPy arrays on this machine's threads.

:class:`MemorySource` checks the inputs once (:mod:`logitlab.data.validation`:
X already checked by the estimator, labels, weights, offsets, clusters) and
builds an :class:`~logitlab.backends.memory.InMemoryData` backend for the
fit's model family.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..backends.memory import InMemoryData
from ..data.binomial import binomial_target
from ..data.validation import (check_groups, check_offset, check_ordered_target,
                               check_sample_weight, check_strata, check_target)
from .summary import DataSummary, Source


class MemorySource(Source):
    """Checked in-memory inputs (see the module docstring).

    X : (n, d) checked design (C-ordered float array or CSR), y : (n,) labels,
    proportions in [0, 1] (with the trials as ``sample_weight``) or a
    :class:`~logitlab.data.binomial.GroupedResponse` (``cbind``): a grouped
    binomial response is fitted as the binary family with fractional labels
    ``y`` and the trials as weights (classes 0 and 1); sample_weight, offset,
    groups as :meth:`LogisticRegression.fit` takes them,
    feature_names : the d column names or None, cov_type : for the clusters.
    ordinal : the labels are ordered categories (an ordinal model), in the
    order of ``levels`` (or of an ordered Categorical, or numeric order; see
    :func:`~logitlab.data.validation.check_ordered_target`); its offset is one
    per row. strata : (n,) stratum labels of a conditional logit: the rows are
    sorted by stratum (``order`` maps the sorted rows to the input's), each row's
    label becomes ``(case, stratum code)`` and blocks hold whole strata.
    """

    engine = "memory"

    def __init__(self, X, y, sample_weight=None, offset=None, groups=None, *,
                 feature_names=None, cov_type="nonrobust", ordinal=False, levels=None,
                 strata=None):
        n = X.shape[0]
        self.X = X
        self.group_codes = check_groups(groups, n, cov_type)
        self.cuts = self.order = None
        target = None if ordinal or strata is not None else binomial_target(y, sample_weight, n)
        if ordinal:
            self.classes, self.codes = check_ordered_target(y, n, levels)
            self.s = check_sample_weight(sample_weight, n)
            counts, sums = class_sums(self.codes, self.s, self.classes.size)
        elif target is None:
            self.classes, self.codes = check_target(y, n)
            self.s = check_sample_weight(sample_weight, n)
            counts, sums = class_sums(self.codes, self.s, self.classes.size)
        else:          # fractional labels: the codes are the proportions themselves
            self.classes, self.codes, self.s = np.array([0, 1]), target.y, target.s
            counts, sums = grouped_sums(target.y, target.s)
        self.offset = check_offset(offset, n, 2 if ordinal or strata is not None
                                   else self.classes.size)
        if strata is not None:
            self._by_strata(strata, n)
        self.summary = DataSummary(
            n_rows=n, n_features=X.shape[1], feature_names=feature_names,
            classes=self.classes, class_counts=counts, class_weight_sums=sums,
            has_offset=self.offset is not None, is_sparse=sp.issparse(X),
            n_groups=None if self.group_codes is None else int(self.group_codes.max()) + 1,
            grouped=None if target is None else target.record())

    def _by_strata(self, strata, n: int) -> None:
        """Sort the rows by stratum and make each row's label (case, stratum code)."""
        if self.classes.size != 2:
            raise ValueError(f"a conditional logit needs a 0/1 (case / control) outcome; y has "
                             f"{self.classes.size} classes ({self.classes.tolist()[:5]}...).")
        codes, self.n_strata = check_strata(strata, n)
        self.order = np.argsort(codes, kind="stable")
        sorted_codes = codes[self.order]
        self.cuts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        case = np.asarray(self.codes, dtype=np.int64)
        cases = np.bincount(codes, weights=case, minlength=self.n_strata)
        sizes = np.bincount(codes, minlength=self.n_strata)
        if not np.any((cases > 0) & (cases < sizes)):
            raise ValueError("no stratum has both a case and a control: the conditional "
                             "likelihood carries no information. Check the strata and the "
                             "case column (1 = case, 0 = control).")
        self.X = self.X[self.order]
        self.codes = np.column_stack([np.asarray(self.codes, dtype=np.int64)[self.order],
                                      sorted_codes]).astype(np.int64)
        self.s = np.asarray(self.s)[self.order] if self.s.strides != (0,) else self.s
        if self.offset is not None:
            self.offset = self.offset[self.order]

    def weights(self, class_weight) -> np.ndarray:
        """Row weights times their class's weight (the rows' own array when
        every class weight is 1: no n-sized product)."""
        if np.all(class_weight == 1.0):
            return self.s
        return self.s * np.asarray(class_weight, dtype=np.float64)[
            self.codes if self.codes.ndim == 1 else self.codes[:, 0]]

    def backend(self, family, class_weight, single=False) -> InMemoryData:
        return InMemoryData(self.X, self.codes, self.weights(class_weight), self.offset,
                            family, single=single, groups=self.group_codes, cuts=self.cuts)


def grouped_sums(y, s) -> tuple:
    """``(rows with failures, rows with successes)`` among rows of positive
    weight, and ``(Σ s (1 − y), Σ s y)``: the class totals of fractional labels."""
    live = s > 0
    counts = np.array([np.count_nonzero(live & (y < 1)), np.count_nonzero(live & (y > 0))],
                      dtype=np.int64)
    one = float(np.dot(s, y))
    return counts, np.array([float(np.sum(s)) - one, one])


def class_sums(codes, s, K: int) -> tuple:
    """``(rows per class, Σ s per class)`` without n-sized temporaries: two-class
    codes are int8 0/1 (counted as they are), unit weights a stride-0 view."""
    n = codes.shape[0]
    if K == 2:
        n1 = int(np.count_nonzero(codes))
        counts = np.array([n - n1, n1], dtype=np.int64)
    else:
        counts = np.bincount(codes, minlength=K).astype(np.int64)
    if s.strides == (0,):                                  # one weight for every row
        return counts, counts * float(s[0]) if n else np.zeros(K)
    if K == 2:
        total = float(np.sum(s))
        one = float(np.sum(s, where=codes.view(np.bool_)))
        return counts, np.array([total - one, one])
    return counts, np.bincount(codes, weights=s, minlength=K)
