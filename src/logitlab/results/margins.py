"""Marginal effects of a fitted model, with delta-method standard errors.

The semantics are those of R's ``marginaleffects`` (``avg_slopes``,
``slopes(newdata="mean")``, ``slopes(newdata=datagrid(...))``,
``avg_comparisons`` for factors) and of statsmodels' ``get_margeff``.

Probabilities. With the design row ``x_i`` (d,) of raw data row ``i``, the
extended row ``x̃_i = [x_i, 1]`` (the intercept last, when fitted) and the
full coefficient matrix ``W̃`` (d + 1, K) — the fitted ``W`` in the columns of
the free classes, 0 for a reference class — the logits are ``z_i = x̃_i W̃``
and ``P_i = softmax(z_i)`` (K,) (for binary models ``P_i1 = σ(z_i1)``).

Numeric variables (``kind="dydx"``). The effect of raw variable ``v`` on the
probability of class ``m`` in row ``i`` is ``e_im = ∂P_im / ∂v_i``. By the
chain rule, with ``D_i = ∂x_i / ∂v_i`` (d,) the derivative of the design row
(every column that ``v`` enters: ``age``, ``I(age**2)``, ``age:C(sex)[T.m]``),
``g_i = D_i W̃`` (K,) and ``ḡ_i = Σ_k P_ik g_ik``::

    e_im = P_im (g_im − ḡ_i)                                       (binary: p(1−p) D_i β)

``D_i`` is exact (a unit vector) for a fit on a plain matrix, and a central
difference of the formula's encoding (``design_.transform``) at the relative
step ``h_i = 1e-5 max(|v_i|, mean |v|)`` for formula fits (exact for columns
linear or quadratic in ``v``, relative error ~1e-10 otherwise); everything
else is analytic. ``kind="eyex"`` gives elasticities ``e_im v_i / P_im``,
``"dyex"`` ``e_im v_i``, ``"eydx"`` ``e_im / P_im`` (statsmodels' methods).

Discrete changes. Categorical variables (formula factors: text, categorical
or bool columns and ``C(x)``) get, for every level ``ℓ`` other than the
factor's reference level ``r``, ``e_im = P_im(v = ℓ) − P_im(v = r)`` with every
row set to ``ℓ``, and to ``r`` (marginaleffects' default comparison for
factors). ``dummy=True`` treats numeric 0/1 variables (min 0, max 1, integer
valued: statsmodels' rule) as discrete, ``P(v = 1) − P(v = 0)``;
``count=True`` treats other non-negative, non-constant integer variables as
counts, ``(P(v + 1) − P(v − 1)) / 2`` (statsmodels' centred unit change).
With ``kind`` ``"eyex"`` or ``"eydx"`` discrete changes are on the log scale,
``log P(hi) − log P(lo)``, as statsmodels does.

Where. ``at="overall"``: the average over the rows of ``data`` (average
marginal effects; ``weights`` make it a weighted average); ``at="mean"``: at
one row, each variable at its mean (categorical and bool variables at their
most frequent value, as marginaleffects' ``datagrid``; for a plain-matrix fit
the mean row of the design, as statsmodels); ``at=dict`` of variable ->
value(s): at every row of the grid of those values, the other variables at
their mean (mode); ``at=DataFrame``: at each of its rows (marginaleffects'
``newdata``).

Standard errors (delta method). With ``V`` the fit's covariance of the
estimated coefficients (robust if the fit was), the gradient of an effect
``ē = Σ_i a_i e_im`` (``a_i`` the averaging weights, or one row) with respect
to ``W̃[j, c]`` is analytic, ``Σ_i a_i (x̃_ij A_imc + D̃_ij B_imc)`` with::

    B_imc = P_im (δ_mc − P_ic)               (= ∂P_im / ∂z_ic)
    A_imc = B_imc (g_im − ḡ_i) − P_im P_ic (g_ic − ḡ_i)

(and for a discrete change ``Σ_i a_i (x̃_ij B_imc |hi − x̃_ij B_imc |lo)``);
``se = sqrt(G V Gᵀ)``, ``z = ē / se``, two-sided normal p-values and Wald
intervals ``ē ± z_{1−α/2} se``. Penalized fits have no covariance: margins
raise :class:`~logitlab.results.inference.InferenceUnavailable` unless
``se=False``, which gives the estimates with NaN statistics.

Dask data (``at="overall"``, no weights or offset): the average is the sum over
partitions of the per-partition sums of ``e_i`` and of its gradient, divided by
``n``; the variables' summaries (mean |v| for the steps, levels, min, max,
integrality for the discrete rules) are computed over all rows first. Other
``at`` on Dask data are refused (compute the rows into memory first).
"""

from __future__ import annotations

import itertools
import numbers

import numpy as np
import pandas as pd
from scipy import stats

from ..data.formula import python_value
from ..data.io import read_table
from ..data.validation import check_offset
from ..engines import is_dask_collection, is_path
from .inference import as_results, display_order, require_inference, covariance_matrix

KINDS = ("dydx", "eyex", "dyex", "eydx")
#: relative step of the central difference of the design in a raw variable
STEP = 1e-5
COLUMNS = ["term", "contrast", "estimate", "std_err", "z", "p_value", "ci_low", "ci_high"]


# ------------------------------------------------------------------ spaces
class _Space:
    """The raw variables of a model and how they become its design matrix."""

    def __init__(self, model, data, scales=None):
        self.design = getattr(model, "design_", None)
        results = as_results(model)
        self.n_features = results.layout.n_features
        if self.design is not None:
            self.frame = _formula_frame(self.design, data)
            self.variables = list(self.design.variables)
            self.levels = _factor_levels(self.design, self.frame.columns)
        else:
            self.variables = [str(n) for n in results.feature_names]
            self.frame = _matrix_frame(data, self.variables)
            self.levels = {}
        self.scales = dict(scales or {})               # variable -> mean |v| (the step's scale)
        if len(self.frame):
            self.transform(self.frame.iloc[:1])      # the data encode (clear errors)

    def scale(self, v) -> float:
        if v not in self.scales:
            self.scales[v] = float(np.mean(np.abs(self.frame[v].to_numpy(dtype=np.float64))))
        return self.scales[v]

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Raw rows -> the numeric design (n, d), float64."""
        if self.design is None:
            return frame.to_numpy(dtype=np.float64)
        X = self.design.transform(frame).to_numpy(dtype=np.float64)
        if X.shape[1] != self.n_features:
            raise ValueError(f"the data encode to {X.shape[1]} columns; the model has "
                             f"{self.n_features}.")
        return X

    def derivative(self, frame: pd.DataFrame, v: str) -> np.ndarray:
        """``D = ∂x / ∂v`` (n, d): the unit vector of column ``v`` for a matrix
        fit; the central difference of the formula's encoding otherwise. Rows
        whose step leaves a transform's range (a spline's boundary knots) get
        the one-sided second-order difference ``±(3x(v) − 4x(v ∓ h) + x(v ∓ 2h)) / 2h``."""
        n = len(frame)
        if self.design is None:
            D = np.zeros((n, self.n_features))
            D[:, self.variables.index(v)] = 1.0
            return D
        x = frame[v].to_numpy(dtype=np.float64)
        scale = self.scale(v)
        h = STEP * np.maximum(np.abs(x), scale if scale > 0 else 1.0)
        at = lambda rows, t: self.transform(_with(frame.iloc[rows], v, x[rows] + t[rows]))  # noqa: E731
        (up_ok, X_up), (down_ok, X_down) = self._valid(x, h, at), self._valid(x, -h, at)
        step = (x + h) - (x - h)                         # the steps actually taken
        if X_up is not None and X_down is not None:
            return (X_up - X_down) / step[:, None]
        D = np.zeros((n, self.n_features))
        both = np.flatnonzero(up_ok & down_ok)
        if both.size:
            D[both] = (at(both, h) - at(both, -h)) / step[both, None]
        for rows, t in ((np.flatnonzero(~up_ok & down_ok), -h),
                        (np.flatnonzero(up_ok & ~down_ok), h)):
            if rows.size:
                D[rows] = (3 * at(rows, 0 * h) - 4 * at(rows, t) + at(rows, 2 * t)) \
                    / (-2 * t[rows, None])
        if (~up_ok & ~down_ok).any():
            raise ValueError(f"the formula cannot be evaluated near the values of {v!r} "
                             "(neither a step up nor a step down); its derivative is undefined.")
        return D

    @staticmethod
    def _valid(x, t, at):
        """``(ok, X)``: (n,) bool, the rows where ``v + t`` can be encoded, and
        the encoding of all rows when every one can (else None). Leaving a
        range is monotone in ``v``, so the boundary is found by bisection over
        the sorted values (a few encodings), not row by row."""
        rows = np.arange(x.size)
        try:
            return np.ones(x.size, dtype=bool), at(rows, t)
        except ValueError:
            pass
        order = np.argsort(x if t[0] >= 0 else -x, kind="stable")   # the safe side first
        lo, hi = 0, x.size              # order[:lo] encodes, order[:hi] does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            try:
                at(np.sort(order[:mid]), t)
                lo = mid
            except ValueError:
                hi = mid
        ok = np.zeros(x.size, dtype=bool)
        ok[order[:lo]] = True
        return ok, None

    def typical_row(self) -> pd.DataFrame:
        """One row: numeric variables at their mean, the others at their mode."""
        row = {}
        for v in self.variables:
            col = self.frame[v]
            if v in self.levels or not _is_number(col):
                row[v] = [col.mode(dropna=True).iloc[0]]
            else:
                row[v] = [float(col.to_numpy(dtype=np.float64).mean())]
        out = pd.DataFrame(row)
        for v in self.variables:            # keep categorical dtypes (their levels)
            if isinstance(self.frame[v].dtype, pd.CategoricalDtype):
                out[v] = pd.Categorical(out[v], categories=self.frame[v].cat.categories)
        return out


def _is_number(col: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)


def _formula_frame(design, data) -> pd.DataFrame:
    df = read_table(data)
    absent = [v for v in design.variables if v not in df.columns]
    if absent:
        raise ValueError(f"the data lack the column{'s' if len(absent) > 1 else ''} "
                         f"{', '.join(map(repr, absent))} used by the formula "
                         f"{design.formula!r}; pass the raw data the model was fitted on "
                         "(or new rows with the same columns).")
    return df[list(design.variables)].reset_index(drop=True)


def _matrix_frame(data, names) -> pd.DataFrame:
    if is_path(data) or not isinstance(data, (pd.DataFrame, np.ndarray, list, tuple)):
        data = read_table(data)          # a data file, polars / pyarrow tables, dicts
    if isinstance(data, pd.DataFrame):
        absent = [v for v in names if v not in map(str, data.columns)]
        if absent:
            raise ValueError(f"the data lack the column{'s' if len(absent) > 1 else ''} "
                             f"{', '.join(map(repr, absent))} of the model's features "
                             f"{names}.")
        df = data.rename(columns=str)[names].reset_index(drop=True)
    else:
        X = np.asarray(data)
        if X.ndim != 2 or X.shape[1] != len(names):
            raise ValueError(f"data must be a 2-d array with {len(names)} columns (the "
                             f"model's features); got shape {X.shape}.")
        df = pd.DataFrame(X, columns=names)
    try:
        df = df.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError("the data of a model fitted on a numeric matrix must be numeric.") \
            from None
    if not np.isfinite(df.to_numpy()).all():
        raise ValueError("the data contain NaN or inf; drop or fill those rows first.")
    return df


def _factor_levels(design, columns) -> dict:
    """variable -> (levels, reference) for the raw columns a categorical factor encodes."""
    out = {}
    for f in design.factors.values():
        col = f.get("column")
        if f["kind"] == "categorical" and col in columns and col not in out:
            out[col] = (list(f["levels"]), f["reference"])
    return out


# ------------------------------------------------------------------ effects
class _Model:
    """Coefficients, probabilities and their derivatives (see the module docstring)."""

    def __init__(self, results, offset_for):
        lay = results.layout
        self.family, self.layout = results.family, lay
        self.W = lay.matrix(results.coef)
        self.K = lay.n_classes
        self.free = list(lay.free_classes)
        self.Wfull = np.zeros((lay.n_rows, self.K))
        self.Wfull[:, self.free] = self.W
        self.offset_for = offset_for

    def extended(self, X, value=1.0):
        """``x̃ = [x, value]`` (the intercept's column; 0 for a derivative)."""
        if not self.layout.fit_intercept:
            return X
        return np.column_stack([X, np.full(X.shape[0], value)])

    def probabilities(self, X):
        """``P`` (n, K) and ``B`` (n, K, K), ``B_imc = P_im (δ_mc − P_ic)``."""
        Z = self.family.linear_predictor(X, self.W, self.offset_for(X.shape[0]))
        P = self.family.probabilities(Z)
        B = P[:, :, None] * (np.eye(self.K)[None] - P[:, None, :])
        return P, B

    def slope(self, X, D):
        """``e`` (n, K) and the gradient terms ``[(x̃, A), (D̃, B)]`` of ``∂P/∂v``."""
        P, B = self.probabilities(X)
        g = D @ self.Wfull[:self.layout.n_features]
        gbar = np.sum(P * g, axis=1, keepdims=True)
        dev = g - gbar
        e = P * dev
        A = B * dev[:, :, None] - P[:, :, None] * (P * dev)[:, None, :]
        return e, P, [(self.extended(X), A), (self.extended(D, 0.0), B)], B

    def gradient(self, terms, weights):
        """``G`` (r, K, size): gradients w.r.t. the flat coefficient vector of the
        effects ``Σ_i a_ri e_im`` (``weights`` (r, n) the ``a``; None: each row),
        from the terms ``Σ_t x̃_t ⊗ M_t``."""
        if weights is None:                          # per row
            G = sum(np.einsum("ij,imc->imjc", Xt, Mt) for Xt, Mt in terms)
        else:
            G = sum(np.einsum("ri,ij,imc->rmjc", weights, Xt, Mt, optimize=True)
                    for Xt, Mt in terms)
        r = G.shape[0]
        return G[..., self.free].reshape(r, self.K, -1)


def _average(weights, n, per_row):
    """Averaging weights (1, n) of one weighted mean, or None (each row)."""
    if per_row:
        return None
    w = np.ones(n) if weights is None else weights
    return (w / w.sum())[None, :]


def _apply(a, e):
    """``a @ e`` (r, K), or ``e`` itself when ``a`` is None (each row)."""
    return e if a is None else a @ e


def _effects_model(results, offset_for):
    """The effects of the fit's family: :class:`_Model` (binary, multinomial) or
    :class:`~logitlab.results.ordinal_margins.OrdinalEffects`."""
    if results.layout.ordinal:
        from .ordinal_margins import OrdinalEffects
        return OrdinalEffects(results, offset_for)
    return _Model(results, offset_for)


def _numeric_effect(mdl, space, frame, v, kind, a):
    if hasattr(mdl, "numeric_effect"):
        return mdl.numeric_effect(space, frame, v, kind, a)
    X = space.transform(frame)
    D = space.derivative(frame, v)
    e, P, terms, B = mdl.slope(X, D)
    if kind in ("eyex", "eydx"):               # ÷ P: A' = A/P − e B/P², B' = B/P
        (Xa, A), (Da, _) = terms
        Pm = P[:, :, None]
        terms = [(Xa, A / Pm - e[:, :, None] * B / Pm ** 2), (Da, B / Pm)]
        e = e / P
    if kind in ("eyex", "dyex"):                 # × v_i
        x = frame[v].to_numpy(dtype=np.float64)
        terms = [(Xt, Mt * x[:, None, None]) for Xt, Mt in terms]
        e = e * x[:, None]
    return _apply(a, e), mdl.gradient(terms, a)


def _discrete_effect(mdl, space, lo, hi, kind, a, factor=1.0):
    if hasattr(mdl, "discrete_effect"):
        return mdl.discrete_effect(space, lo, hi, kind, a, factor)
    Xlo, Xhi = space.transform(lo), space.transform(hi)
    Plo, Blo = mdl.probabilities(Xlo)
    Phi, Bhi = mdl.probabilities(Xhi)
    if kind in ("eyex", "eydx"):                  # log scale, as statsmodels
        e = np.log(Phi) - np.log(Plo)
        Bhi, Blo = Bhi / Phi[:, :, None], Blo / Plo[:, :, None]
    else:
        e = Phi - Plo
    terms = [(mdl.extended(Xhi), factor * Bhi), (mdl.extended(Xlo), -factor * Blo)]
    return factor * _apply(a, e), mdl.gradient(terms, a)


def _with(frame, v, value):
    out = frame.copy()
    values = value if isinstance(value, np.ndarray) else [value] * len(frame)
    if isinstance(frame[v].dtype, pd.CategoricalDtype):
        out[v] = pd.Categorical(values, categories=frame[v].cat.categories)
    else:
        out[v] = values
    return out


def _variable_plan(space, variables, dummy, count, summary=None) -> dict:
    """variable -> ("factor", levels, reference) | ("dummy",) | ("count",) | ("numeric",).

    ``summary`` (Dask data): variable -> {"levels"} or {"min", "max", "integer",
    "var"} computed over all rows; otherwise from ``space.frame``."""
    plan = {}
    for v in variables:
        if v in space.levels:
            plan[v] = ("factor", *space.levels[v])
            continue
        if summary is not None:
            st = summary[v]
        elif not _is_number(space.frame[v]):
            st = {"levels": list(pd.unique(space.frame[v].dropna()))}
        else:
            x = space.frame[v].to_numpy(dtype=np.float64)
            st = {"min": x.min(), "max": x.max(), "integer": bool(np.all(x % 1.0 == 0)),
                  "var": x.var()}
        if "levels" in st:
            levels = sorted((python_value(x) for x in st["levels"]), key=repr)
            plan[v] = ("factor", levels, levels[0])
            continue
        is_dummy = st["integer"] and st["min"] == 0 and st["max"] == 1
        if dummy and is_dummy:
            plan[v] = ("dummy",)
        elif count and st["integer"] and not is_dummy and st["var"] != 0 and st["min"] >= 0:
            plan[v] = ("count",)
        else:
            plan[v] = ("numeric",)
    return plan


def _blocks(mdl, space, frame, plan, kind, a) -> list:
    """``(variable, contrast, estimate (r, K), gradient (r, K, size))`` per effect."""
    blocks = []
    for v, (what, *info) in plan.items():
        if what == "factor":
            levels, ref = info
            for lev in levels:
                if lev == ref:
                    continue
                est, G = _discrete_effect(mdl, space, _with(frame, v, ref),
                                          _with(frame, v, lev), kind, a)
                blocks.append((v, f"{lev} - {ref}", est, G))
        elif what == "dummy":
            est, G = _discrete_effect(mdl, space, _with(frame, v, 0.0), _with(frame, v, 1.0),
                                      kind, a)
            blocks.append((v, "1 - 0", est, G))
        elif what == "count":
            x = frame[v].to_numpy(dtype=np.float64)
            est, G = _discrete_effect(mdl, space, _with(frame, v, x - 1), _with(frame, v, x + 1),
                                      kind, a, factor=0.5)
            blocks.append((v, "+1", est, G))
        else:
            label = {"dydx": "dY/dX", "eyex": "eY/eX", "dyex": "dY/eX", "eydx": "eY/dX"}[kind]
            est, G = _numeric_effect(mdl, space, frame, v, kind, a)
            blocks.append((v, label, est, G))
    return blocks


# ------------------------------------------------------------------ public
def marginal_effects(model, data, variables=None, at="overall", kind="dydx", dummy=False,
                     count=False, level=0.95, se=True, weights=None,
                     offset=None) -> pd.DataFrame:
    """Marginal effects of ``variables`` on the class probabilities (see the
    module docstring for the definitions).

    Parameters
    ----------
    model : a fitted :class:`~logitlab.LogisticRegression` (formula or matrix fit)
    data : the rows (raw data frame for formula fits; array or DataFrame of the
        features otherwise; a path to a data file); a Dask DataFrame for
        ``at="overall"`` (per-partition sums)
    variables : names or None (every variable of the model)
    at : "overall" | "mean" | dict of variable -> value(s) | DataFrame
    kind : "dydx" (default), "eyex", "dyex", "eydx" (numeric variables)
    dummy, count : treat 0/1 and count numeric variables as discrete changes
    level : confidence level of the intervals
    se : False gives the estimates only (needed for penalized fits)
    weights : (n,) non-negative weights of the rows of ``data`` for ``"overall"``
    offset : (n,) / (n, K) offsets of the rows evaluated (default 0)

    Returns
    -------
    DataFrame, one row per (class,) variable and contrast (and grid row):
    ``class`` (multinomial only: every class), ``term``, ``contrast``
    (``dY/dX``, ``eY/eX``, ``dY/eX``, ``eY/dX``, ``"b - a"`` for a level
    against the reference, ``1 - 0`` dummies, ``+1`` counts), the ``at``
    variables (dict) or ``row`` (DataFrame), ``estimate``, ``std_err``, ``z``,
    ``p_value``, ``ci_low``, ``ci_high``. Binary models: effects on
    ``P(classes_[1])``; ordinal models: on every level's probability (column
    ``class``; :mod:`logitlab.results.ordinal_margins`).
    """
    results = as_results(model)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}; got {kind!r}.")
    if not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise ValueError(f"level must be a number between 0 and 1 (e.g. 0.95); got {level!r}.")
    if is_dask_collection(at):
        raise ValueError("at= must be in memory (a dict or a pandas DataFrame of a few rows); "
                         "compute it first.")
    if is_dask_collection(data):
        if not (isinstance(at, str) and at == "overall") or weights is not None \
                or offset is not None:
            raise ValueError("on Dask data margins average over the rows (at='overall') "
                             "without weights or offset; for at='mean', a grid or weights, "
                             "compute the rows into memory first (ddf.compute()).")
        variables, blocks = _dask_overall(model, data, variables, kind, dummy, count)
        V, order = _covariance(results, se)
        return _table(results, blocks, None, [], False, at, V, order, level)
    space = _Space(model, data)
    variables = _check_variables(space, variables)
    frame, grid_cols, per_row = _evaluation_frame(space, at)
    V, order = _covariance(results, se)
    n = len(frame)
    if n == 0:
        raise ValueError("the data have no rows; margins need at least one.")
    offsets = check_offset(offset, n, 2 if results.layout.ordinal else results.layout.n_classes)
    mdl = _effects_model(results, lambda rows: offsets)
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if per_row or weights.shape != (n,) or np.any(weights < 0) or weights.sum() <= 0 \
                or not np.isfinite(weights).all():
            raise ValueError(f"weights must be {n} non-negative finite numbers, not all 0, "
                             "one per row of data (at='overall' only).")
    a = _average(weights, n, per_row)
    plan = _variable_plan(space, variables, dummy, count)
    blocks = _blocks(mdl, space, frame, plan, kind, a)
    return _table(results, blocks, frame, grid_cols, per_row, at, V, order, level)


def _covariance(results, se):
    """``(V, order)``: the covariance of the estimated coefficients and their
    indices in the flat vector (display order), or ``(None, None)``."""
    if not se:
        return None, None
    state = require_inference_for_margins(results)
    V = covariance_matrix(state)
    pos = {full: p for p, full in enumerate(state.estimated)}
    order = [i for i in display_order(results) if i in pos]
    idx = [pos[i] for i in order]
    return V[np.ix_(idx, idx)], order


# ------------------------------------------------------------------ Dask
def _dask_overall(model, ddf, variables, kind, dummy, count):
    """Average effects over the rows of a Dask DataFrame: per partition the sums
    ``Σ_i e_i`` and ``Σ_i ∂e_i/∂β`` (:func:`_partition_sums`), added up and
    divided by ``n``. The variables' summaries (mean |v| for the steps; levels,
    min, max, integrality for the discrete rules) are computed over all rows
    first, so that every partition does the same thing."""
    import dask

    from ..engines.dask.formula import plain_strings
    design = getattr(model, "design_", None)
    names = list(design.variables) if design is not None else \
        [str(c) for c in as_results(model).feature_names]
    columns = [str(c) for c in ddf.columns]
    absent = [v for v in names if v not in columns]
    if absent:
        raise ValueError(f"the data lack the column{'s' if len(absent) > 1 else ''} "
                         f"{', '.join(map(repr, absent))} the model uses ({names}).")
    ddf = ddf[names]
    probe = _Space(model, plain_strings(ddf.head(1, npartitions=-1)))
    variables = _check_variables(probe, variables)
    lazy, levels = {}, {}
    for v in variables:
        col = ddf[v]
        if v in probe.levels:
            continue
        if not _is_number(probe.frame[v]):
            levels[v] = col.dropna().unique()
            continue
        lazy[v] = {"scale": col.abs().mean(), "min": col.min(), "max": col.max(),
                   "integer": (col % 1.0 == 0).all(), "var": col.var(ddof=0)}
    lazy["__n__"] = ddf.shape[0]
    summary, levels = dask.compute(lazy, levels)
    n = int(summary.pop("__n__"))
    if n == 0:
        raise ValueError("the data have no rows; margins need at least one.")
    for v, values in levels.items():
        summary[v] = {"levels": list(values)}
    plan = _variable_plan(probe, variables, dummy, count, summary=summary)
    scales = {v: float(st["scale"]) for v, st in summary.items() if "scale" in st}
    parts = [dask.delayed(_partition_sums)(model, dask.delayed(plain_strings)(part), plan,
                                           scales, kind)
             for part in ddf.to_delayed()]
    sums = [b for b in dask.compute(*parts) if b is not None]
    blocks = []
    for j, (v, contrast, _, _) in enumerate(sums[0]):
        est = sum(part[j][2] for part in sums) / n
        G = sum(part[j][3] for part in sums) / n
        blocks.append((v, contrast, est, G))
    return variables, blocks


def _partition_sums(model, frame, plan, scales, kind):
    """The blocks of :func:`_blocks` with sums over the rows of one partition
    (None for an empty partition)."""
    if len(frame) == 0:
        return None
    space = _Space(model, frame, scales)
    mdl = _effects_model(as_results(model), lambda rows: None)
    return _blocks(mdl, space, space.frame, plan, kind, np.ones((1, len(frame))))


def require_inference_for_margins(results):
    """The inference state, or InferenceUnavailable saying how to get estimates only."""
    from .inference import InferenceUnavailable
    try:
        return require_inference(results)
    except InferenceUnavailable as err:
        raise InferenceUnavailable(f"{err} Marginal effects without standard errors: "
                                   "pass se=False.") from None


def _check_variables(space, variables):
    if variables is None:
        return list(space.variables)
    if isinstance(variables, str):
        variables = [variables]
    variables = list(variables)
    unknown = [v for v in variables if v not in space.variables]
    if unknown:
        raise ValueError(f"unknown variable{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(map(repr, unknown))}; the model's variables are "
                         f"{space.variables}.")
    return variables


def _evaluation_frame(space, at):
    """(rows to evaluate, extra output columns — or the row labels of a
    DataFrame ``at`` —, per-row?)"""
    if isinstance(at, str):
        if at == "overall":
            return space.frame, [], False
        if at == "mean":
            if space.design is None:
                row = pd.DataFrame([space.frame.mean(axis=0).to_numpy()],
                                   columns=space.variables)
                return row, [], False
            return space.typical_row(), [], False
        raise ValueError(f"at must be 'overall', 'mean', a dict of variable -> value(s) or a "
                         f"DataFrame of rows; got {at!r}.")
    if isinstance(at, dict):
        unknown = [k for k in at if k not in space.variables]
        if unknown:
            raise ValueError(f"at names unknown variable{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(map(repr, unknown))}; the model's variables are "
                             f"{space.variables}.")
        if not at:
            raise ValueError("at={} gives no values; name variables and values, e.g. "
                             "at={'age': [20, 30]}.")
        values = {k: list(np.atleast_1d(np.asarray(v, dtype=object))) for k, v in at.items()}
        rows = list(itertools.product(*values.values()))
        base = space.typical_row()
        frame = pd.concat([base] * len(rows), ignore_index=True)
        for j, k in enumerate(values):
            column = np.array([r[j] for r in rows], dtype=object)
            dtype = space.frame[k].dtype
            if _is_number(space.frame[k]):
                column = column.astype(np.float64)
            elif pd.api.types.is_bool_dtype(dtype):
                column = column.astype(bool)
            frame = _with(frame, k, column)
        return frame, list(values), True
    if isinstance(at, pd.DataFrame):
        if space.design is not None:
            frame = _formula_frame(space.design, at)
        else:
            frame = _matrix_frame(at, space.variables)
        return frame, list(at.index), True
    raise TypeError(f"at must be 'overall', 'mean', a dict or a DataFrame; got "
                    f"{type(at).__name__}.")


def _table(results, blocks, frame, grid_cols, per_row, at, V, order, level):
    classes = list(results.classes)
    multinomial = results.layout.multinomial or results.layout.ordinal   # every level
    show = range(len(classes)) if multinomial else [1]
    q = stats.norm.ppf(0.5 + level / 2)
    records = []
    for v, contrast, est, G in blocks:
        r = est.shape[0]
        for m in show:
            for i in range(r):
                rec = {}
                if multinomial:
                    rec["class"] = classes[m]
                rec["term"], rec["contrast"] = v, contrast
                if per_row and isinstance(at, pd.DataFrame):
                    rec["row"] = grid_cols[i]
                elif per_row:
                    for c in grid_cols:
                        rec[c] = python_value(frame[c].iloc[i])
                value = float(est[i, m])
                if V is None:
                    s = np.nan
                else:
                    g = G[i, m][order]
                    s = float(np.sqrt(max(g @ V @ g, 0.0)))
                rec["estimate"], rec["std_err"] = value, s
                records.append(rec)
    out = pd.DataFrame.from_records(records)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["z"] = out["estimate"] / out["std_err"]
    out["p_value"] = 2 * stats.norm.sf(np.abs(out["z"]))
    out["ci_low"] = out["estimate"] - q * out["std_err"]
    out["ci_high"] = out["estimate"] + q * out["std_err"]
    return out


__all__ = ["marginal_effects", "KINDS", "COLUMNS", "STEP"]
