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
from scipy import linalg, optimize, special

from ._threads import blas_one_thread
from .kernels import Layout, logits

#: above this many constraint nonzeros the check is not attempted
MAX_LP_NONZEROS = 20_000_000
#: below this many constraint nonzeros every unpenalized fit is checked
ALWAYS_CHECK_NONZEROS = 2_000_000
#: time budget of the check: this many seconds per million constraint
#: nonzeros, and never less than MIN_SECONDS
SECONDS_PER_MILLION, MIN_SECONDS = 2.0, 2.0
#: the dense certificates (an SVD of A) only up to this many entries of A
DENSE_MAX_ENTRIES = 25_000_000
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
    """``A`` (pairs, variables) CSR with scaled columns; per pair its row (into
    the kept rows) and other class; ``scale`` per variable (A = A_raw / scale)."""

    A: sp.csr_matrix
    rows: np.ndarray
    other: np.ndarray
    scale: np.ndarray


def _constraint_matrix(X, codes, s, layout: Layout, variables) -> _Constraints:
    """Rows ``a`` with ``aᵀd ≥ 0`` required, one per (row, other class)."""
    keep = np.flatnonzero(s > 0)
    Xs = X[keep] if not sp.issparse(X) else X.tocsr()[keep]
    y = codes[keep]
    n = Xs.shape[0]
    Xt = sp.hstack([sp.csr_matrix(Xs), sp.csr_matrix(np.ones((n, 1)))]).tocsr() \
        if layout.fit_intercept else sp.csr_matrix(Xs)
    # scale columns to max |x| = 1: the cone is unchanged, the LP better conditioned
    col_scale = np.asarray(abs(Xt).max(axis=0).todense()).ravel()
    col_scale = np.where(col_scale > 0, col_scale, 1.0)
    Xt = Xt @ sp.diags(1.0 / col_scale)
    C = layout.n_cols
    col_of = {k: c for c, k in enumerate(layout.free_classes)} if layout.multinomial else {1: 0}
    blocks, pair_rows, pair_other = [], [], []
    for k in range(layout.n_classes):
        rows = np.flatnonzero(y != k)
        if rows.size == 0:
            continue
        sign = np.zeros((rows.size, C))
        for c in range(layout.n_classes):           # + x̃ for the row's own class
            if c in col_of:
                sign[y[rows] == c, col_of[c]] += 1.0
        if k in col_of:                              # - x̃ for the other class k
            sign[:, col_of[k]] -= 1.0
        Xr = Xt[rows]
        # variable j*C + col gets x̃_j * sign[:, col]
        parts = [Xr.multiply(sign[:, [col]]) for col in range(C)]
        stacked = sp.hstack(parts).tocsc()
        perm = np.array([col * layout.n_rows + j for j in range(layout.n_rows) for col in range(C)])
        blocks.append(stacked[:, perm])
        pair_rows.append(rows)
        pair_other.append(np.full(rows.size, k))
    A = sp.vstack(blocks).tocsr()[:, variables]
    return _Constraints(A, np.concatenate(pair_rows), np.concatenate(pair_other),
                        col_scale[variables // C])


def _fitted_weights(X, codes, s, layout, W, offset, con: _Constraints):
    """``(λ̂, P̂)`` per pair: the fitted probability of the other class and the
    row's weight times it (``Aᵀλ̂`` is then the score of the fit, in scaled
    columns)."""
    keep = np.flatnonzero(s > 0)
    Xs = X[keep] if not sp.issparse(X) else X.tocsr()[keep]
    off = None if offset is None else np.asarray(offset)[keep]
    z = logits(Xs, W, layout, off)
    if layout.multinomial:
        P = special.softmax(z, axis=1)
    else:
        P = np.column_stack([special.expit(-z), special.expit(z)])
    other = P[con.rows, con.other]
    return np.asarray(s, dtype=np.float64)[keep][con.rows] * other, other


# --------------------------------------------------------------- certificates
def _svd(A: np.ndarray):
    """``(U, sv, Vt, rank)`` with ``Vt`` (p, p) square (its last ``p - rank`` rows
    span the null space) and U only as wide as needed."""
    U, sv, Vt = linalg.svd(A, full_matrices=False, check_finite=False)
    if Vt.shape[0] < A.shape[1]:             # fewer rows than columns: complete Vt
        Vt = linalg.svd(A, full_matrices=True, check_finite=False)[2]
    rank = int(np.count_nonzero(sv > sv.max(initial=0.0) * max(A.shape) * _EPS))
    return U, sv, Vt, rank


def _null_basis(A: np.ndarray) -> np.ndarray:
    """An orthonormal basis (p, p - rank) of the null space of ``A``."""
    if A.shape[0] == 0:
        return np.eye(A.shape[1])
    _, _, Vt, rank = _svd(A)
    return Vt[rank:].T


def _null_certificate(A_T: np.ndarray, lam: np.ndarray):
    """Whether the projection of ``lam > 0`` on the null space of ``A_Tᵀ`` is a
    certified positive vector (so every row of ``A_T`` is in T), and a basis
    (variables, dim) of ``E = null(A_T)`` (both from one SVD)."""
    if A_T.shape[0] == 0:
        return True, np.eye(A_T.shape[1])
    U, sv, Vt, rank = _svd(A_T)
    basis = Vt[rank:].T
    if rank == 0:
        return True, basis
    Ur = U[:, :rank]
    lam_star = lam - Ur @ (Ur.T @ lam)
    residual = float(np.linalg.norm(A_T.T @ lam_star))
    fix = residual / sv[rank - 1]            # the exact correction is at most this large
    return bool(lam_star.min() > 10.0 * fix + 1e-300), basis


def _interior_point(M: np.ndarray, guess: np.ndarray | None, deadline: float):
    """A point ``z`` with ``M z > 0`` (every row strictly), or None: the guess if
    it qualifies, else ``max t`` s.t. ``M z ≥ t``, ``|z| ≤ 1``, ``t ≤ 1``."""
    norms = np.linalg.norm(M, axis=1)
    if guess is not None and np.all(np.isfinite(guess)) and np.linalg.norm(guess) > 0:
        g = guess / np.linalg.norm(guess)
        if np.all(M @ g > 1e-9 * norms):
            return g
    k = M.shape[1]
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
    certificates do not hold."""
    ok, basis = _null_certificate(A, lam)
    if ok:
        return _Split(np.zeros(A.shape[0], bool), basis, np.zeros((0, basis.shape[1])), None)
    for cut in (1e-6, 1e-9):
        S = other < cut
        if not S.any() or time.perf_counter() > deadline:
            continue
        ok, basis = _null_certificate(A[~S], lam[~S])
        if not ok or basis.shape[1] == 0:
            continue
        M = A[S] @ basis
        z0 = _interior_point(M, basis.T @ beta, deadline)
        if z0 is not None:
            return _Split(S, basis, M, z0)
    return None


def _split_by_lp(A: sp.csr_matrix, deadline: float, dense: bool):
    """The split from one LP (module docstring, step 2); None if it fails."""
    m, p = A.shape
    At = A.T.tocsr()
    res = optimize.linprog(np.r_[-np.ones(m), np.zeros(m)], A_eq=sp.hstack([At, At]).tocsr(),
                           b_eq=np.zeros(p), bounds=[(0, 1)] * m + [(0, None)] * m,
                           method="highs", options=_lp_options(deadline))
    if res.status != 0:
        return None
    S = res.x[:m] < 0.5
    if not S.any():
        return _Split(S, np.eye(p), np.zeros((0, p)), None)
    direction = -np.asarray(res.eqlin.marginals)      # a relative-interior point of K
    if not dense:
        return _Split(S, None, None, direction)
    basis = _null_basis(A[~S].toarray())
    if basis.shape[1] == 0:
        return None
    M = A[S].toarray() @ basis
    return _Split(S, basis, M, _interior_point(M, basis.T @ direction, deadline))


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
        subset = self.subset
        scale = np.where(self.norms > 0, self.norms, 1.0)
        while time.perf_counter() <= deadline:
            rows = self.M[subset]
            lam, _ = optimize.nnls(rows.T, -b)
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

    def _by_lp(self, b: np.ndarray, deadline: float):
        """``max bᵀz`` over ``M z ≥ 0, |z| ≤ 1`` (the definition, for when the
        NNLS is not exact), its solution checked and kept as a witness."""
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
                      budget: float | None = None) -> SeparationResult:
    """Test for separation and name the infinite coefficients (module
    docstring); ``aliased`` feature rows are left out. ``W``: the fitted
    coefficients (layout.matrix of the full vector) and ``offset`` the fit's
    offsets, which let the fit certify the answer without an LP; ``budget``:
    seconds (default from the problem size)."""
    with blas_one_thread():          # small dense problems: threads only contend
        return _detect(X, codes, s, layout, aliased, W, offset, budget)


def _detect(X, codes, s, layout, aliased, W, offset, budget) -> SeparationResult:
    fixed_rows = set(aliased)
    variables = np.array([j * layout.n_cols + c for j in range(layout.n_rows)
                          for c in range(layout.n_cols) if j not in fixed_rows], dtype=np.intp)
    if variables.size == 0:
        return SeparationResult(False)
    nonzeros = _constraint_nonzeros(X, layout)
    if nonzeros > MAX_LP_NONZEROS:
        return SeparationResult(False, checked=False)
    if budget is None:
        budget = max(MIN_SECONDS, SECONDS_PER_MILLION * nonzeros / 1e6)
    deadline = time.perf_counter() + budget
    con = _constraint_matrix(X, codes, s, layout, variables)
    dense = con.A.shape[0] * con.A.shape[1] <= DENSE_MAX_ENTRIES
    split = None
    if dense and W is not None and np.all(np.isfinite(W)):
        lam, other = _fitted_weights(X, codes, s, layout, W, offset, con)
        beta = np.asarray(W, dtype=np.float64).ravel()[variables] * con.scale
        split = _split_from_fit(con.A.toarray(), lam, other, beta, deadline)
    if split is None:
        split = _split_by_lp(con.A, deadline, dense)
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
