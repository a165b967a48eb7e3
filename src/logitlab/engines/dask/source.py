"""The Dask engine's source: inputs scanned once, then a :class:`DaskData` backend.

:class:`DaskSource` lines the inputs up partition by partition
(:mod:`logitlab.engines.dask.input`), scans them once (classes, counts,
weights per class, input errors with global row numbers), and builds the
backend of prepared partitions — persisted on the workers when they take at
most :data:`PERSIST_SHARE` of the cluster's memory (``persist="auto"``), else
streamed from the source on every pass.
"""

from __future__ import annotations

import numpy as np

from ...backends.dask import DaskData
from ..summary import DataSummary, Source
from . import input as dask_input
from .client import client_for, cluster_memory, require_dask

#: "auto" persists the prepared partitions when they take at most this share
#: of the cluster's memory; larger data are streamed from the source each pass
PERSIST_SHARE = 0.4


class DaskSource(Source):
    """Inputs on Dask (see the module docstring).

    Either ``X, y, sample_weight, offset, groups`` as ``LogisticRegression.fit``
    takes them (Dask collections, a path, column names), or a prepared
    ``source`` (:class:`logitlab.engines.dask.input.Source`, e.g. a formula's)
    with its ``scanned`` summary. ``ordinal``, ``levels``: the labels are
    ordered levels (an ordinal model; see
    :func:`~logitlab.data.validation.check_ordered_target`).
    """

    engine = "dask"

    def __init__(self, X=None, y=None, sample_weight=None, offset=None, groups=None, *,
                 dtype=None, cov_type="nonrobust", engine_options=None, source=None,
                 scanned=None, ordinal=False, levels=None):
        require_dask()
        self.ordinal, self.levels = ordinal, levels
        self.opts = dict(engine_options or {})
        self.client = client_for(self.opts)
        if source is None:
            n_parts = self.opts.get("n_partitions") or 2 * max(1, len(self.client.nthreads()))
            source = dask_input.source_from_inputs(X, y, sample_weight, offset, groups,
                                                   dtype=dtype, n_partitions=n_parts)
        self.source = source
        self.scanned = self._scan(cov_type) if scanned is None else scanned
        sc = self.scanned
        self.summary = DataSummary(
            n_rows=sc.n_rows, n_features=source.n_features,
            feature_names=None if source.feature_names is None else list(source.feature_names),
            classes=sc.classes, class_counts=sc.class_counts,
            class_weight_sums=sc.class_raw_weight, has_offset="offset" in source.given,
            n_groups=None if sc.group_levels is None else len(sc.group_levels),
            grouped=sc.grouped)

    def _scan(self, cov_type):
        from dask import delayed
        task = delayed(dask_input.scan_part, pure=True)
        check_X = self.source.assembler.formula is None
        with dask_input.naming_bad_files(self.client, self.source.path):
            scans = self.client.compute([task(self.source.assembler, pieces, check_X)
                                         for pieces in self.source.parts], sync=True)
        return dask_input.combine_scans(scans, self.source.feature_names, cov_type,
                                        ordinal=self.ordinal, levels=self.levels)

    def backend(self, family, class_weight, single=False) -> DaskData:
        from dask import delayed
        source, sc = self.source, self.scanned
        spec = dask_input.PrepareSpec(
            classes=sc.classes, class_weight=np.asarray(class_weight, dtype=np.float64),
            dtype=source.dtype, group_levels=sc.group_levels,
            check_X=source.assembler.formula is not None,
            names=tuple(source.feature_names) if source.feature_names else None,
            grouped=sc.grouped is not None)
        task = delayed(dask_input.prepare_part, pure=True)
        blocks = [task(source.assembler, pieces, spec, start)
                  for pieces, start, n in zip(source.parts, sc.starts, sc.counts) if n]
        persist = self.opts.get("persist", "auto")
        if persist == "auto":
            persist = (sc.n_rows * source.nbytes_per_row
                       <= PERSIST_SHARE * cluster_memory(self.client))
        weight_sum = float(np.sum(class_weight * sc.class_raw_weight))
        return DaskData(blocks, family, sc.n_rows, weight_sum, self.client,
                        has_offset="offset" in source.given, persist=persist,
                        has_groups=sc.group_levels is not None)
