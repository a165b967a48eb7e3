"""Compiled per-row loop of the cumulative logit (numba; imported only when a chunk
is large enough to use it, :data:`logitlab.core.design.COMPILED_MIN_ENTRIES`).

:func:`cumulative_rows` computes, in one pass over the rows, what
:func:`logitlab.families.ordinal.row_terms` and
:meth:`~logitlab.families.ordinal.CumulativeLogit.curvature_of` compute with
NumPy (the same formulas, see :mod:`logitlab.families.ordinal`): the weighted
negative log-likelihood, the η-residuals ``s (g_a − g_b)``, the thresholds'
gradient and, when asked, the per-row Hessian weights.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.jit import njit


@njit(cache=True, nogil=True)
def _softplus(x):
    """``log(1 + e^x)`` without overflow."""
    if x > 0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


@njit(cache=True, nogil=True)
def cumulative_rows(eta, y, zeta, s, want_curvature, r, gz, c, t_up, t_lo, z_up, z_lo, z_ab):
    """Per row i with category ``k = y[i]`` (0 … m, m = len(zeta)), upper cut
    ``a = ζ_k − η_i`` (none for k = m) and lower ``b = ζ_{k−1} − η_i`` (none for
    k = 0): returns ``Σ s_i (−log p_i)`` (inf where the cuts cross); writes
    ``r[i] = s_i (g_a − g_b)``, adds ``−s g_a`` and ``s g_b`` into the thresholds'
    gradient ``gz`` (m,), and with ``want_curvature`` the Hessian weights
    ``c, t_up, t_lo, z_up, z_lo, z_ab`` (each (n,)) of ``OrdinalCurvature``."""
    m = zeta.shape[0]
    loss = 0.0
    for i in range(eta.shape[0]):
        k = y[i]
        si = s[i]
        if k == 0:
            a = zeta[0] - eta[i]
            sp_ma = _softplus(-a)
            log_p = -sp_ma
            ga = math.exp(-_softplus(a))
            gb = 0.0
            sig_a = math.exp(-sp_ma)
            sig_b = 0.0
        elif k == m:
            b = zeta[m - 1] - eta[i]
            sp_b = _softplus(b)
            log_p = -sp_b
            ga = 0.0
            gb = math.exp(-_softplus(-b))
            sig_a = 1.0
            sig_b = gb
        else:
            a = zeta[k] - eta[i]
            b = zeta[k - 1] - eta[i]
            gap = a - b
            if not gap > 0.0:
                loss = np.inf
                r[i] = 0.0
                continue
            log_gap = math.log(-math.expm1(-gap))
            sp_ma = _softplus(-a)
            sp_b = _softplus(b)
            sp_a = sp_ma + a
            sp_mb = sp_b - b
            log_p = -sp_ma - sp_b + log_gap
            ga = math.exp(-sp_a + sp_b - log_gap)
            gb = math.exp(-sp_mb + sp_ma - log_gap)
            sig_a = math.exp(-sp_ma)
            sig_b = math.exp(-sp_mb)
        loss -= si * log_p
        r[i] = si * (ga - gb)
        if k < m:
            gz[k] -= si * ga
        if k > 0:
            gz[k - 1] += si * gb
        if want_curvature:
            laa = ga * (1.0 - 2.0 * sig_a) - ga * ga
            lbb = -gb * (1.0 - 2.0 * sig_b) - gb * gb
            lab = ga * gb
            cv = -si * (laa + lbb + 2.0 * lab)
            c[i] = cv if cv > 0.0 else 0.0
            t_up[i] = si * (laa + lab)
            t_lo[i] = si * (lbb + lab)
            z_up[i] = -si * laa
            z_lo[i] = -si * lbb
            z_ab[i] = -si * lab
    return loss
