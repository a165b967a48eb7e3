"""The covariance parameters of a mixed model's random effects, as lme4 lays them out.

Term t has n_t levels and k_t columns; its random effects b_tj (k_t per level j)
are N(0, Σ_t) with Σ_t = T_t T_tᵀ (σ = 1 for the binomial), T_t the lower
triangular k_t × k_t *relative covariance factor*. θ stacks, term by term, the
lower triangle of T_t column by column (lme4's ``getME(fit, "theta")``); its
diagonal elements are bounded below by 0, the others unbounded
(``getME(fit, "lower")``); the start is T_t = I.

Λ_θ (q × q, q = Σ_t n_t k_t) is block diagonal, I_{n_t} ⊗ T_t per term, so that
b = Λ_θ u with spherical u ~ N(0, I_q), matching Z's column order (per term, per
level, the term's columns).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["ThetaLayout", "VarCorr"]


@dataclass(frozen=True)
class VarCorr:
    """One term's variance components: standard deviations (k,) and the
    correlation matrix (k, k), as lme4's ``VarCorr``."""
    sd: np.ndarray
    corr: np.ndarray


class ThetaLayout:
    """θ ↔ (T_t) ↔ Λ_θ for terms with ``n_levels[t]`` levels and ``n_columns[t]`` columns."""

    def __init__(self, n_levels, n_columns):
        self.n_levels = np.asarray(n_levels, dtype=np.int64)
        self.n_columns = np.asarray(n_columns, dtype=np.int64)
        if self.n_levels.shape != self.n_columns.shape or self.n_levels.ndim != 1 \
                or not len(self.n_levels):
            raise ValueError("n_levels and n_columns must be equal-length 1-d sequences, "
                             "one entry per random-effects term.")
        self.q = int(np.sum(self.n_levels * self.n_columns))
        self.sizes = self.n_columns * (self.n_columns + 1) // 2
        self.n_theta = int(self.sizes.sum())
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        self.column_offsets = np.concatenate([[0], np.cumsum(self.n_levels * self.n_columns)])
        self.lower = np.concatenate([self._diag_mask(k) for k in self.n_columns]).astype(bool)
        self._tril = [self._column_major_tril(int(k)) for k in self.n_columns]

    @staticmethod
    def _column_major_tril(k: int):
        """(rows, cols) of a k × k lower triangle, column by column."""
        rows, cols = np.tril_indices(k)
        order = np.lexsort((rows, cols))
        return rows[order], cols[order]

    @staticmethod
    def _diag_mask(k: int) -> np.ndarray:
        """Which entries of the column-major lower triangle of a k × k matrix are diagonal."""
        return np.concatenate([[1] + [0] * (k - j - 1) for j in range(k)])

    @property
    def n_terms(self) -> int:
        return len(self.n_levels)

    @property
    def bounds_lower(self) -> np.ndarray:
        """(n_theta,) 0 on diagonal elements, -inf elsewhere."""
        return np.where(self.lower, 0.0, -np.inf)

    def start(self) -> np.ndarray:
        """θ for T_t = I."""
        return self.lower.astype(np.float64)

    def factors(self, theta) -> list:
        """The T_t (k_t × k_t lower triangular) of θ."""
        theta = np.asarray(theta, dtype=np.float64)
        out = []
        for t, k in enumerate(self.n_columns):
            T = np.zeros((k, k))
            T[self._tril[t]] = theta[self.offsets[t]:self.offsets[t + 1]]
            out.append(T)
        return out

    def theta_of(self, factors) -> np.ndarray:
        """Inverse of :meth:`factors`."""
        return np.concatenate([T[self._column_major_tril(T.shape[0])] for T in factors])

    def column_positions(self, t: int, j: int) -> tuple[int, np.ndarray]:
        """Where column j of T_t sits in θ: (the diagonal entry's index, the
        indices of the entries below it)."""
        rows, cols = self._tril[t]
        at = np.flatnonzero(cols == j) + self.offsets[t]
        return int(at[0]), at[1:]

    def tril_of(self, t: int, matrix) -> np.ndarray:
        """Term t's k × k ``matrix`` at θ's positions (lower triangle, column-major)."""
        return matrix[self._tril[t]]

    def Lambda(self, theta) -> sp.csc_matrix:
        """Λ_θ (q × q sparse): blockdiag_t(I_{n_t} ⊗ T_t)."""
        rows, cols, vals = [], [], []
        for t, T in enumerate(self.factors(theta)):
            k, m, base = T.shape[0], self.n_levels[t], self.column_offsets[t]
            r, c = np.nonzero(np.tril(np.ones((k, k))))
            start = base + np.arange(m)[:, None] * k
            rows.append((start + r).ravel())
            cols.append((start + c).ravel())
            vals.append(np.tile(T[r, c], m))
        return sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(self.q, self.q))

    def covariances(self, theta) -> list:
        """Σ_t = T_t T_tᵀ per term."""
        return [T @ T.T for T in self.factors(theta)]

    def varcorr(self, theta) -> list:
        """Per term: :class:`VarCorr` (standard deviations, correlations; a
        correlation with a zero SD is NaN's 0-safe version: 0)."""
        out = []
        for S in self.covariances(theta):
            sd = np.sqrt(np.diag(S))
            with np.errstate(invalid="ignore", divide="ignore"):
                corr = S / np.outer(sd, sd)
            corr = np.where(np.outer(sd, sd) > 0, corr, 0.0)
            np.fill_diagonal(corr, 1.0)
            out.append(VarCorr(sd=sd, corr=corr))
        return out

    def sdcor_of(self, theta) -> np.ndarray:
        """φ (n_theta,) at θ's positions: each term's standard deviations on the
        diagonal places and correlations ρ_rc (r > c) on the others, lme4's
        ``.sig01, .sig02, …`` of ``profile`` (sd and cor scale)."""
        return np.concatenate([self.tril_of(t, vc.corr + np.diag(vc.sd - 1.0))
                               for t, vc in enumerate(self.varcorr(theta))])

    def theta_of_sdcor(self, phi):
        """Inverse of :meth:`sdcor_of`: T_t = diag(|sd|) L with L the lower
        Cholesky factor of the correlation matrix R (unit diagonal, ρ off it),
        so T_t T_tᵀ = D R D. ``None`` when some R is not positive semidefinite."""
        phi = np.asarray(phi, dtype=np.float64)
        factors = []
        for t, k in enumerate(self.n_columns):
            P = np.zeros((k, k))
            P[self._tril[t]] = phi[self.offsets[t]:self.offsets[t + 1]]
            R = np.tril(P, -1) + np.tril(P, -1).T + np.eye(k)
            L = _psd_cholesky(R)
            if L is None:
                return None
            factors.append(np.abs(np.diag(P))[:, None] * L)
        return self.theta_of(factors)

    def split_by_term(self, v) -> list:
        """A (q,) vector as per-term (n_t, k_t) arrays (e.g. b → per level)."""
        v = np.asarray(v)
        return [v[self.column_offsets[t]:self.column_offsets[t + 1]].reshape(m, k)
                for t, (m, k) in enumerate(zip(self.n_levels, self.n_columns))]

    def is_singular(self, theta, tol: float = 1e-4) -> bool:
        """lme4's ``isSingular``: some diagonal element of θ below ``tol``."""
        return bool(np.any(np.asarray(theta)[self.lower] < tol))


def _psd_cholesky(R, tol: float = 1e-12):
    """Lower L with L Lᵀ = R for a positive semidefinite R (a zero pivot, as at
    a correlation of ±1, gives a zero column); ``None`` if R is not PSD or has
    an off-diagonal entry outside [−1, 1]."""
    k = R.shape[0]
    if not np.all(np.isfinite(R)) or np.any(np.abs(R) > 1.0):
        return None
    L = np.zeros_like(R)
    for j in range(k):
        pivot = R[j, j] - L[j, :j] @ L[j, :j]
        if pivot < -tol:
            return None
        L[j, j] = np.sqrt(max(pivot, 0.0))
        for i in range(j + 1, k):
            rest = R[i, j] - L[i, :j] @ L[j, :j]
            if L[j, j] > 0:
                L[i, j] = rest / L[j, j]
            elif abs(rest) > 1e-8:
                return None
    return L
