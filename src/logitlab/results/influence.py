"""Residuals, leverage and influence of a fitted model, as R's ``residuals.glm``,
``rstandard``, ``rstudent``, ``hatvalues``, ``cooks.distance``, ``dfbeta(s)`` and
``influence.measures`` compute them for a binomial ``glm``.

Binary rows ``i`` (n of them) have a design row ``x̃_i`` (the estimated columns
of ``[x_i, 1]``: aliased columns are dropped, as R drops them), a response
``y_i ∈ [0, 1]`` (0/1, or the proportion of successes of a grouped row), a
prior weight ``s_i`` (frequency weight, or the number of trials of a grouped
row), an offset, the fitted ``μ_i = sigmoid(x̃_iᵀβ̂ + offset_i)`` and the
working weight ``w_i = s_i μ_i (1 − μ_i)``. With ``I = Σ w_i x̃_i x̃_iᵀ`` (k, k),
the fit's Fisher information, and ``k`` the number of estimated coefficients:

=========================  =====================================================
response                   ``y_i − μ_i``
pearson                    ``r_P = √s_i (y_i − μ_i) / √(μ_i (1 − μ_i))``
deviance                   ``r_D = sign(y_i − μ_i) √d_i``, ``d_i = 2 s_i [y log(y/μ) +
                           (1 − y) log((1 − y)/(1 − μ))]`` (``0 log 0 = 0``)
working                    ``(y_i − μ_i) / (μ_i (1 − μ_i))``
hat (leverage)             ``h_i = w_i x̃_iᵀ I⁻¹ x̃_i``
standardized_deviance      ``r_D / √(1 − h_i)``   (``rstandard``, dispersion 1)
standardized_pearson       ``r_P / √(1 − h_i)``
studentized                ``sign(r_D) √(r_D² + h_i r_P² / (1 − h_i))`` (``rstudent.glm``)
cooks_d                    ``(r_P / (1 − h_i))² h_i / k``  (``cooks.distance.glm``)
dfbeta                     ``I⁻¹ x̃_i √w_i r_D,i / (1 − h_i)`` (k,): ``lm.influence``'s
                           one-step change ``β̂ − β̂₍ᵢ₎`` of the weighted least-squares
                           fit at the optimum, with R's residuals ``e_i = r_D,i``
sigma                      ``σ₍ᵢ₎ = √((Σ e² − e_i² / (1 − h_i)) / (m − k − 1))``
dfbetas                    ``dfbeta_ij / (σ₍ᵢ₎ √(I⁻¹)_jj)``
dffit                      ``e_i √h_i / (σ₍ᵢ₎ (1 − h_i))``
cov_ratio                  ``(σ₍ᵢ₎ / σ)^{2k} / (1 − h_i)``, ``σ = √(Σ e² / (m − k))``
=========================  =====================================================

``m`` is the number of rows with positive weight (R drops zero-weight rows from
``influence``; here they stay, with ``h_i = 0`` and zero residuals). As R, a row
with ``h_i > 1 − 10 ε`` gets ``h_i = 1`` and zero dfbeta; infinite values
become NaN. ``influence.measures`` flags a row as influential
(``is.influential``) when any of: ``|dfbetas_j| > 1``; ``|dffit| > 3 √(k/(m'−k))``;
``|1 − cov_ratio| > 3k/(m'−k)``; ``F_{k, m'−k}(cooks_d) > 0.5``; ``h > 3k/m'``, with
``m'`` the number of rows with ``h_i > 0``.

The fit's information (not a sandwich) defines the leverage, whatever
``cov_type``; the hat values of the training rows sum to ``k``.

Multinomial models (K classes, class indicators ``y_ik``): ``response``
``y_ik − p_ik`` and ``pearson`` ``√s_i (y_ik − p_ik) / √(p_ik (1 − p_ik))`` are
(n, K) arrays (columns in ``classes_`` order), ``deviance`` is (n,) ``√(−2 s_i
log p_{i, y_i})`` (no sign: there is no single direction). Their influence
(:func:`multinomial_influence`): with ``M_i`` (C, k) the row's design over the C
free classes (row c holds ``x̃_i`` in class c's coefficients), ``W_i = s_i (diag p −
p pᵀ)`` (C, C) over the free classes, ``A_i = M_i I⁻¹ M_iᵀ``: leverage
``h_i = tr(W_i A_i)`` (the trace of the row's block of the hat matrix; Σ h = k), the
one-step (Pregibon) change ``dfbeta_i = I⁻¹ M_iᵀ q_i``, ``q_i = (1 − W_i A_i)⁻¹ r_i``,
``r_i = s_i (y_i − p_i)``, i.e. one Newton step from β̂ without row i, and Cook's
distance ``D_i = dfbeta_iᵀ I dfbeta_i / k = q_iᵀ A_i q_i / k`` — for K = 2 this is
R's ``cooks.distance.glm``. There are no standardized or studentized residuals,
DFBETAS, DFFIT, covariance ratios or flags for multinomial models (R's
``influence.measures`` has none either).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import linalg, special, stats

from ..core.links import log_sigmoid
from ..data.validation import check_offset, check_sample_weight
from .inference import as_results, display_order, require_inference, term_labels

RESIDUAL_TYPES = ("deviance", "pearson", "response", "working", "standardized_deviance",
                  "standardized_pearson", "studentized")
_EPS = np.finfo(np.float64).eps


@dataclass
class Rows:
    """Rows to diagnose: the numeric design ``X`` (n, d) (dense or CSR), the
    response ``y`` (n,) (binary: in [0, 1]; multinomial: class indices), prior
    weights ``s`` (n,) and the offset (None, (n,) or (n, K))."""

    X: object
    y: np.ndarray
    s: np.ndarray
    offset: np.ndarray | None

    @property
    def n(self) -> int:
        return int(self.X.shape[0])


def model_rows(model, X=None, y=None, sample_weight=None, offset=None) -> Rows:
    """The rows a diagnostic is computed on: the training rows (``X`` and ``y``
    None; held by the fit's objective) or the given ones (``X`` anything
    ``model.design_matrix`` takes, ``y`` labels of ``classes_`` or, for a binary
    model, proportions in [0, 1] with the trials as ``sample_weight``)."""
    results = as_results(model)
    if X is None and y is None:
        if sample_weight is not None or offset is not None:
            raise ValueError("sample_weight and offset go with X and y: give X and y too, or "
                             "none of them for the training rows.")
        rows = None if results.objective is None else results.objective.data.local_rows()
        if rows is None:
            where = ("was fitted on Dask (its rows stay on the workers)"
                     if getattr(model, "engine_", "memory") == "dask"
                     else "does not hold its training rows (a loaded or unpickled model)")
            raise ValueError(f"this model {where}: pass the rows to diagnose, X and y "
                             "(with sample_weight and offset if the fit had them).")
        s = np.asarray(rows.s, dtype=np.float64)
        return Rows(rows.X, np.asarray(rows.y, dtype=np.float64 if not
                                       results.layout.multinomial else np.intp),
                    np.broadcast_to(s, (rows.X.shape[0],)) if s.ndim == 0 else s,
                    rows.offset)
    if X is None or y is None:
        raise ValueError("give both X and y (the rows and their observed outcomes), or "
                         "neither for the training rows.")
    if not hasattr(model, "design_matrix"):
        raise TypeError("diagnosing new rows needs the fitted estimator (it encodes X), "
                        "not its results object.")
    Xd = model.design_matrix(X)
    n = Xd.shape[0]
    K = results.classes.size
    codes = _outcome(y, results.classes, n)
    s = check_sample_weight(sample_weight, n)
    return Rows(Xd, codes, np.broadcast_to(s, (n,)), check_offset(offset, n, K))


def _outcome(y, classes, n: int) -> np.ndarray:
    """Binary: y in [0, 1] (P(classes[1]) observed); multinomial: class indices."""
    values = np.asarray(pd.Series(y).to_numpy() if isinstance(y, (pd.Series, pd.Index)) else y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.shape != (n,):
        raise ValueError(f"y has shape {values.shape}; X has {n} rows: give one outcome per row.")
    if pd.isna(values).any():
        row = int(np.flatnonzero(pd.isna(values))[0])
        raise ValueError(f"y is missing in row {row}; drop the rows without an outcome.")
    known = np.isin(values, classes) if values.dtype.kind != "f" or classes.dtype.kind in "iuf" \
        else np.zeros(n, bool)
    if known.all():
        codes = np.searchsorted(classes, values) if n else np.zeros(0, np.intp)
        return codes.astype(np.float64 if classes.size == 2 else np.intp)
    if classes.size == 2 and values.dtype.kind in "iuf":
        v = values.astype(np.float64)
        bad = np.flatnonzero(~((v >= 0) & (v <= 1)))
        if bad.size == 0:
            return v                      # proportions of successes (classes[1])
        raise ValueError(f"y holds {_show(values[bad[0]])} in row {bad[0]}: give the labels "
                         f"{classes.tolist()} or, for grouped rows, the proportion of "
                         f"{_show(classes[1])} in [0, 1] with the trials as sample_weight.")
    row = int(np.flatnonzero(~known)[0])
    raise ValueError(f"y holds {_show(values[row])} in row {row}, not one of the model's "
                     f"classes {classes.tolist()}.")


def _show(value) -> str:
    return repr(value.item() if isinstance(value, np.generic) else value)


def design_columns(model, X) -> np.ndarray:
    """``[X, 1]`` restricted to the estimated coefficients of a binary model (n, k),
    dense float64, columns in the order of the fit's ``estimated`` coordinates (the
    order of its information matrix; aliased columns left out)."""
    results = as_results(model)
    layout = results.layout
    state = require_inference(model)
    n = X.shape[0]
    cols = [int(j) for j in state.estimated]
    Xa = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    if layout.fit_intercept:
        Xa = np.hstack([Xa, np.ones((n, 1))])
    return np.ascontiguousarray(Xa[:, cols], dtype=np.float64)


def _require_binary(model, what: str):
    if as_results(model).layout.multinomial:
        raise ValueError(f"{what} is computed for binary models; this model has "
                         f"{as_results(model).classes.size} classes (its residuals of type "
                         "'response', 'pearson' and 'deviance' are available).")


def fitted_logits(model, rows: Rows) -> np.ndarray:
    """Linear predictors (n,) binary / (n, K) multinomial at the fitted coefficients."""
    results = as_results(model)
    return results.family.linear_predictor(rows.X, results.layout.matrix(results.coef),
                                           rows.offset)


def binary_residuals(y, s, z) -> dict:
    """Every residual type of binary rows (see the module docstring) without the
    leverage: ``response``, ``pearson``, ``deviance``, ``working``, and ``mu`` (n,)."""
    mu = special.expit(z)
    v = mu * (1.0 - mu)
    r = y - mu
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = np.sqrt(s) * r / np.sqrt(v)
        working = r / v
    d = 2.0 * s * (special.xlogy(y, y) + special.xlogy(1 - y, 1 - y)
                   - y * log_sigmoid(z) - (1 - y) * log_sigmoid(-z))
    deviance = np.sign(r) * np.sqrt(np.maximum(d, 0.0))
    return {"mu": mu, "response": r, "pearson": pearson, "deviance": deviance,
            "working": working}


def _inverse_information(model) -> np.ndarray:
    info = np.asarray(require_inference(model).information, dtype=np.float64)
    try:
        return linalg.cho_solve(linalg.cho_factor(info, lower=True), np.eye(info.shape[0]))
    except linalg.LinAlgError:
        return linalg.pinvh(info)


def leverage_parts(model, rows: Rows) -> dict:
    """``Xe`` (n, k) estimated design columns, ``V = I⁻¹`` (k, k), ``XV = Xe V``,
    the working weights ``w`` (n,) and the hat values ``h`` (n,) of binary rows."""
    _require_binary(model, "leverage")
    z = fitted_logits(model, rows)
    mu = special.expit(z)
    w = rows.s * mu * (1.0 - mu)
    Xe = design_columns(model, rows.X)
    V = _inverse_information(model)
    XV = Xe @ V
    h = w * np.einsum("ij,ij->i", XV, Xe)
    h = np.clip(h, 0.0, None)
    h[h > 1 - 10 * _EPS] = 1.0
    return {"z": z, "Xe": Xe, "V": V, "XV": XV, "w": w, "h": h}


def hat_values(model, X=None, y=None, sample_weight=None, offset=None) -> np.ndarray:
    """Leverages ``h_i = s_i μ_i (1 − μ_i) x̃_iᵀ I⁻¹ x̃_i`` (n,) (``hatvalues``;
    multinomial: ``tr(W_i A_i)``, see the module docstring)."""
    rows = model_rows(model, X, y, sample_weight, offset)
    if as_results(model).layout.multinomial:
        return multinomial_influence(model, rows)["hat"].to_numpy()
    return leverage_parts(model, rows)["h"]


def residuals(model, X=None, y=None, type: str = "deviance", sample_weight=None,
              offset=None) -> np.ndarray:
    """Residuals of the training rows (default) or of ``X, y``: (n,) for binary
    models; see the module docstring for each ``type``. Multinomial:
    ``response`` and ``pearson`` (n, K), ``deviance`` (n,)."""
    if type not in RESIDUAL_TYPES:
        raise ValueError(f"type must be one of {', '.join(RESIDUAL_TYPES)}; got {type!r}.")
    results = as_results(model)
    rows = model_rows(model, X, y, sample_weight, offset)
    if results.layout.multinomial:
        return _multinomial_residuals(model, rows, type)
    res = binary_residuals(rows.y, rows.s, fitted_logits(model, rows))
    if type in res:
        return res[type]
    h = leverage_parts(model, rows)["h"]
    with np.errstate(divide="ignore", invalid="ignore"):
        if type == "standardized_deviance":
            out = res["deviance"] / np.sqrt(1 - h)
        elif type == "standardized_pearson":
            out = res["pearson"] / np.sqrt(1 - h)
        else:
            rd = res["deviance"]
            out = np.sign(rd) * np.sqrt(rd ** 2 + h * res["pearson"] ** 2 / (1 - h))
    out[np.isinf(out)] = np.nan
    return out


def _multinomial_residuals(model, rows: Rows, type: str) -> np.ndarray:
    results = as_results(model)
    P = results.family.probabilities(fitted_logits(model, rows))
    n, K = P.shape
    Y = np.zeros((n, K))
    Y[np.arange(n), rows.y.astype(np.intp)] = 1.0
    if type == "response":
        return Y - P
    if type == "pearson":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(rows.s)[:, None] * (Y - P) / np.sqrt(P * (1 - P))
    if type == "deviance":
        logP = results.family.log_probabilities(fitted_logits(model, rows))
        return np.sqrt(np.maximum(-2.0 * rows.s * logP[np.arange(n), rows.y.astype(np.intp)],
                                  0.0))
    raise ValueError(f"residuals of type {type!r} are defined for binary models only; "
                     "multinomial models have 'response', 'pearson' (n, K) and 'deviance' "
                     "(n,) (their leverage and Cook's distance are in model.influence()).")


def coefficient_names(model) -> list:
    """Names of the estimated coefficients in display order (intercept first)."""
    state = require_inference(model)
    labels = term_labels(model)
    est = set(int(i) for i in state.estimated)
    return [f"{labels[i][0]}:{labels[i][1]}" if isinstance(labels[i], tuple) else str(labels[i])
            for i in display_order(model) if int(i) in est]


def _display_positions(model) -> list:
    """Positions, in the internal ``estimated`` order, of the display-order coefficients."""
    state = require_inference(model)
    pos = {int(full): p for p, full in enumerate(state.estimated)}
    return [pos[int(i)] for i in display_order(model) if int(i) in pos]


def influence_measures(model, X=None, y=None, sample_weight=None, offset=None) -> pd.DataFrame:
    """One row per data row: ``hat``, ``residual`` (deviance), ``pearson``,
    ``std_deviance``, ``std_pearson``, ``studentized``, ``cooks_d``, ``dfbeta_<term>``,
    ``dfbetas_<term>``, ``dffit``, ``cov_ratio``, ``sigma``, the flags
    ``inf_dfbetas_<term>``, ``inf_dffit``, ``inf_cov_ratio``, ``inf_cooks_d``,
    ``inf_hat`` and ``influential`` (any flag), as R's ``influence.measures``
    (formulas in the module docstring). Multinomial models: ``hat``, ``residual``
    (deviance, unsigned), ``cooks_d`` and ``dfbeta_<class>:<term>``
    (:func:`multinomial_influence`). Indexed as ``X`` when it is a DataFrame."""
    rows = model_rows(model, X, y, sample_weight, offset)
    table = (multinomial_influence(model, rows) if as_results(model).layout.multinomial
             else influence_table(model, rows))
    index = getattr(X, "index", None)
    if isinstance(index, pd.Index) and len(index) == len(table):
        table.index = index                       # the rows of a DataFrame keep their labels
    return table


def multinomial_influence(model, rows: Rows) -> pd.DataFrame:
    """Leverage, one-step DFBETA and Cook's distance of multinomial rows (module
    docstring): columns ``hat``, ``residual``, ``cooks_d``, ``dfbeta_<class>:<term>``."""
    results = as_results(model)
    layout = results.layout
    C = layout.n_cols
    est = np.asarray(require_inference(model).estimated, dtype=np.intp)
    j_of, c_of = est // C, est % C
    Z = fitted_logits(model, rows)
    P = results.family.probabilities(Z)[:, list(layout.free_classes)]
    n = rows.n
    codes = rows.y.astype(np.intp)
    Y = np.zeros((n, results.classes.size))
    Y[np.arange(n), codes] = 1.0
    Y = Y[:, list(layout.free_classes)]
    s = np.asarray(rows.s, dtype=np.float64)
    Xa = rows.X.toarray() if sp.issparse(rows.X) else np.asarray(rows.X, dtype=np.float64)
    if layout.fit_intercept:
        Xa = np.hstack([Xa, np.ones((n, 1))])
    V = _inverse_information(model)
    k = V.shape[0]
    A = np.zeros((n, C, C))
    for a in range(C):
        ea = np.flatnonzero(c_of == a)
        XVa = Xa[:, j_of[ea]]
        for b in range(C):
            eb = np.flatnonzero(c_of == b)
            A[:, a, b] = np.einsum("ij,ij->i", XVa @ V[np.ix_(ea, eb)], Xa[:, j_of[eb]])
    W = s[:, None, None] * (P[:, :, None] * np.eye(C)[None] - P[:, :, None] * P[:, None, :])
    WA = W @ A
    hat = np.clip(np.trace(WA, axis1=1, axis2=2), 0.0, None)
    r = s[:, None] * (Y - P)
    q = np.linalg.solve(np.eye(C)[None] - WA, r[:, :, None])[:, :, 0]
    cooks = np.einsum("ia,iab,ib->i", q, A, q) / k
    dfbeta = (Xa[:, j_of] * q[:, c_of]) @ V
    logP = results.family.log_probabilities(Z)
    dev = np.sqrt(np.maximum(-2.0 * s * logP[np.arange(n), codes], 0.0))
    cols = {"hat": hat, "residual": dev, "cooks_d": cooks}
    cols.update({f"dfbeta_{t}": dfbeta[:, j]
                 for t, j in zip(coefficient_names(model), _display_positions(model))})
    return pd.DataFrame(cols)


def influence_totals(model, rows: Rows) -> np.ndarray:
    """The sums over rows the measures need, ``[Σ e², m, m']`` (3,): the squared
    deviance residuals, the rows with positive weight, the rows with ``h > 0``
    (added up over chunks for Dask rows)."""
    parts = leverage_parts(model, rows)
    e = binary_residuals(rows.y, rows.s, parts["z"])["deviance"]
    return np.array([float(np.sum(e ** 2)), float(np.sum(rows.s > 0)),
                     float(np.sum(parts["h"] > 0))])


def influence_table(model, rows: Rows, totals=None) -> pd.DataFrame:
    """:func:`influence_measures` of ``rows``; ``totals`` (:func:`influence_totals`
    over all rows) when ``rows`` are a chunk of them, else taken from ``rows``
    (then, as R, residuals below ``100 ε median|e|`` count as 0)."""
    parts = leverage_parts(model, rows)
    h, XV, w, V = parts["h"], parts["XV"], parts["w"], parts["V"]
    res = binary_residuals(rows.y, rows.s, parts["z"])
    e = res["deviance"].copy()
    positive = rows.s > 0
    k = V.shape[0]
    if totals is None:
        if positive.any():
            e[np.abs(e) < 100 * _EPS * np.median(np.abs(e[positive]))] = 0.0
        totals = [float(np.sum(e ** 2)), float(positive.sum()), float(np.sum(h > 0))]
    ss, m, m_pos = float(totals[0]), int(totals[1]), int(totals[2])
    if m <= k + 1:
        raise ValueError(f"influence measures need more rows with positive weight ({m}) "
                         f"than coefficients + 1 ({k + 1}).")
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(h == 1, 0.0, np.sqrt(w) * e / (1 - h))
        dfbeta = XV * scale[:, None]
        sigma = np.sqrt(np.where(h < 1, (ss - e ** 2 / (1 - h)), ss) / (m - k - 1))
        sd = np.sqrt(np.diag(V))
        dfbetas = dfbeta / np.outer(sigma, sd)
        dffit = e * np.sqrt(h) / (sigma * (1 - h))
        sigma_all = np.sqrt(ss / (m - k))
        cov_ratio = (sigma / sigma_all) ** (2 * k) / (1 - h)
        cooks = (res["pearson"] / (1 - h)) ** 2 * h / k
        std_dev = res["deviance"] / np.sqrt(1 - h)
        std_pear = res["pearson"] / np.sqrt(1 - h)
        stud = np.sign(res["deviance"]) * np.sqrt(res["deviance"] ** 2
                                                  + h * res["pearson"] ** 2 / (1 - h))
    order = _display_positions(model)
    names = coefficient_names(model)
    cols = {"hat": h, "residual": res["deviance"], "pearson": res["pearson"],
            "std_deviance": std_dev, "std_pearson": std_pear, "studentized": stud,
            "cooks_d": cooks}
    cols.update({f"dfbeta_{t}": dfbeta[:, j] for t, j in zip(names, order)})
    cols.update({f"dfbetas_{t}": dfbetas[:, j] for t, j in zip(names, order)})
    cols.update({"dffit": dffit, "cov_ratio": cov_ratio, "sigma": sigma})
    table = pd.DataFrame(cols).replace([np.inf, -np.inf], np.nan)
    flags = influential_flags(table, names, k, m_pos)
    return pd.concat([table, flags], axis=1)


def influential_flags(table: pd.DataFrame, names: list, k: int, m: int) -> pd.DataFrame:
    """R's ``is.influential`` on the measures of :func:`influence_measures`:
    ``m`` rows with positive leverage, ``k`` coefficients. NaN compares False, as in R
    (where a NaN measure gives NA)."""
    if m <= k:
        raise ValueError(f"too few rows with positive leverage ({m}) for {k} coefficients.")
    flags = {f"inf_dfbetas_{t}": np.abs(table[f"dfbetas_{t}"].to_numpy()) > 1 for t in names}
    flags["inf_dffit"] = np.abs(table["dffit"].to_numpy()) > 3 * np.sqrt(k / (m - k))
    flags["inf_cov_ratio"] = np.abs(1 - table["cov_ratio"].to_numpy()) > 3 * k / (m - k)
    flags["inf_cooks_d"] = stats.f.cdf(table["cooks_d"].to_numpy(), k, m - k) > 0.5
    flags["inf_hat"] = table["hat"].to_numpy() > 3 * k / m
    out = pd.DataFrame(flags, index=table.index)
    out["influential"] = out.any(axis=1)
    return out
