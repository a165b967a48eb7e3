"""Quantities computed from the data right after a fit, for inference.

These need the rows (one pass each) and so are taken while the estimator
still holds them: the Fisher information at the optimum, the null model's
log-likelihood, the aliased columns, and the "meat" of sandwich covariances.
:mod:`logitlab.results.inference` turns them into standard errors, tests and tables.

All sums are over rows weighted by the sample weights ``s`` (frequency-weight
semantics: a weight of 2 is the same as a repeated row).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import linalg, special

from .. import solvers
from ..core.design import weighted_gram
from ..core.layout import Layout
from ..core.threads import default_threads, pool
from ..solvers import qr
from ..solvers.objective import Objective


def loglik(objective: Objective, w_full) -> float:
    """Σ s·log-likelihood at the full vector ``w_full`` (unpenalized part)."""
    st = objective.data.stats(objective.layout.matrix(w_full), grad=False)
    return -st.loss


def information(objective: Objective, w_full) -> np.ndarray:
    """Fisher information ``Σ s x xᵀ ⊗ (diag p - p pᵀ)`` (size, size) at ``w_full``.

    For the logit link the observed and expected information coincide: the
    Hessian of the summed negative log-likelihood.
    """
    st = objective.data.stats(objective.layout.matrix(w_full), grad=False, hess=True)
    return st.hess


# ------------------------------------------------------------------ aliasing
#: R's glm: the tolerance of its pivoted QR, ``min(1e-7, epsilon / 1000)`` at
#: the default ``glm.control(epsilon = 1e-8)``
ALIAS_TOL = 1e-11
#: the Gram screen certifies full rank only with this factor to spare
_SCREEN_MARGIN = 10.0
_EPS = np.finfo(np.float64).eps


def glm_start_weights(s) -> np.ndarray:
    """R's IRLS weights at its first iteration, ``s μ (1 - μ)`` at R's start
    ``μ = (s y + ½) / (s + 1)`` (binomial ``mustart``): for y = 0 and y = 1 alike
    ``s (s + ½) / (2 (s + 1)²)`` — a function of the prior weight only (3/16 for
    unit weights), so the aliasing it implies is a property of the design and
    the weights, the same for every class of a multinomial fit. Rows of weight 0
    get 0 (R leaves them out)."""
    s = np.asarray(s, dtype=np.float64)
    return 0.5 * (s / (s + 1.0)) * ((s + 0.5) / (s + 1.0))


def _glm_order(layout) -> list:
    """Feature rows in R's column order: the intercept first, then the columns."""
    return ([layout.n_features] if layout.fit_intercept else []) + list(range(layout.n_features))


def limited_pivoting(R: np.ndarray, n_obs: int, tol: float = ALIAS_TOL) -> list:
    """Columns of ``A`` that LINPACK ``dqrdc2`` (R's ``qr``, used by ``glm.fit``)
    moves to the end, given ``A``'s R factor ``R`` (m, p) and its row count ``n_obs``.

    dqrdc2 takes the columns left to right; a column whose norm, after
    projection on the columns kept so far, is below ``tol`` times its own norm
    (or is zero) is moved to the end and never taken again; at most ``n_obs``
    columns are kept. Both norms are invariant under orthogonal transforms, so
    they can be read off ``R`` instead of ``A``: the residual norm of the column
    at position ``i`` after the kept ones is ``|R[i, i]|`` once the columns moved
    out have been deleted from ``R`` (a Givens downdate that restores the
    triangle, :func:`scipy.linalg.qr_delete`). Returns positions (0-based).
    """
    R = np.array(R, dtype=np.float64)
    m, p = R.shape
    limit = tol * np.where((norm := np.linalg.norm(R, axis=0)) > 0, norm, 1.0)
    cols, moved, i = list(range(p)), [], 0
    Q = np.eye(m)
    while i < len(cols):
        top = min(len(cols), m, n_obs)
        diag = np.abs(np.diagonal(R)[i:top])
        small = np.flatnonzero(diag < limit[cols[i:top]])
        if small.size == 0:
            moved += cols[top:]          # beyond the rank limit
            break
        i += int(small[0])
        moved.append(cols.pop(i))
        Q, R = linalg.qr_delete(Q, R, i, which="col", check_finite=False)
    return moved


def _glm_design_rows(X, root, fit_intercept: bool) -> np.ndarray:
    """``√v · [1, X]`` as a dense (k, p) array, intercept first (R's order)."""
    Xd = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    A = np.empty((Xd.shape[0], Xd.shape[1] + int(fit_intercept)))
    if fit_intercept:
        A[:, 0] = root
    np.multiply(Xd, root[:, None], out=A[:, int(fit_intercept):])
    return A


def glm_r_factor_part(X, y, s, offset, fit_intercept: bool):
    """One chunk's ``(RFactor of √v [1, X], number of rows with s > 0)``, with
    R's start weights ``v`` (:func:`glm_start_weights`); its rows are taken a
    block at a time (:func:`logitlab.solvers.qr.accumulate`)."""
    p = X.shape[1] + int(fit_intercept)
    step = qr.block_rows(p)
    root = np.sqrt(glm_start_weights(s))
    factor = qr.accumulate((_glm_design_rows(X[a:a + step], root[a:a + step], fit_intercept)
                            for a in range(0, X.shape[0], step)), p)
    return factor, int(np.count_nonzero(np.asarray(s) > 0))


def glm_r_factor(data, fit_intercept: bool):
    """``(R, n_obs)``: the R factor of R's first-iteration weighted design
    ``√v [1, X]`` (intercept first) and its number of rows of positive weight.

    In memory: a TSQR over a few contiguous row ranges (one per thread); on
    Dask (rows not in this process): one factor per partition, combined by the
    reduction tree (:class:`logitlab.solvers.qr.RFactor`).
    About 2np² flops, the cost of ~5 Gram matrices.
    """
    rows = data.local_rows()
    if rows is None:
        R, n_obs = data.reduce_chunks(glm_r_factor_part, fit_intercept)
        return R.R, n_obs
    n = data.n_rows
    n_parts = max(1, min(default_threads(), n // 8192))
    edges = np.linspace(0, n, n_parts + 1).astype(int)

    def part(t):
        sl = slice(edges[t], edges[t + 1])
        return glm_r_factor_part(rows.X[sl], None, rows.s[sl], None, fit_intercept)

    parts = list(pool(n_parts).map(part, range(n_parts))) if n_parts > 1 else [part(0)]
    total = parts[0][0]
    for R, _ in parts[1:]:
        total = total + R
    return total.R, sum(k for _, k in parts)


def aliased_by_qr(data, layout) -> list:
    """R's aliased columns, by R's rule: ``dqrdc2`` with tolerance
    :data:`ALIAS_TOL` on the first-iteration weighted design ``√v [1, X]`` in
    R's column order (:func:`glm_r_factor`, :func:`limited_pivoting`). Returns
    feature rows (indices into X's columns; ``n_features`` is the intercept)."""
    ordinal = layout.ordinal
    layout = alias_layout(layout)
    order = _glm_order(layout)
    if not order:
        return []
    R, n_obs = glm_r_factor(data, layout.fit_intercept)
    moved = sorted(order[i] for i in limited_pivoting(R, n_obs))
    return [j for j in moved if j < layout.n_features] if ordinal else moved


def certifies_full_rank(G: np.ndarray, n_obs: int, spread: float = 1.0) -> bool:
    """Whether the Gram matrix ``G = Aᵀ A`` (p, p) of a weighted design ``A``
    (n_obs rows) proves that :func:`limited_pivoting` keeps every column of
    ``A₀ = D A`` for any row scaling ``D`` with ``max D / min D ≤ spread``.

    With ``C`` the correlation form of ``G`` (unit diagonal), the relative
    residual of any column of ``A`` on any others is at least
    ``σ_min(A N) = √λ_min(C)`` (N scales the columns to norm 1), and the row
    scaling changes it by at most ``spread``. So ``λ_min(C) > (10 · tol ·
    spread)²`` proves nothing is aliased. It is tested by a Cholesky of ``C - f I``
    with ``f`` raised by a bound on the rounding of ``C`` (n_obs-term sums)
    and of the factorization: ``4 (n_obs + p) p ε``. Forming ``G`` squares the
    condition number, so this can only prove full rank, never find the aliased
    columns at R's tolerance (that needs 1e-22 relative precision): a design
    it does not certify goes to the QR (:func:`aliased_by_qr`).
    """
    G = np.asarray(G, dtype=np.float64)
    p = G.shape[0]
    diag = np.diagonal(G)
    if p == 0:
        return True
    if not (np.all(np.isfinite(G)) and np.all(diag > 0)) or n_obs < p or spread > 1e8:
        return False
    inv = 1.0 / np.sqrt(diag)
    C = G * inv[:, None] * inv[None, :]
    floor = 4.0 * (n_obs + p) * p * _EPS + (_SCREEN_MARGIN * ALIAS_TOL * spread) ** 2
    try:
        linalg.cholesky(C - floor * np.eye(p), lower=True, check_finite=False)
    except linalg.LinAlgError:
        return False
    return True


def _glm_gram_part(X, y, s, offset, fit_intercept: bool):
    """One chunk's Gram matrix of ``√v [X, 1]`` and its rows of positive weight."""
    v = glm_start_weights(s)
    return weighted_gram(X, v, fit_intercept, nonneg=True), int(np.count_nonzero(v > 0))


def aliased_features(data, layout) -> list:
    """Aliased feature rows by R's rule (see :func:`aliased_by_qr`), before a fit.

    First a screen: the Gram matrix of R's weighted design (one pass, as cheap
    as a Hessian) usually proves full rank (:func:`certifies_full_rank`); only
    a design it cannot clear — exactly or nearly collinear columns, fewer rows
    than columns — is factored by the QR (about five such passes)."""
    if layout.conditional:
        return aliased_within_strata(data)
    layout = alias_layout(layout)
    G, n_obs = data.reduce_chunks(_glm_gram_part, layout.fit_intercept)
    if certifies_full_rank(G, n_obs):
        return []
    return aliased_by_qr(data, layout)


def _within_strata_r_factor_part(X, y, s, offset, family):
    """One chunk's ``(RFactor of √s (x − x̄_s), rows)`` over the rows of the strata
    that inform a conditional likelihood, centred within their stratum."""
    problem = family.problem(X, y, s, offset)
    keep = np.repeat(problem.informative, problem.groups.sizes)
    rows = problem.Xc[keep] * np.sqrt(problem.weights[keep])[:, None]
    p = rows.shape[1]
    step = qr.block_rows(p)
    factor = qr.accumulate((rows[a:a + step] for a in range(0, rows.shape[0], step)), p)
    return factor, int(keep.sum())


def aliased_within_strata(data) -> list:
    """Columns of a conditional logit aliased by R's rule (``dqrdc2`` with
    :data:`ALIAS_TOL`) on the design centred within the strata: a column constant
    within every stratum (a matching variable), or a combination of earlier ones
    there, has no conditional effect and is held at 0, as ``clogit`` reports NA."""
    if data.layout.n_features == 0:
        return []
    factor, n_obs = data.reduce_chunks(_within_strata_r_factor_part, data.family)
    return sorted(limited_pivoting(factor.R, n_obs))


def alias_layout(layout):
    """The layout whose design ``[1, X]`` the aliasing rule factors: an ordinal
    model's thresholds enter every cumulative logit as an intercept does, so
    its slopes are aliased as a binary model's with an intercept would be
    (R's ``polr`` and ``clm`` drop the same columns)."""
    return Layout(layout.n_features, 2, (1,), True) if layout.ordinal else layout


_RATIO_BINS = 2002


def _weight_ratio_histogram(X, y, s, offset, W, family):
    """Counts of ``⌊log₂(v / ĥ)⌋`` over the rows of positive weight, in 2002
    bins: 1 + the value for values in [-1000, 1000), the first and last bins for
    anything beyond. ``v`` is R's start weight and ``ĥ = s p̂ (1 - p̂)`` the
    information's weight at ``W`` for the first free class (in logs: finite
    even where ĥ underflows). Summed over chunks, the counts give the range of
    the ratio, which a sum of the ratios could not.

    Binary models bin ``|z| / ln 2`` instead of ``-log₂(p q)``, which lies in
    ``[|z| / ln 2, |z| / ln 2 + 2]`` (``p q = e^{-|z|} / (1 + e^{-|z|})²``): no
    exp or log a row; the caller adds the 2 to the spread
    (:data:`_BINARY_SLACK`)."""
    layout = family.layout
    s = np.asarray(s, dtype=np.float64)
    z = family.linear_predictor(X, W, offset)
    unit = s.strides == (0,) and s.size and s[0] > 0      # unit weights: one value
    keep = slice(None) if unit else s > 0
    if layout.multinomial:
        k = layout.free_classes[0]
        total = special.logsumexp(z, axis=1)
        others = special.logsumexp(np.delete(z, k, axis=1), axis=1)
        minus_log2_pq = -((z[:, k] - total) + (others - total)) / np.log(2.0)
    else:
        minus_log2_pq = np.abs(z) * (1.0 / np.log(2.0))
    sw = s[:1] if unit else s[keep]
    log2_v_over_s = np.log2((sw + 0.5) / (sw + 1.0)) - np.log2(2.0 * (sw + 1.0))
    log_ratio = minus_log2_pq[keep] + log2_v_over_s
    bins = np.clip(np.floor(log_ratio), -1001, 1000).astype(np.intp) + 1001
    return np.bincount(bins, minlength=_RATIO_BINS)


#: binary histograms underestimate -log₂(p q) by at most this many bits
_BINARY_SLACK = 2


def aliased_after_fit(objective: Objective, info: np.ndarray, w_full) -> list:
    """Aliased feature rows by R's rule, after a fit of every column, from the
    information ``info`` (size, size) at its optimum ``w_full`` (computed for
    inference anyway): its first class block is the Gram matrix of
    ``√ĥ [X, 1]``; one cheap pass bounds how far ĥ is from R's start weights
    (:func:`_weight_ratio_histogram`), and :func:`certifies_full_rank` with that
    spread usually clears the design; otherwise the QR decides."""
    layout, data = objective.layout, objective.data
    m, C = layout.n_rows, layout.n_cols
    block = np.asarray(info).reshape(m, C, m, C)[:, 0, :, 0]
    W = layout.matrix(w_full)
    if np.all(np.isfinite(W)):
        kept = None if layout.multinomial else _ratio_bits_from_curvature(data, W)
        if kept is not None:
            bits, n_obs = kept
        else:
            counts = data.reduce_chunks(_weight_ratio_histogram, W, data.family)
            used = np.flatnonzero(counts)
            ok = used.size and used[0] > 0 and used[-1] < _RATIO_BINS - 1
            bits, n_obs = (used[-1] + 1 - used[0], int(counts.sum())) if ok else (None, 0)
        if bits is not None:
            spread = 2.0 ** (0.5 * (bits + (0 if layout.multinomial else _BINARY_SLACK)))
            if certifies_full_rank(block, n_obs, spread):
                return []
    return aliased_by_qr(data, layout)


def _ratio_bits_from_curvature(data, W):
    """``(bits, n_obs)`` as :func:`_weight_ratio_histogram`'s counts give them
    (``⌊max⌋ + 1 - ⌊min⌋`` of ``log₂(v / ĥ)`` over the ``n_obs`` rows of
    positive weight), from the curvature ``ĥ`` the backend kept at ``W``
    (binary models: the fit's last pass), exactly (no ``|z|`` bound) and
    without a pass; None when none is kept, or a ratio is not finite or is
    beyond the histogram's ±1000 bits."""
    kept = data.kept_curvature(W)
    if kept is None:
        return None
    lo, hi, n_obs = np.inf, -np.inf, 0
    for s, h in kept:
        if s.strides == (0,) and s.size:          # one weight for every row
            if not s[0] > 0:
                continue
            v, h_lo, h_hi = glm_start_weights(s[:1])[0], float(h.min()), float(h.max())
            if not h_lo > 0:
                return None
            ratios, n = np.log2([v / h_hi, v / h_lo]), h.size
        else:
            pos = s > 0
            ratios, n = np.log2(glm_start_weights(s[pos])) - np.log2(h[pos]), int(pos.sum())
        if n:
            lo, hi, n_obs = min(lo, float(ratios.min())), max(hi, float(ratios.max())), n_obs + n
    if not (n_obs and np.isfinite(lo) and np.isfinite(hi) and lo >= -1000 and hi < 1000):
        return None
    return int(np.floor(hi)) + 1 - int(np.floor(lo)), n_obs


def null_objective(objective: Objective) -> Objective:
    """The same data with every feature coefficient fixed at 0 (intercepts or
    thresholds free)."""
    layout = objective.layout
    fixed = np.ones((layout.n_rows, layout.n_cols), dtype=bool)
    fixed[layout.n_features:] = False
    return Objective(objective.data, fixed=fixed.ravel(), fixed_values=np.zeros(layout.size))


def null_loglik(objective: Objective, w0_full) -> float:
    """Log-likelihood of the intercept-only model (with the same offsets).

    Without offsets it is the closed form ``Σ_k S_k log(S_k / S)`` over the
    weighted class totals ``S_k`` (the family's ``null_loglik``); with offsets
    the intercepts are refitted.
    """
    data, layout = objective.data, objective.layout
    if not data.has_offset and (layout.fit_intercept or layout.ordinal):
        return data.family.null_loglik(data.class_totals())
    null = null_objective(objective)
    if null.size == 0:
        return loglik(objective, np.zeros(objective.layout.size))
    res = solvers.run("newton", null, null.restrict(w0_full), tol=1e-12, max_iter=100)
    return loglik(objective, null.expand(res.coef))


def score_meat(objective: Objective, w_full, n_groups=None) -> tuple:
    """Sandwich "meat" ``Σ_g u_g u_gᵀ`` of the per-row (or per-cluster) scores.

    ``n_groups``: None (each row its own cluster) or the number of clusters
    (the backend carries each row's cluster code). Returns
    ``(meat (size, size), n_clusters)``.
    """
    data = objective.data
    W = objective.layout.matrix(w_full)
    if n_groups is None:
        return data.score_meat(W), int(data.n_rows)
    sums = data.cluster_score_sums(W, n_groups)
    return sums.T @ sums, int(n_groups)


def firth_null_loglik(objective: Objective, w0_full) -> float:
    """Penalized log-likelihood of the intercept-only Firth model whose penalty
    is the full model's ``½ log det I`` (R ``logistf``'s likelihood-ratio test)."""
    null = null_objective(objective)
    res = solvers.run("firth", null, null.restrict(w0_full), tol=1e-10, max_iter=200,
                      penalty_coords=objective.free)
    return -float(res.objective) * float(objective.data.weight_sum)
