"""Input checking for every entry point: one place that says what is wrong.

Each check names the problem, where it is (column, row) and how to fix it,
and raises ``ValueError`` or ``TypeError`` — never a bare numpy/scipy error,
never a silent NaN downstream.
"""

from __future__ import annotations

import numbers
import sys

import numpy as np
import scipy.sparse as sp

from ..core.design import COMPILED_MIN_ENTRIES
from ..core.exceptions import DataConversionWarning, bridged
from ..core.userwarn import warn
from ..core.threads import default_threads, pool

_MAX_LISTED = 5


def _column_label(names, j) -> str:
    return repr(str(names[j])) if names is not None else str(j)


def listing(items, total=None) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    more = (total or len(items)) - _MAX_LISTED
    return shown + (f", and {more} more" if more > 0 else "")


def to_pandas_if_dataframe(X):
    """polars DataFrames and pyarrow Tables become pandas (column names kept)."""
    module = type(X).__module__
    if module.startswith("polars") or module.startswith("pyarrow"):
        if hasattr(X, "to_pandas"):
            return X.to_pandas()
    return X


def check_dataframe_columns(X) -> None:
    """A DataFrame must be numeric: name the columns that are not."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns"):
        return
    bad = []
    for name, dt in zip(X.columns, dtypes):
        kind = getattr(dt, "kind", "O")
        if kind not in "biuf":
            bad.append(f"{str(name)!r} ({dt})")
    if bad:
        raise TypeError(
            f"X has non-numeric columns: {listing(bad)}. The estimator needs numbers; "
            "encode categorical columns first (e.g. pandas.get_dummies(df, drop_first=True) "
            "or a scikit-learn OneHotEncoder in a Pipeline).")


_EXPONENT = {np.dtype(np.float64): (np.uint64, np.uint64(0x7FF0000000000000)),
             np.dtype(np.float32): (np.uint32, np.uint32(0x7F800000)),
             np.dtype(np.float16): (np.uint16, np.uint16(0x7C00))}


#: largest magnitude accepted in a design to fit, and largest total weight: the
#: fit sums squares of the columns over the weighted rows (the information
#: matrix, ≤ Σ s · max x² / 4), which must stay below float64's 1.8e308
MAX_ABS_X = 1e100
MAX_WEIGHT_SUM = 1e100


def _scan_exponents(values):
    """``(all finite, possibly above MAX_ABS_X)`` from one read of the exponent
    bits, split over the worker threads (no float arithmetic: nothing can
    overflow). The second is a cheap screen: entries whose exponent reaches
    that of MAX_ABS_X (the exact test is left to the caller)."""
    if values.dtype.kind not in "fc":
        return True, False
    flat = values.reshape(-1) if values.flags.c_contiguous else None
    if flat is None or flat.dtype not in _EXPONENT or flat.size < COMPILED_MIN_ENTRIES:
        finite = bool(np.isfinite(values).all())
        return finite, bool(finite and values.size and float(np.abs(values).max()) > MAX_ABS_X)
    kind, mask = _EXPONENT[flat.dtype]
    from ..core.bits import max_exponent   # compiled: for large arrays only
    bits = flat.view(kind)
    n_parts = max(1, min(default_threads(), bits.size >> 20))
    if n_parts == 1:
        top = max_exponent(bits, mask)
    else:
        top = max(pool(n_parts).map(lambda p: max_exponent(p, mask),
                                    np.array_split(bits, n_parts)))
    large = np.array([MAX_ABS_X], dtype=flat.dtype).view(kind)[0] & mask \
        if flat.dtype == np.float64 else mask
    return bool(top != mask), bool(top != mask and top >= large)


def _all_finite(values) -> bool:
    """True when every entry is finite (see :func:`_scan_exponents`)."""
    return _scan_exponents(values)[0]


def _bad_entries(X, bad_values):
    """``(rows, cols, values)`` of the entries of ``X`` where ``bad_values``
    (elementwise on the stored values) is True, in row-major order. A sparse X
    is read through its CSR arrays: the rows come from ``indptr`` by binary
    search (no COO copy of X, no densifying)."""
    if not sp.issparse(X):
        rows, cols = np.nonzero(bad_values(X))
        return rows, cols, X[rows, cols]
    positions = np.flatnonzero(bad_values(X.data))
    rows = np.searchsorted(X.indptr, positions, side="right") - 1
    return rows, X.indices[positions], X.data[positions]


def check_magnitude(X, names=None, screen=None) -> None:
    """Raise ValueError naming the columns and rows of a design to fit whose
    values exceed :data:`MAX_ABS_X` in magnitude (finite X assumed; a sparse X
    as canonical CSR). ``screen``: :func:`_scan_exponents` of the values when
    already taken (no second read of X)."""
    values = X.data if sp.issparse(X) else X
    if values.size == 0 or not (screen or _scan_exponents(values))[1]:
        return
    rows, cols, vals = _bad_entries(X, lambda v: np.abs(v) > MAX_ABS_X)
    if rows.size == 0:
        return
    parts = []
    for j in np.unique(cols):
        r = rows[cols == j]
        top = float(np.max(np.abs(vals[cols == j])))
        first = ", ".join(str(int(i)) for i in np.unique(r)[:3])
        parts.append(f"column {_column_label(names, j)}: {r.size} "
                     f"{'row' if r.size == 1 else 'rows'} (row {first}{', ...' if r.size > 3 else ''}; "
                     f"up to {top:.3g})")
    scale = 10.0 ** np.floor(np.log10(float(np.max(np.abs(vals)))))
    raise ValueError(
        f"X has values of magnitude above {MAX_ABS_X:.0e} (the first at row {int(rows[0])}, "
        f"column {_column_label(names, cols[0])}): {listing(parts)}. A fit needs "
        "sums of squares of the columns over the rows (the information matrix, the "
        "Newton steps), which overflow float64 (1.8e308) from about 1e154 on; logitlab "
        f"accepts |x| <= {MAX_ABS_X:.0e} so that they stay finite. Rescale those columns "
        f"(e.g. divide by {scale:.0e}, or take a logarithm) before fitting.")


def check_finite_matrix(X, names=None, what="X", fix="before fitting", screen=None) -> None:
    """Raise ValueError naming the row and column of the first NaN or inf (in
    row-major order) and the columns (and counts of rows) holding them. A
    sparse X (canonical CSR) is checked on its stored values ``X.data``.
    ``screen``: :func:`_scan_exponents` of the values when already taken."""
    values = X.data if sp.issparse(X) else X
    if values.size == 0 or (screen[0] if screen else _all_finite(values)):
        return
    rows, cols, bad = _bad_entries(X, lambda v: ~np.isfinite(v))
    parts = []
    for j in np.unique(cols):
        r = rows[cols == j]
        parts.append(f"column {_column_label(names, j)}: {np.unique(r).size} rows "
                     f"(first row {int(r.min())})")
    n_rows = np.unique(rows).size
    has_nan, has_inf = bool(np.isnan(bad).any()), bool(np.isinf(bad).any())
    kinds = " and ".join(k for k, present in (("NaN", has_nan), ("inf", has_inf)) if present)
    raise ValueError(
        f"{what} contains {kinds} in {n_rows} rows (the first at row {int(rows[0])}, column "
        f"{_column_label(names, cols[0])}): {listing(parts)}. Remove or impute "
        f"those rows (pandas: df.dropna()) {fix}.")


def check_X(estimator, X, *, reset: bool, dtype=None, min_features: int = 1):
    """Validate a design matrix for ``estimator``.

    Returns a C-ordered float ndarray or a canonical CSR matrix (sparse input:
    :func:`sparse_design`, without scikit-learn). ``dtype=None`` keeps
    float32 input as float32 and converts everything else to float64.
    Records ``n_features_in_`` / ``feature_names_in_`` when ``reset``.
    ``min_features=0`` admits a design with no columns (an intercept-only model).
    """
    X = to_pandas_if_dataframe(X)
    check_dataframe_columns(X)
    names = [str(c) for c in X.columns] if hasattr(X, "columns") else None
    if names == [] and min_features == 0:   # an intercept-only design
        X = np.empty((len(X), 0))
    target = [np.float64, np.float32] if dtype is None else [np.dtype(dtype).type]
    if sp.issparse(X):
        X = sparse_design(estimator, X, reset, target, min_features)
    else:
        plain = _plain_array(estimator, X, reset, target, min_features)
        X = plain if plain is not None else \
            _sklearn_validate(estimator, X, reset, target, min_features)
        if sp.issparse(X):               # e.g. a DataFrame of pandas sparse columns
            X = canonical_csr(X, target)
    values = X.data if sp.issparse(X) else X
    screen = _scan_exponents(values) if values.size else None     # one read for both checks
    check_finite_matrix(X, names, fix="before fitting" if reset else "before predicting",
                        screen=screen)
    if reset:
        check_magnitude(X, names, screen=screen)
    return X


def _check_n_features(estimator, X, reset: bool) -> None:
    """Record ``n_features_in_`` (reset; a design without names drops
    ``feature_names_in_``) or check X's column count against it, with
    scikit-learn's ``validate_data`` messages."""
    if reset:
        estimator.n_features_in_ = X.shape[1]
        if hasattr(estimator, "feature_names_in_"):
            delattr(estimator, "feature_names_in_")
    elif hasattr(estimator, "n_features_in_") and X.shape[1] != estimator.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(estimator).__name__} is "
                         f"expecting {estimator.n_features_in_} features as input.")


def _plain_array(estimator, X, reset: bool, target, min_features: int):
    """The common case without scikit-learn (its import costs seconds): a numeric
    2-D ndarray with rows and enough columns, for an estimator that holds no
    feature names. Returns X as a C-ordered array of a ``target`` dtype (the
    first when X's is not among them), with ``n_features_in_`` recorded (reset)
    or checked — as scikit-learn's ``validate_data`` does, same messages — or
    None for any other input (then scikit-learn's ``validate_data`` decides)."""
    if type(X) is not np.ndarray or X.ndim != 2 or X.dtype.kind not in "biuf" \
            or X.shape[0] < 1 or X.shape[1] < max(min_features, 0):
        return None
    if not reset and hasattr(estimator, "feature_names_in_"):
        return None
    _check_n_features(estimator, X, reset)
    kind = X.dtype.type if X.dtype.type in target else target[0]
    return np.ascontiguousarray(X, dtype=kind)


def sparse_design(estimator, X, reset: bool, target, min_features: int):
    """A scipy.sparse design (any format, matrix or array) as canonical CSR, the
    format the kernels read row by row, without scikit-learn and never densified.

    * CSR input is used as it is (its arrays, no copy); sorted in place when its
      column indices are not sorted within rows (the same matrix); another
      format is converted to CSR (one copy, unavoidable: the kernels walk rows);
    * duplicate entries (one (row, column) stored twice) are summed, in a copy:
      the kernels' squares ``Σ h x²`` need each entry once;
    * values: float32 and float64 kept (``target`` allowing), integers and
      booleans become ``target[0]`` (a new ``data`` only: indices shared);
      complex or other values are a TypeError;
    * indices int32 or int64, as scipy chose (the kernels take both); column
      indices outside ``[0, d)`` or a decreasing ``indptr`` (a matrix built from
      inconsistent arrays) are a ValueError naming the row, not a crash;
    * ``n_features_in_`` recorded (reset) or checked, at least one row and
      ``min_features`` columns, as scikit-learn's ``validate_data``.
    Finite values are checked afterwards on ``X.data`` (:func:`check_X`)."""
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (rows × columns); got a {X.ndim}-D sparse array of "
                         f"shape {X.shape}. Reshape it, e.g. X.reshape(-1, 1) for one column.")
    n, d = X.shape
    name = type(estimator).__name__
    if n < 1:
        raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of "
                         f"1 is required by {name}.")
    if d < min_features:
        raise ValueError(f"Found array with {d} feature(s) (shape={X.shape}) while a minimum "
                         f"of {min_features} is required by {name}.")
    if X.dtype.kind not in "biuf":
        raise TypeError(f"X must hold real numbers; this sparse matrix holds {X.dtype} "
                        "values. Convert it first (e.g. X.astype(float), or X.real if the "
                        "imaginary parts are zero).")
    if not reset and hasattr(estimator, "feature_names_in_"):
        warn(f"X does not have valid feature names, but {name} was fitted with feature names",
             UserWarning)
    _check_n_features(estimator, X, reset)
    return canonical_csr(X, target)


def canonical_csr(X, target):
    """Sparse ``X`` as canonical CSR of a ``target`` dtype (see
    :func:`sparse_design`: no copy when it already is one)."""
    X = X if X.format == "csr" else X.tocsr()
    _check_sparse_structure(X)
    if not X.has_sorted_indices:
        X.sort_indices()
    if not X.has_canonical_format:          # sorted, so only duplicates remain
        X = X.copy()
        X.sum_duplicates()
    kind = X.dtype.type if X.dtype.type in target else target[0]
    return X if X.dtype == kind else _with_values(X, X.data.astype(kind))


def _with_values(X, data):
    """Canonical CSR ``X`` with its stored values replaced by ``data``, sharing
    X's index arrays (scipy's ``astype`` copies them; its constructor may
    narrow 64-bit indices, another copy)."""
    out = type(X)(X.shape, dtype=data.dtype)
    out.data, out.indices, out.indptr = data, X.indices, X.indptr
    out.has_sorted_indices = True
    out.has_canonical_format = True
    return out


def _check_sparse_structure(X) -> None:
    """Column indices within ``[0, d)`` and a non-decreasing ``indptr`` from 0 to
    nnz (scipy checks these only on request; the compiled kernels do not check
    bounds). Two reductions over the indices and one over ``indptr``."""
    indptr, indices, d = X.indptr, X.indices, X.shape[1]
    if indptr[0] != 0 or indptr[-1] != indices.size or np.any(indptr[1:] < indptr[:-1]):
        raise ValueError("X is not a valid CSR matrix: its indptr must increase from 0 to "
                         f"the number of stored entries ({indices.size}). Rebuild it, e.g. with "
                         "scipy.sparse.csr_matrix((data, (rows, cols)), shape=(n, d)).")
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= d):
        k = int(np.flatnonzero((indices < 0) | (indices >= d))[0])
        row = int(np.searchsorted(indptr, k, side="right") - 1)
        raise ValueError(f"X has a column index {int(indices[k])} in row {row}, outside "
                         f"[0, {d}) for its {d} columns. Rebuild the matrix with the right "
                         "shape or indices.")


def _sklearn_validate(estimator, X, reset: bool, target, min_features: int):
    """scikit-learn's ``validate_data`` (imported here: DataFrames, lists and odd
    dense inputs only; sparse input goes through :func:`sparse_design`), with a
    non-numeric X reported as a TypeError."""
    from sklearn.utils.validation import validate_data
    try:
        return validate_data(estimator, X, reset=reset, accept_sparse=["csr", "csc", "coo"],
                             dtype=target if len(target) > 1 else target[0], order="C",
                             ensure_all_finite=False, ensure_min_samples=1,
                             ensure_min_features=min_features)
    except ValueError as err:
        if "could not convert" in str(err):
            raise TypeError(f"X must be numeric: {err}. Encode text columns first "
                            "(e.g. a scikit-learn OneHotEncoder).") from None
        raise


def _column_or_1d(y):
    """``y`` as a 1-D array: a numeric 1-D ndarray as it is; a column (n, 1) read
    as (n,) with a DataConversionWarning (as scikit-learn's ``column_or_1d``, which
    serves every other input)."""
    if type(y) is np.ndarray and y.dtype.kind in "biuf":
        if y.ndim == 1:
            return y
        if y.ndim == 2 and y.shape[1] == 1:
            warn("A column-vector y was passed when a 1d array was expected. Please change "
                 "the shape of y to (n_samples, ), for example using ravel().",
                 bridged(DataConversionWarning))
            return y[:, 0]
    from sklearn.utils.validation import column_or_1d
    return column_or_1d(y, warn=True)


def _check_classification_targets(y) -> None:
    """scikit-learn's ``check_classification_targets`` (imported only for labels
    that are not plain integers: e.g. text, objects)."""
    from sklearn.utils.multiclass import check_classification_targets
    check_classification_targets(y)


def _is_pandas(y) -> bool:
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(y, (pd.Series, pd.Index, pd.Categorical))


def _raise_if_missing(mask) -> None:
    rows = np.flatnonzero(mask)
    if rows.size:
        raise ValueError(f"y contains missing values (None/NaN) in {rows.size} rows (first "
                         f"row {rows[0]}); drop those rows first.")


def label_variants(labels, counts) -> list:
    """Groups of text ``labels`` that differ only by surrounding spaces or case:
    ``[[(label, count), ...], ...]`` (each group of at least two labels, in the
    order of ``labels``); ``counts[i]`` is how many rows hold ``labels[i]``."""
    groups = {}
    for label, count in zip(labels, counts):
        if isinstance(label, str):
            groups.setdefault(label.strip().casefold(), []).append((label, int(count)))
    return [g for g in groups.values() if len(g) > 1]


def describe_variants(groups) -> str:
    """``' yes' (2 rows), 'yes' (30 rows) and 'no' (20 rows), 'no ' (1 row)``."""
    return " and ".join(", ".join(f"{label!r} ({n} row{'s' if n != 1 else ''})"
                                  for label, n in group) for group in groups[:_MAX_LISTED])


def _check_label_variants(classes, codes, counts) -> None:
    if classes.dtype.kind not in "OUS" or classes.size < 2:
        return
    keys = [c.strip().casefold() if isinstance(c, str) else c for c in classes.tolist()]
    if len(set(keys)) == len(keys):          # the usual case: no counting needed
        return
    per_class = np.bincount(codes, weights=counts, minlength=classes.size)
    groups = label_variants(classes.tolist(), per_class)
    raise ValueError(f"y has labels that differ only by surrounding spaces or case: "
                     f"{describe_variants(groups)}; each would be a class of its own. Correct "
                     "the labels so that each group is one label (e.g. strip the spaces and "
                     "use one case) and fit again.")


def check_target(y, n_rows: int, counts=None):
    """Validate labels; returns ``(classes, codes)`` with ``classes[codes] == y``.

    ``codes``: (n,) int8 0/1 for two classes (1 byte a row, and for labels
    already 0/1 found without hashing), else intp class indices. Text labels
    that differ only by surrounding spaces or case (``" yes"``, ``"Yes"``) are
    an error naming the variants and their counts (``counts[i]``: how many rows
    entry ``i`` of ``y`` stands for, default 1)."""
    if y is None:
        raise ValueError("LogisticRegression requires y to be passed, but the target y is None.")
    if _is_pandas(y):
        import pandas as pd
        labels = pd.Series(y)
        _raise_if_missing(labels.isna().to_numpy())
        y = labels.to_numpy()
    y = _column_or_1d(y)
    if y.shape[0] != n_rows:
        raise ValueError(f"y has {y.shape[0]} entries but X has {n_rows} rows; they must match.")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        rows = np.flatnonzero(~np.isfinite(y))
        raise ValueError(f"y contains NaN or inf in {rows.size} rows (first row {rows[0]}); "
                         "drop those rows first.")
    if y.dtype.kind == "O":
        import pandas as pd
        _raise_if_missing(pd.isna(y))
        kinds = sorted({type(v).__name__ for v in y})
        if len({"str" if isinstance(v, str) else "number" for v in y}) > 1:
            raise TypeError(f"y mixes label types ({', '.join(kinds)}), which cannot be "
                            "ordered; convert the labels to one type (e.g. all strings).")
        if all(isinstance(v, (numbers.Number, np.generic)) for v in y):
            y = np.asarray(y.tolist())  # numbers held as objects (e.g. pandas Int64)
    two = _two_numeric_classes(y) if y.dtype.kind in "biuf" and y.size else None
    if two is not None:
        classes = two                            # no hashing, no n-sized integer codes
        codes = y.view(np.int8) if y.dtype == np.bool_ else (y == classes[1]).view(np.int8)
    elif y.dtype.kind in "biuf":
        # hash the labels once (O(n)), then code by the few sorted classes;
        # np.unique on the distinct values merges -0.0 and 0.0 as it would
        import pandas as pd
        classes = np.unique(pd.unique(y))
        if y.dtype.kind == "f":
            _refuse_fractions(y, classes)
            classes = classes + 0.0                 # a -0.0 label reads 0.0
        codes = (y == classes[1]).view(np.int8) if classes.size == 2 \
            else np.searchsorted(classes, y)
    else:
        _check_classification_targets(y)
        classes, codes = np.unique(y, return_inverse=True)
        _check_label_variants(classes, codes, counts)
    if classes.size < 2:
        raise ValueError(
            f"y has only one class ({classes.tolist()[0]!r}) in {n_rows} samples; logistic "
            "regression needs at least 2 classes.")
    return classes, codes.astype(np.int8 if classes.size == 2 else np.intp, copy=False)


def check_ordered_target(y, n_rows: int, levels=None):
    """Validate ordered labels; returns ``(levels (K,), codes (n,) intp)`` with
    ``levels[codes] == y`` and codes in the order of the levels.

    The order comes from ``levels`` (every label must be one of them), else from
    an ordered pandas Categorical, else from the numbers themselves (numeric
    labels). Text labels without an order are an error: sorting them
    alphabetically would silently reorder e.g. "low" < "medium" < "high".
    Every level needs at least one row (its threshold is not estimable
    otherwise), and there must be at least 3 levels."""
    if y is None:
        raise ValueError("an ordinal model requires y to be passed, but the target y is None.")
    dtype = getattr(y, "dtype", None)
    if levels is None and dtype is not None and getattr(dtype, "name", "") == "category":
        if not dtype.ordered:
            raise ValueError("y is an unordered pandas Categorical: its categories have no "
                             "order an ordinal model can use. Make it ordered "
                             "(y.cat.as_ordered() after setting the order with "
                             "y.cat.reorder_categories([...])) or pass levels=[lowest, ..., "
                             "highest].")
        levels = list(dtype.categories)
    if _is_pandas(y):
        import pandas as pd
        labels = pd.Series(y)
        _raise_if_missing(labels.isna().to_numpy())
        y = np.asarray(labels.astype(object)) if dtype is not None and \
            getattr(dtype, "name", "") == "category" else labels.to_numpy()
    y = _column_or_1d(y)
    if y.shape[0] != n_rows:
        raise ValueError(f"y has {y.shape[0]} entries but X has {n_rows} rows; they must match.")
    if levels is None:
        levels = _numeric_levels(y)
    levels = list(levels)
    if len(set(map(_hashable, levels))) != len(levels):
        raise ValueError(f"levels has repeated entries: {levels}; list each category once, "
                         "lowest first.")
    import pandas as pd
    codes = pd.Index([_hashable(v) for v in levels], dtype=object).get_indexer(
        pd.Index(y, dtype=object) if y.dtype.kind in "OUS" else y).astype(np.intp)
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        unknown = list(dict.fromkeys(y[bad].tolist()))[:5]
        raise ValueError(f"y has labels that are not in levels: {unknown} ({bad.size} rows, first "
                         f"row {bad[0]}); levels are {levels}. Add them to levels (in their "
                         "place in the order) or drop those rows.")
    counts = np.bincount(codes, minlength=len(levels))
    empty = [levels[k] for k in np.flatnonzero(counts == 0)]
    if empty:
        raise ValueError(f"levels {empty} have no rows in y: their thresholds cannot be "
                         "estimated. Drop them from levels (or merge them with a neighbour).")
    if len(levels) < 3:
        raise ValueError(f"an ordinal model needs at least 3 ordered categories; y has "
                         f"{len(levels)} ({levels}): fit a binary logistic regression instead.")
    return np.asarray(levels, dtype=object if y.dtype.kind in "OUS" else None), codes


def _hashable(value):
    """A label as a dictionary key: NumPy scalars as Python values."""
    return value.item() if isinstance(value, np.generic) else value


def _numeric_levels(y) -> list:
    """The sorted distinct values of numeric labels; text labels have no known order."""
    if y.dtype.kind in "biuf":
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            rows = np.flatnonzero(~np.isfinite(y))
            raise ValueError(f"y contains NaN or inf in {rows.size} rows (first row {rows[0]}); "
                             "drop those rows first.")
        return np.unique(y).tolist()
    values = list(dict.fromkeys(y.tolist()))
    if all(isinstance(v, (numbers.Number, np.generic)) and not isinstance(v, bool)
           for v in values):
        return sorted(values)
    raise ValueError(f"y holds text labels ({', '.join(map(repr, values[:5]))}"
                     f"{', ...' if len(values) > 5 else ''}) whose order is not known: pass "
                     "levels=[lowest, ..., highest] (formulas: or make the column an ordered "
                     "pandas Categorical; the CLI: --levels lowest,...,highest), so that no order "
                     "is guessed.")


def proportions_without_trials(value, row: int) -> str:
    """The error for a proportion target given without the numbers of trials."""
    return (f"y holds proportions (continuous values in [0, 1], e.g. {value:g} in row {row}): "
            "give the number of trials as sample_weight=..., or use cbind(successes, failures) "
            "in a formula (logitlab.fit('cbind(s, f) ~ x', data)). Class labels must be whole "
            "values (e.g. 0/1).")


def _refuse_fractions(y, values) -> None:
    """Float labels with fractional ``values``: an error that says what they look
    like — proportions (all in [0, 1]: give the trials, or use cbind) or a
    continuous outcome — instead of scikit-learn's "Unknown label type"."""
    frac = values[values != np.round(values)]
    if frac.size == 0:
        return
    rows = np.flatnonzero(y != np.round(y))
    i = int(rows[0])
    if np.all((y >= 0) & (y <= 1)):
        raise ValueError(proportions_without_trials(y[i], i))
    raise ValueError(f"y has non-integer values (e.g. {y[i]:g} in row {i}; {rows.size} such "
                     "rows): a continuous outcome, neither class labels nor proportions in [0, 1]. "
                     "Logistic regression needs class labels (e.g. 0/1), or proportions of successes "
                     "with the trials as sample_weight.")


def _two_numeric_classes(y):
    """The two sorted classes of numeric ``y`` when its minimum and maximum
    show it has exactly two values, found without hashing (two reductions);
    else None (one value, or more than two: the general path decides)."""
    lo, hi = y.min(), y.max()
    if lo == hi:
        return None
    if y.dtype.kind in "biu":
        if int(hi) - int(lo) != 1:
            return None
    elif np.count_nonzero(y == lo) + np.count_nonzero(y == hi) != y.size:
        return None
    else:
        _refuse_fractions(y, np.array([lo, hi]))
    # + 0 turns a -0.0 minimum into 0.0 (as the general path reports it)
    return np.array([lo + 0, hi], dtype=y.dtype) if y.dtype != np.bool_ \
        else np.array([False, True])


def check_sample_weight(sample_weight, n_rows: int) -> np.ndarray:
    """Validate weights: finite, non-negative, not all zero. Returns float64 (n,).

    No weights give a read-only view of a single 1.0 (stride 0): unit weights
    without an n-sized array (8 MB at a million rows) to allocate and read."""
    if sample_weight is None:
        return np.broadcast_to(np.float64(1.0), (n_rows,))
    try:
        w = np.array(sample_weight, dtype=np.float64)   # a copy: the fit keeps it
    except (TypeError, ValueError):
        raise TypeError("sample_weight must be numeric.") from None
    if w.ndim == 0:
        w = np.full(n_rows, float(w))
    if w.shape != (n_rows,):
        raise ValueError(f"sample_weight has shape {w.shape}; expected ({n_rows},), one per row.")
    bad = np.flatnonzero(~np.isfinite(w))
    if bad.size:
        raise ValueError(f"sample_weight contains NaN or inf in {bad.size} rows (first row {bad[0]}).")
    neg = np.flatnonzero(w < 0)
    if neg.size:
        raise ValueError(f"sample_weight must be non-negative; {neg.size} rows are negative "
                         f"(first row {neg[0]}: {w[neg[0]]}).")
    top = float(w.max()) if w.size else 0.0
    if not top > 0:
        raise ValueError("sample_weight is zero for every row; at least one row needs a "
                         "positive weight.")
    _check_weight_sum(w, top)
    return w


def _check_weight_sum(w, top: float) -> None:
    """The total weight must stay at most MAX_WEIGHT_SUM (computed without
    overflowing: ``top · Σ (w / top)``)."""
    if np.log(top) + np.log(float(np.sum(w / top))) <= np.log(MAX_WEIGHT_SUM):
        return
    heavy = np.flatnonzero(w >= 1e-6 * top)
    order = heavy[np.argsort(-w[heavy], kind="stable")]
    listed = listing([f"row {int(i)}: {w[i]:.3g}" for i in order], total=order.size)
    raise ValueError(
        f"sample_weight sums to more than {MAX_WEIGHT_SUM:.0e} (the largest weights: "
        f"{listed}). With "
        "frequency-weight semantics the total weight is the number of observations: it "
        "scales the log-likelihood, deviance and standard errors, whose sums overflow "
        "float64 at such totals. Rescale the weights (e.g. divide them by their mean: the "
        "estimates stay the same).")


def check_offset(offset, n_rows: int, n_classes: int):
    """Validate an offset: (n,) for binary models, (n, K) for multinomial ones."""
    if offset is None:
        return None
    try:
        o = np.asarray(offset, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("offset must be numeric.") from None
    expected = (n_rows,) if n_classes == 2 else (n_rows, n_classes)
    if o.shape != expected:
        raise ValueError(f"offset has shape {o.shape}; expected {expected} "
                         f"({'one per row' if n_classes == 2 else 'one per row and class'}).")
    bad = np.flatnonzero(~np.isfinite(o).reshape(n_rows, -1).all(axis=1))
    if bad.size:
        raise ValueError(f"offset contains NaN or inf in {bad.size} rows (first row {bad[0]}).")
    return o


def check_strata(strata, n_rows: int) -> tuple:
    """Stratum labels of a conditional logit: ``(codes (n,) intp, n_strata)``;
    missing labels and a length that does not match are errors."""
    if strata is None:
        raise ValueError("a conditional logit needs the stratum of every row: strata=... "
                         "(formulas: + strata(column)).")
    import pandas as pd
    values = pd.Series(np.asarray(strata).ravel() if not _is_pandas(strata) else strata)
    if len(values) != n_rows:
        raise ValueError(f"strata has {len(values)} entries but X has {n_rows} rows; they "
                         "must match.")
    missing = np.flatnonzero(values.isna().to_numpy())
    if missing.size:
        raise ValueError(f"strata contains missing values in {missing.size} rows (first row "
                         f"{missing[0]}); drop those rows or give them a stratum.")
    codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.intp), len(uniques)


def check_groups(groups, n_rows: int, cov_type: str):
    """Cluster labels for ``cov_type="cluster"``: returns integer codes (n,) or None."""
    if cov_type != "cluster":
        if groups is not None:
            raise ValueError("groups are only used with cov_type='cluster'.")
        return None
    if groups is None:
        raise ValueError("cov_type='cluster' needs the cluster of every row: fit(..., groups=...).")
    g = np.asarray(groups)
    if g.shape != (n_rows,):
        raise ValueError(f"groups has shape {g.shape}; expected ({n_rows},), one label per row.")
    import pandas as pd
    if np.asarray(pd.isna(g)).any():
        raise ValueError("groups contains missing values; every row needs a cluster.")
    codes = pd.factorize(g, sort=True)[0]
    if codes.max() < 1:
        raise ValueError("cov_type='cluster' needs at least 2 clusters.")
    return codes.astype(np.intp)
