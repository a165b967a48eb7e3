"""A small table of named rows and columns, for results that need no pandas.

:class:`LabeledTable` holds the coefficient table of a summary: rows named by
term labels (strings, or ``(class, term)`` tuples for multinomial models),
columns of equal length (float arrays, or object arrays for text). It does the
few things a summary needs (insert a column, set cells by row labels, iterate
rows) and becomes a pandas DataFrame with :meth:`to_frame` when asked, so a fit
and its printed summary never import pandas.
"""

from __future__ import annotations

import numpy as np

from ..core.lazy import pandas as pd


def label_index(labels):
    """A pandas index of term labels (a ("class", "term") MultiIndex for multinomial)."""
    if labels and isinstance(labels[0], tuple):
        return pd.MultiIndex.from_tuples(labels, names=["class", "term"])
    return pd.Index(labels, name="term")


class LabeledTable:
    """Rows ``labels`` (length m) × named columns (each an array of length m)."""

    def __init__(self, labels, columns: dict | None = None):
        self.labels = list(labels)
        self._row = {label: i for i, label in enumerate(self.labels)}
        self.columns: dict = {}
        for name, values in (columns or {}).items():
            self[name] = values

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __setitem__(self, name: str, values) -> None:
        self.columns[name] = self._column(values)

    def _column(self, values) -> np.ndarray:
        if np.isscalar(values) or values is None:
            dtype = object if values is None or isinstance(values, str) else None
            return np.full(len(self), values, dtype=dtype)
        column = np.asarray(values)
        if column.shape != (len(self),):
            raise ValueError(f"a column needs {len(self)} values, got shape {column.shape}")
        return column.copy()

    def insert(self, position: int, name: str, values) -> None:
        """Put the column ``name`` at ``position`` among the columns."""
        items = list(self.columns.items())
        items.insert(position, (name, self._column(values)))
        self.columns = dict(items)

    def position(self, name: str) -> int:
        """The position of the column ``name``."""
        return list(self.columns).index(name)

    def rows_of(self, labels) -> np.ndarray:
        """Row positions of ``labels``."""
        return np.array([self._row[label] for label in labels], dtype=np.intp)

    def set(self, labels, names, values) -> None:
        """Set the cells of rows ``labels`` × columns ``names`` to ``values``
        (a scalar, or an array of shape (len(labels), len(names)))."""
        rows = self.rows_of(labels)
        values = np.broadcast_to(np.asarray(values, dtype=object if isinstance(values, str)
                                            else None), (len(rows), len(names)))
        for j, name in enumerate(names):
            column = self.columns[name]
            if column.dtype != object and values.dtype == object:
                column = self.columns[name] = column.astype(object)
            column[rows] = values[:, j]

    def append(self, other: LabeledTable) -> LabeledTable:
        """The rows of ``self`` followed by those of ``other`` (same columns)."""
        return LabeledTable(self.labels + other.labels,
                            {name: np.concatenate([self[name], other[name]])
                             for name in self.columns})

    def rows(self):
        """``(label, {column: value})`` for each row, in order."""
        names = list(self.columns)
        for i, label in enumerate(self.labels):
            yield label, {name: self.columns[name][i] for name in names}

    def to_frame(self):
        """The table as a pandas DataFrame indexed by :func:`label_index`."""
        return pd.DataFrame(dict(self.columns), index=label_index(self.labels))
