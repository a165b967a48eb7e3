"""What an engine tells the fit about the data before any pass of a solver."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class DataSummary:
    """The data, summarized by the engine's input checks (one scan at most).

    n_rows, n_features : the design's shape; feature_names : d names or None
    classes : (K,) sorted labels; class_counts : (K,) rows per class;
    class_weight_sums : (K,) Σ sample_weight per class (before class weights)
    has_offset : offsets were given; is_sparse : X is sparse
    n_groups : number of clusters (cov_type="cluster") or None
    grouped : for a grouped binomial response (``cbind`` or proportions with
        trials, :mod:`logitlab.data.binomial`) its record (form, n_groups,
        log_choose, loglik_saturated); None for class labels
    """

    n_rows: int
    n_features: int
    feature_names: list | None
    classes: np.ndarray
    class_counts: np.ndarray
    class_weight_sums: np.ndarray
    has_offset: bool = False
    is_sparse: bool = False
    n_groups: int | None = None
    grouped: dict | None = None


class Source:
    """An engine's prepared input: its :attr:`summary`, and the data backend for
    a model family (:meth:`backend`). Engines implement this; the fit pipeline
    (:mod:`logitlab.fitting.pipeline`) uses only this."""

    summary: DataSummary
    #: "memory" or "dask"
    engine: str = "memory"

    def backend(self, family, class_weight: np.ndarray, single: bool = False):
        """The rows as a :class:`logitlab.backends.base.DataBackend` for ``family``,
        each row's weight multiplied by its class's ``class_weight`` (K,)."""
        raise NotImplementedError
