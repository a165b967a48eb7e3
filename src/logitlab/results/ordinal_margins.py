"""Marginal effects of an ordinal (cumulative logit) model on its level
probabilities, with analytic delta-method gradients (the ordinal part of
:mod:`logitlab.results.margins`, which defines the effects, the averaging and
the table).

For level ``k`` of a row, ``a = ζ_k − xᵀβ − x_Nᵀγ_k`` and ``b`` the same at
``k − 1`` (``±∞`` at the open ends), ``P_k = σ(a) − σ(b)``, ``f = σ(1 − σ)`` and
``f' = f (1 − 2σ)``. With ``∇a``, ``∇b`` the rows' gradients of the cumulative
logits over the parameters (:meth:`~logitlab.families.ordinal.CumulativeLogit.jacobians`):

* ``∂P_k/∂θ = f(a) ∇a − f(b) ∇b`` (discrete changes: differences of these);
* numeric variable v with design derivative ``D`` (n, d): the slopes
  ``s_a = ∂a/∂v = −D (β + γ_k)`` (``γ_k`` on the nominal columns), ``s_b`` at
  ``k − 1``, the effect ``e_k = f(a) s_a − f(b) s_b``, and its gradient
  ``f'(a) s_a ∇a + f(a) ∇s_a − f'(b) s_b ∇b − f(b) ∇s_b``, where ``∇s_a`` is
  ``∇a`` with ``D`` in place of ``x`` and no threshold part.

``kind`` "eydx" divides by ``P_k`` (gradient ``J/P − e ∂P/P²``), "eyex" and
"dyex" multiply by ``v``; discrete changes on the log scale for "eyex"/"eydx".
"""

from __future__ import annotations

import numpy as np

from ..core.links import sigmoid as _sigmoid
from ..families.ordinal import check_increasing_cuts, logistic_density as _density


class OrdinalEffects:
    """The ordinal counterpart of margins' ``_Model`` (see the module docstring):
    effects ``(estimate (r, K), gradient (r, K, size))`` for averaging weights
    ``a`` (r, n), or per row when ``a`` is None."""

    def __init__(self, results, offset_for):
        self.family = results.family
        self.coef = np.asarray(results.coef, dtype=np.float64)
        lay = results.layout
        self.m, self.d = lay.n_thresholds, lay.n_features
        beta, _ = self.family.split(self.coef)
        slopes = np.tile(beta, (self.m, 1))                        # (K − 1, d) per cut
        if lay.nominal:
            slopes[:, list(lay.nominal)] += self.family.nominal_effects(self.coef).T
        self.slopes = slopes
        self.offset_for = offset_for

    def _levels(self, X):
        """``(P, f(a), f(b), σ(a), σ(b))``, each (n, K)."""
        Zc = self.family.linear_predictor(X, self.coef, self.offset_for(X.shape[0]))
        check_increasing_cuts(Zc, "marginal effects")
        n = Zc.shape[0]
        inf = np.full((n, 1), np.inf)
        a, b = np.hstack([Zc, inf]), np.hstack([-inf, Zc])
        sig_a, sig_b = _sigmoid(a), _sigmoid(b)
        P = np.exp(self.family.log_probabilities(Zc))
        return P, _density(a), _density(b), sig_a, sig_b

    def _jacobians(self, X, k: int):
        return self.family.jacobians(X, np.full(X.shape[0], k))

    def _prob_jacobian(self, X, fa, fb) -> np.ndarray:
        """``∂P/∂θ`` (n, K, size)."""
        out = []
        for k in range(self.m + 1):
            Ga, Gb = self._jacobians(X, k)
            out.append(fa[:, [k]] * Ga - fb[:, [k]] * Gb)
        return np.stack(out, axis=1)

    def discrete_effect(self, space, lo, hi, kind, a, factor=1.0):
        """``P(hi) − P(lo)`` (log ratio for "eyex"/"eydx") and its gradient."""
        Xlo, Xhi = space.transform(lo), space.transform(hi)
        Plo, fa_lo, fb_lo, _, _ = self._levels(Xlo)
        Phi, fa_hi, fb_hi, _, _ = self._levels(Xhi)
        Jlo, Jhi = self._prob_jacobian(Xlo, fa_lo, fb_lo), self._prob_jacobian(Xhi, fa_hi, fb_hi)
        if kind in ("eyex", "eydx"):
            e = np.log(Phi) - np.log(Plo)
            J = Jhi / Phi[:, :, None] - Jlo / Plo[:, :, None]
        else:
            e, J = Phi - Plo, Jhi - Jlo
        return factor * _apply(a, e), factor * _aggregate(a, J)

    def numeric_effect(self, space, frame, v, kind, a):
        """``∂P_k/∂v`` (and the elasticities of ``kind``) and its gradient."""
        X = space.transform(frame)
        D = space.derivative(frame, v)
        P, fa, fb, sig_a, sig_b = self._levels(X)
        n, K = P.shape
        cut_slope = -(D @ self.slopes.T)                            # (n, K − 1)
        s_a = np.hstack([cut_slope, np.zeros((n, 1))])
        s_b = np.hstack([np.zeros((n, 1)), cut_slope])
        e = fa * s_a - fb * s_b
        fpa, fpb = fa * (1 - 2 * sig_a), fb * (1 - 2 * sig_b)
        rows = []
        for k in range(K):
            Ga, Gb = self._jacobians(X, k)
            Da, Db = self._jacobians(D, k)
            Da[:, self.d:self.d + self.m] = 0.0                      # no threshold part
            Db[:, self.d:self.d + self.m] = 0.0
            rows.append((fpa[:, [k]] * s_a[:, [k]]) * Ga + fa[:, [k]] * Da
                        - (fpb[:, [k]] * s_b[:, [k]]) * Gb - fb[:, [k]] * Db)
        J = np.stack(rows, axis=1)
        if kind in ("eyex", "eydx"):
            JP = self._prob_jacobian(X, fa, fb)
            J = J / P[:, :, None] - (e / P ** 2)[:, :, None] * JP
            e = e / P
        if kind in ("eyex", "dyex"):
            x = frame[v].to_numpy(dtype=np.float64)
            J = J * x[:, None, None]
            e = e * x[:, None]
        return _apply(a, e), _aggregate(a, J)


def _apply(a, e):
    return e if a is None else a @ e


def _aggregate(a, J):
    """``Σ_i a_ri J_i`` (r, K, size), or ``J`` per row when ``a`` is None."""
    return J if a is None else np.einsum("ri,iks->rks", a, J, optimize=True)


