"""The multinomial logit: ``P(y = k | x) = softmax(z)_k``, ``z_k = xᵀβ_k + b_k + offset_k``.

Per row ``i`` of a chunk, with weight ``s_i``, probabilities ``p_i`` (K,) and
``e_y`` the indicator of the observed class:

* negative log-likelihood ``nll_i = logsumexp(z_i) - z_{i, y_i}``;
* gradient block of class column k: ``s_i (p_ik - [y_i = k]) [x_i, 1]``;
* Hessian block (k, l): ``s_i (p_ik δ_kl - p_ik p_il) [x_i, 1] [x_i, 1]ᵀ``;
* Firth's correction of the score (reference layout only):
  :meth:`MultinomialLogit.chunk_hat_correction`.

Two parametrizations (:class:`logitlab.core.layout.Layout`): unpenalized fits
estimate K − 1 columns against a reference class whose logit is 0 (the
identifiable MLE, as R ``nnet::multinom`` and statsmodels ``MNLogit``);
penalized fits estimate all K columns (the symmetric softmax, as scikit-learn
and glmnet), one intercept pinned, intercepts reported centred.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import linalg

from ..core.design import (COMPILED_MIN_ENTRIES, augmented_dense, dense_or_csr_sq_weighted,
                           design_t_residuals, weighted_gram, xdot)
from ..core.layout import Layout
from ..core.links import log_softmax, softmax
from .base import Curvature, Family


class MultinomialLogit(Family):
    """Multinomial logistic regression (see the module docstring)."""

    name = "multinomial"

    @classmethod
    def create(cls, n_features: int, n_classes: int, reference: int = 0,
               symmetric: bool = False, fit_intercept: bool = True) -> "MultinomialLogit":
        """K − 1 columns against ``reference`` (unpenalized), or all K (``symmetric``)."""
        free = (tuple(range(n_classes)) if symmetric
                else tuple(k for k in range(n_classes) if k != reference))
        return cls(Layout(n_features, n_classes, free, bool(fit_intercept)))

    # ------------------------------------------------------------ parameters
    def start(self, class_totals) -> np.ndarray:
        """Intercepts at the log-odds of the weighted class shares against the
        reference (or, symmetric, against class 0, whose intercept is pinned)."""
        lay = self.layout
        W = np.zeros((lay.n_rows, lay.n_cols))
        if lay.fit_intercept:
            T = np.asarray(class_totals, dtype=np.float64)
            logp = np.log(np.clip(T / T.sum(), 1e-12, None))
            missing = [k for k in range(lay.n_classes) if k not in lay.free_classes]
            W[-1] = logp[list(lay.free_classes)] - logp[missing[0] if missing else 0]
        return W.ravel()

    def pinned(self):
        """The symmetric softmax with intercepts has one flat direction (adding a
        constant to every intercept): hold the first class's intercept fixed."""
        lay = self.layout
        if lay.symmetric and lay.fit_intercept:
            fixed = np.zeros((lay.n_rows, lay.n_cols), dtype=bool)
            fixed[-1, 0] = True
            return fixed.ravel()
        return None

    def canonical(self, w):
        """Symmetric softmax: intercepts centred to sum to zero (as scikit-learn)."""
        lay = self.layout
        if lay.symmetric and lay.fit_intercept:
            W = lay.matrix(w).copy()
            W[-1] -= W[-1].mean()
            return W.ravel()
        return w

    # ------------------------------------------------------ chunk statistics
    def linear_predictor(self, X, W, offset=None) -> np.ndarray:
        """Logits (n, K), float64; the reference class's column is the offset only."""
        lay = self.layout
        d = lay.n_features
        z = np.asarray(xdot(X, W[:d]), dtype=np.float64)    # a new array
        if lay.fit_intercept:
            z += W[d]
        if not lay.symmetric:
            full = np.zeros((z.shape[0], lay.n_classes))
            full[:, list(lay.free_classes)] = z
            z = full
        return z if offset is None else z + offset

    def chunk_stats(self, X, y, s, offset, W, *, grad=True, hess=False, curvature=False,
                    single=False, h_out=None):
        lay = self.layout
        Z = self.linear_predictor(X, W, offset)
        n, C = Z.shape[0], lay.n_cols
        keep_p = hess or curvature
        P = np.empty((n, C)) if keep_p else np.empty((0, C))
        R = np.empty((n, C)) if grad else np.empty((0, C))
        loss = softmax_rows(np.ascontiguousarray(Z, dtype=np.float64),
                            np.ascontiguousarray(y, dtype=np.int64),
                            np.ascontiguousarray(s, dtype=np.float64),
                            np.asarray(lay.free_classes, dtype=np.int64), P, R,
                            compiled=_compiled_rows(X, Z))
        g = design_t_residuals(X, R, lay.fit_intercept) if grad else None
        H = self._hessian(X, P, s, lay, single=hess == "float32") if hess else None
        curv = Curvature(p=P, s=s) if curvature else None
        return float(loss), g, H, curv

    @staticmethod
    def _hessian(X, P, s, layout: Layout, rows: int = 1024, single: bool = False) -> np.ndarray:
        """Hessian (size, size) from free-class probabilities ``P`` (n, C).

        The ``p pᵀ`` part for all class pairs is one symmetric rank-k update of
        ``Y = √s (x ⊗ p)`` (n, size); the diagonal class blocks are then set
        from ``s p_k (1 - p_k)`` directly (no cancellation). ``single``: both
        in float32 arithmetic (twice as fast; for preconditioners only, never
        for inference). ``YᵀY`` goes through NumPy's matmul (BLAS syrk, the GIL
        released: see :class:`~logitlab.core.design.GramAccumulator`).
        """
        C, m = layout.n_cols, layout.n_rows
        dtype = np.float32 if single else np.float64
        out = np.zeros((layout.size, layout.size))
        product = np.empty((layout.size, layout.size), dtype)
        for i in range(0, max(X.shape[0], 1), rows):
            Xa = augmented_dense(X[i:i + rows], layout.fit_intercept)
            Pb, sb = P[i:i + rows], s[i:i + rows]
            Y = (Xa[:, :, None] * (np.sqrt(sb)[:, None] * Pb)[:, None, :]).reshape(Xa.shape[0], -1)
            Y = np.ascontiguousarray(Y, dtype=dtype)
            out -= np.matmul(Y.T, Y, out=product)
        out = np.triu(out) + np.triu(out, 1).T          # exactly symmetric
        H4 = out.reshape(m, C, m, C)
        for k in range(C):
            H4[:, k, :, k] = weighted_gram(X, s * P[:, k] * (1.0 - P[:, k]),
                                           layout.fit_intercept, nonneg=True, single=single)
        return out

    def chunk_hessp(self, X, curv: Curvature, V, single=False) -> np.ndarray:
        """``[X, 1]ᵀ T`` with ``T_i = s_i (diag p_i - p_i p_iᵀ) [x_i, 1]ᵀ V``."""
        d, fit_intercept = self.layout.n_features, self.layout.fit_intercept
        T = np.ascontiguousarray(xdot(X, V[:d]), dtype=np.float64)   # U, then T in place
        if fit_intercept:
            T += V[d]
        softmax_hessp_rows(curv.p, np.ascontiguousarray(curv.s, dtype=np.float64), T, T,
                           compiled=_compiled_rows(X, T))
        return design_t_residuals(X, T, fit_intercept)

    def chunk_hess_diag(self, X, curv: Curvature) -> np.ndarray:
        """Entry (j, k) is ``Σ_i s_i p_ik (1 - p_ik) x_ij²``."""
        c = curv.s[:, None] * curv.p * (1.0 - curv.p)
        return dense_or_csr_sq_weighted(X, c, self.layout.fit_intercept)

    def chunk_hess_blocks(self, X, y, s, offset, W, single: bool = False) -> np.ndarray:
        """Block ``c`` is ``Σ_i s_i p_ic (1 - p_ic) x̃_i x̃_iᵀ`` (x̃ = [x, 1]): the
        diagonal class blocks of the Hessian, (C, m, m) for m feature rows
        of ``W``. ``C·m²·n`` flops against ``C²·m²·n`` for the whole Hessian."""
        P = self.chunk_stats(X, y, s, offset, W, grad=False, curvature=True)[3].p
        return np.stack([weighted_gram(X, s * P[:, c] * (1.0 - P[:, c]), self.layout.fit_intercept,
                                       nonneg=True, single=single)
                         for c in range(P.shape[1])])

    def chunk_hess_rows(self, X, curv: Curvature, rows, single: bool = False) -> np.ndarray:
        """The class blocks of the Hessian over the columns ``rows`` only
        (float64 whatever ``single`` says)."""
        lay = self.layout
        d = lay.n_features
        rows = np.asarray(rows, dtype=np.intp)
        feats = rows[rows < d]
        intercept = bool(lay.fit_intercept and rows.size and rows[-1] == d)
        sub = Layout(int(feats.size), lay.n_classes, lay.free_classes, intercept)
        if sub.size == 0:
            return np.zeros((0, 0))
        return self._hessian(X[:, feats], curv.p, curv.s, sub)

    def chunk_scores(self, X, y, s, offset, W) -> np.ndarray:
        """``s_i (p_ik - [y_i = k]) [x_i, 1]`` for every free class k: (n, size)."""
        lay = self.layout
        P = softmax(self.linear_predictor(X, W, offset), axis=1)
        R = P[:, list(lay.free_classes)]
        for col, k in enumerate(lay.free_classes):
            R[:, col] -= (y == k)
        R = R * s[:, None]
        Xd = augmented_dense(X, lay.fit_intercept)
        return (Xd[:, :, None] * R[:, None, :]).reshape(Xd.shape[0], lay.size)

    def chunk_hessian_root(self, X, y, s, offset, W) -> np.ndarray:
        """Per row the Hessian is ``s [x,1][x,1]ᵀ ⊗ M`` with ``M = diag(p) - p pᵀ``
        over the free classes; ``M = FᵀF`` for ``F = (I - c q qᵀ) diag(q)``,
        ``q = √p``, ``c = 1 / (1 + √p_ref)`` (``(I - c q qᵀ)² = I - q qᵀ`` since
        ``‖q‖² = 1 - p_ref``; c = 1 when every class is free), so the row gives
        the C rows ``√s [x, 1]ᵀ ⊗ F`` — no factorization that could fail where p
        underflows."""
        lay = self.layout
        Xa = augmented_dense(X, lay.fit_intercept)
        P = softmax(self.linear_predictor(X, W, offset), axis=1)
        free = list(lay.free_classes)
        q = np.sqrt(P[:, free])                                   # (n, C)
        rest = [k for k in range(lay.n_classes) if k not in free]
        c = 1.0 / (1.0 + np.sqrt(P[:, rest].sum(axis=1))) if rest else np.ones(q.shape[0])
        C = len(free)
        F = (np.eye(C)[None] - c[:, None, None] * q[:, :, None] * q[:, None, :]) * q[:, None, :]
        B = np.sqrt(s)[:, None, None, None] * F[:, :, None, :] * Xa[:, None, :, None]
        return B.reshape(Xa.shape[0] * C, Xa.shape[1] * C)

    def chunk_hat_correction(self, X, y, s, offset, W, chol, block_entries=1 << 20):
        """The gradient of ``½ log det I(β)`` summed over the chunk, (size,), in the
        reference layout (C = K − 1 free classes); ``chol = (L, coords)``: the lower
        Cholesky factor ``L`` of the information over the flat coordinates ``coords``.

        Per row, with ``x̃ = [x, 1]`` (m,), ``p`` the free classes' probabilities
        (C,) and ``A = s (diag p − p pᵀ)``, the information is ``Σ_i x̃x̃ᵀ ⊗ A_i``
        (flat coordinate ``a·C + k``: feature row a, class column k). With ``G`` the
        inverse of the information over ``coords`` (zero elsewhere), the row's hat
        block is ``M[k, l] = Σ_ab x̃_a x̃_b G[(a, k), (b, l)]`` (C, C), and
        ``∂/∂β_(a, j) ½ log det I = ½ Σ_i x̃_ia Σ_kl M_i[k, l] ∂A_i[k, l]/∂η_j``. As
        ``∂p_k/∂η_j = p_k (δ_kj − p_j)`` and M is symmetric,
        ``Σ_kl M_kl ∂A_kl/∂η_j = s p_j (v_j − Σ_k p_k v_k)`` with
        ``v_k = M_kk − 2 (M p)_k``; so the row contributes
        ``½ x̃ ⊗ s p ∘ (v − pᵀv)`` (for K = 2 this is the binary ``h (½ − p) x̃``).

        ``M_i = Z_iᵀ Z_i`` with ``Z_i = L⁻¹ E_i``, ``E_i`` (|coords|, C) the
        columns ``x̃_i ⊗ e_k`` over ``coords``: the triangular factor, never the
        inverse information itself (as the binary family). Rows go in blocks of
        about ``block_entries`` entries of Z: ``O(n C² m²)`` flops, memory
        ``O(block_entries)``; no n × n matrix.
        """
        lay = self.layout
        if lay.symmetric:
            raise ValueError("Firth's correction needs the reference-class layout (K − 1 "
                             "columns): the symmetric softmax has a singular information.")
        L, coords = chol
        coords = np.asarray(coords, dtype=np.intp)
        m, C, q = lay.n_rows, lay.n_cols, coords.size
        Linv = linalg.solve_triangular(L, np.eye(q), lower=True, check_finite=False)
        T = np.zeros((q, lay.size))
        T[:, coords] = Linv
        T = T.reshape(q, m, C).transpose(1, 0, 2).reshape(m, q * C)   # T[a, (r, k)]
        free = list(lay.free_classes)
        out = np.zeros((m, C))
        rows = max(1, block_entries // max(q * C, 1))
        for i in range(0, X.shape[0], rows):
            Xa = augmented_dense(X[i:i + rows], lay.fit_intercept)           # (b, m)
            off = None if offset is None else offset[i:i + rows]
            P = softmax(self.linear_predictor(X[i:i + rows], W, off), axis=1)[:, free]
            Z = (Xa @ T).reshape(Xa.shape[0], q, C)                           # L⁻¹ E_i
            M = np.einsum("irk,irl->ikl", Z, Z)
            v = np.einsum("ikk->ik", M) - 2.0 * np.einsum("ikl,il->ik", M, P)
            c = s[i:i + rows, None] * P * (v - np.einsum("ik,ik->i", P, v)[:, None])
            out += 0.5 * (Xa.T @ c)
        return out.ravel()

    def chunk_row_nll(self, X, y, offset, W) -> np.ndarray:
        Z = self.linear_predictor(X, W, offset)
        return -log_softmax(Z, axis=1)[np.arange(Z.shape[0]), np.asarray(y, dtype=np.intp)]

    # ------------------------------------------------------------ prediction
    def probabilities(self, Z) -> np.ndarray:
        return softmax(Z, axis=1)

    def log_probabilities(self, Z) -> np.ndarray:
        return log_softmax(Z, axis=1)


# ------------------------------------------------------------ per-row terms
def _compiled_rows(X, Z) -> bool:
    """Whether the per-row softmax terms of a chunk run compiled: from
    :data:`~logitlab.core.design.COMPILED_MIN_ENTRIES` stored entries of the
    chunk's X (the size that decides for every kernel, so large data runs
    compiled in every block) or of its logits ``Z`` on."""
    stored = X.nnz if sp.issparse(X) else X.size
    return max(stored, Z.size) >= COMPILED_MIN_ENTRIES


def softmax_rows(Z, y, s, free, P, R, compiled: bool | None = None) -> float:
    """Σ_i s_i (logsumexp(z_i) − z_{i, y_i}) from full logits ``Z`` (n, K); writes
    the free classes' probabilities into ``P`` (n, C) and the weighted residuals
    ``s (p − [y = k])`` into ``R`` (n, C) when they have n rows (``free`` (C,)
    the free classes). Compiled rows (:func:`logitlab.core.fused.softmax_rows`)
    if ``compiled`` (default: from :data:`~logitlab.core.design.COMPILED_MIN_ENTRIES`
    logits on); NumPy otherwise."""
    if Z.size >= COMPILED_MIN_ENTRIES if compiled is None else compiled:
        from ..core import fused
        return fused.softmax_rows(Z, y, s, free, P, R)
    n = Z.shape[0]
    m = Z.max(axis=1, keepdims=True)
    E = np.exp(Z - m)
    total = E.sum(axis=1)
    loss = float(np.dot(s, np.log(total) + m[:, 0] - Z[np.arange(n), y]))
    if P.shape[0] == n or R.shape[0] == n:
        Pf = E[:, free] / total[:, None]
        if P.shape[0] == n:
            P[...] = Pf
        if R.shape[0] == n:
            R[...] = s[:, None] * (Pf - (y[:, None] == free[None, :]))
    return loss


def softmax_hessp_rows(P, s, U, T, compiled: bool | None = None) -> None:
    """``T = s (P∘U − P Σ_c P∘U)`` (all (n, C); ``T`` may be ``U``): the
    multinomial curvature applied to ``U = [X, 1] V``; compiled if ``compiled``
    (default: from :data:`COMPILED_MIN_ENTRIES` entries on)."""
    if P.size >= COMPILED_MIN_ENTRIES if compiled is None else compiled:
        from ..core import fused
        fused.softmax_hessp_rows(P, s, U, T)
        return
    T[...] = s[:, None] * P * (U - np.einsum("ic,ic->i", P, U)[:, None])
