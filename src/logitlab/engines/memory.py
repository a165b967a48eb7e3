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
from ..data.validation import check_groups, check_offset, check_sample_weight, check_target
from .summary import DataSummary, Source


class MemorySource(Source):
    """Checked in-memory inputs (see the module docstring).

    X : (n, d) checked design (C-ordered float array or CSR), y : (n,) labels,
    sample_weight, offset, groups as :meth:`LogisticRegression.fit` takes them,
    feature_names : the d column names or None, cov_type : for the clusters.
    """

    engine = "memory"

    def __init__(self, X, y, sample_weight=None, offset=None, groups=None, *,
                 feature_names=None, cov_type="nonrobust"):
        n = X.shape[0]
        self.X = X
        self.group_codes = check_groups(groups, n, cov_type)
        self.classes, self.codes = check_target(y, n)
        self.s = check_sample_weight(sample_weight, n)
        self.offset = check_offset(offset, n, self.classes.size)
        K = self.classes.size
        self.summary = DataSummary(
            n_rows=n, n_features=X.shape[1], feature_names=feature_names,
            classes=self.classes,
            class_counts=np.bincount(self.codes, minlength=K).astype(np.int64),
            class_weight_sums=np.bincount(self.codes, weights=self.s, minlength=K),
            has_offset=self.offset is not None, is_sparse=sp.issparse(X),
            n_groups=None if self.group_codes is None else int(self.group_codes.max()) + 1)

    def weights(self, class_weight) -> np.ndarray:
        """Row weights times their class's weight (the rows' own array when
        every class weight is 1: no n-sized product)."""
        if np.all(class_weight == 1.0):
            return self.s
        return self.s * np.asarray(class_weight, dtype=np.float64)[self.codes]

    def backend(self, family, class_weight, single=False) -> InMemoryData:
        return InMemoryData(self.X, self.codes, self.weights(class_weight), self.offset,
                            family, single=single, groups=self.group_codes)
