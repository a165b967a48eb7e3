"""Residuals, influence and goodness of fit on Dask rows, partition by partition.

The rows are a Dask DataFrame (or a Parquet / CSV path read by Dask) whose
columns hold the features (or the formula's variables), the outcome ``y`` and,
if the fit had them, the weights and the offset — given as column names. Only
the coefficients and the inverse information (k × k) go to the workers, as a
slim copy of the model; each partition is diagnosed by the in-memory code of
:mod:`logitlab.results.influence` and :mod:`logitlab.results.goodness`:

* ``residuals``: a lazy Dask Series (binary) or DataFrame (multinomial
  "response" / "pearson", one column per class) with the partitions' index;
* ``influence``: one pass adds up ``[Σ e², m, m']`` per partition
  (:func:`~logitlab.results.influence.influence_totals`, computed at once: 3 numbers),
  then a lazy Dask DataFrame of the measures. Unlike R (and the in-memory
  version) residuals below ``100 ε median|e|`` are not set to 0: the median
  would need a sort, and the difference is below rounding;
* ``hosmer_lemeshow``: the fitted probabilities come to the client (8 bytes a
  row) for the exact type-7 quantiles, then the group sums are added up per
  partition; ``le_cessie_van_houwelingen``: the sums of
  :func:`~logitlab.results.goodness.le_cessie_sums` per partition (k × k + k + 3
  numbers each).

The grouped Pearson and deviance χ² over covariate patterns need the patterns in
one place: compute the rows into memory (``ddf.compute()``) for those.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..engines import is_dask_collection, is_many_files
from . import goodness
from .influence import Rows, influence_table, influence_totals, residuals as memory_residuals


def on_dask(X) -> bool:
    """Whether ``X`` is diagnosed on Dask (a Dask collection, a glob or a directory)."""
    return X is not None and (is_dask_collection(X) or is_many_files(X))


def lean(model):
    """A copy of ``model`` with the coefficients and inference only (picklable, small).
    Built without ``copy.copy``, whose ``__getstate__`` would drop the training rows
    of ``model`` itself (object.__getstate__ returns the instance's own dict)."""
    out = object.__new__(type(model))
    out.__dict__.update(model.__dict__)
    out.results_ = model.results_.without_rows()
    out.__dict__.pop("history_", None)
    out.callback = None
    out.engine, out.engine_options = "memory", None
    return out


def _frame(X):
    if is_many_files(X):
        from ..engines.dask.input import read_path
        X = read_path(X)
    if not hasattr(X, "map_partitions") or not hasattr(X, "columns"):
        raise TypeError(f"diagnostics on Dask take a Dask DataFrame (or a Parquet / CSV path) "
                        f"with y, sample_weight and offset as column names; got "
                        f"{type(X).__name__}.")
    return X


def _columns(X, y, sample_weight, offset) -> dict:
    named = {"y": y, "sample_weight": sample_weight, "offset": offset}
    for what, value in named.items():
        if value is not None and not isinstance(value, str):
            raise TypeError(f"on a Dask DataFrame give {what} as a column name of the data; "
                            f"got {type(value).__name__}.")
    if y is None:
        raise ValueError("give y, the name of the outcome column of the Dask DataFrame.")
    missing = [v for v in named.values() if v is not None and v not in X.columns]
    if missing:
        raise ValueError(f"the data have no column {', '.join(map(repr, missing))}; its "
                         f"columns are {', '.join(map(repr, map(str, X.columns)))}.")
    return {k: v for k, v in named.items() if v is not None}


def _features(model, part: pd.DataFrame, names: dict) -> pd.DataFrame:
    if getattr(model, "design_", None) is not None:
        from ..engines.dask.formula import plain_strings
        return plain_strings(part)
    fitted = getattr(model, "feature_names_in_", None)
    if fitted is not None:
        return part[list(fitted)]
    return part.drop(columns=list(names.values()))


def _kwargs(model, part: pd.DataFrame, names: dict) -> dict:
    return {"X": _features(model, part, names), "y": part[names["y"]].to_numpy(),
            "sample_weight": (None if "sample_weight" not in names
                              else part[names["sample_weight"]].to_numpy(dtype=np.float64)),
            "offset": (None if "offset" not in names
                       else part[names["offset"]].to_numpy(dtype=np.float64))}


def _rows(model, part, names) -> Rows:
    from .influence import model_rows
    return model_rows(model, **_kwargs(model, part, names))


def _residual_part(part, model, names, type):
    if len(part) == 0:
        return _residual_meta(model, type, part.index)
    values = memory_residuals(model, type=type, **_kwargs(model, part, names))
    if values.ndim == 1:
        return pd.Series(values, index=part.index, name=type)
    return pd.DataFrame(values, index=part.index, columns=list(model.classes_))


def _residual_meta(model, type, index):
    if model.classes_.size > 2 and type in ("response", "pearson"):
        return pd.DataFrame({c: pd.Series(dtype=np.float64) for c in model.classes_},
                            index=index[:0])
    return pd.Series(dtype=np.float64, name=type, index=index[:0])


def residuals(model, X, y, type="deviance", sample_weight=None, offset=None):
    """Lazy residuals of Dask rows (module docstring)."""
    from .influence import RESIDUAL_TYPES
    if type not in RESIDUAL_TYPES:
        raise ValueError(f"type must be one of {', '.join(RESIDUAL_TYPES)}; got {type!r}.")
    X = _frame(X)
    names = _columns(X, y, sample_weight, offset)
    slim = lean(model)
    return X.map_partitions(_residual_part, slim, names, type,
                            meta=_residual_meta(slim, type, X._meta.index))


def _sum_partitions(X, fn, *args):
    """Σ over partitions of ``fn(partition, *args)`` (numbers or tuples of arrays)."""
    import dask
    from ..backends.base import add_up
    parts = [dask.delayed(fn)(p, *args) for p in X.to_delayed()]
    return dask.delayed(add_up)(parts).compute()


def _totals_part(part, model, names):
    if len(part) == 0:
        return np.zeros(3)
    return influence_totals(model, _rows(model, part, names))


def _influence_part(part, model, names, totals):
    if len(part) == 0:
        return _influence_meta(model, part.index)
    table = influence_table(model, _rows(model, part, names), totals)
    table.index = part.index
    return table


def _influence_meta(model, index):
    from .influence import coefficient_names
    cols = ["hat", "residual", "pearson", "std_deviance", "std_pearson", "studentized",
            "cooks_d"]
    names = coefficient_names(model)
    cols += [f"dfbeta_{t}" for t in names] + [f"dfbetas_{t}" for t in names]
    cols += ["dffit", "cov_ratio", "sigma"]
    flags = [f"inf_dfbetas_{t}" for t in names] + ["inf_dffit", "inf_cov_ratio",
                                                   "inf_cooks_d", "inf_hat", "influential"]
    data = {c: pd.Series(dtype=np.float64) for c in cols}
    data.update({c: pd.Series(dtype=bool) for c in flags})
    return pd.DataFrame(data, index=index[:0])


def influence(model, X, y, sample_weight=None, offset=None):
    """Lazy influence measures of Dask rows (module docstring); the sums over all
    rows are computed first."""
    X = _frame(X)
    names = _columns(X, y, sample_weight, offset)
    slim = lean(model)
    if slim.classes_.size != 2:
        raise ValueError(f"influence is computed for binary models; this model has "
                         f"{slim.classes_.size} classes.")
    totals = _sum_partitions(X, _totals_part, slim, names)
    return X.map_partitions(_influence_part, slim, names, totals,
                            meta=_influence_meta(slim, X._meta.index))


def _fitted_part(part, model, names):
    if len(part) == 0:
        return np.zeros(0)
    rows = _rows(model, part, names)
    from scipy import special
    from .influence import fitted_logits
    return special.expit(fitted_logits(model, rows))


def _hl_part(part, model, names, breaks):
    if len(part) == 0:
        return np.zeros((3, breaks.size - 1))
    rows = _rows(model, part, names)
    p = _fitted_part(part, model, names)
    return goodness.hl_sums(rows.y, rows.s, p, breaks)


def hosmer_lemeshow(model, X, y, sample_weight=None, offset=None, g: int = 10):
    """The Hosmer–Lemeshow test of Dask rows (module docstring)."""
    import dask
    goodness.check_g(g)
    X = _frame(X)
    names = _columns(X, y, sample_weight, offset)
    slim = lean(model)
    _binary(slim)
    p = np.concatenate(dask.compute(*[dask.delayed(_fitted_part)(part, slim, names)
                                      for part in X.to_delayed()]))
    _, breaks = goodness.hl_groups(p, int(g))
    return goodness.hl_from_sums(_sum_partitions(X, _hl_part, slim, names, breaks), breaks,
                                 int(g))


def _lc_part(part, model, names):
    if len(part) == 0:
        from .influence import coefficient_names
        k = len(coefficient_names(model))
        return (0.0, 0.0, np.zeros((k, k)), np.zeros(k), 0.0)
    return goodness.le_cessie_sums(model, _rows(model, part, names))


def le_cessie_van_houwelingen(model, X, y, sample_weight=None, offset=None):
    """The le Cessie–van Houwelingen test of Dask rows (sums per partition)."""
    X = _frame(X)
    names = _columns(X, y, sample_weight, offset)
    slim = lean(model)
    _binary(slim)
    return goodness.le_cessie_from_sums(_sum_partitions(X, _lc_part, slim, names))


def goodness_of_fit(model, X, y, sample_weight=None, offset=None, g: int = 10) -> dict:
    """``{"hosmer_lemeshow", "le_cessie_van_houwelingen"}`` of Dask rows (the grouped
    χ² over covariate patterns need the rows in memory)."""
    return {"hosmer_lemeshow": hosmer_lemeshow(model, X, y, sample_weight, offset, g),
            "le_cessie_van_houwelingen": le_cessie_van_houwelingen(model, X, y, sample_weight,
                                                                   offset)}


def _binary(model):
    if model.classes_.size != 2:
        raise ValueError("these goodness-of-fit tests are for binary models; this model has "
                         f"{model.classes_.size} classes.")
