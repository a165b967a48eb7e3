"""The cumulative logit (proportional odds) model for ordered outcomes.

With ordered categories ``0 < 1 < … < K−1``, thresholds ``ζ_0 < … < ζ_{K−2}``
and the linear predictor ``η = xᵀβ + offset`` (no intercept: the thresholds
take its place), R ``MASS::polr``'s and ``ordinal::clm``'s convention::

    logit P(y ≤ k | x) = ζ_k − η,        P(y = k) = σ(ζ_k − η) − σ(ζ_{k−1} − η)

with ``ζ_{−1} = −∞`` and ``ζ_{K−1} = +∞``. A positive slope moves the
distribution to higher categories; ``e^{β_j}`` is the odds ratio of
``y > k`` against ``y ≤ k``, the same for every k (proportional odds).

Per row with category ``k``, ``a = ζ_k − η`` and ``b = ζ_{k−1} − η`` (the
upper and lower cumulative logits, ``d = a − b > 0``), stably in log space::

    p = σ(a) σ(−b) (1 − e^{−d})
    g_a = σ(a)σ(−a) / p = σ(−a) / (σ(−b)(1 − e^{−d}))     ∂ log p / ∂a
    g_b = σ(b)σ(−b) / p = σ(b) / (σ(a)(1 − e^{−d}))       −∂ log p / ∂b

(``g_a = 0`` for the top category, ``g_b = 0`` for the bottom one) and the
second derivatives of ``log p``::

    L_aa = g_a (1 − 2σ(a)) − g_a²,   L_bb = −g_b (1 − 2σ(b)) − g_b²,   L_ab = g_a g_b.

With weight ``s`` the row's negative log-likelihood ``−s log p`` has

* gradient: ``s (g_a − g_b) x`` for β, ``−s g_a`` for ``ζ_k`` and ``+s g_b`` for ``ζ_{k−1}``;
* Hessian: ``c_ββ x xᵀ`` with ``c_ββ = −s (L_aa + L_bb + 2 L_ab) ≥ 0`` (log-concavity);
  ``s (L_aa + L_ab) x`` between β and ``ζ_k``, ``s (L_bb + L_ab) x`` between β
  and ``ζ_{k−1}``; ``−s L_aa``, ``−s L_bb`` on the diagonal of ``ζ_k``, ``ζ_{k−1}``
  and ``−s L_ab`` between them.

The log-likelihood is concave (Pratt 1981), so Newton steps from ordered
start thresholds keep them ordered: a step that crosses two has an infinite
negative log-likelihood and is halved by the line search.

Layout (:class:`~logitlab.core.layout.Layout` with ``n_thresholds = K − 1``):
``W`` (d + K − 1, 1), the slopes then the thresholds.

Partial proportional odds (``layout.nominal``, R ``clm``'s ``nominal =``): each
nominal feature j gets one coefficient per cut, ``a = ζ_k − η − Σ_j x_j γ_{j,k}``
(and ``b`` with ``k − 1``); its shared slope is held at 0. These models go
through the row Jacobians ``∇a``, ``∇b`` (n, size) of the cumulative logits:
gradient ``∇aᵀ(−s g_a) + ∇bᵀ(s g_b)`` and Hessian ``Σ_i G_i M_i G_iᵀ`` with
``G = [∇a, ∇b]`` and ``M = −s [[L_aa, L_ab], [L_ab, L_bb]]``. Their cumulative
logits need not be monotone in k at every x: where they cross, a row's
probability is not positive and its negative log-likelihood is infinite.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.design import (augmented_dense, compiled_path, dense_or_csr_sq_weighted,
                           weighted_gram, xdot, xtdot)
from ..core.layout import Layout
from ..core.links import logit
from .base import Curvature, Family


def softplus(x):
    """``log(1 + e^x)`` elementwise, exact for ±∞."""
    return np.logaddexp(0.0, x)


def logistic_density(t) -> np.ndarray:
    """The logistic density ``f(t) = σ(t) σ(−t)`` elementwise, 0 at ±∞."""
    return np.exp(-softplus(t) - softplus(-t))


def check_increasing_cuts(Z, what: str) -> None:
    """Raise a ValueError naming the rows where the cumulative logits ``Z`` (n, K − 1)
    of a partial proportional-odds model do not increase across the cuts: there some
    level probabilities are not positive, so ``what`` is not defined."""
    crossed = np.flatnonzero(np.any(np.diff(Z, axis=1) <= 0, axis=1))
    if crossed.size:
        raise ValueError(f"the partial proportional-odds model's cumulative probabilities "
                         f"cross at {crossed.size} of the rows evaluated (first row "
                         f"{crossed[0]}): its nominal effects extrapolate to crossing cuts "
                         f"there, so {what} are not defined. Evaluate inside the range of the "
                         "training data, or make fewer terms nominal.")


@dataclass
class RowTerms:
    """Per-row quantities of a chunk at ``(β, ζ)`` (see the module docstring):
    all (n,) float64; ``log_p`` the row's log-probability of its category."""

    log_p: np.ndarray
    ga: np.ndarray
    gb: np.ndarray
    sig_a: np.ndarray
    sig_b: np.ndarray


def row_terms(a, b) -> RowTerms:
    """:class:`RowTerms` from the upper and lower cumulative logits ``a > b``
    (``a = +∞`` for the top category, ``b = −∞`` for the bottom one)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = a - b                                   # +∞ at either end
        # log(1 − e^{−d}): 0 when d = ∞; NaN where crossed cuts (d < 0) leave p ≤ 0
        log_gap = np.log(-np.expm1(-gap))
    # softplus(x) − softplus(−x) = x: two log-exp evaluations instead of four
    # (exact at the open ends: a = +∞ gives softplus(−a) = 0, b = −∞ softplus(b) = 0)
    sp_ma, sp_b = softplus(-a), softplus(b)
    sp_a, sp_mb = sp_ma + a, sp_b - b
    return RowTerms(log_p=-sp_ma - sp_b + log_gap,
                    ga=np.exp(-sp_a + sp_b - log_gap),
                    gb=np.exp(-sp_mb + sp_ma - log_gap),
                    sig_a=np.exp(-sp_ma), sig_b=np.exp(-sp_mb))


@dataclass
class OrdinalCurvature(Curvature):
    """Per-row Hessian weights of a chunk (see the module docstring), all (n,):
    ``c`` = c_ββ; ``t_up``, ``t_lo`` the β–threshold weights of the upper and
    lower threshold; ``z_up``, ``z_lo``, ``z_ab`` the threshold block's;
    ``y`` the category codes."""

    c: np.ndarray | None = None
    t_up: np.ndarray | None = None
    t_lo: np.ndarray | None = None
    z_up: np.ndarray | None = None
    z_lo: np.ndarray | None = None
    z_ab: np.ndarray | None = None
    y: np.ndarray | None = None


class CumulativeLogit(Family):
    """The proportional-odds cumulative logit (see the module docstring)."""

    name = "ordinal"

    @classmethod
    def create(cls, n_features: int, n_classes: int, nominal=()) -> "CumulativeLogit":
        if n_classes < 3:
            raise ValueError(f"an ordinal model needs at least 3 ordered categories; y has "
                             f"{n_classes} (fit a binary logistic regression instead).")
        return cls(Layout(n_features, n_classes, (0,), False, n_classes - 1,
                          tuple(int(j) for j in nominal)))

    def pinned(self):
        """The shared slopes of the nominal features (held at 0), or None."""
        lay = self.layout
        if not lay.nominal:
            return None
        fixed = np.zeros(lay.size, dtype=bool)
        fixed[list(lay.nominal)] = True
        return fixed

    # ------------------------------------------------------------ parameters
    def start(self, class_totals) -> np.ndarray:
        """Slopes 0, thresholds at the logits of the weighted cumulative shares."""
        lay = self.layout
        T = np.asarray(class_totals, dtype=np.float64)
        cum = np.cumsum(T)[:-1] / T.sum()
        w = np.zeros(lay.size)
        w[lay.n_features:lay.n_features + lay.n_thresholds] = logit(np.clip(cum, 1e-12, 1 - 1e-12))
        return w

    def split(self, W):
        """``(β (d,), ζ (K−1,))`` from ``W`` (n_rows, 1) or the flat vector."""
        w = np.asarray(W, dtype=np.float64).ravel()
        d, m = self.layout.n_features, self.layout.n_thresholds
        return w[:d], w[d:d + m]

    def nominal_effects(self, W) -> np.ndarray:
        """``γ`` (len(nominal), K − 1): the per-cut effects of the nominal features."""
        w = np.asarray(W, dtype=np.float64).ravel()
        lay = self.layout
        return w[lay.n_features + lay.n_thresholds:].reshape(len(lay.nominal), lay.n_thresholds)

    # ------------------------------------------------------------ prediction
    def eta(self, X, W, offset=None) -> np.ndarray:
        """The linear predictor ``η = Xβ (+ offset)`` (n,)."""
        beta, _ = self.split(W)
        eta = (np.asarray(xdot(X, beta[:, None]), dtype=np.float64)[:, 0] if beta.size
               else np.zeros(X.shape[0]))
        return eta if offset is None else eta + np.asarray(offset, dtype=np.float64).ravel()

    def linear_predictor(self, X, W, offset=None) -> np.ndarray:
        """The cumulative logits ``ζ_k − η`` (n, K − 1), float64 (minus
        ``Σ_j x_j γ_{j,k}`` with nominal features)."""
        _, zeta = self.split(W)
        Z = zeta[None, :] - self.eta(X, W, offset)[:, None]
        nominal = self.layout.nominal
        if nominal:
            Xn = augmented_dense(X[:, list(nominal)], False)
            Z = Z - Xn @ self.nominal_effects(W)
        return Z

    def probabilities(self, Z) -> np.ndarray:
        """Category probabilities (n, K) from the cumulative logits ``Z`` (n, K − 1)."""
        return np.exp(self.log_probabilities(Z))

    def log_probabilities(self, Z) -> np.ndarray:
        """Log category probabilities (n, K), exact in the tails."""
        Z = np.atleast_2d(np.asarray(Z, dtype=np.float64))
        n = Z.shape[0]
        upper = np.hstack([Z, np.full((n, 1), np.inf)])
        lower = np.hstack([np.full((n, 1), -np.inf), Z])
        return row_terms(upper, lower).log_p

    # ------------------------------------------------------ chunk statistics
    def _bounds(self, X, y, offset, W):
        """``(a, b)``: each row's upper and lower cumulative logits."""
        y = np.asarray(y, dtype=np.intp)
        if self.layout.nominal:
            Z = self.linear_predictor(X, W, offset)
            n = Z.shape[0]
            rows = np.arange(n)
            upper = np.hstack([Z, np.full((n, 1), np.inf)])
            lower = np.hstack([np.full((n, 1), -np.inf), Z])
            return upper[rows, y], lower[rows, y]
        _, zeta = self.split(W)
        eta = self.eta(X, W, offset)
        ext = np.concatenate([[-np.inf], zeta, [np.inf]])
        return ext[y + 1] - eta, ext[y] - eta

    def _terms(self, X, y, offset, W) -> RowTerms:
        a, b = self._bounds(X, y, offset, W)
        return row_terms(a, b)

    def jacobians(self, X, y) -> tuple:
        """``(∇a, ∇b)`` (n, size): the gradients of each row's upper and lower
        cumulative logit over the parameters (zero rows at the open ends)."""
        lay = self.layout
        m = lay.n_thresholds
        y = np.asarray(y, dtype=np.intp)
        Xd = augmented_dense(X, False)
        onehot = np.zeros((y.size, m + 1))
        onehot[np.arange(y.size), y] = 1.0
        Ea, Eb = onehot[:, :m], onehot[:, 1:]          # the row's upper / lower threshold
        parts = []
        for E in (Ea, Eb):
            blocks = [-Xd[:, [j]] * E for j in lay.nominal]
            G = np.hstack([-Xd, E, *blocks])
            G[E.sum(axis=1) == 0] = 0.0                   # no finite cut on that side
            parts.append(G)
        return parts[0], parts[1]

    def _threshold_sums(self, y, upper, lower) -> np.ndarray:
        """``Σ upper`` over the rows whose upper threshold is ``ζ_j`` plus ``Σ lower``
        over those whose lower threshold is ``ζ_j``: (K − 1,)."""
        K = self.layout.n_classes
        y = np.asarray(y, dtype=np.intp)
        return (np.bincount(y, weights=upper, minlength=K)[:K - 1]
                + np.bincount(y, weights=lower, minlength=K)[1:])

    def _threshold_columns(self, y, upper, lower) -> np.ndarray:
        """(n, K − 1): ``upper`` in the column of each row's upper threshold,
        ``lower`` in that of its lower one."""
        n, K = y.shape[0], self.layout.n_classes
        T = np.zeros((n, K + 1))
        rows = np.arange(n)
        T[rows, y + 1] = upper
        T[rows, y] += lower
        return T[:, 1:K]

    def curvature_of(self, X, y, s, offset, W, terms: RowTerms | None = None) -> OrdinalCurvature:
        """The chunk's per-row Hessian weights at ``W`` (from its ``terms``, if
        already computed)."""
        t = self._terms(X, y, offset, W) if terms is None else terms
        laa = t.ga * (1 - 2 * t.sig_a) - t.ga ** 2
        lbb = -t.gb * (1 - 2 * t.sig_b) - t.gb ** 2
        lab = t.ga * t.gb
        s = np.asarray(s, dtype=np.float64)
        return OrdinalCurvature(
            c=np.maximum(-s * (laa + lbb + 2 * lab), 0.0), t_up=s * (laa + lab),
            t_lo=s * (lbb + lab), z_up=-s * laa, z_lo=-s * lbb, z_ab=-s * lab,
            y=np.asarray(y, dtype=np.intp), s=s)

    def _compiled_stats(self, X, y, s, offset, W, grad, want_curv):
        """:meth:`chunk_stats` by the compiled row loop
        (:func:`~logitlab.families.ordinal_kernels.cumulative_rows`)."""
        from .ordinal_kernels import cumulative_rows
        _, zeta = self.split(W)
        eta = np.ascontiguousarray(self.eta(X, W, offset))
        n, m = eta.shape[0], zeta.size
        y = np.ascontiguousarray(y, dtype=np.intp)
        s = np.ascontiguousarray(np.broadcast_to(np.asarray(s, dtype=np.float64), (n,)))
        r, gz = np.empty(n), np.zeros(m)
        arrays = [np.empty(n if want_curv else 0) for _ in range(6)]
        loss = float(cumulative_rows(eta, y, np.ascontiguousarray(zeta), s, want_curv, r, gz,
                                     *arrays))
        g = (np.concatenate([xtdot(X, r) if X.shape[1] else np.zeros(0), gz])[:, None]
             if grad else None)
        curv = None
        if want_curv:
            c, t_up, t_lo, z_up, z_lo, z_ab = arrays
            curv = OrdinalCurvature(c=c, t_up=t_up, t_lo=t_lo, z_up=z_up, z_lo=z_lo, z_ab=z_ab,
                                    y=y, s=s)
        return loss, g, curv

    def chunk_stats(self, X, y, s, offset, W, *, grad=True, hess=False, curvature=False,
                    single=False, h_out=None):
        if not self.layout.nominal and compiled_path(X) and np.all(np.asarray(s) >= 0):
            loss, g, curv = self._compiled_stats(X, y, s, offset, W, grad, hess or curvature)
            H = self._hessian(X, curv) if hess else None
            return loss, g, H, curv if curvature else None
        t = self._terms(X, y, offset, W)
        s = np.asarray(s, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            loss = -float(np.dot(s, t.log_p)) if np.all(s >= 0) else np.nan
        if not np.isfinite(loss):
            loss = np.inf                 # crossed thresholds: a step to be halved
        g = None
        if grad:
            y = np.asarray(y, dtype=np.intp)
            if self.layout.nominal:
                Ga, Gb = self.jacobians(X, y)
                g = (Ga.T @ (-s * t.ga) + Gb.T @ (s * t.gb))[:, None]
            else:
                g = np.concatenate([xtdot(X, s * (t.ga - t.gb)) if X.shape[1] else np.zeros(0),
                                    self._threshold_sums(y, -s * t.ga, s * t.gb)])[:, None]
        curv = self.curvature_of(X, y, s, offset, W, t) if (hess or curvature) else None
        H = self._hessian(X, curv) if hess else None
        return loss, g, H, curv if curvature else None

    def _hessian(self, X, curv: OrdinalCurvature) -> np.ndarray:
        """The chunk's Hessian (size, size) from its curvature."""
        lay = self.layout
        if lay.nominal:
            Ga, Gb = self.jacobians(X, curv.y)
            cross = Ga.T @ (curv.z_ab[:, None] * Gb)
            return (Ga.T @ (curv.z_up[:, None] * Ga) + cross + cross.T
                    + Gb.T @ (curv.z_lo[:, None] * Gb))
        d, m = lay.n_features, lay.n_thresholds
        H = np.zeros((lay.size, lay.size))
        if d:
            H[:d, :d] = weighted_gram(X, curv.c, False, nonneg=True)
            H[:d, d:] = xtdot(X, self._threshold_columns(curv.y, curv.t_up, curv.t_lo))
            H[d:, :d] = H[:d, d:].T
        K = lay.n_classes
        diag = self._threshold_sums(curv.y, curv.z_up, curv.z_lo)
        off = np.bincount(curv.y, weights=curv.z_ab, minlength=K)[1:K - 1]
        Z = np.diag(diag)
        idx = np.arange(m - 1)
        Z[idx + 1, idx] = Z[idx, idx + 1] = off
        H[d:, d:] = Z
        return H

    def chunk_hessp(self, X, curv: OrdinalCurvature, V, single=False) -> np.ndarray:
        d = self.layout.n_features
        v = np.asarray(V, dtype=np.float64).ravel()
        if self.layout.nominal:
            Ga, Gb = self.jacobians(X, curv.y)
            ua, ub = Ga @ v, Gb @ v
            out = Ga.T @ (curv.z_up * ua + curv.z_ab * ub) + Gb.T @ (curv.z_ab * ua
                                                                       + curv.z_lo * ub)
            return out[:, None]
        vb, vz = v[:d], np.concatenate([[0.0], v[d:], [0.0]])
        u = np.asarray(xdot(X, vb[:, None]))[:, 0] if d else np.zeros(curv.y.size)
        va, vlo = vz[curv.y + 1], vz[curv.y]
        out_b = xtdot(X, curv.c * u + curv.t_up * va + curv.t_lo * vlo) if d else np.zeros(0)
        out_z = self._threshold_sums(curv.y, curv.t_up * u + curv.z_up * va + curv.z_ab * vlo,
                                     curv.t_lo * u + curv.z_lo * vlo + curv.z_ab * va)
        return np.concatenate([out_b, out_z])[:, None]

    def chunk_hess_diag(self, X, curv: Curvature) -> np.ndarray:
        lay = self.layout
        d = lay.n_features
        if not isinstance(curv, OrdinalCurvature):        # column scales: weights only
            D = dense_or_csr_sq_weighted(X, curv.h[:, None], False)
            return np.vstack([D, np.zeros((lay.n_rows - d, 1))])
        if lay.nominal:
            Ga, Gb = self.jacobians(X, curv.y)
            return (curv.z_up @ Ga ** 2 + 2 * curv.z_ab @ (Ga * Gb)
                    + curv.z_lo @ Gb ** 2)[:, None]
        D = dense_or_csr_sq_weighted(X, curv.c[:, None], False) if d else np.zeros((0, 1))
        return np.vstack([D, self._threshold_sums(curv.y, curv.z_up, curv.z_lo)[:, None]])

    def chunk_hess_rows(self, X, curv: OrdinalCurvature, rows, single: bool = False):
        rows = np.asarray(rows, dtype=np.intp)
        return self._hessian(X, curv)[np.ix_(rows, rows)]

    def chunk_scores(self, X, y, s, offset, W) -> np.ndarray:
        """Per-row scores (n, size): ``∇a (−s g_a) + ∇b (s g_b)`` row by row."""
        t = self._terms(X, y, offset, W)
        s = np.asarray(s, dtype=np.float64)
        Ga, Gb = self.jacobians(X, y)
        return Ga * (-s * t.ga)[:, None] + Gb * (s * t.gb)[:, None]

    def chunk_hessian_root(self, X, y, s, offset, W) -> np.ndarray:
        """Rows ``B`` (2n, size) with ``BᵀB`` the chunk's Hessian: each row's
        Hessian is ``G M Gᵀ`` with ``G = [∇a, ∇b]`` (:meth:`jacobians`) and
        ``M = [[m₁₁, m₁₂], [m₁₂, m₂₂]]`` = ``−s [[L_aa, L_ab], [L_ab, L_bb]]``
        (positive semidefinite), rooted by its Cholesky factor:
        ``r₁ = √m₁₁ ∇a + (m₁₂/√m₁₁) ∇b``, ``r₂ = q ∇b`` with ``q² = m₂₂ − m₁₂²/m₁₁``
        (``r₁ = 0``, ``q = √m₂₂`` when ``m₁₁ = 0``)."""
        curv = self.curvature_of(X, y, s, offset, W)
        root = np.sqrt(curv.z_up)
        with np.errstate(divide="ignore", invalid="ignore"):
            cross = np.where(root > 0, curv.z_ab / root, 0.0)
        q = np.sqrt(np.maximum(curv.z_lo - cross ** 2, 0.0))
        Ga, Gb = self.jacobians(X, y)
        return np.vstack([root[:, None] * Ga + cross[:, None] * Gb, q[:, None] * Gb])

    def chunk_row_nll(self, X, y, offset, W) -> np.ndarray:
        return -self._terms(X, y, offset, W).log_p
