"""The binary logit: ``P(y = 1 | x) = sigmoid(z)``, ``z = xᵀβ + b + offset``.

Per row ``i`` of a chunk, with weight ``s_i`` and ``p_i = sigmoid(z_i)``:

* negative log-likelihood ``nll_i = log(1 + e^{z_i}) - y_i z_i``;
* gradient ``s_i (p_i - y_i) [x_i, 1]``;
* Hessian ``s_i p_i (1 - p_i) [x_i, 1] [x_i, 1]ᵀ`` (observed = expected information);
* Firth's hat correction ``h_i (½ - p_i) [x_i, 1]`` with
  ``h_i = s_i p_i (1 - p_i) [x_i, 1]ᵀ I⁻¹ [x_i, 1]``.

Layout: ``W`` is (d + fit_intercept, 1), the logit of ``classes_[1]``. Dense
and CSR chunks of at least ``COMPILED_MIN_ENTRIES`` entries
(:func:`logitlab.core.design.compiled_path`) go through the compiled fused
kernels (:mod:`logitlab.core.fused`: logits, loss terms, residuals and ``Xᵀr`` in one read of X; float32
arithmetic in ``single`` mode); smaller chunks and other inputs through NumPy/BLAS
(the same sums; no compiler involved).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import linalg, special

from ..core.design import (augmented_dense, compiled_path, design_t_residuals, xdot,
                           symmetric_from_upper, weighted_gram, dense_or_csr_sq_weighted)
from ..core.layout import Layout
from ..core.links import log_sigmoid, logit, sigmoid
from ..core.losses import binary_nll_from_logits
from .base import Curvature, Family


class BinaryLogit(Family):
    """Binary logistic regression (see the module docstring)."""

    name = "binary"

    @classmethod
    def create(cls, n_features: int, fit_intercept: bool = True) -> "BinaryLogit":
        return cls(Layout(n_features, 2, (1,), bool(fit_intercept)))

    # ------------------------------------------------------------ parameters
    def start(self, class_totals) -> np.ndarray:
        """Intercept at the log-odds of the weighted base rate, slopes 0."""
        W = np.zeros((self.layout.n_rows, 1))
        if self.layout.fit_intercept:
            T = np.asarray(class_totals, dtype=np.float64)
            W[-1, 0] = logit(np.clip(T[1] / T.sum(), 1e-12, 1 - 1e-12))
        return W.ravel()

    # ------------------------------------------------------ chunk statistics
    accumulates = True
    curvature_serves_checks = True

    def new_accumulator(self) -> np.ndarray:
        """(d + 1,) zeros: the slopes' sums, then the intercept's (there even
        without an intercept: the kernels write it)."""
        return np.zeros(self.layout.n_features + 1)

    def _into(self, out, g):
        """Adds a chunk's result ``g`` (size, 1) into the accumulator ``out``
        (None: ``g`` itself); returns the accumulator's view shaped like ``g``."""
        if out is None:
            return g
        view = out[:g.shape[0]]
        view += g[:, 0]
        return view[:, None]

    def fused_kernels(self, X) -> bool:
        return compiled_path(X)

    def linear_predictor(self, X, W, offset=None) -> np.ndarray:
        """``z = X β + b (+ offset)`` (n,), float64."""
        d = self.layout.n_features
        z = np.asarray(xdot(X, W[:d]), dtype=np.float64)[:, 0]
        if self.layout.fit_intercept:
            z = z + W[d, 0]
        return z if offset is None else z + offset

    def chunk_stats(self, X, y, s, offset, W, *, grad=True, hess=False, curvature=False,
                    single=False, h_out=None, out=None):
        """See :meth:`Family.chunk_stats`; ``out``: the gradient is added into
        this accumulator (:meth:`new_accumulator`), a view of which is returned;
        ``hess="float32"``: the Hessian's sums in float32 (dense X)."""
        if compiled_path(X):
            return self._fused_stats(X, y, s, offset, W, grad, hess, curvature, single, h_out,
                                     out)
        z = self.linear_predictor(X, W, offset)
        loss = float(np.dot(s, binary_nll_from_logits(y, z)))
        g = H = curv = None
        if grad or hess or curvature:
            p, q = special.expit(z), special.expit(-z)       # q = 1 − p without cancellation
            if grad:
                g = self._into(out, design_t_residuals(X, (s * residual(p, q, y))[:, None],
                                                       self.layout.fit_intercept))
            if hess or curvature:
                h = s * p * q
                if hess:
                    H = weighted_gram(X, h, self.layout.fit_intercept, nonneg=True,
                                      single=hess == "float32")
                if curvature:
                    if h_out is not None:        # the caller's buffer, as the kernels do
                        h_out[...] = h
                        h = h_out
                    curv = Curvature(h=h)
        return loss, g, H, curv

    def _fused_stats(self, X, y, s, offset, W, want_grad, want_hess, want_curv, single,
                     h_out, out=None):
        """Chunk statistics through the fused kernels (one read of X); the
        gradient added into ``out`` (d + 1,) when given."""
        from ..core import fused
        d, fit_intercept = self.layout.n_features, self.layout.fit_intercept
        b = W[d, 0] if fit_intercept else 0.0
        in_pass = want_hess and fused.fused_hessian(X, fit_intercept)
        upper = np.zeros((d + int(fit_intercept),) * 2) if in_pass else None
        loss, g, h = fused.binary_chunk(X, y, s, offset, W[:d, 0], b, grad=want_grad,
                                        curvature=(want_hess and not in_pass) or want_curv,
                                        single=single, h_out=h_out, g=out, hess_out=upper)
        grad = None if g is None else (g if fit_intercept else g[:d])[:, None]
        if in_pass:
            hess = symmetric_from_upper(upper)
        elif want_hess:
            hess = weighted_gram(X, h, fit_intercept, nonneg=True, single=want_hess == "float32")
        else:
            hess = None
        return loss, grad, hess, (Curvature(h=h) if want_curv else None)

    def chunk_hessp(self, X, curv: Curvature, V, single=False, out=None) -> np.ndarray:
        """``[X, 1]ᵀ (h ⊙ ([X, 1] v))``: one read of the chunk (added into the
        accumulator ``out`` when given, a view of which is returned)."""
        d, fit_intercept = self.layout.n_features, self.layout.fit_intercept
        if compiled_path(X):
            from ..core import fused
            bv = V[d, 0] if fit_intercept else 0.0
            g = fused.binary_hessp(X, curv.h, V[:d, 0], bv, g=out, single=single)
            return (g if fit_intercept else g[:d])[:, None]
        U = np.asarray(xdot(X, V[:d]), dtype=np.float64)
        if fit_intercept:
            U = U + V[d]
        return self._into(out, design_t_residuals(X, curv.h[:, None] * U, fit_intercept))

    def chunk_hess_diag(self, X, curv: Curvature, out=None) -> np.ndarray:
        """Entry j is ``Σ_i h_i x_ij²``; the intercept's ``Σ_i h_i`` (added into
        the accumulator ``out`` when given, a view of which is returned)."""
        return dense_or_csr_sq_weighted(X, curv.h[:, None], self.layout.fit_intercept,
                                        out=None if out is None else out[:, None])

    def chunk_hess_column_blocks(self, X, curv: Curvature, width: int) -> np.ndarray:
        """Block ``k`` is ``Σ_i h_i x̃_iJ x̃_iJᵀ`` over the columns ``J = [k·width,
        (k+1)·width)`` of ``x̃ = [x, 1]`` (the intercept is the last column; the
        last block zero-padded beyond it), summed in float32 (a
        preconditioner); dense X only. (n_blocks, width, width) float64."""
        if sp.issparse(X):
            raise NotImplementedError("column blocks are for dense X")
        d, intercept = X.shape[1], self.layout.fit_intercept
        nb = -(-(d + int(intercept)) // width)
        out = np.zeros((nb, width, width))
        if compiled_path(X):
            from ..core import fused
            fused.dense_column_blocks(X, np.ascontiguousarray(curv.h, dtype=np.float64),
                                      width, intercept, out)
            return out
        A = np.zeros((X.shape[0], nb * width), np.float32)
        root = np.sqrt(curv.h)
        np.multiply(X, root[:, None], out=A[:, :d], casting="unsafe")
        if intercept:
            A[:, d] = root
        A3 = np.ascontiguousarray(A.reshape(X.shape[0], nb, width).transpose(1, 0, 2))
        out += np.matmul(A3.transpose(0, 2, 1), A3)
        return out

    def chunk_hess_rows(self, X, curv: Curvature, rows, single: bool = False) -> np.ndarray:
        """``Σ h x_J x_Jᵀ`` over the columns ``J = rows`` (the intercept is row d);
        float32 arithmetic (BLAS ssyrk) if ``single``."""
        d = self.layout.n_features
        rows = np.asarray(rows, dtype=np.intp)
        feats = rows[rows < d]
        intercept = bool(self.layout.fit_intercept and rows.size and rows[-1] == d)
        if feats.size + intercept == 0:
            return np.zeros((0, 0))
        return weighted_gram(X[:, feats], curv.h, intercept, nonneg=True, single=single)

    def chunk_scores(self, X, y, s, offset, W) -> np.ndarray:
        """``s_i (p_i - y_i) [x_i, 1]`` (n, size)."""
        z = self.linear_predictor(X, W, offset)
        R = (s * residual(special.expit(z), special.expit(-z), y))[:, None]
        Xd = augmented_dense(X, self.layout.fit_intercept)
        return Xd * R

    def chunk_hessian_root(self, X, y, s, offset, W) -> np.ndarray:
        """``√(s p (1-p)) [x, 1]`` per row."""
        z = self.linear_predictor(X, W, offset)
        Xa = augmented_dense(X, self.layout.fit_intercept)
        h = s * special.expit(z) * special.expit(-z)
        return Xa * np.sqrt(h)[:, None]

    def chunk_row_nll(self, X, y, offset, W) -> np.ndarray:
        return binary_nll_from_logits(y, self.linear_predictor(X, W, offset))

    def chunk_hat_correction(self, X, y, s, offset, W, chol) -> np.ndarray:
        """``Σ_i h_i (½ - p_i) [x_i, 1]`` (size,), the gradient of ``½ log det I(β)``,
        with hat values ``h_i = s_i p_i (1 - p_i) ‖L⁻¹ x̃_i‖²`` from the Cholesky
        factor ``L`` of the information over ``coords`` (triangular solves: no
        explicit inverse, accurate on nearly collinear designs)."""
        L, coords = chol
        p = special.expit(self.linear_predictor(X, W, offset))
        Xd = augmented_dense(X, self.layout.fit_intercept)
        A = linalg.solve_triangular(L, Xd[:, coords].T, lower=True, check_finite=False)
        h = s * p * (1.0 - p) * np.einsum("ij,ij->j", A, A)
        return Xd.T @ (h * (0.5 - p))

    # ------------------------------------------------------------ prediction
    def probabilities(self, Z) -> np.ndarray:
        return np.column_stack([sigmoid(-Z), sigmoid(Z)])

    def log_probabilities(self, Z) -> np.ndarray:
        return np.column_stack([log_sigmoid(-Z), log_sigmoid(Z)])


def residual(p, q, y):
    """``p − y`` as ``(1 − y) p − y q`` (``q = 1 − p`` computed as ``σ(−z)``): exact
    to rounding for labels 0/1 and proportions alike, where ``σ(z) − 1`` loses the
    relative precision of a residual near 0 (as the compiled kernels do)."""
    return (1.0 - y) * p - y * q
