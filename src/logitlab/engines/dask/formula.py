"""Formulas on Dask: ``logitlab.fit("y ~ x + C(g)", ddf)`` without the rows on the client.

One scan pass over the partitions learns what the encoding needs — the levels
of every categorical column (sorted, as formulaic sorts them; the categories
of a pandas categorical column), the missing values per column and the labels
of the response — and the client builds the :class:`logitlab.data.formula.Design`
on a few synthetic rows that carry exactly those levels. Each worker then
encodes its partitions with that fixed design (``Design.transform``), so every
partition has the same columns whichever levels it holds.

Transforms whose state is learned from the data (``center``, ``scale``,
``standardize``, ``poly`` and the splines) would be learned on the synthetic
rows: they are refused with an error that says so. ``sample_weight``,
``offset`` and ``groups`` are column names here. A ``cbind(successes,
failures)`` response is evaluated per partition (:func:`cbind_raw`): the
proportions as labels, the trials (times the weights) as weights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ...core.userwarn import warn
from . import input as dask_input
from .. import is_dask_collection, is_path
from .client import client_for
from ...data.io import read_table
from ...data.formula import (Design, FormulaError, column_uses, factor_column, python_value,
                             sorted_levels, check_formula_options, check_response,
                             formula_terms, expand_dot, split_formula)
from ...data.binomial import cbind_columns, cbind_response
from ...data.io import (MissingValuesWarning, dropped_message, missing_counts,
                        missing_message, mixed_texts, numbers_error)
from ...data.validation import describe_variants, label_variants

STATEFUL = ("center", "scale", "standardize", "poly", "bs", "cs", "cc", "cr")
_STATEFUL_CALL = re.compile(r"(?<![\w.])(" + "|".join(STATEFUL) + r")\s*\(")


@dataclass(frozen=True)
class FormulaRaw:
    """Raw partition (used columns of a DataFrame) -> raw dict for one partition:
    complete rows only, X encoded by ``design`` (when given and asked for)."""

    used: tuple
    variables: tuple
    response: str
    columns: dict                      # "s" / "offset" / "groups" -> column name(s)
    n_columns: int = 0
    design: Design | None = None
    cbind: bool = False                # the response is cbind(successes, failures)

    def raw(self, part, with_X: bool) -> dict:
        part = plain_strings(part[list(self.used)])
        part = part[~pd.isna(part).any(axis=1).to_numpy()] if len(part) else part
        raw = {"y": None if self.cbind else part[self.response].to_numpy()}
        for key in ("s", "offset", "groups"):
            cols = self.columns.get(key)
            raw[key] = None if cols is None else part[cols].to_numpy()
        if self.cbind:
            raw.update(cbind_raw(self.response, part.reset_index(drop=True), raw["s"]))
        raw["X"] = None
        if with_X:
            if len(part) == 0:
                raw["X"] = np.empty((0, self.n_columns))
            else:
                raw["X"] = self.design.transform(part[list(self.variables)],
                                                 unseen="raise").to_numpy(dtype=np.float64)
        return raw


def cbind_raw(response: str, part: pd.DataFrame, s) -> dict:
    """A partition's ``cbind(successes, failures)``: ``y`` the proportions (0 for
    zero trials), ``trials``, ``s`` the trials times the weights ``s`` (if any),
    and ``counts_bad`` (count, first row, what) of negative or non-finite counts."""
    counts = cbind_response(response, part)
    succ, fail = counts.successes, counts.failures
    trials = succ + fail
    bad = ~(np.isfinite(succ) & np.isfinite(fail) & (succ >= 0) & (fail >= 0))
    where = np.flatnonzero(bad)
    first_bad = (int(where.size), int(where[0]) if where.size else -1,
                 f"the successes and failures of {response}")
    ok = ~bad & (trials > 0)
    y = np.divide(succ, trials, out=np.zeros(trials.shape), where=ok)
    trials = np.where(bad, 0.0, trials)
    weights = trials if s is None else trials * np.asarray(s, dtype=np.float64)
    return {"y": y, "trials": trials, "s": weights, "counts_bad": first_bad}


def plain_strings(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns as Python objects: Dask reads text as ``string[pyarrow]``,
    pandas as ``object``; formulaic encodes both as categorical only as objects."""
    text = [c for c, t in df.dtypes.items()
            if isinstance(t, pd.StringDtype) or (isinstance(t, pd.ArrowDtype)
                                                  and t.kind in "OSU")]
    return df.astype({c: object for c in text}) if text else df


def _is_categorical(dtype) -> bool:
    return getattr(dtype, "kind", "O") not in "iuf"


def categorical_columns(parsed, variables, meta) -> list:
    """Columns whose levels the design needs: non-numeric ones, and numeric
    ones wrapped in ``C(...)``."""
    from formulaic.parser.types import Factor
    wrapped = set()
    for term in parsed:
        for factor in term.factors:
            col = factor_column(factor.expr, factor.eval_method is Factor.EvalMethod.LOOKUP)
            if col is not None and factor.eval_method is not Factor.EvalMethod.LOOKUP:
                wrapped.add(col)
    return [c for c in variables if _is_categorical(meta[c].dtype) or str(c) in wrapped]


def formula_scan(part, fraw: FormulaRaw, cat_cols) -> dict:
    """One partition: missing values per used column, levels of the categorical
    columns among complete rows, and the generic scan of the complete rows."""
    dtypes = dask_input.partition_dtypes(part, fraw.used)
    part = plain_strings(part[list(fraw.used)])
    incomplete = pd.isna(part).any(axis=1).to_numpy() if len(part) else np.zeros(0, bool)
    complete = part[~incomplete]
    rows = np.flatnonzero(~incomplete)
    levels = {c: _level_stats(complete[c].astype(object), rows) for c in cat_cols}
    return {"n_total": len(part), "missing": missing_counts(part, fraw.used),
            "n_incomplete": int(incomplete.sum()), "levels": levels,
            "scan": {**dask_input.scan(fraw.raw(part, with_X=False)), "dtypes": dtypes}}


def _level_stats(column, rows):
    """``(levels, counts, first rows)`` of one partition's column (levels in
    the order of their first row; ``rows``: the partition row of each entry)."""
    codes, uniques = pd.factorize(column)
    keep = codes >= 0
    counts = np.bincount(codes[keep], minlength=len(uniques))
    firsts = np.full(len(uniques), -1, dtype=np.int64)
    if len(uniques):
        _, where = np.unique(codes[keep], return_index=True)
        firsts = rows[np.flatnonzero(keep)[where]]
    return np.asarray(uniques, dtype=object), counts, firsts


def _combine_levels(results, col):
    """``{level: [rows, first global row]}`` over the partitions."""
    starts = np.concatenate([[0], np.cumsum([r["n_total"] for r in results])[:-1]])
    out = {}
    for r, start in zip(results, starts):
        for value, count, first in zip(*r["levels"][col]):
            entry = out.setdefault(python_value(value), [0, int(start + first)])
            entry[0] += int(count)
    return out


def _rows(count, first) -> str:
    return f"row {first}" if count == 1 else f"{count} rows, first row {first}"


def check_level_texts(results, as_is, cats) -> None:
    """The text-column rules of :func:`logitlab.io.check_text_columns` on the
    scanned levels: a column of numbers with a few texts (here a NaN spelling
    is a text: Dask keeps such a column as text), levels differing only by
    surrounding spaces or case."""
    for col in cats:
        stats = _combine_levels(results, col)
        values = list(stats)
        if not values or not any(isinstance(v, str) for v in values):
            continue
        texts = mixed_texts(values, strict=True) if col in as_is else None
        if texts is not None:
            n_rows = sum(stats[values[k]][0] for k in texts)
            listed = ", ".join(f"{values[k]!r} ({_rows(*stats[values[k]])})" for k in texts[:5])
            raise numbers_error(str(col), "predictor", n_rows, listed)
        groups = label_variants(values, [stats[v][0] for v in values])
        if groups:
            raise ValueError(f"column {str(col)!r} has levels that differ only by surrounding "
                             f"spaces or case: {describe_variants(groups)}; each would be a "
                             "level of its own. Correct them in the data so that each group "
                             "is one level.")


def _combine_missing(results, missing, n_total):
    starts = np.concatenate([[0], np.cumsum([r["n_total"] for r in results])[:-1]])
    per_col = {}
    for r, start in zip(results, starts):
        for name, count, first in r["missing"]:
            c0, f0 = per_col.get(name, (0, None))
            per_col[name] = (c0 + count, f0 if f0 is not None else int(start + first))
    counts = [(name, c, f) for name, (c, f) in per_col.items()]
    n_bad = sum(r["n_incomplete"] for r in results)
    if n_bad and missing == "raise":
        raise ValueError(missing_message(n_bad, n_total, counts))
    if n_bad:
        warn(dropped_message(n_bad, n_total, counts), MissingValuesWarning)
    return n_bad


def _levels(results, col, dtype):
    if isinstance(dtype, pd.CategoricalDtype) and dtype.categories is not None \
            and len(dtype.categories):
        return list(dtype.categories)
    values = set()
    for r in results:
        values.update(python_value(v) for v in r["levels"][col][0])
    return sorted_levels(values)


def synthetic_frame(variables, meta, levels: dict) -> pd.DataFrame:
    """A few rows holding every level of every categorical column (numeric
    columns are 1): enough for formulaic to learn the encoding."""
    n = max([len(v) for v in levels.values()] + [1])
    frame = {}
    for c in variables:
        dtype = meta[c].dtype
        if c in levels:
            lv = levels[c] or [None]
            values = [lv[i % len(lv)] for i in range(n)]
            if isinstance(dtype, pd.CategoricalDtype):
                frame[c] = pd.Categorical(values, categories=lv)
            elif getattr(dtype, "kind", "O") in "biuf":
                frame[c] = np.asarray(values, dtype=dtype)
            else:
                frame[c] = pd.Series(values, dtype=object)
        else:
            frame[c] = np.ones(n, dtype=dtype)
    return pd.DataFrame(frame, columns=list(variables))


def _column(value, what, columns):
    if value is None:
        return None
    if isinstance(value, str):
        if value not in columns:
            raise ValueError(f"{what}={value!r} is not a column of the data; its columns are "
                             f"{', '.join(map(repr, map(str, columns)))}.")
        return value
    if what == "offset" and isinstance(value, (list, tuple)) and all(
            isinstance(v, str) and v in columns for v in value):
        return list(value)
    raise ValueError(f"on Dask, give {what} as a column name of the data (arrays would have "
                     "to be lined up with the partitions).")


def _reference_class(y_dtype, classes):
    """A categorical response's first observed level (R's reference class), or None."""
    if isinstance(y_dtype, pd.CategoricalDtype) and y_dtype.categories is not None:
        observed = set(classes.tolist())
        first = [c for c in y_dtype.categories if c in observed]
        if first:
            return python_value(first[0])
    return None


@dataclass
class PreparedFormula:
    """A formula on Dask, ready to fit: its design, the partitions as a
    :class:`~logitlab.engines.dask.input.Source`, their combined scan, and the
    reference class a categorical response implies (or None)."""

    design: Design
    source: dask_input.Source
    scanned: dask_input.Scanned
    reference_class: object = None


def prepare_formula(formula: str, data, *, missing: str = "raise", sample_weight=None,
                    offset=None, groups=None, unseen: str = "raise", na_values=None,
                    sep=None, dtype=None, cov_type="nonrobust",
                    engine_options=None, ordinal=False, levels=None) -> PreparedFormula:
    """Scan a Dask DataFrame or Parquet / CSV path for a formula (see the module
    docstring); ``sample_weight`` / ``offset`` / ``groups`` are column names;
    ``na_values`` / ``sep`` for CSV paths as :func:`logitlab.read_table` reads them;
    ``ordinal``: the response holds ordered levels (``levels``, else an ordered
    Categorical's categories, else numeric order)."""
    check_formula_options(missing, unseen)
    response_levels = levels        # `levels` below: the predictors' factor levels
    ddf = _as_dask_frame(data, engine_options or {}, na_values, sep)
    response, rhs = split_formula(formula)
    columns = list(ddf.columns)
    counted = cbind_columns(response, columns)      # cbind(successes, failures): its columns
    if counted is None:
        check_response(response, columns)
    responses = counted or [response]
    named = {"s": _column(sample_weight, "sample_weight", columns),
             "offset": _column(offset, "offset", columns),
             "groups": _column(groups, "groups", columns)}
    extra = [c for v in named.values() if v is not None
             for c in ([v] if isinstance(v, str) else v)]
    taken = set(responses) | set(extra)
    stateful = _STATEFUL_CALL.search(expand_dot(rhs, [c for c in columns if c not in taken]))
    if stateful:
        raise FormulaError(f"the formula uses {stateful.group(1)}(), whose state (means, "
                           "scales, knots) is learned from the data; on Dask compute that "
                           "column first (e.g. ddf['x_c'] = ddf.x - ddf.x.mean()) or fit in "
                           "memory.")
    rhs, parsed, variables = formula_terms(rhs, columns, [c for c in columns if c not in taken])
    used = tuple(dict.fromkeys(responses + variables + extra))
    meta = plain_strings(ddf._meta)
    cats = categorical_columns(parsed, variables, meta)
    fraw = FormulaRaw(used=used, variables=tuple(variables), response=response,
                      columns={k: v for k, v in named.items() if v is not None},
                      cbind=counted is not None)
    client = client_for(engine_options or {})
    with dask_input.naming_bad_files(client, data if is_path(data) else None):
        results = _scan(client, ddf[list(used)], fraw, cats)
    n_total = int(sum(r["n_total"] for r in results))
    check_level_texts(results, column_uses(parsed, columns)[0], cats)
    n_dropped = _combine_missing(results, missing, n_total)
    levels = {c: _levels(results, c, meta[c].dtype) for c in cats}
    design, _ = Design.build(rhs, synthetic_frame(variables, meta, levels), response=response,
                             unseen=unseen, n_rows=n_total, n_dropped=n_dropped)
    if ordinal:
        if counted is not None:
            raise ValueError("an ordinal model needs one ordered response column, not "
                             "cbind(successes, failures).")
        dtype_y = meta[response].dtype
        if response_levels is None and getattr(dtype_y, "name", "") == "category" and \
                dtype_y.ordered:
            response_levels = list(dtype_y.categories)
    scanned = dask_input.combine_scans([r["scan"] for r in results], None, cov_type,
                                       ordinal=ordinal, levels=response_levels)
    fraw = replace(fraw, design=design, n_columns=len(design.columns))
    dtype = "float64" if dtype is None else np.dtype(dtype).name
    source = dask_input.Source(
        parts=[(p,) for p in ddf[list(used)].to_delayed()],
        assembler=dask_input.Assembler(features=None, dtype=dtype, formula=fraw),
        feature_names=list(design.columns), n_features=len(design.columns), dtype=dtype,
        given={k for k, v in named.items() if v is not None} | {"y"},
        nbytes_per_row=len(design.columns) * 8 + 16)
    return PreparedFormula(design, source, scanned, None if counted is not None else
                           _reference_class(meta[response].dtype, scanned.classes))


def _as_dask_frame(data, opts, na_values=None, sep=None):
    import dask.dataframe as dd
    if is_path(data):
        return dask_input.read_path(data, na_values=na_values, sep=sep)
    if is_dask_collection(data):
        if not hasattr(data, "columns"):
            raise TypeError("formula data must be a Dask DataFrame (with columns), not a "
                            f"{type(data).__name__}.")
        read_table(data._meta, na_values=na_values, sep=sep)   # options for files only
        return data
    return dd.from_pandas(read_table(data, na_values=na_values, sep=sep),
                          npartitions=opts.get("n_partitions") or 4, sort=False)


def _scan(client, ddf, fraw, cats):
    from dask import delayed
    task = delayed(formula_scan, pure=True)
    try:
        return client.compute([task(p, fraw, cats) for p in ddf.to_delayed()], sync=True)
    except ValueError as err:
        reworded = dask_input.reworded_dtype_mismatch(err)
        if reworded is None:
            raise
        raise reworded from None


__all__ = ["prepare_formula", "PreparedFormula", "FormulaRaw", "formula_scan", "synthetic_frame",
           "categorical_columns", "STATEFUL"]
