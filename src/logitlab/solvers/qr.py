"""R factors of weighted designs by TSQR, for accurate Newton steps on nearly
collinear columns.

A Hessian formed as ``Σ h x xᵀ`` has the *square* of the design's condition
number: with a column ``x1 + 1e-8 z`` next to ``x1`` (κ ≈ 1e8, which R's
``glm`` fits without complaint) it carries no correct digit in the direction
of ``z``, so Newton steps there are noise and a fit stops where the gradient
is small but the deviance is not at its minimum. The R factor of the rows
``√h x`` (a QR decomposition, never squaring anything) keeps κ·ε accuracy, as
R's IRLS does with its QR of ``√w X`` (LINPACK ``dqrls``).

:class:`RFactor` adds like a number: ``a + b`` is the R factor of the rows of
both, the QR of the two factors stacked. A sum over chunks is then a TSQR
(Demmel, Grigori, Hoemmen & Langou 2012), which both backends compute as they
compute any other sum (``reduce_chunks``: row blocks in memory, a reduction
tree of partitions on Dask). Each step is backward stable, so the result is
the exact R factor of the rows perturbed by rounding relative to each
column's norm.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from ..core.design import augmented_dense


#: bytes of one block of factor rows (a block and the factor so far are QR'd together)
_BLOCK_BYTES = 1 << 26


class RFactor:
    """The R factor ``R`` (m, p) of a tall matrix's QR decomposition (``RᵀR``
    is the matrix's Gram matrix); ``a + b`` is the R factor of both row sets."""

    def __init__(self, R: np.ndarray):
        self.R = R

    def __add__(self, other: "RFactor") -> "RFactor":
        if min(self.R.shape[0], other.R.shape[0]) == 0:
            return self if other.R.shape[0] == 0 else other
        return RFactor(np.linalg.qr(np.vstack([self.R, other.R]), mode="r"))


def accumulate(blocks, p: int) -> RFactor:
    """The R factor of the rows of the (k, p) arrays in ``blocks``: each block
    is QR'd together with the factor of the blocks before it."""
    R = np.zeros((0, p))
    for rows in blocks:
        if rows.shape[0]:
            R = np.linalg.qr(np.vstack([R, rows]), mode="r")
    return RFactor(R)


def block_rows(n_cols: int, rows_per_item: int = 1) -> int:
    """Rows of data per block so that a block of factor rows (``rows_per_item``
    factor rows of ``n_cols`` columns per data row) takes about
    :data:`_BLOCK_BYTES`, and at least as many factor rows as columns."""
    per_row = max(n_cols * rows_per_item * 8, 1)
    return max(-(-n_cols // rows_per_item) + 1, min(4096, _BLOCK_BYTES // per_row))


def hessian_factor_part(X, y, s, offset, W, family) -> RFactor:
    """One chunk's :class:`RFactor` of the rows of the family's
    ``chunk_hessian_root`` (``BᵀB`` = the chunk's Hessian), a block at a time."""
    layout = family.layout
    C, size = layout.n_cols, layout.size
    step = block_rows(size, 2 if layout.ordinal else C)   # factor rows per data row
    s = np.broadcast_to(np.asarray(s, dtype=np.float64), (X.shape[0],))
    return accumulate((family.chunk_hessian_root(
        X[a:a + step], y[a:a + step], s[a:a + step], None if offset is None else offset[a:a + step], W)
        for a in range(0, X.shape[0], step)), size)


def hessian_factor(objective, w) -> np.ndarray:
    """Upper-triangular ``R`` (size, size) with ``RᵀR`` = the Hessian of the
    objective's smooth part (the mean NLL and the L2 term) at the free
    coordinates ``w``: one pass (:func:`hessian_factor_part` summed over chunks)."""
    layout = objective.layout
    W = layout.matrix(objective.expand(w))
    R = objective.data.reduce_chunks(hessian_factor_part, W, objective.data.family).R
    R = np.linalg.qr(R[:, objective.free], mode="r") if R.shape[0] else R[:, objective.free]
    R = R * np.sqrt(objective.scale)
    if objective.l2 > 0:
        ridge = np.diag(np.where(objective.penalized, np.sqrt(objective.l2), 0.0))
        R = np.linalg.qr(np.vstack([R, ridge]), mode="r")
    if R.shape[0] < R.shape[1]:
        R = np.vstack([R, np.zeros((R.shape[1] - R.shape[0], R.shape[1]))])
    return R


def qr_direction(R: np.ndarray, g: np.ndarray):
    """The Newton step ``d = -(RᵀR)⁻¹ g`` by two triangular solves; for a
    (numerically) singular ``R`` the minimum-norm step from its SVD.

    The columns are first scaled to unit norm (``R D``, D = 1 / column norms,
    the norms of the weighted design's columns): whether ``R`` is singular is
    then a question of collinearity, not of units — a column in units of 1e-6
    next to one in units of 1e6 is no reason to drop either.
    Returns ``(d, singular)``."""
    if R.shape[1] == 0:
        return np.zeros(0), False
    norms = np.linalg.norm(R, axis=0)
    scale = 1.0 / np.where(norms > 0, norms, 1.0)
    Rs, gs = R * scale, g * scale
    diag = np.abs(np.diagonal(Rs))
    if diag.min() > R.shape[1] * np.finfo(float).eps and np.all(norms > 0):
        u = linalg.solve_triangular(Rs, gs, trans="T", check_finite=False)
        d = -linalg.solve_triangular(Rs, u, check_finite=False) * scale
        if np.all(np.isfinite(d)):
            return d, False
    _, sv, Vt = linalg.svd(Rs, check_finite=False)
    keep = sv > sv.max(initial=0.0) * R.shape[1] * np.finfo(float).eps
    d = -(Vt[keep].T @ ((Vt[keep] @ gs) / sv[keep] ** 2)) * scale
    return d, True


def _abs_cross_products(X, y, s, offset, fit_intercept: bool) -> np.ndarray:
    """One chunk's ``Σ s |x̃| |x̃|ᵀ`` (x̃ = [x, 1]; the layout's order)."""
    A = np.abs(augmented_dense(X, fit_intercept))
    s = np.broadcast_to(np.asarray(s, dtype=np.float64), (A.shape[0],))
    return (A * s[:, None]).T @ A


class RoundingBounds:
    """First-order bounds on the rounding error of the mean objective and of
    its gradient at coefficients ``W``, from the mean absolute cross products
    ``M = (1/S) Σ s |x̃| |x̃|ᵀ`` (one pass).

    A row's logit ``x̃ᵀ w`` is computed with an error of at most
    ``p ε Σ_k |x̃_k w_k|`` (p terms, the sum of absolute terms: large
    coefficients of opposite sign on nearly collinear columns make it much
    larger than the logit itself). That moves the row's loss by at most that
    (|∂nll/∂z| ≤ 1) and its residual by a quarter of it, so the mean loss is
    known to ``p ε Mᵢ |w|`` (``Mᵢ`` the intercept row: the mean |x̃|) and the
    gradient's coordinate j to ``(p ε / 4) (M |w|)_j``, for each class.
    """

    def __init__(self, objective):
        layout = objective.layout
        self.layout = layout
        self.M = objective.data.reduce_chunks(
            _abs_cross_products, layout.fit_intercept or layout.ordinal) * objective.scale
        if layout.ordinal:            # every threshold enters a logit as the intercept does
            d, m = layout.n_features, layout.n_thresholds
            take = np.r_[np.arange(d), np.full(m, d)]
            self.M = self.M[np.ix_(take, take)]
        self.free = objective.free
        self.expand = objective.expand

    def _terms(self, w) -> np.ndarray:
        """``M |W|`` (n_rows, n_cols) with the number of terms of a logit."""
        W = np.abs(self.layout.matrix(self.expand(w)))
        p = self.layout.n_rows * (2 if self.layout.multinomial else 1)
        return p * np.finfo(float).eps * (self.M @ W)

    def value(self, w) -> float:
        """Bound on the rounding error of the mean loss at ``w``."""
        T = self._terms(w)
        row = T[-1] if self.layout.fit_intercept else T.max(axis=0)
        return float(row.sum())

    def gradient(self, w) -> float:
        """Bound on the max-norm rounding error of the mean gradient at ``w``."""
        return 0.25 * float(self._terms(w).ravel()[self.free].max(initial=0.0))
