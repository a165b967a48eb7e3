"""Data in: tables from files and data-frame libraries, and missing values.

:func:`read_table` turns any supported source into a pandas DataFrame:

* a pandas DataFrame (returned as is), a polars DataFrame, a pyarrow Table,
  or a dict of equally long 1-D arrays;
* a path (``str`` or ``os.PathLike``) to a CSV (``.csv``), tab-separated
  (``.tsv``) — either may be gzip-compressed (``.csv.gz``, ``.tsv.gz``) — or
  Parquet (``.parquet``, ``.pq``) file. The type is taken from the extension.

Every failure is one sentence that names the file: a missing file
(``FileNotFoundError``), a directory or an unreadable file (``OSError``), an
unknown extension, an empty file, a header without rows, malformed text
(``ValueError``) — never a parser traceback. In CSV files, empty fields and
pandas' usual markers (``NA``, ``NaN``, ``null``, ...) are missing values.

:func:`handle_missing` decides what happens to rows with missing values in
the columns a model uses: ``"raise"`` (the default) names every such column
with its count of missing values and its first row; ``"drop"`` removes the
incomplete rows and returns how many it removed, so that a caller can report
it (:func:`logitlab.fit` warns with :class:`MissingValuesWarning`; nothing
is dropped silently). Rows are numbered from 0 in the order of the table.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .validation import to_pandas_if_dataframe

#: file types read_table understands, by (lower-case) extension
CSV_EXTENSIONS = {".csv": ",", ".tsv": "\t", ".csv.gz": ",", ".tsv.gz": "\t"}
PARQUET_EXTENSIONS = (".parquet", ".pq")
SUPPORTED = ".csv, .tsv, .csv.gz, .tsv.gz, .parquet, .pq"
MISSING_OPTIONS = ("raise", "drop")


class MissingValuesWarning(UserWarning):
    """Rows with missing values were dropped (``missing="drop"``)."""


def _file_type(path: Path) -> str:
    name = path.name.lower()
    for ext in sorted(CSV_EXTENSIONS, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    for ext in PARQUET_EXTENSIONS:
        if name.endswith(ext):
            return ext
    suffix = "".join(path.suffixes[-2:]) if path.suffixes else ""
    shown = f"unknown file type {suffix.lower()!r}" if suffix else "no file extension"
    raise ValueError(f"cannot read {str(path)!r}: {shown}; supported file types are "
                     f"{SUPPORTED}.")


def _first_line(err: BaseException) -> str:
    """The first sentence of a reader's message, without parser jargon."""
    text = str(err).strip().splitlines()
    text = text[0] if text else type(err).__name__
    for prefix in ("Error tokenizing data. C error: ", "Error tokenizing data. "):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text.split(". ")[0].rstrip(".")


def _read_csv(path: Path, ext: str) -> pd.DataFrame:
    kind = ("TSV" if ext.startswith(".tsv") else "CSV") + (
        " (gzip-compressed)" if ext.endswith(".gz") else "")
    try:
        return pd.read_csv(path, sep=CSV_EXTENSIONS[ext], compression="infer")
    except pd.errors.EmptyDataError:
        raise ValueError(f"cannot read {str(path)!r}: the file is empty.") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"cannot read {str(path)!r} as {kind}: it is not UTF-8 text "
                         f"(it contains the byte 0x{err.object[err.start]:02x}).") from None
    except (pd.errors.ParserError, ValueError, EOFError, OSError) as err:
        if isinstance(err, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise ValueError(f"cannot read {str(path)!r} as {kind}: {_first_line(err)}.") from None


def _read_parquet(path: Path, columns) -> pd.DataFrame:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a test dependency
        raise ImportError(f"cannot read {str(path)!r}: reading Parquet files needs pyarrow "
                          "(pip install 'logitlab[io]').") from None
    if path.stat().st_size == 0:
        raise ValueError(f"cannot read {str(path)!r}: the file is empty.")
    try:
        schema = pq.read_schema(path)
        present = [c for c in (columns or []) if c in schema.names]
        table = pq.read_table(path, columns=present if columns is not None else None)
    except (OSError, ValueError) as err:   # pyarrow.ArrowInvalid is a ValueError
        if isinstance(err, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise ValueError(f"cannot read {str(path)!r} as Parquet: {_first_line(err)}.") from None
    return table.to_pandas()


def _read_path(path: Path, columns) -> pd.DataFrame:
    ext = _file_type(path)
    if not path.exists():
        raise FileNotFoundError(f"cannot read {str(path)!r}: no such file.")
    if path.is_dir():
        raise IsADirectoryError(f"cannot read {str(path)!r}: it is a directory, not a file.")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"cannot read {str(path)!r}: permission denied.")
    if ext in CSV_EXTENSIONS:
        if path.stat().st_size == 0:
            raise ValueError(f"cannot read {str(path)!r}: the file is empty.")
        df = _read_csv(path, ext)
    else:
        df = _read_parquet(path, columns)
    if len(df) == 0:
        raise ValueError(f"cannot read {str(path)!r}: the file has a header but no data rows.")
    return df


def _from_dict(source: dict) -> pd.DataFrame:
    lengths = {}
    for name, values in source.items():
        if np.ndim(values) != 1:
            raise ValueError(f"column {str(name)!r} of the dict is not one-dimensional "
                             f"(it has {np.ndim(values)} dimensions); give one 1-D array "
                             "per column.")
        lengths[str(name)] = len(values)
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k}: {v}" for k, v in lengths.items())
        raise ValueError(f"the columns of the dict have different lengths ({shown}); "
                         "every column needs one value per row.")
    return pd.DataFrame({k: _column(v) for k, v in source.items()})


def _column(values):
    """A dict entry as a column: pandas keeps its dtype (index dropped, so
    columns line up by position), polars/pyarrow arrays go through pandas."""
    if hasattr(values, "to_pandas") and not isinstance(values, (pd.Series, pd.Index)):
        values = values.to_pandas()
    if isinstance(values, (pd.Series, pd.Index)):
        return pd.Series(values).reset_index(drop=True)
    return values


def read_table(source, *, columns=None) -> pd.DataFrame:
    """Read ``source`` into a pandas DataFrame.

    source : path (str / os.PathLike) to a ``.csv``, ``.tsv``, ``.csv.gz``,
        ``.tsv.gz``, ``.parquet`` or ``.pq`` file, or a pandas DataFrame (returned
        as is), polars DataFrame, pyarrow Table or dict of 1-D arrays.
    columns : optional list of column names to keep (in that order); a name
        the table does not have is a ``ValueError`` that lists the columns it has.
    """
    where = "the data"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        where = repr(str(path))
        df = _read_path(path, columns)
    elif isinstance(source, pd.DataFrame):
        df = source
    elif isinstance(source, dict):
        df = _from_dict(source)
    else:
        df = to_pandas_if_dataframe(source)
        if not isinstance(df, pd.DataFrame):
            raise TypeError("read_table needs a path to a CSV/TSV/Parquet file, a pandas or "
                            "polars DataFrame, a pyarrow Table or a dict of columns; got "
                            f"{type(source).__module__}.{type(source).__name__}.")
    if columns is not None:
        columns = [columns] if isinstance(columns, str) else list(columns)
        absent = [c for c in columns if c not in df.columns]
        if absent:
            raise ValueError(f"{where} has no column {', '.join(map(repr, absent))}; its "
                             f"columns are {', '.join(map(repr, map(str, df.columns)))}.")
        df = df[columns]
    return df


def missing_counts(df: pd.DataFrame, columns) -> list[tuple[str, int, int]]:
    """``(column, number of missing values, first row)`` for every column of
    ``columns`` with missing values (None, NaN, NaT, pd.NA), in that order."""
    out = []
    for name in columns:
        rows = np.flatnonzero(pd.isna(df[name]).to_numpy())
        if rows.size:
            out.append((str(name), int(rows.size), int(rows[0])))
    return out


def describe_missing(counts) -> str:
    """``'age': 3 rows (first row 5), 'race': 1 row (first row 0)``."""
    return ", ".join(f"{name!r}: {n} row{'s' if n != 1 else ''} (first row {first})"
                     for name, n, first in counts)


def handle_missing(df: pd.DataFrame, columns=None, missing: str = "raise"):
    """Check ``columns`` of ``df`` (default: all) for missing values.

    ``missing="raise"``: ``ValueError`` naming each column with missing values,
    its count and its first row (rows numbered from 0). ``missing="drop"``:
    drop the rows with a missing value in any of ``columns``.
    Returns ``(df, n_dropped)``; ``df`` is the input itself when nothing is
    dropped, otherwise the complete rows (index kept).
    """
    if missing not in MISSING_OPTIONS:
        raise ValueError(f"missing must be 'raise' or 'drop'; got {missing!r}.")
    columns = list(df.columns) if columns is None else list(columns)
    absent = [c for c in columns if c not in df.columns]
    if absent:
        raise ValueError(f"the data have no column {', '.join(map(repr, map(str, absent)))}; "
                         f"its columns are {', '.join(map(repr, map(str, df.columns)))}.")
    counts = missing_counts(df, columns)
    if not counts:
        return df, 0
    if missing == "raise":
        n_rows = int(pd.isna(df[columns]).any(axis=1).sum())
        raise ValueError(
            f"missing values in {n_rows} of {len(df)} rows, in {len(counts)} "
            f"column{'s' if len(counts) != 1 else ''}: {describe_missing(counts)}. Drop "
            "those rows (missing='drop') or fill them in first.")
    complete = ~pd.isna(df[columns]).any(axis=1).to_numpy()
    return df.loc[complete], int((~complete).sum())


__all__ = ["read_table", "handle_missing", "missing_counts", "describe_missing",
           "MissingValuesWarning", "SUPPORTED"]
