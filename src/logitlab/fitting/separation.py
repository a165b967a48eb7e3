"""Detecting (quasi-)complete separation, and which coefficients are infinite.

The log-likelihood has no finite maximum when some direction ``d`` in
coefficient space never lowers the logit of any row's observed class against
any other class and raises it for at least one row (Albert & Anderson 1984;
the linear-programming test of Konis 2007, as in R's ``detectseparation``).
With ``x̃ = [x, 1]``, one constraint row ``a`` per row of class ``c`` and other
class ``k`` (the reference class has ``d_ref = 0``; columns scaled to max |x| = 1)::

    aᵀd = x̃ᵀ (d_c - d_k) ≥ 0,      K = {d : A d ≥ 0}  (the recession cone)

The constraint rows split into ``T``, those with ``aᵀd = 0`` on all of K (the
rows the limiting fit still has to balance), and ``S``, those some ``d ∈ K``
makes positive (their fitted probability tends to 1). Separation means S ≠ ∅.
By Gordan/Stiemke, ``T`` is the largest support of a ``λ ≥ 0`` with
``Aᵀλ = 0``, and ``K`` lies in ``E = {d : A_T d = 0}`` where it is
full-dimensional. A coefficient ``v`` is infinite when it is not 0 on all of
K; its sign is +1 (−1) when every ``d ∈ K`` has ``d_v ≥ 0`` (``≤ 0``) and 0
("either sign") when both occur. By Farkas, ``d_v ≥ 0`` on K iff the
coordinate's projection on E lies in the cone spanned by the projected S rows.

How it is computed (a constant number of small problems instead of two linear
programs per coefficient):

0. **No separation, from the information** (binary models; no constraint
   matrix). With the information ``I`` and the score ``u`` at the fit, and
   the Newton step ``δ = I⁻¹ u`` from there, the weights
   ``λ*_i = λ̂_i (1 - P̂_i(y_i) σ_i x̃_iᵀ δ)`` (σ = ±1 for y = 1 / 0) satisfy
   ``Aᵀλ* = u - I δ = 0`` exactly, and are positive when the step moves no
   logit by ``|x̃_iᵀ δ| ≥ 1``. :func:`information_certifies_no_separation`
   bounds ``max |x̃ᵀδ|`` from ``I``, the gradient's max-norm and the columns'
   largest values, rounding of the n-term sums included; a converged fit
   moves no logit by more than ~1e-9, so the common case is settled without
   a pass over the constraints. Separated data leave a direction of vanishing
   information, a large step and no certificate: the steps below decide.
1. **The split, from the fit.** At a fitted ``Ŵ`` the weights
   ``λ̂ = s · P̂(other class)`` satisfy ``Aᵀλ̂ =`` the score, ≈ 0 at a converged
   fit. Its projection on the null space of ``Aᵀ`` (an SVD of the dense
   ``A``) is an exact ``λ ≥ 0`` with ``Aᵀλ = 0`` when it stays positive by
   more than the size of the rounding correction: then every row is in T
   (no separation, the common case). Otherwise the rows whose ``P̂`` has not
   vanished are certified as T the same way, and the others as S by a point
   of K positive on all of them (the fitted coefficients projected on E, or a
   small LP on the S rows alone).
2. **Otherwise one LP** over all rows: ``max Σ w`` s.t. ``Aᵀ(w + ν) = 0``,
   ``0 ≤ w ≤ 1``, ``ν ≥ 0``; every optimum has ``w = 1`` exactly on T and 0 on S.
3. **The signs** by cone membership (non-negative least squares), on a
   subset of the S rows grown by the rows a candidate direction violates
   (constraint generation), with every direction of K found along the way
   reused as a witness for all coefficients.

The whole check has a time budget (:data:`SECONDS_PER_MILLION` per million
constraint nonzeros, at least 2 s); a check that runs out reports nothing
(``checked=False``), as for problems above :data:`MAX_LP_NONZEROS`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy import linalg, special

from ..core.design import compiled_path
from ..core.layout import Layout
from ..core.threads import blas_one_thread
from ..families import family_from_layout

#: above this many constraint nonzeros the check is not attempted
MAX_LP_NONZEROS = 20_000_000
#: below this many constraint nonzeros every unpenalized fit is checked
ALWAYS_CHECK_NONZEROS = 2_000_000
#: time budget of the check: this many seconds per million constraint
#: nonzeros, and never less than MIN_SECONDS
SECONDS_PER_MILLION, MIN_SECONDS = 2.0, 2.0
#: the dense certificates (a QR / SVD of A) only up to this many entries of A
#: and this many flops (m p min(m, p)); larger problems go to the LP
DENSE_MAX_ENTRIES, DENSE_MAX_FLOPS = 25_000_000, 2e9
#: a coefficient counts as movable when a unit direction of K moves it this much
_TOL = 1e-7
_EPS = np.finfo(np.float64).eps


@dataclass
class SeparationResult:
    """``separated``: the MLE does not exist. ``infinite``: full-vector index →
    +1 / -1 for coefficients whose estimate is ±∞ (0: either sign, depending
    on the direction taken). ``checked``: False when the problem was too large
    or the check ran out of time (nothing is known then)."""

    separated: bool
    infinite: dict = field(default_factory=dict)
    checked: bool = True


def _constraint_nonzeros(X, layout: Layout) -> int:
    return (X.nnz if sp.issparse(X) else X.size) * max(layout.n_classes - 1, 1) * 2


def separation_check_is_cheap(X, layout: Layout) -> bool:
    """Small enough to run the check after every unpenalized fit."""
    return _constraint_nonzeros(X, layout) <= ALWAYS_CHECK_NONZEROS


# ------------------------------------------------------------- the constraints
@dataclass
class _Constraints:
    """``A`` (pairs, variables): dense ndarray or CSR, columns scaled; per pair
    its row (into the kept rows) and other class; ``scale`` per variable
    (``A = A_raw / scale``)."""

    A: np.ndarray | sp.csr_matrix
    rows: np.ndarray
    other: np.ndarray
    scale: np.ndarray

    @property
    def dense(self) -> bool:
        return isinstance(self.A, np.ndarray)

    def sparse(self) -> sp.csr_matrix:
        return sp.csr_matrix(self.A) if self.dense else self.A


def _dense_ok(m: int, p: int) -> bool:
    """Whether an (m, p) constraint matrix is factored densely."""
    return m * p <= DENSE_MAX_ENTRIES and m * p * min(m, p) <= DENSE_MAX_FLOPS


def _pairs(y, n_classes):
    """(row, other class) for every row and every class but its own."""
    rows = np.repeat(np.arange(y.size), n_classes - 1)
    other = np.tile(np.arange(n_classes - 1), y.size)
    other = other + (other >= y[rows])
    return rows, other


def _constraint_matrix(X, codes, s, layout: Layout, variables) -> _Constraints:
    """Rows ``a`` with ``aᵀd ≥ 0`` required, one per (row, other class): ``+x̃``
    in the row's own class block, ``-x̃`` in the other class's (when free).
    Dense when it has at most DENSE_MAX_ENTRIES entries, else sparse."""
    keep = np.flatnonzero(s > 0)
    Xs = X[keep] if not sp.issparse(X) else X.tocsr()[keep]
    y = np.asarray(codes)[keep].astype(np.intp)
    rows, other = _pairs(y, layout.n_classes)
    C, m = layout.n_cols, layout.n_rows
    col_of = np.full(layout.n_classes, -1)
    col_of[list(layout.free_classes) if layout.multinomial else [1]] = np.arange(C)
    if not _dense_ok(rows.size, variables.size):
        return _sparse_constraints(Xs, y, layout, variables, rows, other, col_of)
    Xt = Xs.toarray() if sp.issparse(Xs) else np.asarray(Xs, dtype=np.float64)
    if layout.fit_intercept:
        Xt = np.column_stack([Xt, np.ones(Xt.shape[0])])
    top = np.abs(Xt).max(axis=0, initial=0.0)
    col_scale = np.where(top > 0, top, 1.0)
    Xt = Xt / col_scale
    A = np.zeros((rows.size, m, C))
    for cols, sign in ((col_of[y[rows]], 1.0), (col_of[other], -1.0)):
        has = np.flatnonzero(cols >= 0)
        A[has, :, cols[has]] = sign * Xt[rows[has]]
    A = A.reshape(rows.size, m * C)[:, variables]
    return _Constraints(A, rows, other, col_scale[variables // C])


def _sparse_constraints(Xs, y, layout, variables, rows, other, col_of) -> _Constraints:
    """The constraint rows as CSR, for problems too large for a dense array."""
    n = Xs.shape[0]
    Xt = sp.hstack([sp.csr_matrix(Xs), sp.csr_matrix(np.ones((n, 1)))]).tocsr() \
        if layout.fit_intercept else sp.csr_matrix(Xs)
    top = np.asarray(abs(Xt).max(axis=0).todense()).ravel()
    col_scale = np.where(top > 0, top, 1.0)
    Xt = (Xt @ sp.diags(1.0 / col_scale)).tocsr()
    C = layout.n_cols
    blocks = []
    for cols, sign in ((col_of[y[rows]], 1.0), (col_of[other], -1.0)):
        has = np.flatnonzero(cols >= 0)
        part = Xt[rows[has]].tocoo()
        blocks.append(sp.coo_matrix((sign * part.data, (has[part.row], part.col * C + cols[has][part.row])),
                                    shape=(rows.size, layout.n_rows * C)))
    A = (blocks[0] + blocks[1]).tocsr()[:, variables]
    return _Constraints(A, rows, other, col_scale[variables // C])


def _fitted_weights(X, codes, s, layout, W, offset, con: _Constraints):
    """``(λ̂, P̂)`` per pair: the fitted probability of the other class and the
    row's weight times it (``Aᵀλ̂`` is then the score of the fit, in scaled
    columns)."""
    keep = np.flatnonzero(s > 0)
    Xs = X[keep] if not sp.issparse(X) else X.tocsr()[keep]
    off = None if offset is None else np.asarray(offset)[keep]
    z = family_from_layout(layout).linear_predictor(Xs, W, off)
    if layout.multinomial:
        P = special.softmax(z, axis=1)
    else:
        P = np.column_stack([special.expit(-z), special.expit(z)])
    other = P[con.rows, con.other]
    return np.asarray(s, dtype=np.float64)[keep][con.rows] * other, other


# --------------------------------------------------------------- certificates
def _column_max_abs(X) -> np.ndarray:
    """``max_i |x_ij|`` per column (d,), dense or sparse (no copy of X)."""
    if sp.issparse(X):
        return np.asarray(abs(X).max(axis=0).todense(), dtype=np.float64).ravel()
    if X.shape[0] == 0:
        return np.zeros(X.shape[1])
    if compiled_path(X):
        from ..core.bits import column_max_abs
        out = np.zeros(X.shape[1])
        column_max_abs(X, out)
        return out
    return np.maximum(np.max(X, axis=0), -np.min(X, axis=0)).astype(np.float64)


def information_certifies_no_separation(X, s, fit_intercept: bool, information,
                                        grad_norm: float, columns=None) -> bool:
    """Whether the binary fit's information ``information`` (p, p) over its
    estimated coefficients (features, then the intercept) and the max-norm of
    its mean gradient ``grad_norm`` prove the data are not separated (module
    docstring, step 0); X (n, d) and weights ``s`` are the rows, ``columns``
    the estimated columns of X (default all).

    In the columns scaled by their largest values ``D`` (the intercept's is 1)
    every ``|x̃_ij| ≤ 1``, so ``max_i |x̃_iᵀ δ| ≤ √p ‖δ_s‖₂ ≤ √p ‖u_s‖₂ / λ_min(I_s)``
    with ``u_s = D⁻¹ u``, ``I_s = D⁻¹ I D⁻¹``. The exact ``|u_j| ≤ S (grad_norm
    + γ D_j)`` (``S = Σ s``; ``γ = 2 (n + 16) ε`` covers the n-term sums and the
    per-row terms), and the exact ``λ_min(I_s) ≥`` the computed one less
    ``γ p S / 4`` (each scaled term is at most ``s_i / 4``) and the eigensolver's
    ``8 p ε ‖I_s‖``. The bound must stay under ½."""
    info = np.asarray(information, dtype=np.float64)
    p = info.shape[0]
    S = float(np.sum(s))
    scale = _column_max_abs(X)
    if columns is not None:
        scale = scale[columns]
    if fit_intercept:
        scale = np.append(scale, 1.0)
    if p == 0 or scale.size != p or not (S > 0 and np.all(scale > 0)
                                         and np.all(np.isfinite(info)) and grad_norm >= 0):
        return False
    gamma = 2.0 * (X.shape[0] + 16) * _EPS
    info_s = info / scale[:, None] / scale[None, :]
    low = float(linalg.eigvalsh(info_s, check_finite=False)[0])
    low -= gamma * p * S / 4 + 8 * p * _EPS * float(np.trace(info_s))
    if not low > 0:
        return False
    score = S * (grad_norm / scale + gamma)
    return bool(np.sqrt(p) * float(np.linalg.norm(score)) / low <= 0.5)


def _factor(A: np.ndarray, size: float = 0.0):
    """``(V, sv, rank)``: right singular vectors (p, p), singular values
    (descending, length ≤ p) and numerical rank of ``A`` (m, p), counting
    singular values above ``max(σ_max, size) · max(m, p) · ε`` (``size``: the
    norm of the matrix ``A`` was cut from, whose rounding it carries). The
    Gram matrix's eigendecomposition when it is well-conditioned (no
    eigenvalue below 1e-8 of the largest, far from rounding); otherwise the
    SVD of A's R factor, which keeps the small singular values that decide
    the rank."""
    m, p = A.shape
    if m >= p:
        w, V = linalg.eigh(A.T @ A, check_finite=False)
        if w[0] > 1e-8 * w[-1] > 0 and w[-1] >= size ** 2:
            return V[:, ::-1], np.sqrt(w[::-1]), p
    R = np.linalg.qr(A, mode="r") if m > p else A
    _, sv, Vt = linalg.svd(R, full_matrices=True, check_finite=False)
    floor = max(sv.max(initial=0.0), size) * max(m, p) * _EPS
    return Vt.T, sv, int(np.count_nonzero(sv > floor))


def _null_basis(A: np.ndarray, size: float = 0.0) -> np.ndarray:
    """An orthonormal basis (p, p - rank) of the null space of ``A`` (see
    :func:`_factor` for ``size``)."""
    if A.shape[0] == 0:
        return np.eye(A.shape[1])
    V, _, rank = _factor(A, size)
    return V[:, rank:]


def _null_certificate(A_T: np.ndarray, lam: np.ndarray):
    """Whether the projection of ``lam > 0`` on the null space of ``A_Tᵀ`` is a
    certified positive vector (so every row of ``A_T`` is in T), and a basis
    (variables, dim) of ``E = null(A_T)`` (both from one factorization).

    The projection is ``λ* = λ - A V Σ⁻² Vᵀ Aᵀ λ``; its residual ``Aᵀλ*`` (rounding)
    could be removed exactly by a change of norm at most ``‖Aᵀλ*‖ / σ_min``, so
    ``min λ* > 10 ‖Aᵀλ*‖ / σ_min`` proves an exactly positive null vector exists."""
    if A_T.shape[0] == 0:
        return True, np.eye(A_T.shape[1])
    V, sv, rank = _factor(A_T)
    basis = V[:, rank:]
    if rank == 0:
        return True, basis
    Vr, sr = V[:, :rank], sv[:rank]
    lam_star = lam - A_T @ (Vr @ ((Vr.T @ (A_T.T @ lam)) / sr ** 2))
    fix = float(np.linalg.norm(A_T.T @ lam_star)) / sr[-1]
    return bool(lam_star.min() > 10.0 * fix + 1e-300), basis


def _interior_point(M: np.ndarray, guess: np.ndarray | None, deadline: float, lp=True):
    """A point ``z`` with ``M z > 0`` (every row strictly), or None: the guess,
    or the least-squares solution of ``M z = 1``, if it qualifies; else (with
    ``lp``) ``max t`` s.t. ``M z ≥ t``, ``|z| ≤ 1``, ``t ≤ 1`` (a small LP)."""
    norms = np.linalg.norm(M, axis=1)
    ones = np.linalg.lstsq(M, np.ones(M.shape[0]), rcond=None)[0] if M.size else None
    for g in (guess, ones):
        if g is not None and np.all(np.isfinite(g)) and np.linalg.norm(g) > 0:
            g = g / np.linalg.norm(g)
            if np.all(M @ g > 1e-9 * norms):
                return g
    if not lp:
        return None
    k = M.shape[1]
    from scipy import optimize   # ~0.4 s to import: only when a check needs it
    res = optimize.linprog(np.r_[np.zeros(k), -1.0],
                           A_ub=np.column_stack([-M, np.ones(M.shape[0])]),
                           b_ub=np.zeros(M.shape[0]), bounds=[(-1, 1)] * k + [(None, 1)],
                           method="highs", options=_lp_options(deadline))
    if res.status != 0 or -res.fun <= 1e-9:
        return None
    z = res.x[:k]
    return z / np.linalg.norm(z) if np.all(M @ z > 1e-9 * norms * np.linalg.norm(z)) else None


def _lp_options(deadline: float) -> dict:
    return {"time_limit": max(deadline - time.perf_counter(), 0.01)}


@dataclass
class _Split:
    """``S``: mask of pairs in S; ``basis``: E = null(A_T) (variables, dim);
    ``M = A_S · basis``; ``z0``: a point with ``M z0 > 0``."""

    S: np.ndarray
    basis: np.ndarray
    M: np.ndarray
    z0: np.ndarray | None


def _split_from_fit(A: np.ndarray, lam: np.ndarray, other: np.ndarray, beta: np.ndarray,
                    deadline: float):
    """The split certified from the fit's weights ``lam`` and probabilities of
    the other class ``other`` (module docstring, step 1), or None when the
    certificates do not hold.

    Once the pairs ``T'`` whose probability has not vanished are certified as
    T, the cone is ``{d ∈ E' : A_S' d ≥ 0}`` with ``E' = null(A_T')``, a small
    problem: a point positive on every pair of ``S'`` settles the split; if
    there is none, the slack LP on ``S'`` alone (:func:`_slack_split`) tells
    which pairs of S' are in S."""
    ok, basis = _null_certificate(A, lam)
    if ok:
        return _Split(np.zeros(A.shape[0], bool), basis, np.zeros((0, basis.shape[1])), None)
    for cut in (1e-6, 1e-9):
        S = other < cut
        if not S.any() or time.perf_counter() > deadline:
            continue
        ok, basis = _null_certificate(A[~S], lam[~S])
        if not ok:
            continue
        if basis.shape[1] == 0:             # K = {0}: nothing in S' can be positive
            return _Split(np.zeros(A.shape[0], bool), basis, np.zeros((0, 0)), None)
        M = A[S] @ basis
        z0 = _interior_point(M, basis.T @ beta, deadline, lp=False)
        if z0 is not None:
            return _Split(S, basis, M, z0)
        found = _slack_split(M, deadline)
        if found is None:
            return None
        positive, z = found
        if not positive.any():
            return _Split(np.zeros(A.shape[0], bool), basis, np.zeros((0, 0)), None)
        if positive.all():
            return _Split(S, basis, M, _interior_point(M, z, deadline))
        N = _null_basis(M[~positive], size=float(np.linalg.norm(A, axis=1).max()))
        if N.shape[1] == 0:
            return None
        basis = basis @ N
        where = np.flatnonzero(S)
        S = np.zeros(A.shape[0], bool)
        S[where[positive]] = True
        M = A[S] @ basis
        z0 = _interior_point(M, N.T @ z, deadline)
        return None if z0 is None else _Split(S, basis, M, z0)
    return None


def _slack_split(M: np.ndarray, deadline: float):
    """``max Σ t`` s.t. ``M z ≥ t``, ``0 ≤ t ≤ 1``, z free: every optimum has
    ``t = 1`` exactly on the rows some ``z`` of ``{M z ≥ 0}`` makes positive (add
    such a z, scaled, to raise a row's t without lowering another's) and 0 on
    the others. Returns ``(positive rows mask, z)`` or None."""
    m, k = M.shape
    from scipy import optimize   # ~0.4 s to import: only when a check needs it
    res = optimize.linprog(np.r_[np.zeros(k), -np.ones(m)],
                           A_ub=np.column_stack([-M, np.eye(m)]), b_ub=np.zeros(m),
                           bounds=[(None, None)] * k + [(0, 1)] * m, method="highs",
                           options=_lp_options(deadline))
    if res.status != 0:
        return None
    return res.x[k:] > 0.5, res.x[:k]


def _split_by_lp(con: _Constraints, deadline: float):
    """The split from one LP (module docstring, step 2); None if it fails."""
    A = con.sparse()
    m, p = A.shape
    At = A.T.tocsr()
    from scipy import optimize   # ~0.4 s to import: only when a check needs it
    res = optimize.linprog(np.r_[-np.ones(m), np.zeros(m)], A_eq=sp.hstack([At, At]).tocsr(),
                           b_eq=np.zeros(p), bounds=[(0, 1)] * m + [(0, None)] * m,
                           method="highs", options=_lp_options(deadline))
    if res.status != 0:
        return None
    S = res.x[:m] < 0.5
    if not S.any():
        return _Split(S, np.eye(p), np.zeros((0, p)), None)
    direction = -np.asarray(res.eqlin.marginals)      # a relative-interior point of K
    basis = _null_basis(con.A[~S]) if con.dense else _sparse_null_basis(A[~S])
    if basis.shape[1] == 0:
        return None
    if int(S.sum()) * basis.shape[1] > DENSE_MAX_ENTRIES:
        return _Split(S, None, None, direction)
    M = np.asarray(A[S] @ basis)
    return _Split(S, basis, M, _interior_point(M, basis.T @ direction, deadline))


def _sparse_null_basis(A: sp.csr_matrix) -> np.ndarray:
    """The null space of a large sparse ``A`` from its (p, p) Gram matrix:
    eigenvalues below ``1e-12`` of the largest count as zero (the Gram matrix
    squares the condition number, so this rank decision is at √ε precision;
    the dense path decides at ε)."""
    if A.shape[0] == 0:
        return np.eye(A.shape[1])
    G = np.asarray((A.T @ A).todense())
    w, V = linalg.eigh(G, check_finite=False)
    return V[:, w <= 1e-12 * max(float(w[-1]), 0.0)]


# ---------------------------------------------------------------------- signs
class _Cone:
    """``K_E = {z : M z ≥ 0}`` (full-dimensional, interior point ``z0``) and the
    directions of it found so far (witnesses)."""

    def __init__(self, M: np.ndarray, z0: np.ndarray):
        self.M = M
        self.norms = np.linalg.norm(M, axis=1)
        self.witnesses = [z0]
        margin = (M @ z0) / np.where(self.norms > 0, self.norms, 1.0)
        size = min(M.shape[0], max(2 * M.shape[1], 32))
        self.subset = np.argsort(margin, kind="stable")[:size]

    def can_push(self, b: np.ndarray, deadline: float):
        """Whether some ``z ∈ K_E`` has ``bᵀz > _TOL ‖z‖`` (True/False; None if out
        of time). By Farkas: unless ``-b`` is in the cone of the rows of M, which
        non-negative least squares on a growing subset of rows decides."""
        for z in self.witnesses:
            if b @ z > _TOL * np.linalg.norm(z):
                return True
        z = self._along(b)
        if z is not None:
            self.witnesses.append(z)
            return True
        subset = self.subset
        scale = np.where(self.norms > 0, self.norms, 1.0)
        while time.perf_counter() <= deadline:
            rows = self.M[subset]
            try:
                from scipy import optimize   # ~0.4 s to import: only when a check needs it
                lam, _ = optimize.nnls(rows.T, -b)
            except RuntimeError:             # its iteration limit
                return self._by_lp(b, deadline)
            r = -b - rows.T @ lam
            if np.linalg.norm(r) <= _TOL:
                return False
            z = -r
            violated = (self.M @ z) / (scale * np.linalg.norm(z)) < -1e-9
            if not violated.any():
                self.witnesses.append(z)
                return True
            inside = np.zeros(self.M.shape[0], bool)
            inside[subset] = True
            if (violated & inside).any():    # the NNLS stopped short: ask an LP
                return self._by_lp(b, deadline)
            slack = (self.M @ z) / scale
            outside = np.flatnonzero(violated)
            worst = outside[np.argsort(slack[outside], kind="stable")][:max(self.M.shape[1], 8)]
            subset = self.subset = np.union1d(subset, worst)
        return None

    def _along(self, b: np.ndarray):
        """A cheap witness: from ``z0`` along ``b`` half way to the cone's boundary
        (a ratio test), if ``bᵀz`` is positive there; else None."""
        z0 = self.witnesses[0]
        Mb, Mz = self.M @ b, self.M @ z0
        toward = Mb < 0
        tau = 0.5 * float(np.min(Mz[toward] / -Mb[toward])) if toward.any() else \
            1e3 * np.linalg.norm(z0) / max(np.linalg.norm(b), 1e-300)
        z = z0 + tau * b
        if b @ z > _TOL * np.linalg.norm(z) and np.all(self.M @ z >= -1e-9 * self.norms
                                                       * np.linalg.norm(z)):
            return z
        return None

    def _by_lp(self, b: np.ndarray, deadline: float):
        """``max bᵀz`` over ``M z ≥ 0, |z| ≤ 1`` (the definition, for when the
        NNLS is not exact), its solution checked and kept as a witness."""
        from scipy import optimize   # ~0.4 s to import: only when a check needs it
        res = optimize.linprog(-b, A_ub=-self.M, b_ub=np.zeros(self.M.shape[0]),
                               bounds=[(-1, 1)] * self.M.shape[1], method="highs",
                               options=_lp_options(deadline))
        if res.status != 0:
            return None
        z = res.x
        if -res.fun > _TOL and np.all(self.M @ z >= -1e-9 * self.norms * np.linalg.norm(z)):
            self.witnesses.append(z)
            return True
        return False


def _signs(split: _Split, variables, deadline: float):
    """{variable index: +1/-1/0} for the coefficients K moves (module
    docstring), or None when the time budget ran out."""
    infinite = {}
    if split.basis is None:                          # too large to factor: the LP's direction
        d = split.z0
        for v in np.flatnonzero(np.abs(d) > _TOL * np.abs(d).max(initial=0.0)):
            infinite[int(variables[v])] = int(np.sign(d[v]))
        return infinite
    cone = _Cone(split.M, split.z0)
    for v in range(split.basis.shape[0]):
        b = split.basis[v]
        if np.linalg.norm(b) <= _TOL:
            continue
        up, down = cone.can_push(b, deadline), cone.can_push(-b, deadline)
        if up is None or down is None:
            return None
        if up or down:
            infinite[int(variables[v])] = 0 if up and down else (1 if up else -1)
    return infinite


# ---------------------------------------------------------------------- entry
def detect_separation(X, codes, s, layout: Layout, aliased=(), W=None, offset=None,
                      budget: float | None = None, information=None,
                      grad_norm: float | None = None) -> SeparationResult:
    """Test for separation and name the infinite coefficients (module
    docstring); ``aliased`` feature rows are left out. ``W``: the fitted
    coefficients (layout.matrix of the full vector) and ``offset`` the fit's
    offsets, which let the fit certify the answer without an LP; ``budget``:
    seconds (default from the problem size). ``information`` (size, size) and
    ``grad_norm`` (the max-norm of the mean gradient) at ``W``: a binary fit's,
    which usually certify no separation at once (step 0)."""
    with blas_one_thread():          # small dense problems: threads only contend
        return _detect(X, codes, s, layout, aliased, W, offset, budget, information,
                       grad_norm)


def _detect(X, codes, s, layout, aliased, W, offset, budget, information=None,
            grad_norm=None) -> SeparationResult:
    fixed_rows = set(aliased)
    variables = np.array([j * layout.n_cols + c for j in range(layout.n_rows)
                          for c in range(layout.n_cols) if j not in fixed_rows], dtype=np.intp)
    if variables.size == 0:
        return SeparationResult(False)
    if (information is not None and grad_norm is not None and not layout.multinomial
            and W is not None and np.all(np.isfinite(W))):
        intercept = bool(layout.fit_intercept and layout.n_features in variables)
        info = np.asarray(information)[np.ix_(variables, variables)]
        if information_certifies_no_separation(X, s, intercept, info, grad_norm,
                                                columns=variables[variables < layout.n_features]):
            return SeparationResult(False)
    nonzeros = _constraint_nonzeros(X, layout)
    if nonzeros > MAX_LP_NONZEROS:
        return SeparationResult(False, checked=False)
    if budget is None:
        budget = max(MIN_SECONDS, SECONDS_PER_MILLION * nonzeros / 1e6)
    deadline = time.perf_counter() + budget
    con = _constraint_matrix(X, codes, s, layout, variables)
    split = None
    if con.dense and W is not None and np.all(np.isfinite(W)):
        lam, other = _fitted_weights(X, codes, s, layout, W, offset, con)
        beta = np.asarray(W, dtype=np.float64).ravel()[variables] * con.scale
        split = _split_from_fit(con.A, lam, other, beta, deadline)
    if split is None:
        split = _split_by_lp(con, deadline)
    if split is None or time.perf_counter() > deadline:
        return SeparationResult(False, checked=False)
    if not split.S.any():
        return SeparationResult(False)
    if split.basis is not None and split.z0 is None:
        return SeparationResult(False, checked=False)
    infinite = _signs(split, variables, deadline)
    if infinite is None:
        return SeparationResult(False, checked=False)
    return SeparationResult(True, infinite)
