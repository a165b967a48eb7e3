"""Detecting (quasi-)complete separation by linear programming.

The log-likelihood has no finite maximum when some direction ``d`` in
coefficient space never lowers the logit of any row's observed class against
any other class and raises it for at least one row (Albert & Anderson 1984;
the linear-programming test of Konis 2007, as in R's ``detectseparation``).
With ``x̃ = [x, 1]``, a row of class ``c`` and every other class ``k``
(the reference class has ``d_ref = 0``)::

    x̃ᵀ (d_c - d_k) ≥ 0   for all rows and k ≠ c,      -1 ≤ d ≤ 1

Separation exists iff ``max Σ x̃ᵀ (d_c - d_k)`` over that cone is > 0. A
coefficient whose value can be pushed above 0 (or below) inside the cone
has an estimate of +∞ (or -∞): those terms are named.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy import optimize

from ..core.layout import Layout

#: above this many constraint nonzeros the LP is not attempted
MAX_LP_NONZEROS = 20_000_000
#: up to this many coefficients each one's direction is checked by its own LPs
MAX_PER_COEFFICIENT = 200
_TOL = 1e-7


@dataclass
class SeparationResult:
    """``separated``: the MLE does not exist. ``infinite``: full-vector index →
    +1 / -1 for coefficients whose estimate is ±∞ (0: either sign, depending
    on the direction taken). ``checked``: False when the
    problem was too large for the LP (nothing is known then)."""

    separated: bool
    infinite: dict = field(default_factory=dict)
    checked: bool = True


def _constraint_matrix(X, codes, s, layout: Layout, variables):
    """Rows ``a`` with ``aᵀd ≥ 0`` required, one per (row, other class)."""
    keep = s > 0
    Xs = X[keep] if not sp.issparse(X) else X.tocsr()[np.flatnonzero(keep)]
    y = codes[keep]
    n = Xs.shape[0]
    Xt = sp.hstack([sp.csr_matrix(Xs), sp.csr_matrix(np.ones((n, 1)))]).tocsr() \
        if layout.fit_intercept else sp.csr_matrix(Xs)
    # scale columns to max |x| = 1: the cone is unchanged, the LP better conditioned
    scale = np.asarray(abs(Xt).max(axis=0).todense()).ravel()
    Xt = Xt @ sp.diags(1.0 / np.where(scale > 0, scale, 1.0))
    C = layout.n_cols
    col_of = {k: c for c, k in enumerate(layout.free_classes)}
    if not layout.multinomial:
        col_of = {1: 0}
    blocks = []
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
    A = sp.vstack(blocks).tocsr()
    return A[:, variables]


#: below this many constraint nonzeros every unpenalized fit is checked
ALWAYS_CHECK_NONZEROS = 2_000_000


def _constraint_nonzeros(X, layout: Layout) -> int:
    return (X.nnz if sp.issparse(X) else X.size) * max(layout.n_classes - 1, 1) * 2


def separation_check_is_cheap(X, layout: Layout) -> bool:
    """Small enough to run the LP after every unpenalized fit (milliseconds)."""
    return _constraint_nonzeros(X, layout) <= ALWAYS_CHECK_NONZEROS


def detect_separation(X, codes, s, layout: Layout, aliased=()) -> SeparationResult:
    """Test for separation; ``aliased`` feature rows are left out."""
    fixed_rows = set(aliased)
    variables = np.array([j * layout.n_cols + c for j in range(layout.n_rows)
                          for c in range(layout.n_cols) if j not in fixed_rows], dtype=np.intp)
    if variables.size == 0:
        return SeparationResult(False)
    if _constraint_nonzeros(X, layout) > MAX_LP_NONZEROS:
        return SeparationResult(False, checked=False)
    A = _constraint_matrix(X, codes, s, layout, variables)
    bounds = [(-1.0, 1.0)] * variables.size
    total = np.asarray(A.sum(axis=0)).ravel()
    res = optimize.linprog(-total, A_ub=-A, b_ub=np.zeros(A.shape[0]), bounds=bounds,
                           method="highs")
    if res.status != 0 or -res.fun <= _TOL * max(1.0, A.shape[0] ** 0.5):
        return SeparationResult(False, checked=res.status == 0)
    infinite = {}
    if variables.size <= MAX_PER_COEFFICIENT:
        for v in range(variables.size):
            e = np.zeros(variables.size)
            e[v] = 1.0
            for sign in (1.0, -1.0):
                r = optimize.linprog(-sign * e, A_ub=-A, b_ub=np.zeros(A.shape[0]),
                                     bounds=bounds, method="highs")
                if r.status == 0 and -r.fun > _TOL:   # both signs possible → 0
                    key = int(variables[v])
                    infinite[key] = 0 if key in infinite else int(sign)
    else:
        for v in np.flatnonzero(np.abs(res.x) > _TOL):
            infinite[int(variables[v])] = int(np.sign(res.x[v]))
    return SeparationResult(True, infinite)
