"""Cholesky factor of a symmetric positive definite matrix with a block-diagonal
leading part and a dense trailing part: the random-effects system of a mixed model.

The matrix (q × q, q = m k + r) is partitioned as

    A = [[A11, A21ᵀ],        A11 = blockdiag(D_1, ..., D_m), each D_j k × k,
         [A21, A22 ]]        A21 r × m k (scipy.sparse), A22 r × r (dense),

and factored as A = L Lᵀ with

    L11 = blockdiag(chol(D_j))                (batched dense Cholesky, NumPy),
    L21 = A21 L11⁻ᵀ                            (blockwise: L11⁻ᵀ is block diagonal;
                                               dense, or sparse for large r m k),
    L22 = chol(A22 − L21 L21ᵀ)                 (dense Schur complement, LAPACK).

For a mixed model the leading part is the random-effects term with the most
levels — its block of ΛᵀZᵀWZΛ + I is block diagonal, one k × k block per level —
and the trailing part holds every other term's columns (and, for the joint
(u, β) system, the fixed effects). This covers one grouping factor with random
slopes (r = 0), nested and crossed designs, with only NumPy/SciPy (no CHOLMOD,
whose GPL/LGPL licence the package avoids); the cost is O(n K² + m k³ + r³) per
factorization, fine while r (the columns of the other terms) is up to a few
thousand.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

__all__ = ["BlockCholesky", "block_diagonal_sparse"]


def block_diagonal_sparse(blocks: np.ndarray) -> sp.csr_matrix:
    """The (m k × m k) sparse block-diagonal matrix of ``blocks`` (m, k, k)."""
    m, k, _ = blocks.shape
    base = np.arange(m)[:, None, None] * k
    rows = np.broadcast_to(base + np.arange(k)[None, :, None], blocks.shape).ravel()
    cols = np.broadcast_to(base + np.arange(k)[None, None, :], blocks.shape).ravel()
    return sp.csr_matrix((blocks.ravel(), (rows, cols)), shape=(m * k, m * k))


class BlockCholesky:
    """A = L Lᵀ for the partitioned A above.

    Parameters
    ----------
    D : (m, k, k) the diagonal blocks of A11
    A21 : (r, m k) dense or scipy.sparse, None when r = 0
    A22 : (r, r) dense or None

    Raises ``numpy.linalg.LinAlgError`` when A is not positive definite.
    """

    def __init__(self, D: np.ndarray, A21=None, A22=None):
        self.m, self.k, _ = D.shape
        if self.k == 1:                                                   # scalar blocks
            if not np.all(D > 0):
                raise np.linalg.LinAlgError("a diagonal block is not positive definite")
            self.L11 = np.sqrt(D)
            self.L11inv = 1.0 / self.L11
        else:
            self.L11 = np.linalg.cholesky(D)                              # (m, k, k)
            eye = np.broadcast_to(np.eye(self.k), D.shape)
            self.L11inv = np.linalg.solve(self.L11, eye)                  # (m, k, k)
        self.r = 0 if A22 is None else A22.shape[0]
        if self.r:
            if sp.issparse(A21):
                inv_t = block_diagonal_sparse(np.swapaxes(self.L11inv, 1, 2))
                self.L21 = sp.csr_matrix(A21 @ inv_t)                      # (r, m k)
                cross = (self.L21 @ self.L21.T).toarray()
            else:                                   # dense: blockwise A21_j L11_j⁻ᵀ
                blocks = np.asarray(A21, dtype=np.float64).reshape(self.r, self.m, self.k)
                self.L21 = np.einsum("rjb,jab->rja", blocks, self.L11inv).reshape(self.r, -1)
                cross = self.L21 @ self.L21.T
            self.L22 = np.linalg.cholesky(np.asarray(A22, dtype=np.float64) - cross)  # (r, r)
        else:
            self.L21 = None
            self.L22 = np.zeros((0, 0))

    @property
    def size(self) -> int:
        return self.m * self.k + self.r

    def diagonal(self) -> np.ndarray:
        """diag(L), (q,)."""
        return np.concatenate([np.diagonal(self.L11, axis1=1, axis2=2).ravel(),
                               np.diag(self.L22)])

    def logdet(self, leading: int | None = None) -> float:
        """log det of the leading ``leading`` × ``leading`` principal block of A
        (all of A by default): 2 Σ log diag(L)[:leading]."""
        d = self.diagonal()
        return 2.0 * float(np.sum(np.log(d[:leading] if leading is not None else d)))

    def _l11_solve(self, x: np.ndarray, transpose: bool = False) -> np.ndarray:
        """L11⁻¹ x (or L11⁻ᵀ x), x (m k,) or (m k, s)."""
        if self.k == 1:
            inv = self.L11inv[:, 0, 0]
            return inv * x if x.ndim == 1 else inv[:, None] * x
        shape = x.shape
        xb = x.reshape(self.m, self.k, -1)
        inv = np.swapaxes(self.L11inv, 1, 2) if transpose else self.L11inv
        return np.matmul(inv, xb).reshape(shape)

    def solve_lower(self, b: np.ndarray) -> np.ndarray:
        """L⁻¹ b, b (q,) or (q, s)."""
        q1 = self.m * self.k
        y1 = self._l11_solve(b[:q1])
        if not self.r:
            return y1
        y2 = sla.solve_triangular(self.L22, b[q1:] - self.L21 @ y1, lower=True)
        return np.concatenate([y1, y2])

    def solve_upper(self, y: np.ndarray) -> np.ndarray:
        """L⁻ᵀ y, y (q,) or (q, s)."""
        q1 = self.m * self.k
        if not self.r:
            return self._l11_solve(y, transpose=True)
        x2 = sla.solve_triangular(self.L22, y[q1:], lower=True, trans="T")
        x1 = self._l11_solve(y[:q1] - self.L21.T @ x2, transpose=True)
        return np.concatenate([x1, x2])

    def solve(self, b: np.ndarray) -> np.ndarray:
        """A⁻¹ b, b (q,) or (q, s)."""
        return self.solve_upper(self.solve_lower(b))

    def inverse_parts(self):
        """The parts of A⁻¹ = L⁻ᵀ L⁻¹ a mixed model needs: (B11 (m, k, k) the
        diagonal blocks of its leading part, B21 (r, m k) its trailing × leading
        block, B22 (r, r) its trailing block; None for r = 0).

        With G = L⁻¹: G11 = L11⁻¹, G21 = −L22⁻¹ L21 L11⁻¹, G22 = L22⁻¹;
        B11_j = G11_jᵀ G11_j + G21_jᵀ G21_j, B21 = G22ᵀ G21, B22 = G22ᵀ G22."""
        G11 = self.L11inv
        B11 = np.matmul(np.swapaxes(G11, 1, 2), G11)                    # (m, k, k)
        if not self.r:
            return B11, None, None
        if sp.issparse(self.L21):
            LG = (self.L21 @ block_diagonal_sparse(G11)).toarray()
        else:
            LG = np.einsum("rja,jab->rjb", self.L21.reshape(self.r, self.m, self.k),
                           G11).reshape(self.r, -1)
        G21 = -sla.solve_triangular(self.L22, LG, lower=True)
        G22 = sla.solve_triangular(self.L22, np.eye(self.r), lower=True)
        h = G21.reshape(self.r, self.m, self.k).transpose(1, 0, 2)      # (m, r, k)
        B11 = B11 + np.matmul(np.swapaxes(h, 1, 2), h)
        return B11, G22.T @ G21, G22.T @ G22

    def inverse_diagonal_blocks(self, sizes, counts) -> list:
        """Diagonal blocks of A⁻¹ along a partition of its index set into
        ``counts[t]`` consecutive blocks of ``sizes[t]`` (the terms' levels; the
        first is the leading part: sizes[0] = k, counts[0] = m): a list of
        (counts[t], sizes[t], sizes[t]) arrays (see :meth:`inverse_parts`)."""
        B11, _, inv22 = self.inverse_parts()
        out, start = [B11], 0
        for size, count in list(zip(sizes, counts))[1:]:
            idx = np.arange(start, start + int(size) * int(count)).reshape(int(count), int(size))
            out.append(inv22[idx[:, :, None], idx[:, None, :]])
            start += int(size) * int(count)
        return out
