"""Predictions on Dask: a fitted model applied partition by partition, lazily.

``model.predict_proba(ddf)`` (and ``decision_function``, ``predict_log_proba``,
``predict``, ``explain``) with a Dask DataFrame / Array or a Parquet / CSV
path returns a lazy Dask collection; nothing is computed and no row comes to
the client until the caller computes or writes it. Each partition is handed
to the in-memory method of a slim copy of the model (coefficients, classes,
threshold, formula design; no training rows, no inference matrices, no
callback), so a row's prediction is computed by exactly the code, with
exactly the checks, that predicts it in memory:

* logits ``z = X β + b (+ offset)``: (n,) for binary models, (n, K) otherwise;
  probabilities ``sigmoid`` / ``softmax`` of them; ``predict``: ``classes_[1]``
  when ``P > threshold`` (binary), the argmax otherwise;
* formula models encode every partition with the stored design
  (:meth:`logitlab.data.formula.Design.transform`), whose ``unseen`` policy
  ("raise" or "reference") applies as in memory.

What comes back has the kind of the input:

=====================  ==================================  ==========================
method                 Dask DataFrame / path input         Dask Array input
=====================  ==================================  ==========================
decision_function      Series "logit" / DataFrame (K)      Array (n,) / (n, K)
predict_proba          DataFrame, one column per class     Array (n, K)
predict_log_proba      DataFrame, one column per class     Array (n, K)
predict                Series "predicted"                  Array (n,) of labels
explain                DataFrame (as ``explain_frame``)    DataFrame (as left)
=====================  ==================================  ==========================

DataFrame outputs keep each partition's index, so they line up with the input
(``ddf.assign(p=model.predict_proba(ddf)[1])``). A model fitted on named
columns takes those columns from a wider frame (ids and the outcome may stay
in it). ``offset``: column name(s) of the frame, or a Dask Series / Array with
the input's partitions, or (for a Dask Array) an in-memory array.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from ...core.layout import INTERCEPT, OFFSET
from .. import is_dask_collection, is_path
from . import input as dask_input

METHODS = ("decision_function", "predict_proba", "predict_log_proba", "predict", "explain")


def slim(model, inference: bool = False):
    """A copy of ``model`` with what predictions need only (small, picklable);
    with ``inference`` also the covariance (for prediction intervals)."""
    out = copy.copy(model)
    lean = model.results_.without_rows()
    out.results_ = lean if inference else lean.for_prediction()
    out.__dict__.pop("history_", None)
    out.callback = None
    out.engine, out.engine_options = "memory", None
    return out


def predict(model, method: str, X, offset=None):
    """``model.<method>(X, offset)`` on Dask input, lazily (see the module docstring)."""
    import dask.array as da
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}")
    if is_path(X):
        X = dask_input.read_path(X)
    lean = slim(model)
    if isinstance(X, da.Array):
        if method == "explain":
            return _explain_array(lean, X, offset)
        return _on_array(lean, method, X, offset)
    if hasattr(X, "columns"):
        return _on_frame(lean, method, X, offset)
    raise TypeError(f"cannot predict on a {type(X).__name__}: give a Dask DataFrame or Array "
                    "or a Parquet / CSV path.")


# ---------------------------------------------------------------- partitions
def _features(model, part: pd.DataFrame, offset_columns) -> pd.DataFrame:
    """The columns of one DataFrame partition that ``model`` predicts from."""
    if getattr(model, "design_", None) is not None:
        from .formula import plain_strings
        return plain_strings(part)
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return part[list(names)]
    return part.drop(columns=list(offset_columns)) if offset_columns else part


def _n_columns(model, method) -> int | None:
    """Columns of the output (None: one-dimensional)."""
    K = model.classes_.size
    if method == "predict" or (method == "decision_function" and K == 2):
        return None
    return K


def _empty(model, method):
    cols = _n_columns(model, method)
    if method == "predict":
        return model.classes_[:0]
    return np.empty((0,) if cols is None else (0, cols))


def _apply(model, method, X, offset):
    """``model.<method>`` on one partition's rows (any number, 0 included)."""
    if X.shape[0] == 0:
        return _empty(model, method)
    return getattr(model, method)(X, offset)


def _frame_part(part, *offset_part, model, method, offset_columns):
    """One DataFrame partition → its pandas output with the partition's index."""
    if offset_columns:
        off = part[list(offset_columns)].to_numpy(dtype=np.float64)
        off = off[:, 0] if off.shape[1] == 1 else off
    else:
        off = None if not offset_part else np.asarray(offset_part[0], dtype=np.float64)
    X = _features(model, part, offset_columns)
    if method == "explain":
        if len(part) == 0:
            return _explain_meta(model, off is not None)
        out = model.explain(X, offset=off)
        out.index = part.index
        return out
    return _as_pandas(model, method, _apply(model, method, X, off), part.index)


def _as_pandas(model, method, values, index):
    classes = list(model.classes_)
    if method == "predict":
        return pd.Series(values, index=index, name="predicted")
    if values.ndim == 1:
        return pd.Series(values, index=index, name="logit")
    return pd.DataFrame(values, index=index, columns=classes)


def _meta(model, method, index_meta):
    if method == "explain":
        return _explain_meta(model, False)
    return _as_pandas(model, method, _empty(model, method), index_meta)


def _explain_meta(model, with_offset: bool) -> pd.DataFrame:
    """The empty frame :func:`logitlab.results.explain.explain_frame` would return."""
    names = getattr(model, "feature_names_in_", None)
    names = ([str(n) for n in names] if names is not None
             else [f"x{j}" for j in range(model.n_features_in_)])
    terms = names + [INTERCEPT] + ([OFFSET] if with_offset else [])
    classes = model.classes_
    floats = pd.Series(dtype=np.float64)
    labels = pd.Series(classes[:0])
    if classes.size == 2:
        cols = {t: floats for t in terms + ["logit", "odds", "probability"]}
        cols["predicted"] = labels
        return pd.DataFrame(cols)
    cols = {}
    for c in classes:
        for t in terms + ["logit"]:
            cols[(str(c), t)] = floats
    for c in classes:
        cols[("probability", str(c))] = floats
    cols[("predicted", "")] = labels
    out = pd.DataFrame(cols)
    out.columns = pd.MultiIndex.from_tuples(list(cols))
    return out


def _offset_columns(X, offset):
    if offset is None:
        return ()
    names = (offset,) if isinstance(offset, str) else tuple(offset) \
        if isinstance(offset, (list, tuple)) and all(isinstance(v, str) for v in offset) else None
    if names is None:
        return None
    missing = [c for c in names if c not in X.columns]
    if missing:
        raise ValueError(f"offset {', '.join(map(repr, missing))} names no column of the data; "
                         f"its columns are {', '.join(map(repr, map(str, X.columns)))}.")
    return names


def _check_columns(model, X, offset_columns):
    names = getattr(model, "feature_names_in_", None)
    if getattr(model, "design_", None) is not None:
        need = [v for v in model.design_.variables if v not in X.columns]
        if need and [str(c) for c in X.columns] != list(model.design_.columns):
            raise ValueError(f"the data lack the column{'s' if len(need) > 1 else ''} "
                             f"{', '.join(map(repr, need))} used by the formula "
                             f"{model.design_.formula!r}.")
    elif names is not None:
        missing = [str(n) for n in names if n not in X.columns]
        if missing:
            raise ValueError(f"the data lack the feature column{'s' if len(missing) > 1 else ''}"
                             f" {', '.join(map(repr, missing))} the model was fitted on; its "
                             f"columns are {', '.join(map(repr, map(str, X.columns)))}.")


def _on_frame(model, method, X, offset):
    offset_columns = _offset_columns(X, offset)
    _check_columns(model, X, offset_columns or ())
    meta = _meta(model, method, X._meta.index)
    if method == "explain" and (offset_columns or offset is not None):
        meta = _explain_meta(model, True)
    kwargs = dict(model=model, method=method, offset_columns=offset_columns or (),
                  meta=meta, align_dataframes=False)
    if offset_columns is not None:
        return X.map_partitions(_frame_part, **kwargs)
    if not is_dask_collection(offset):
        raise ValueError("on a Dask DataFrame give offset as column name(s) of the data or as "
                         "a Dask Series / DataFrame with the same partitions.")
    if hasattr(offset, "chunks"):         # a Dask Array: as a frame with the same partitions
        import dask.dataframe as dd
        offset = dd.from_dask_array(offset)
    if offset.npartitions != X.npartitions:
        raise ValueError(f"offset has {offset.npartitions} partitions but X has "
                         f"{X.npartitions}; give it with the same partitions (e.g. as a "
                         "column of the same DataFrame).")
    import dask.dataframe as dd
    return dd.map_partitions(_frame_part, X, offset, **kwargs)


# --------------------------------------------------------------------- arrays
def _block(X, *offset, model, method):
    """One block of rows → the in-memory method's output."""
    return _apply(model, method, X, offset[0] if offset else None)


def _array_offset(offset, X, K):
    import dask.array as da
    if offset is None:
        return []
    if not is_dask_collection(offset):
        arr = np.asarray(offset.to_numpy() if hasattr(offset, "to_numpy") else offset,
                         dtype=np.float64)
        if arr.ndim == 0 or (not np.isnan(X.shape[0]) and arr.shape[0] != X.shape[0]):
            raise ValueError(f"offset has {arr.shape[0] if arr.ndim else 1} rows but X has "
                             f"{X.shape[0]}; they must match.")
        offset = da.from_array(arr, chunks=(X.chunks[0],) + tuple((s,) for s in arr.shape[1:]))
    elif not isinstance(offset, da.Array):
        offset = offset.to_dask_array(lengths=True)
    return [offset.rechunk((X.chunks[0],) + tuple((s,) for s in offset.shape[1:]))]


def _on_array(model, method, X, offset):
    import dask.array as da
    if X.ndim != 2:
        raise ValueError(f"X must be 2-dimensional (rows, features); got {X.ndim} dimensions.")
    if any(np.isnan(c) for c in X.chunks[0]) and offset is not None:
        X = X.compute_chunk_sizes()
    X = X.rechunk({1: -1})
    extra = _array_offset(offset, X, model.classes_.size)
    cols = _n_columns(model, method)
    dtype = model.classes_.dtype if method == "predict" else np.float64
    if cols is None:
        return da.map_blocks(_block, X, *extra, model=model, method=method, dtype=dtype,
                             drop_axis=1, chunks=(X.chunks[0],),
                             meta=np.empty((0,), dtype=dtype))
    return da.map_blocks(_block, X, *extra, model=model, method=method, dtype=dtype,
                         chunks=(X.chunks[0], (cols,)), meta=np.empty((0, 0), dtype=dtype))


def _explain_array(model, X, offset):
    """``explain`` of a Dask Array: the rows as a Dask DataFrame (default index)."""
    import dask.dataframe as dd
    names = getattr(model, "feature_names_in_", None)
    X = X.rechunk({1: -1})
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    cols = [str(n) for n in names] if names is not None else \
        [f"x{j}" for j in range(X.shape[1])]
    frame = dd.from_dask_array(X, columns=cols)
    if names is None:                      # fitted on arrays: predict from arrays
        model = copy.copy(model)
        model.feature_names_in_ = np.asarray(cols, dtype=object)
    if offset is None:
        return _on_frame(model, "explain", frame, None)
    extra = _array_offset(offset, X, model.classes_.size)[0]
    off_cols = [f"(offset {k})" for k in range(1 if extra.ndim == 1 else extra.shape[1])]
    frame = dd.concat([frame, dd.from_dask_array(extra, columns=off_cols
                                                 if extra.ndim > 1 else off_cols[0])], axis=1)
    return _on_frame(model, "explain", frame, off_cols)


# ------------------------------------------------------------------ the CLI
def _table_part(part, model, id_column, make_table):
    X = _features(model, part, ())
    ids = None if id_column is None else part[id_column].to_numpy()
    return make_table(model, X, ids, id_column, part.index)


def table(model, ddf, make_table, id_column=None, inference: bool = False):
    """``make_table(model, X, ids, id_column, index)`` (a pandas table of
    predictions, e.g. :func:`logitlab.results.predictions.prediction_table`) of
    every partition of ``ddf``: a lazy Dask DataFrame. ``inference``: the
    partitions' model keeps the covariance (prediction intervals)."""
    lean = slim(model, inference)
    if id_column is not None and id_column not in ddf.columns:
        raise ValueError(f"--id column {id_column!r} is not in the data; its columns are "
                         f"{', '.join(map(repr, map(str, ddf.columns)))}.")
    _check_columns(lean, ddf, ())
    empty = pd.DataFrame(np.empty((0, lean.n_features_in_)))
    ids = None if id_column is None else ddf._meta[id_column].to_numpy()
    meta = make_table(lean, empty, ids, id_column, ddf._meta.index)
    return ddf.map_partitions(_table_part, lean, id_column, make_table, meta=meta)


__all__ = ["predict", "slim", "table", "METHODS"]
