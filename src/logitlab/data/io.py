"""Data in: tables from files and data-frame libraries, and missing values.

:func:`read_table` turns any supported source into a pandas DataFrame:

* a pandas DataFrame (returned as is), a polars DataFrame, a pyarrow Table,
  or a dict of equally long 1-D arrays;
* a path (``str`` or ``os.PathLike``) to a CSV (``.csv``), tab-separated
  (``.tsv``) — either may be gzip-compressed (``.csv.gz``, ``.tsv.gz``) — or
  Parquet (``.parquet``, ``.pq``) file. The type is taken from the extension;
  ``sep=`` overrides the delimiter of a CSV / TSV file.

Every failure is one sentence that names the file: a missing file
(``FileNotFoundError``), a directory or an unreadable file (``OSError``), an
unknown extension, an empty file, a header without rows, malformed text, a
damaged gzip stream, a header naming a column twice, rows with more fields
than the header, a file that reads as one column while its header holds
another delimiter (with the ``sep=`` to try) (``ValueError``) — never a parser
traceback.

Missing values in CSV / TSV files are, as in R's ``read.csv``, the empty field
and ``NA`` (``na_values=`` replaces that list); any other text — ``None``,
``null``, ``n/a`` — is a value. A text column whose values are all numbers
once ``NaN`` / ``Inf`` spellings are read as numbers becomes a float column (R
reads them so). The table's ``attrs["logitlab_source"]`` records the file and
its missing values per column, from which :func:`missing_texts` tells which
texts of the file were read as missing and how often, so that the
missing-value messages can say it.

:func:`handle_missing` decides what happens to rows with missing values in
the columns a model uses: ``"raise"`` (the default) names every such column
with its count of missing values and its first row (and the texts read as
missing); ``"drop"`` removes the incomplete rows and returns how many it
removed, so that a caller can report it (:func:`logitlab.fit` warns with
:class:`MissingValuesWarning`; nothing is dropped silently). Rows are
numbered from 0 in the order of the table.

:func:`check_text_columns` holds the rules for text columns a model uses: a
column of numbers with a few text entries (a typo such as ``thirteen``) is an
error naming the rows and values, not a factor with a level per number; and
levels that differ only by surrounding spaces or case are an error, not extra
levels. Messages spell options as the caller gives them: ``missing='drop'``
from Python, ``--missing drop`` from the command line (:func:`cli_wording`).
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import gzip
import os
import re
import shlex
import warnings
import zlib
from pathlib import Path

import numpy as np
from ..core.lazy import pandas as pd
from ..core.userwarn import warn

from .validation import describe_variants, label_variants, to_pandas_if_dataframe

#: file types read_table understands, by (lower-case) extension
CSV_EXTENSIONS = {".csv": ",", ".tsv": "\t", ".csv.gz": ",", ".tsv.gz": "\t"}
PARQUET_EXTENSIONS = (".parquet", ".pq")
#: the file extensions ``read_table`` reads, as its error messages list them
SUPPORTED = ".csv, .tsv, .csv.gz, .tsv.gz, .parquet, .pq"
MISSING_OPTIONS = ("raise", "drop")
#: texts of a CSV / TSV file read as missing unless ``na_values=`` says otherwise (R's read.csv)
DEFAULT_NA_VALUES = ("", "NA")
#: delimiters a header is searched for when a file reads as one column
DELIMITERS = (",", ";", "\t", "|")
_MAX_LISTED = 5
#: a number as text: decimal, scientific, or a NaN / Inf spelling (as R's read.csv reads them)
_NUMBER = re.compile(r"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)\s*",
                     re.IGNORECASE)


class MissingValuesWarning(UserWarning):
    """Rows with missing values were dropped (``missing="drop"``)."""


# --------------------------------------------------- options as the user writes them
_CLI_WORDING = contextvars.ContextVar("logitlab_cli_wording", default=False)
_NO_VALUE = object()


@contextlib.contextmanager
def cli_wording():
    """Within this context, messages name options as command-line flags."""
    token = _CLI_WORDING.set(True)
    try:
        yield
    finally:
        _CLI_WORDING.reset(token)


def option(name: str, value=_NO_VALUE) -> str:
    """An option as the user gives it: ``missing='drop'`` from Python,
    ``--missing drop`` on the command line (inside :func:`cli_wording`)."""
    if not _CLI_WORDING.get():
        return name if value is _NO_VALUE else f"{name}={value!r}"
    flag = "--" + name.replace("_", "-")
    if value is _NO_VALUE:
        return flag
    text = "'\\t'" if value == "\t" else shlex.quote(str(value))
    return f"{flag} {text}"


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


def _na_markers(na_values) -> tuple[str, ...]:
    """``na_values`` as a tuple of texts (None: :data:`DEFAULT_NA_VALUES`)."""
    if na_values is None:
        return DEFAULT_NA_VALUES
    markers = (na_values,) if isinstance(na_values, str) else na_values
    try:
        markers = tuple(markers)
    except TypeError:
        markers = None
    if markers is None or not all(isinstance(m, str) for m in markers):
        raise TypeError(f"na_values must be a text or a list of texts (e.g. ['', 'NA', "
                        f"'None']); got {na_values!r}.")
    return markers


def _delimiter(sep) -> str | None:
    """``sep`` as one character (``'\\t'`` and ``'tab'`` mean a tab), or None."""
    if sep is None:
        return None
    text = {"\\t": "\t", "tab": "\t"}.get(sep, sep) if isinstance(sep, str) else sep
    if not isinstance(text, str) or len(text) != 1 or text in "\n\r\"":
        raise ValueError(f"{option('sep')} must be one character such as ',', ';', '|' or "
                         f"'\\t' (a tab); got {sep!r}.")
    return text


def _header(path: Path, ext: str, sep: str) -> list[str]:
    """The fields of the first non-blank record of a CSV / TSV file, as written."""
    opener = gzip.open if ext.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as f:
        for record in csv.reader(f, delimiter=sep):
            if any(field.strip() for field in record):
                return record
    return []


def _sep_hint(header_text: str, sep: str) -> str:
    """``"the header contains ';': try sep=';'"`` for the first other delimiter
    the header holds, else ``""``."""
    for candidate in DELIMITERS:
        if candidate != sep and candidate in header_text:
            shown = "'\\t' (a tab)" if candidate == "\t" else repr(candidate)
            return f"the header contains {shown}: try {option('sep', candidate)}"
    return ""


def _parse_error_hint(path: Path, ext: str, sep: str, sep_given: bool) -> str:
    if sep_given:
        return ""
    try:
        return _sep_hint(sep.join(_header(path, ext, sep)), sep)
    except Exception:  # the file is unreadable anyway: the parser's error says why
        return ""


def _read_csv(path: Path, ext: str, sep, na_values) -> pd.DataFrame:
    kind = ("TSV" if ext.startswith(".tsv") else "CSV") + (
        " (gzip-compressed)" if ext.endswith(".gz") else "")
    sep_given = sep is not None
    options = csv_options(ext, na_values, sep)
    sep = options["sep"]
    try:
        with warnings.catch_warnings():
            # rows longer than the header: pandas would make their first fields an index
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(path, compression="infer", index_col=False, **options)
        header = _header(path, ext, sep)
    except pd.errors.ParserWarning:
        hint = _parse_error_hint(path, ext, sep, sep_given)
        raise ValueError(f"cannot read {str(path)!r} as {kind}: its rows have more fields than "
                         f"the header names{'; ' + hint if hint else ''}. Name every column in "
                         "the header, or remove the delimiters at the ends of the rows.") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"cannot read {str(path)!r}: the file is empty.") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"cannot read {str(path)!r} as {kind}: it is not UTF-8 text "
                         f"(it contains the byte 0x{err.object[err.start]:02x}).") from None
    except zlib.error as err:
        raise ValueError(f"cannot read {str(path)!r} as {kind}: the compressed data are "
                         f"damaged ({_first_line(err)}).") from None
    except (pd.errors.ParserError, ValueError, EOFError, OSError, csv.Error) as err:
        if isinstance(err, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        hint = _parse_error_hint(path, ext, sep, sep_given)
        raise ValueError(f"cannot read {str(path)!r} as {kind}: {_first_line(err)}"
                         f"{'; ' + hint if hint else ''}.") from None
    _check_header(path, kind, header, df, sep, sep_given)
    df = _numbers_from_text(df)
    _remember_source(df, path, options)
    return df


def csv_options(ext: str, na_values=None, sep=None) -> dict:
    """The ``pandas.read_csv`` options of logitlab's reading rules (also for
    ``dask.dataframe.read_csv``): the delimiter (``sep`` or the extension's)
    and the missing-value markers (``na_values``, default :data:`DEFAULT_NA_VALUES`)."""
    markers = _na_markers(na_values)
    delimiter = _delimiter(sep)
    return {"sep": CSV_EXTENSIONS[ext] if delimiter is None else delimiter,
            "keep_default_na": False, "na_values": list(markers), "na_filter": bool(markers)}


def check_header_names(path, header) -> None:
    """Refuse a header naming a column twice (pandas would silently rename the
    second ``x.1``)."""
    named = [h for h in header if h != ""]
    twice = {h: named.count(h) for h in dict.fromkeys(named) if named.count(h) > 1}
    if twice:
        shown = ", ".join(f"{h!r} ({n} times)" for h, n in twice.items())
        raise ValueError(f"cannot read {str(path)!r}: the header names the same column more "
                         f"than once: {shown}; give every column its own name.")


def check_csv_header(path, ext: str, sep: str) -> None:
    """:func:`check_header_names` on the header of a CSV / TSV file."""
    try:
        header = _header(Path(path), ext, sep)
    except (OSError, EOFError, zlib.error, csv.Error) as err:
        raise ValueError(f"cannot read {str(path)!r}: {_first_line(err)}.") from None
    check_header_names(path, header)


def _check_header(path, kind, header, df, sep, sep_given) -> None:
    """Refuse a header naming a column twice, and a file read as one column
    whose header holds another delimiter."""
    check_header_names(path, header)
    if df.shape[1] == 1 and not sep_given:
        hint = _sep_hint(str(df.columns[0]), sep)
        if hint:
            raise ValueError(f"cannot read {str(path)!r} as {kind}: it reads as one column "
                             f"named {str(df.columns[0])!r}, and {hint}.")


def _is_text(series: pd.Series) -> bool:
    dtype = series.dtype
    return dtype == np.dtype(object) or isinstance(dtype, pd.StringDtype)


def _is_number(value) -> bool:
    if isinstance(value, str):
        return _NUMBER.fullmatch(value) is not None
    return isinstance(value, (int, float, np.integer, np.floating)) and \
        not isinstance(value, (bool, np.bool_))


def _number_mask(values) -> np.ndarray:
    """Which of ``values`` (texts, or numbers held in a text column) are
    numbers (texts: as :data:`_NUMBER` reads them)."""
    return np.fromiter((_is_number(v) for v in values), dtype=bool, count=len(values))


def _numbers_from_text(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns whose every value reads as a number (pandas leaves a column
    holding ``NaN`` or ``Infinity`` as text) as float64 columns."""
    converted = {}
    for name in df.columns:
        column = df[name]
        if not _is_text(column):
            continue
        head = column.head(1000).dropna().to_numpy(dtype=object)
        if not _number_mask(head).all():     # the usual text column: one look suffices
            continue
        codes, uniques = pd.factorize(column)
        uniques = np.asarray(uniques, dtype=object)
        if uniques.size == 0 or not _number_mask(uniques).all():
            continue
        floats = np.array([float(u) for u in uniques], dtype=np.float64)  # correctly rounded
        converted[name] = np.where(codes < 0, np.nan, floats[np.maximum(codes, 0)])
    if converted:
        df = df.copy()
        for name, values in converted.items():
            df[name] = values
    return df


def _remember_source(df: pd.DataFrame, path: Path, options: dict) -> None:
    """Record in ``df.attrs["logitlab_source"]`` where the table came from and
    how many missing values each column had, for :func:`missing_texts`."""
    holes = {str(c): int(n) for c, n in pd.isna(df).sum().items() if n}
    df.attrs["logitlab_source"] = {"path": str(path), "sep": options["sep"],
                                   "na_values": list(options["na_values"]),
                                   "rows": len(df), "holes": holes}


def missing_texts(df: pd.DataFrame, columns) -> dict:
    """``{column: {text: count}}``: for a table read from a CSV / TSV file by
    :func:`read_table`, the texts of the file read as missing in ``columns``
    (read again from the file, those columns only). Columns whose missing
    values changed since reading, and tables not read from a file, give none."""
    source = df.attrs.get("logitlab_source")
    if not source or len(df) != source["rows"]:
        return {}
    holes = source["holes"]
    wanted = [str(c) for c in columns if str(c) in holes and str(c) in df.columns
              and int(pd.isna(df[str(c)]).sum()) == holes[str(c)]]
    if not wanted:
        return {}
    try:
        raw = pd.read_csv(source["path"], sep=source["sep"], compression="infer",
                          usecols=wanted, dtype=str, keep_default_na=False, na_filter=False)
    except Exception:   # the file changed or went away: the message goes without the texts
        return {}
    if len(raw) != len(df):
        return {}
    out = {}
    for name in wanted:
        texts = raw[name].to_numpy()[pd.isna(df[name]).to_numpy()]
        counts = pd.Series(texts, dtype=object).value_counts(sort=True)
        out[name] = {str(t): int(n) for t, n in counts.items()}
    return out


def read_na_values(df: pd.DataFrame):
    """The missing-value markers a table was read with (None: not from a file)."""
    source = df.attrs.get("logitlab_source")
    return None if not source else list(source["na_values"])


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
        check_header_names(path, schema.names)
        present = [c for c in (columns or []) if c in schema.names]
        table = pq.read_table(path, columns=present if columns is not None else None)
    except (OSError, ValueError) as err:   # pyarrow.ArrowInvalid is a ValueError
        if isinstance(err, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise ValueError(f"cannot read {str(path)!r} as Parquet: {_first_line(err)}.") from None
    return table.to_pandas()


def refuse_text_options(path, na_values, sep) -> None:
    """``sep`` / ``na_values`` given for a Parquet file: an error, not ignored."""
    if sep is not None or na_values is not None:
        given = " and ".join(option(o) for o, v in (("sep", sep), ("na_values", na_values))
                             if v is not None)
        raise ValueError(f"cannot read {str(path)!r} with {given}: they apply to CSV / TSV "
                         "files; a Parquet file has its own columns and missing values.")


def _read_path(path: Path, columns, sep, na_values) -> pd.DataFrame:
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
        df = _read_csv(path, ext, sep, na_values)
    else:
        refuse_text_options(path, na_values, sep)
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


def read_table(source, *, columns=None, na_values=None, sep=None) -> pd.DataFrame:
    """Read ``source`` into a pandas DataFrame.

    source : path (str / os.PathLike) to a ``.csv``, ``.tsv``, ``.csv.gz``,
        ``.tsv.gz``, ``.parquet`` or ``.pq`` file, or a pandas DataFrame (returned
        as is), polars DataFrame, pyarrow Table or dict of 1-D arrays.
    columns : optional list of column names to keep (in that order); a name
        the table does not have is a ``ValueError`` that lists the columns it has.
    na_values : texts of a CSV / TSV file that mean missing (default ``""`` and
        ``"NA"``, as R's ``read.csv``); a list replaces the default.
    sep : the delimiter of a CSV / TSV file (one character; ``"\\t"`` for a tab),
        instead of the one its extension implies.

    A table naming a column twice is a ``ValueError`` (every source).
    """
    where = "the data"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        where = repr(str(path))
        df = _read_path(path, columns, sep, na_values)
    else:
        if sep is not None or na_values is not None:
            raise ValueError(f"{option('sep')} and {option('na_values')} apply when the data "
                             "are a CSV / TSV file; this data are already a table.")
        if isinstance(source, pd.DataFrame):
            df = source
        elif isinstance(source, dict):
            df = _from_dict(source)
        else:
            df = to_pandas_if_dataframe(source)
            if not isinstance(df, pd.DataFrame):
                raise TypeError("read_table needs a path to a CSV/TSV/Parquet file, a pandas "
                                "or polars DataFrame, a pyarrow Table or a dict of columns; "
                                f"got {type(source).__module__}.{type(source).__name__}.")
    _check_unique_names(df, where)
    if columns is not None:
        columns = [columns] if isinstance(columns, str) else list(columns)
        absent = [c for c in columns if c not in df.columns]
        if absent:
            raise ValueError(f"{where} has no column {', '.join(map(repr, absent))}; its "
                             f"columns are {', '.join(map(repr, map(str, df.columns)))}.")
        df = df[columns]
    return df


def _check_unique_names(df: pd.DataFrame, where: str) -> None:
    names = [str(c) for c in df.columns]
    twice = {n: names.count(n) for n in dict.fromkeys(names) if names.count(n) > 1}
    if twice:
        shown = ", ".join(f"{n!r} ({k} times)" for n, k in twice.items())
        raise ValueError(f"{where} {'have' if where == 'the data' else 'has'} the same column "
                         f"name more than once: {shown}; give every column its own name.")


def missing_counts(df: pd.DataFrame, columns) -> list[tuple[str, int, int]]:
    """``(column, number of missing values, first row)`` for every column of
    ``columns`` with missing values (None, NaN, NaT, pd.NA), in that order."""
    out = []
    for name in columns:
        rows = np.flatnonzero(pd.isna(df[name]).to_numpy())
        if rows.size:
            out.append((str(name), int(rows.size), int(rows[0])))
    return out


def _texts_phrase(texts: dict) -> str:
    """``{"NA": 17, "": 2}`` -> ``"in the file: 'NA' ×17, empty ×2"``."""
    shown = [f"{'empty' if t == '' else repr(t)} ×{n}" for t, n in texts.items()]
    return "in the file: " + ", ".join(shown)


def describe_missing(counts, texts=None) -> str:
    """``'age': 3 rows (first row 5), 'race': 1 row (first row 0)``; with
    ``texts`` (``{column: {text: count}}``, see :func:`read_table`) also the
    texts of the file read as missing: ``(first row 5; in the file: 'NA' ×3)``."""
    texts = texts or {}
    parts = []
    for name, n, first in counts:
        where = f"first row {first}"
        if texts.get(name):
            where += "; " + _texts_phrase(texts[name])
        parts.append(f"{name!r}: {n} row{'s' if n != 1 else ''} ({where})")
    return ", ".join(parts)


def missing_message(n_rows: int, n_total: int, counts, texts=None, na_values=None) -> str:
    """The error for ``missing="raise"``: how many rows, which columns, the
    texts read as missing, and the two ways out (in the caller's wording)."""
    k = len(counts)
    text = (f"missing values in {n_rows} of {n_total} rows, in {k} column{'s' if k != 1 else ''}"
            f": {describe_missing(counts, texts)}. Drop those rows ({option('missing', 'drop')}) "
            "or fill them in first.")
    if texts and any(texts.get(name) for name, _, _ in counts):
        markers = ", ".join("empty" if m == "" else repr(m) for m in (na_values or ()))
        text += (f" The texts read as missing ({markers or 'none'}) are set by "
                 f"{option('na_values')}.")
    return text


def dropped_message(n_dropped: int, n_total: int, counts, texts=None) -> str:
    """The :class:`MissingValuesWarning` of ``missing="drop"``."""
    return (f"dropped {n_dropped} of {n_total} rows with missing values "
            f"({describe_missing(counts, texts)}); the model is fitted on the other "
            f"{n_total - n_dropped} rows.")


def handle_missing(df: pd.DataFrame, columns=None, missing: str = "raise", *, texts=None,
                   na_values=None):
    """Check ``columns`` of ``df`` (default: all) for missing values.

    ``missing="raise"``: ``ValueError`` naming each column with missing values,
    its count and its first row (rows numbered from 0), and with ``texts``
    (:func:`missing_texts` of a file read by :func:`read_table`) the texts read
    as missing. ``missing="drop"``: drop the rows with a missing
    value in any of ``columns``.
    Returns ``(df, n_dropped)``; ``df`` is the input itself when nothing is
    dropped, otherwise the complete rows (index kept).
    """
    if missing not in MISSING_OPTIONS:
        raise ValueError(f"{option('missing')} must be 'raise' or 'drop'; got {missing!r}.")
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
        raise ValueError(missing_message(n_rows, len(df), counts, texts, na_values))
    complete = ~pd.isna(df[columns]).any(axis=1).to_numpy()
    return df.loc[complete], int((~complete).sum())


# ----------------------------------------------------------- text columns
def _rows_phrase(rows) -> str:
    rows = [int(r) for r in rows]
    shown = ", ".join(map(str, rows[:_MAX_LISTED]))
    more = len(rows) - _MAX_LISTED
    return f"row{'s' if len(rows) > 1 else ''} {shown}" + (f" and {more} more" if more > 0 else "")


def _listed(parts) -> str:
    more = len(parts) - _MAX_LISTED
    return ", ".join(parts[:_MAX_LISTED]) + (f", and {more} more values" if more > 0 else "")


def mixed_texts(values, strict: bool = False) -> np.ndarray | None:
    """The indices of the texts among the distinct ``values`` of a text column
    when they are a few entries in a column of numbers: at least half of the
    distinct values read as numbers (``strict``: NaN / Inf spellings do not),
    and some do not. None when the column is not such a column."""
    values = np.asarray(values, dtype=object)
    is_number = _number_mask(values)
    if strict:
        is_number &= np.fromiter((not isinstance(v, str) or any(ch.isdigit() for ch in v)
                                  for v in values), dtype=bool, count=len(values))
    n_text = int((~is_number).sum())
    if n_text == 0 or 2 * n_text > values.size:
        return None
    return np.flatnonzero(~is_number)


def numbers_error(name: str, role: str, n_rows: int, listed: str) -> ValueError:
    """The error for a column of numbers with text entries: what, where, the fix.
    ``role``: "predictor", "response", "new data" (predicting) or the option
    naming the column ("sample_weight", "offset")."""
    where = f"{n_rows} row{'s' if n_rows != 1 else ''}: {listed}"
    declare = f"(or, if they mean missing, list them in {option('na_values')})"
    if role == "response":
        return ValueError(f"the response {name!r} holds numbers but also text in {where}. "
                          f"Correct those values {declare}.")
    if role == "new data":
        return ValueError(f"column {name!r} holds numbers but also text in {where}; the model "
                          f"was fitted with {name!r} as numbers. Correct those values {declare}.")
    fix = (f"write C({name}) in the formula to make {name!r} categorical on purpose"
           if role == "predictor" else f"{option(role)} must be numbers")
    return ValueError(f"column {name!r} holds numbers but also text in {where}. Correct those "
                      f"values {declare}, or {fix}.")


def _check_numbers(name: str, column: pd.Series, role: str) -> None:
    """A text column whose distinct values are mostly (at least half) numbers,
    with some that are not, is a column of numbers with typos: refuse it."""
    codes, uniques = pd.factorize(column)      # uniques in the order of their first row
    uniques = np.asarray(uniques, dtype=object)
    texts = mixed_texts(uniques) if uniques.size > 1 else None
    if texts is None:
        return
    n_rows = int(np.isin(codes, texts).sum())
    listed = _listed([f"{uniques[k]!r} ({_rows_phrase(np.flatnonzero(codes == k))})"
                      for k in texts])
    raise numbers_error(name, role, n_rows, listed)


def _check_variants(name: str, column: pd.Series) -> None:
    """Levels that differ only by surrounding spaces or case are an error."""
    codes, uniques = pd.factorize(column)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    groups = label_variants(np.asarray(uniques, dtype=object), counts)
    if groups:
        raise ValueError(f"column {name!r} has levels that differ only by surrounding spaces "
                         f"or case: {describe_variants(groups)}; each would be a level of its "
                         "own. Correct them in the data so that each group is one level.")


def check_number_columns(df: pd.DataFrame, roles: dict) -> None:
    """``roles``: ``{column: role}`` of columns that must hold numbers (role as
    in :func:`numbers_error`); a text one with a few non-numbers is an error."""
    for name, role in roles.items():
        if _is_text(df[name]):
            _check_numbers(str(name), df[name], role)


def check_text_columns(df: pd.DataFrame, numeric=(), categorical=(), response=None,
                       numbers_only=None) -> None:
    """The rules for the text columns a model uses (rows numbered from 0):

    * ``numeric`` (predictors used as they are), ``response``, ``numbers_only``
      (``{column: option}``, e.g. ``{"w": "sample_weight"}``): a text column
      whose distinct non-missing values are at least half numbers and not all
      is a column of numbers with typos — a
      ``ValueError`` naming the column, the rows and the values, and the fix
      (correct them, or ``C(col)`` for a categorical on purpose);
    * ``numeric`` and ``categorical`` (used inside ``C(...)``): levels that
      differ only by surrounding spaces or case are a ``ValueError`` naming the
      variants and their counts.

    """
    check_number_columns(df, {**{c: "predictor" for c in numeric},
                              **({response: "response"} if response is not None else {}),
                              **(numbers_only or {})})
    for name in dict.fromkeys(list(numeric) + list(categorical)):
        if _is_text(df[name]) or isinstance(df[name].dtype, pd.CategoricalDtype):
            _check_variants(str(name), df[name])


__all__ = ["read_table", "handle_missing", "missing_counts", "describe_missing",
           "missing_message", "dropped_message", "check_text_columns", "cli_wording", "option",
           "csv_options", "check_header_names", "check_csv_header", "refuse_text_options",
           "mixed_texts", "numbers_error", "check_number_columns", "missing_texts",
           "read_na_values", "nan_rows", "drop_missing_rows",
           "MissingValuesWarning", "SUPPORTED", "DEFAULT_NA_VALUES"]


def nan_rows(values):
    """(n,) NaN where a row of ``values`` (n,) or (n, k) has a missing value, else 0."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "biufc":
        mask = pd.isna(pd.DataFrame(arr.reshape(len(arr), -1))).any(axis=1).to_numpy()
    else:
        mask = np.isnan(arr.astype(np.float64).reshape(len(arr), -1)).any(axis=1)
    return np.where(mask, np.nan, 0.0)


def drop_missing_rows(df, used, arrays, missing: str):
    """The rule for missing values over the columns ``used`` of ``df`` and the
    row arrays ``arrays`` (``(name, values or None, column or None)``: values given
    as arrays are checked under their name). ``missing="raise"``: a ``ValueError``
    naming each column, its count and first row; ``"drop"``: the complete rows,
    with a :class:`~logitlab.data.io.MissingValuesWarning`.

    Returns ``(df, [values of each array, complete rows only], n_dropped)``."""
    check = df[used].reset_index(drop=True)
    for name, values, column in arrays:
        if values is not None and column is None:
            check[name] = nan_rows(values)
    counts = missing_counts(check, check.columns)
    texts = missing_texts(df, [name for name, _, _ in counts]) if counts else {}
    check, n_dropped = handle_missing(check, None, missing, texts=texts,
                                      na_values=read_na_values(df))
    values = [v for _, v, _ in arrays]
    if n_dropped:
        keep = check.index.to_numpy()
        warn(dropped_message(n_dropped, len(df), counts, texts), MissingValuesWarning)
        df = df.iloc[keep]
        values = [None if v is None else np.asarray(v)[keep] for v in values]
    return df, values, n_dropped
