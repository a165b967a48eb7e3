"""Dask inputs: from a Dask DataFrame / Array or a Parquet / CSV path to partitions.

Nothing here brings rows to the client. The steps, each a Dask graph:

1. :func:`source_from_inputs` lines up ``X`` with ``y``, ``sample_weight``,
   ``offset`` and ``groups`` partition by partition (a column name of the
   DataFrame, a Dask Series / Array with the same partitions, or an in-memory
   array split at the partition boundaries);
2. :func:`scan` (one pass) returns per partition its row count, label counts
   and weight totals, and where NaN / inf / negative values are; the client
   combines these (:func:`combine_scans`) into the classes, the number of rows
   and error messages with global row numbers (row ``r`` of partition ``p`` is
   row ``start_p + r``), worded as :mod:`logitlab.data.validation` words them;
3. :func:`prepare` turns one raw partition into a :class:`~logitlab.backends.dask.Block`
   (class codes, class-weighted sample weights, float design) on its worker.

Files: a Parquet path is checked before anything is computed
(:func:`check_parquet_files`: every file's footer is read on the client, so a
corrupt or non-Parquet file is named, and so is a column whose type differs
between files); the scan also compares the dtypes of every partition's used
columns (any Dask DataFrame), and when reading fails during a pass the files
are read once more on the workers to name the one that cannot be read
(:func:`naming_bad_files`).
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...backends.dask import Block, aligned
from .. import is_dask_collection, is_path
from ...data.validation import (check_dataframe_columns, check_ordered_target, check_target,
                                listing)
from ...core.userwarn import warn
from ...data.binomial import INTEGER_TOL, NonIntegerCountsWarning, combine_sums, grouped_sums

ROW_KEYS = ("y", "s", "offset", "groups")
PARQUET_EXTENSIONS = (".parquet", ".pq", ".parq")
_WHAT = {"y": "y", "s": "sample_weight", "offset": "offset", "groups": "groups"}


def _is_parquet(text: str) -> bool:
    name = text.lower().rstrip("/")
    return name.endswith(PARQUET_EXTENSIONS) or os.path.isdir(text)


def read_path(path, *, na_values=None, sep=None):
    """A Dask DataFrame from a Parquet file / directory / glob (its files checked
    first, :func:`check_parquet_files`) or CSV / TSV files.

    CSV / TSV files are read by :mod:`logitlab.data.io`'s rules: missing values are
    the empty field and ``NA`` (``na_values=`` replaces them), ``sep=`` sets the
    delimiter, and a header naming a column twice (checked on the first file)
    is an error."""
    import glob

    import dask.dataframe as dd

    from ...data.io import check_csv_header, csv_options, refuse_text_options
    text = os.fspath(path)
    name = text.lower().rstrip("/")
    ext = next((e for e in (".csv.gz", ".tsv.gz", ".csv", ".tsv") if name.endswith(e)), None)
    if ext is not None:
        options = csv_options(ext, na_values, sep)
        first = sorted(glob.glob(text))
        if first:
            check_csv_header(first[0], ext, options["sep"])
        return dd.read_csv(text, blocksize=None if ext.endswith(".gz") else "64MB", **options)
    if _is_parquet(text):
        refuse_text_options(text, na_values, sep)
        check_parquet_files(text)
        return dd.read_parquet(text)
    raise ValueError(f"cannot read {text!r} with Dask: give a Parquet file, directory or glob "
                     "(.parquet, .pq) or CSV / TSV files (.csv, .tsv, optionally .gz).")


_MISMATCH_ROW = re.compile(r"^\|\s*(.+?)\s*\|\s*(\S+)\s*\|\s*(\S+)\s*\|$", re.MULTILINE)
_NOT_A_NUMBER = re.compile(r"could not convert string to float: '((?:[^'\\]|\\.)*)'")


def reworded_dtype_mismatch(err: BaseException):
    """Dask's "Mismatched dtypes found in pd.read_csv" (a CSV column read as
    numbers from its first rows holds text further on) as one sentence naming
    the columns, the texts and the fix; None for any other error."""
    text = str(err)
    if not text.startswith("Mismatched dtypes found in"):
        return None
    columns = [m.group(1) for m in _MISMATCH_ROW.finditer(text)
               if m.group(1) not in ("Column",) and m.group(3) in ("float64", "int64")]
    values = list(dict.fromkeys(_NOT_A_NUMBER.findall(text)))
    named = ", ".join(map(repr, columns)) or "a column"
    found = f" (text such as {', '.join(map(repr, values[:5]))})" if values else ""
    from ...data.io import option
    return ValueError(f"column{'s' if len(columns) > 1 else ''} {named} of the CSV files read "
                      f"as numbers in the first rows but hold text further on{found}. Correct "
                      "those values (or, if they mean missing, list them in "
                      f"{option('na_values')}); Dask cannot name their rows.")


# ------------------------------------------------------------ Parquet files
def parquet_files(text: str) -> tuple:
    """``(filesystem, files)`` of a Parquet file, directory (recursively, as
    Dask reads it: names starting with "_" or "." skipped) or glob."""
    import fsspec
    fs, _, paths = fsspec.core.get_fs_token_paths(text)
    files = []
    for p in paths:
        if not fs.isdir(p):
            files.append(p)
            continue
        root = p.rstrip("/")
        for f in sorted(fs.find(root)):
            parts = f[len(root):].strip("/").split("/")
            if f.lower().endswith(PARQUET_EXTENSIONS) and \
                    not any(x.startswith(("_", ".")) for x in parts):
                files.append(f)
    return fs, files


def _footer_dtypes(fs, file: str, text: str) -> dict:
    """Column -> pandas dtype (as text) from one file's footer; a file that
    cannot be read is an error naming it."""
    import pyarrow.parquet as pq
    try:
        with fs.open(file, "rb") as fh:
            schema = pq.ParquetFile(fh).schema_arrow
        frame = schema.empty_table().to_pandas()
    except Exception as err:  # noqa: BLE001 - pyarrow / fsspec raise many kinds
        raise ValueError(_unreadable(file, text, err)) from None
    return {str(c): str(t) for c, t in frame.dtypes.items()}


def _unreadable(file: str, text: str, err) -> str:
    reason = str(err).strip().splitlines()[0].rstrip(".") if str(err).strip() else \
        type(err).__name__
    return (f"cannot read the Parquet file {file!r} (of {text!r}): {reason}; the file is "
            "corrupt or not Parquet: remove it from the dataset or write it again.")


def _some(files, everything, limit=3) -> str:
    """Up to ``limit`` of ``files``, relative to the folder all of ``everything`` share."""
    root = os.path.dirname(everything[0]) if len(everything) == 1 else \
        os.path.commonpath(everything)
    shown = ", ".join(repr(f[len(root):].lstrip("/") or f) for f in files[:limit])
    return shown + (f" and {len(files) - limit} more" if len(files) > limit else "")


def check_parquet_files(text: str) -> list:
    """Read every file's footer (on the client; no data): a corrupt file is
    named, and so is a column missing from some files or stored with
    different types in different files. Returns the files."""
    from concurrent.futures import ThreadPoolExecutor
    fs, files = parquet_files(text)
    if not files:
        raise FileNotFoundError(f"cannot read {text!r}: no Parquet files there.")
    with ThreadPoolExecutor(max_workers=min(16, len(files))) as pool:
        dtypes = list(pool.map(lambda f: _footer_dtypes(fs, f, text), files))
    columns = dict.fromkeys(c for d in dtypes for c in d)
    for col in columns:
        lacking = [f for f, d in zip(files, dtypes) if col not in d]
        if lacking:
            raise ValueError(f"column {col!r} is missing from {len(lacking)} of the "
                             f"{len(files)} files of {text!r} ({_some(lacking, files)}); "
                             "every file of a dataset must have the same columns.")
        by_type = {}
        for f, d in zip(files, dtypes):
            by_type.setdefault(d[col], []).append(f)
        if len(by_type) > 1:
            listed = "; ".join(f"{t} in {_some(group, files)}" for t, group in by_type.items())
            first = next(iter(by_type))
            raise ValueError(f"column {col!r} has different types in the files of {text!r}: "
                             f"{listed}. A column must have one type in every file: write "
                             f"the odd files again with it cast (e.g. df[{col!r}]."
                             f"astype({first!r})).")
    return files


def _read_error(url: str):
    """The error reading one whole Parquet file raises (on a worker), or None."""
    import fsspec
    import pyarrow.parquet as pq
    try:
        with fsspec.open(url, "rb") as fh:
            pq.read_table(fh)
    except Exception as err:  # noqa: BLE001
        return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return None


@contextmanager
def naming_bad_files(client, path):
    """Around a pass over ``path``: if it fails and ``path`` is Parquet, read each
    file once more on the workers and name the ones that cannot be read (the
    original error stands when every file reads)."""
    try:
        yield
    except Exception:
        text = None if path is None else os.fspath(path)
        if text is None or not _is_parquet(text):
            raise
        fs, files = parquet_files(text)
        errors = client.gather(client.map(_read_error, [fs.unstrip_protocol(f) for f in files],
                                          pure=False))
        bad = [(f, e) for f, e in zip(files, errors) if e is not None]
        if not bad:
            raise
        others = [f for f, _ in bad[1:]]
        more = f" ({len(others)} more files fail too: {_some(others, files)})" if others else ""
        raise ValueError(_unreadable(bad[0][0], text, bad[0][1]) + more) from None


def partition_dtypes(part, columns) -> dict:
    """Column -> dtype (as text) of the used ``columns`` of a pandas partition."""
    if not isinstance(part, pd.DataFrame):
        return {}
    return {str(c): str(part[c].dtype) for c in columns if c in part.columns}


# ------------------------------------------------------------- assembling
@dataclass(frozen=True)
class Assembler:
    """Turns the pieces of one partition into a raw dict with keys ``X`` and
    :data:`ROW_KEYS` (NumPy arrays, or None when not given).

    ``features``: the DataFrame columns of X (None: the first piece is an
    array). ``columns``: key -> column name(s) in the DataFrame partition, for
    row data given by name; other given keys come as extra pieces, in
    :data:`ROW_KEYS` order. ``formula`` is used by :mod:`logitlab.engines.dask.formula`.
    """

    features: tuple | None
    columns: dict = field(default_factory=dict)
    extras: tuple = ()
    dtype: str = "float64"
    formula: object = None

    def used_columns(self) -> list:
        """The DataFrame columns this assembler reads (empty for arrays)."""
        named = [c for cols in self.columns.values()
                 for c in (cols if isinstance(cols, tuple) else (cols,))]
        return list(self.features or ()) + named

    def __call__(self, part, *pieces, with_X: bool = True) -> dict:
        if self.formula is not None:
            return self.formula.raw(part, with_X)
        raw = dict.fromkeys(ROW_KEYS)
        for key, cols in self.columns.items():
            raw[key] = part[list(cols) if isinstance(cols, tuple) else cols].to_numpy()
        for key, piece in zip(self.extras, pieces):
            raw[key] = piece.to_numpy() if hasattr(piece, "to_numpy") else np.asarray(piece)
        if not with_X:
            raw["X"] = None
        elif self.features is None:
            raw["X"] = np.asarray(part)
        else:
            raw["X"] = part[list(self.features)].to_numpy()
        return raw


@dataclass
class Source:
    """Partitions of the input: ``parts[p]`` is a tuple of Delayed pieces that
    ``assembler(*pieces)`` turns into a raw dict."""

    parts: list
    assembler: Assembler
    feature_names: list | None
    n_features: int
    dtype: str
    given: set                    # which of ROW_KEYS were given
    nbytes_per_row: float = 0.0
    path: str | None = None       # the file path X was read from, if any


def _float_dtype(dtypes, requested) -> str:
    if requested is not None:
        return np.dtype(requested).name
    return "float32" if dtypes and all(np.dtype(t) == np.float32 for t in dtypes) else "float64"


def _split_like(values, lengths, what):
    """An in-memory per-row array cut at the partition boundaries."""
    arr = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
    n = int(sum(lengths))
    if arr.ndim == 0 or arr.shape[0] != n:
        raise ValueError(f"{what} has {arr.shape[0] if arr.ndim else 1} rows but X has {n}; "
                         "they must match.")
    cuts = np.cumsum(lengths)[:-1]
    return np.split(arr, cuts)


def _frame_source(ddf, y, sample_weight, offset, groups, dtype) -> Source:
    from dask import delayed
    given = {"y": y, "s": sample_weight, "offset": offset, "groups": groups}
    columns, extras, pieces = {}, [], []
    named = set()
    lengths = None
    for key, value in given.items():
        if value is None:
            continue
        if isinstance(value, str) or (key == "offset" and isinstance(value, (list, tuple))
                                      and all(isinstance(v, str) for v in value)):
            cols = (value,) if isinstance(value, str) else tuple(value)
            missing = [c for c in cols if c not in ddf.columns]
            if missing:
                raise ValueError(f"{_WHAT[key]}={value!r} names no column of the data; its "
                                 f"columns are {listing([repr(str(c)) for c in ddf.columns])}.")
            columns[key] = cols[0] if isinstance(value, str) else cols
            named.update(cols)
            continue
        if is_dask_collection(value):
            # unoptimized, as X below: the optimizer may fuse the partitions of a
            # single column read from Parquet, and they would no longer line up
            parts = value.to_delayed(optimize_graph=False)
            parts = list(np.asarray(parts, dtype=object).ravel())
            if len(parts) != ddf.npartitions:
                raise ValueError(f"{_WHAT[key]} has {len(parts)} partitions but X has "
                                 f"{ddf.npartitions}; give it with the same partitions (e.g. "
                                 "as a column of the same DataFrame).")
        else:
            if lengths is None:
                lengths = ddf.map_partitions(len).compute().tolist()
            parts = [delayed(p) for p in _split_like(value, lengths, _WHAT[key])]
        extras.append(key)
        pieces.append(parts)
    features = tuple(c for c in ddf.columns if c not in named)
    if not features:
        raise ValueError("X has no feature columns left after taking out y, weights, offset "
                         "and groups.")
    meta = ddf[list(features)]._meta
    check_dataframe_columns(meta)
    out_dtype = _float_dtype(list(meta.dtypes), dtype)
    assembler = Assembler(features=features, columns=columns, extras=tuple(extras),
                          dtype=out_dtype)
    main = ddf.to_delayed(optimize_graph=not pieces or not any(
        is_dask_collection(given[k]) for k in extras))
    parts = [tuple([m] + [p[i] for p in pieces]) for i, m in enumerate(main)]
    return Source(parts, assembler, [str(c) for c in features], len(features), out_dtype,
                  {k for k, v in given.items() if v is not None},
                  nbytes_per_row=len(features) * np.dtype(out_dtype).itemsize + 16)


def _array_source(X, y, sample_weight, offset, groups, dtype) -> Source:
    import dask.array as da
    if X.ndim != 2:
        raise ValueError(f"X must be 2-dimensional (rows, features); got {X.ndim} dimensions.")
    if X.dtype.kind not in "biuf":
        raise TypeError(f"X must be numeric; the Dask array has dtype {X.dtype}.")
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    X = X.rechunk({1: -1})
    rows = X.chunks[0]
    given = {"y": y, "s": sample_weight, "offset": offset, "groups": groups}
    extras, pieces = [], []
    for key, value in given.items():
        if value is None:
            continue
        if isinstance(value, str):
            raise ValueError(f"{_WHAT[key]}={value!r} is a column name, but X is a Dask array "
                             "without columns; give an array (or X as a Dask DataFrame).")
        if is_dask_collection(value):
            arr = value.to_dask_array(lengths=True) if not hasattr(value, "chunks") or \
                not isinstance(value, da.Array) else value
        else:
            arr = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value)
            if arr.ndim == 0:
                raise ValueError(f"{_WHAT[key]} must have one entry per row.")
            arr = da.from_array(arr, chunks=(arr.shape[0],) + arr.shape[1:])
        if arr.shape[0] != X.shape[0]:
            raise ValueError(f"{_WHAT[key]} has {arr.shape[0]} rows but X has {X.shape[0]}; "
                             "they must match.")
        arr = arr.rechunk((rows,) + tuple((s,) for s in arr.shape[1:]))
        extras.append(key)
        pieces.append(list(np.asarray(arr.to_delayed(), dtype=object).ravel()))
    out_dtype = _float_dtype([X.dtype], dtype)
    assembler = Assembler(features=None, extras=tuple(extras), dtype=out_dtype)
    main = list(np.asarray(X.to_delayed(), dtype=object).ravel())
    parts = [tuple([m] + [p[i] for p in pieces]) for i, m in enumerate(main)]
    return Source(parts, assembler, None, int(X.shape[1]), out_dtype,
                  {k for k, v in given.items() if v is not None},
                  nbytes_per_row=X.shape[1] * np.dtype(out_dtype).itemsize + 16)


def source_from_inputs(X, y, sample_weight=None, offset=None, groups=None, *, dtype=None,
                       n_partitions=None) -> Source:
    """Line up the inputs partition by partition (see the module docstring).

    ``X``: Dask DataFrame / Array, a path (:func:`read_path`), or an in-memory
    pandas DataFrame / array (split into ``n_partitions`` partitions).
    """
    import dask.array as da
    import dask.dataframe as dd
    path = os.fspath(X) if is_path(X) else None
    if path is not None:
        X = read_path(X)
    if not is_dask_collection(X):
        if isinstance(X, pd.DataFrame):
            X = dd.from_pandas(X, npartitions=n_partitions or 4, sort=False)
        else:
            arr = np.asarray(X)
            if arr.ndim != 2:
                raise ValueError("X must be 2-dimensional (rows, features).")
            step = max(1, -(-arr.shape[0] // (n_partitions or 4)))
            X = da.from_array(arr, chunks=(step, arr.shape[1]))
    if y is None:
        raise ValueError("LogisticRegression requires y to be passed, but the target y is None.")
    if isinstance(X, da.Array):
        return _array_source(X, y, sample_weight, offset, groups, dtype)
    if hasattr(X, "columns"):
        source = _frame_source(X, y, sample_weight, offset, groups, dtype)
        source.path = path
        return source
    raise TypeError(f"X must be a Dask DataFrame or Array; got {type(X).__name__}.")


# ------------------------------------------------------------------ scanning
def _first(mask):
    rows = np.flatnonzero(mask)
    return (int(rows.size), int(rows[0])) if rows.size else (0, -1)


def scan(raw: dict) -> dict:
    """What the client needs to know about one raw partition (small)."""
    y = raw["y"]
    n = int(y.shape[0])
    out = {"n": n, "lengths": {k: (None if raw[k] is None else int(raw[k].shape[0]))
                               for k in ("s", "offset", "groups")}}
    if raw.get("X") is not None:
        X = np.asarray(raw["X"])
        out["lengths"]["X"] = int(X.shape[0])
        bad = {}
        if X.dtype.kind == "f" and X.size and not np.isfinite(X).all():
            rows, cols = np.nonzero(~np.isfinite(X))
            for j in np.unique(cols):
                r = rows[cols == j]
                bad[int(j)] = (int(np.unique(r).size), int(r.min()))
            out["X_kinds"] = (bool(np.isnan(X).any()), bool(np.isinf(X).any()))
            out["X_rows"] = int(np.unique(rows).size)
        out["X_bad"] = bad
    missing = pd.isna(pd.Series(y)).to_numpy() if y.dtype.kind in "OfUSMm" else \
        np.zeros(n, dtype=bool)
    out["y_missing"] = _first(missing)
    s = np.ones(n) if raw["s"] is None else np.asarray(raw["s"], dtype=np.float64)
    if raw["s"] is not None:
        out["s_nonfinite"] = _first(~np.isfinite(s))
        neg = _first(s < 0)
        out["s_negative"] = neg + ((float(s[neg[1]]),) if neg[0] else (0.0,))
    keep = ~missing
    labels = pd.DataFrame({"y": y[keep], "s": s[keep]})
    agg = labels.groupby("y", sort=False)["s"].agg(["size", "sum"])
    out["labels"] = (agg.index.to_numpy(), agg["size"].to_numpy(), agg["sum"].to_numpy())
    if raw.get("trials") is not None or (raw["s"] is not None and y.dtype.kind == "f"):
        out["grouped"] = grouped_scan(y, s, raw.get("trials"), raw.get("counts_bad"))
    if raw["offset"] is not None:
        o = np.asarray(raw["offset"], dtype=np.float64)
        out["offset_shape"] = o.shape[1:]
        out["offset_bad"] = _first(~np.isfinite(o.reshape(n, -1)).all(axis=1)) if n else (0, -1)
    if raw["groups"] is not None:
        g = pd.Series(raw["groups"])
        out["groups_missing"] = _first(g.isna().to_numpy())
        out["groups"] = pd.unique(g.dropna())
    return out


def grouped_scan(y, s, trials=None, counts_bad=None) -> dict:
    """A partition's part of a grouped binomial response (proportions ``y`` with
    the weights ``s``; ``trials`` for ``cbind``): where values are fractional,
    outside [0, 1] or non-integer counts, and the additive sums
    (:func:`logitlab.data.binomial.grouped_sums`) when ``y`` is in [0, 1]."""
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        frac, outside = (y > 0) & (y < 1), (y < 0) | (y > 1)
    out = {"fractional": _first(frac) + ((float(y[frac][0]),) if frac.any() else (0.0,)),
           "outside": _first(outside) + ((float(y[outside][0]),) if outside.any() else (0.0,)),
           "counts_bad": counts_bad or (0, -1, ""), "cbind": trials is not None}
    ok = np.isfinite(y).all() and not outside.any() and np.isfinite(s).all() and not (s < 0).any()
    if ok:
        counts = s * np.where(s > 0, y, 0.0) if trials is None else \
            np.concatenate([trials * y, trials * (1 - y)])
        out["non_integer"] = _first(np.abs(counts - np.round(counts)) > INTEGER_TOL)
        out["sums"] = grouped_sums(y, s, trials)
    return out


def _combine_grouped(scans, starts):
    """The record of a grouped response from the partitions' scans, or None for
    class labels (errors and the non-integer warning with global rows)."""
    parts = [sc.get("grouped") for sc in scans]
    cbind = any(p is not None and p["cbind"] for p in parts)
    if not any(p is not None for p in parts) or not (
            cbind or _where_grouped(parts, starts, "fractional")[0]):
        return None
    c, r, what = _where_grouped(parts, starts, "counts_bad")
    if c:
        raise ValueError(f"{what} must be non-negative finite counts; {c} rows are not (first "
                         f"row {r}).")
    if not cbind:
        c, r, value = _where_grouped(parts, starts, "outside")
        if c:
            raise ValueError(f"y holds proportions but {c} values lie outside [0, 1] (first row "
                             f"{r}: {value:g}); with the trials as sample_weight, y must be the "
                             "proportion of successes / trials (or class labels, e.g. 0/1).")
    c, r, _ = _where_grouped(parts, starts, "non_integer")
    if c:
        warn(f"non-integer counts in a binomial fit ({c} rows, first row {r}), as R warns "
             "'non-integer #successes in a binomial glm!'; the fit uses them as they are, the "
             "log-likelihood and AIC round them (R's dbinom).", NonIntegerCountsWarning)
    sums = [p["sums"] for p in parts if p is not None and "sums" in p]
    record = combine_sums(sums, "cbind" if cbind else "proportion")
    if not record["n_groups"]:
        raise ValueError("the grouped binomial response has zero trials in every row; at "
                         "least one group needs a success or a failure.")
    rows = np.sum([p["rows"] for p in sums], axis=0).astype(np.int64)
    one = float(sum(p["successes"] for p in sums))
    return record, rows, np.array([record["n_trials"] - one, one])


def _where_grouped(parts, starts, key):
    """``(count, first global row, detail)`` of a grouped scan entry over partitions."""
    total, first, detail = 0, -1, None
    for part, start in zip(parts, starts):
        if part is None or key not in part:
            continue
        c, r = part[key][:2]
        if c and first < 0:
            first, detail = start + r, (part[key][2] if len(part[key]) > 2 else None)
        total += c
    return total, first, detail


@dataclass
class Scanned:
    """The combined scan: ``starts[p]`` global row of partition p's first row."""

    n_rows: int
    starts: list
    counts: list
    classes: np.ndarray
    class_counts: np.ndarray
    class_raw_weight: np.ndarray
    group_levels: np.ndarray | None
    grouped: dict | None = None


def _where(scans, starts, key):
    """(count, first global row) of a (count, first) entry summed over partitions."""
    total, first = 0, -1
    for sc, start in zip(scans, starts):
        c, r = sc.get(key, (0, -1))[:2]
        if c and first < 0:
            first = start + r
        total += c
    return total, first


def _check_lengths(scans):
    for p, sc in enumerate(scans):
        for key, length in sc["lengths"].items():
            if length is not None and length != sc["n"]:
                what = "X" if key == "X" else _WHAT[key]
                raise ValueError(f"{what} has {length} rows in partition {p} but y has "
                                 f"{sc['n']}; give them with the same partitions (e.g. as "
                                 "columns of the same DataFrame).")


def _check_X(scans, starts, names):
    parts, n_rows, kinds = {}, 0, [False, False]
    for sc, start in zip(scans, starts):
        for j, (count, first) in sc.get("X_bad", {}).items():
            c0, f0 = parts.get(j, (0, None))
            parts[j] = (c0 + count, f0 if f0 is not None else start + first)
        n_rows += sc.get("X_rows", 0)
        kinds = [a or b for a, b in zip(kinds, sc.get("X_kinds", (False, False)))]
    if not parts:
        return
    label = (lambda j: repr(str(names[j]))) if names else str
    listed = [f"column {label(j)}: {c} rows (first row {f})" for j, (c, f) in sorted(parts.items())]
    kind = " and ".join(k for k, present in zip(("NaN", "inf"), kinds) if present)
    raise ValueError(f"X contains {kind} in {n_rows} rows: {listing(listed)}. Remove or "
                     "impute those rows (dask: ddf.dropna()) before fitting.")


def combine_scans(scans, names=None, cov_type="nonrobust", ordinal=False,
                  levels=None) -> Scanned:
    """Check the per-partition scans and combine them (errors name global rows);
    ``ordinal``: the labels are ordered levels (``levels``, or numeric order;
    :func:`~logitlab.data.validation.check_ordered_target`)."""
    _check_lengths(scans)
    counts = [sc["n"] for sc in scans]
    starts = list(np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int))
    n = int(sum(counts))
    if n == 0:
        raise ValueError("the data have no rows (every partition is empty).")
    _check_X(scans, starts, names)
    c, r = _where(scans, starts, "y_missing")
    if c:
        raise ValueError(f"y contains missing values (None/NaN) in {c} rows (first row {r}); "
                         "drop those rows first.")
    c, r = _where(scans, starts, "s_nonfinite")
    if c:
        raise ValueError(f"sample_weight contains NaN or inf in {c} rows (first row {r}).")
    c, r = _where(scans, starts, "s_negative")
    if c:
        value = next(sc["s_negative"][2] for sc in scans if sc.get("s_negative", (0,))[0])
        raise ValueError(f"sample_weight must be non-negative; {c} rows are negative (first "
                         f"row {r}: {value}).")
    c, r = _where(scans, starts, "offset_bad")
    if c:
        raise ValueError(f"offset contains NaN or inf in {c} rows (first row {r}).")
    _check_dtypes(scans, starts)
    labels = np.concatenate([sc["labels"][0] for sc in scans])
    sizes = np.concatenate([sc["labels"][1] for sc in scans]).astype(np.int64)
    sums = np.concatenate([sc["labels"][2] for sc in scans]).astype(np.float64)
    grouped = None if ordinal else _combine_grouped(scans, starts)
    if ordinal:
        record = None
        classes, codes = check_ordered_target(labels, labels.shape[0], levels)
        class_counts = np.bincount(codes, weights=sizes, minlength=classes.size).astype(np.int64)
        raw_weight = np.bincount(codes, weights=sums, minlength=classes.size)
    elif grouped is not None:     # fractional labels: classes 0/1, the trials as weights
        record, class_counts, raw_weight = grouped
        classes = np.array([0, 1])
    else:
        record = None
        classes, codes = check_target(labels, labels.shape[0], counts=sizes) if labels.size \
            else check_target(np.array([0]), 1)
        class_counts = np.bincount(codes, weights=sizes, minlength=classes.size).astype(np.int64)
        raw_weight = np.bincount(codes, weights=sums, minlength=classes.size)
    _check_offset_shape(scans, 2 if ordinal else classes.size)
    levels = _group_levels(scans, starts, cov_type)
    return Scanned(n, starts, counts, classes, class_counts, raw_weight, levels, record)


def _check_dtypes(scans, starts):
    """Every partition stores a used column with one dtype (else its values
    would be read differently: labels, levels or numbers from text)."""
    by_column = {}
    for p, sc in enumerate(scans):
        for col, dtype in sc.get("dtypes", {}).items():
            by_column.setdefault(col, {}).setdefault(dtype, []).append(p)
    for col, by_type in by_column.items():
        if len(by_type) < 2:
            continue
        listed = "; ".join(
            f"{t} in partition{'s' if len(ps) > 1 else ''} "
            f"{', '.join(f'{q} (rows from {starts[q]})' for q in ps[:3])}"
            f"{f' and {len(ps) - 3} more' if len(ps) > 3 else ''}" for t, ps in by_type.items())
        raise ValueError(f"column {col!r} has different dtypes in different partitions: "
                         f"{listed}. The files (or frames) behind them store it with different "
                         f"types; cast it to one type, e.g. ddf[{col!r}] = ddf[{col!r}]."
                         f"astype({next(iter(by_type))!r}), or write the files again.")


def _check_offset_shape(scans, n_classes):
    expected = () if n_classes == 2 else (n_classes,)
    for sc in scans:
        shape = sc.get("offset_shape")
        if shape is not None and tuple(shape) != expected:
            raise ValueError(f"offset has shape (n,) + {tuple(shape)}; expected (n,) + "
                             f"{expected} ({'one per row' if n_classes == 2 else 'one per row and class'}).")


def _group_levels(scans, starts, cov_type):
    given = any("groups" in sc for sc in scans)
    if cov_type != "cluster":
        if given:
            raise ValueError("groups are only used with cov_type='cluster'.")
        return None
    if not given:
        raise ValueError("cov_type='cluster' needs the cluster of every row: fit(..., groups=...).")
    c, _ = _where(scans, starts, "groups_missing")
    if c:
        raise ValueError("groups contains missing values; every row needs a cluster.")
    levels = pd.unique(np.concatenate([np.asarray(sc["groups"]) for sc in scans]))
    levels = np.sort(levels)
    if levels.size < 2:
        raise ValueError("cov_type='cluster' needs at least 2 clusters.")
    return levels


# ---------------------------------------------------------------- preparing
@dataclass(frozen=True)
class PrepareSpec:
    """What turns a raw partition into a Block: the classes, the weight of each
    class, the float type, the cluster levels; ``check_X`` re-checks X for
    NaN / inf (designs made by a formula on the worker)."""

    classes: np.ndarray
    class_weight: np.ndarray
    dtype: str
    group_levels: np.ndarray | None = None
    check_X: bool = False
    names: tuple | None = None
    grouped: bool = False


def prepare(raw: dict, spec: PrepareSpec, start: int = 0) -> Block:
    """One partition as a :class:`Block` (runs on a worker)."""
    X = aligned(np.ascontiguousarray(raw["X"], dtype=spec.dtype))
    if spec.check_X and X.size and not np.isfinite(X).all():
        rows, cols = np.nonzero(~np.isfinite(X))
        j = int(cols[0])
        name = repr(spec.names[j]) if spec.names else str(j)
        raise ValueError(f"the design contains NaN or inf in {np.unique(rows).size} rows of "
                         f"the partition starting at row {start} (first: column {name}, row "
                         f"{start + int(rows[cols == j].min())}); fix the data or the formula's "
                         "transforms (e.g. np.log of 0) before fitting.")
    if spec.grouped:              # proportions (0 where the weight is 0, as R) and trials
        s = np.asarray(raw["s"], dtype=np.float64)
        y = np.where(s > 0, np.asarray(raw["y"], dtype=np.float64), 0.0)
        offset = None if raw["offset"] is None else np.asarray(raw["offset"], dtype=np.float64)
        groups = None if spec.group_levels is None else \
            pd.Index(spec.group_levels).get_indexer(raw["groups"]).astype(np.intp)
        return Block(X, y, s, offset, groups)
    codes = pd.Index(spec.classes).get_indexer(raw["y"])
    if (codes < 0).any():
        raise ValueError(f"y has a label outside {spec.classes.tolist()} at row "
                         f"{start + int(np.flatnonzero(codes < 0)[0])}: the data changed "
                         "between passes; Dask inputs must be deterministic.")
    s = np.ones(codes.size) if raw["s"] is None else np.asarray(raw["s"], dtype=np.float64)
    s = s * spec.class_weight[codes]
    y = codes.astype(np.float64) if spec.classes.size == 2 else codes.astype(np.intp)
    offset = None if raw["offset"] is None else np.asarray(raw["offset"], dtype=np.float64)
    groups = None
    if spec.group_levels is not None:
        groups = pd.Index(spec.group_levels).get_indexer(raw["groups"]).astype(np.intp)
    return Block(X, y, s, offset, groups)


def prepare_part(assembler: Assembler, pieces, spec: PrepareSpec, start: int) -> Block:
    return prepare(assembler(*pieces), spec, start)


def scan_part(assembler: Assembler, pieces, with_X: bool) -> dict:
    out = scan(assembler(*pieces, with_X=with_X))
    out["dtypes"] = partition_dtypes(pieces[0], assembler.used_columns())
    for key, piece in zip(assembler.extras, pieces[1:]):    # Dask Series given apart
        if isinstance(piece, pd.Series):
            out["dtypes"][_WHAT[key]] = str(piece.dtype)
        elif isinstance(piece, pd.DataFrame):
            out["dtypes"][_WHAT[key]] = ", ".join(map(str, piece.dtypes))
    return out


__all__ = ["Assembler", "Source", "Scanned", "PrepareSpec", "source_from_inputs", "scan",
           "combine_scans", "prepare", "prepare_part", "scan_part", "read_path",
           "is_dask_collection", "is_path", "check_parquet_files", "parquet_files",
           "naming_bad_files", "partition_dtypes"]
