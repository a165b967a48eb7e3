"""Compiled per-stratum loops of the conditional logit (:mod:`logitlab.families.conditional`),
in their own module so that importing the families compiles and loads nothing:
numba is imported when a conditional likelihood is first evaluated.

Every kernel takes rows sorted by stratum: ``eta`` (n,) the linear predictor
``Xβ + offset``, ``X`` (n, d) the design **centred within each stratum** (every
quantity below is invariant to a per-stratum shift of the columns, and centring
keeps sums of cross-products free of cancellation), ``case`` (n,) 0/1,
``weights`` (n,) and ``bounds`` (S + 1,) with stratum s in rows
``bounds[s]:bounds[s+1]``. They return the per-stratum log-likelihood (S,), the
per-stratum scores (S, d) and the summed Hessian (d, d) of the log-likelihood;
``level`` is 0 (value), 1 (+ gradient) or 2 (+ Hessian). Strata without a case
(and, for the exact likelihood, strata of cases only) are skipped: they
contribute 0 to everything.

Exact likelihood (Gail, Lubin & Rubinstein 1981). With ``r_i = exp(η_i)`` the
denominator of stratum s is the elementary symmetric polynomial
``B(m, n) = Σ_{|S| = m} Π_{i∈S} r_i``, built by the recursion over rows

    B(k, j) = B(k, j−1) + r_j B(k−1, j−1),    B(0, j) = 1,  B(k, j) = 0 for k > j.

Its derivatives in β follow the same recursion (∂r_j/∂β = r_j x_j). They are kept
here in normalised form, which needs neither overflow guards nor rescaling:
``L(k, j) = log B(k, j)``, ``g(k, j) = ∂ log B(k, j)/∂β`` (the mean of
``Σ_{i∈S} x_i`` over the k-subsets S of rows 1..j, weighted by Π r) and
``C(k, j) = ∂² log B(k, j)/∂β∂βᵀ`` (its covariance). The k-subsets of rows
1..j either omit row j (weight 1 − ω) or hold it (weight ω) with

    ω = r_j B(k−1, j−1) / B(k, j) = sigmoid(t),   t = η_j + L(k−1, j−1) − L(k, j−1),
    L(k, j) = L(k, j−1) + softplus(t),
    δ = x_j + g(k−1, j−1) − g(k, j−1),
    g(k, j) = g(k, j−1) + ω δ,
    C(k, j) = (1 − ω) C(k, j−1) + ω C(k−1, j−1) + ω (1 − ω) δ δᵀ,

the mean and covariance of a two-component mixture (exactly the derivatives of
the recursion for B: ``∂B = ∂B(k, j−1) + r_j (x_j B(k−1, j−1) + ∂B(k−1, j−1))``
divided by B, and likewise for the second derivative). Then

    ℓ_s = Σ_{cases} η_i − L(m, n),   ∇ℓ_s = Σ_{cases} x_i − g(m, n),   ∇²ℓ_s = −C(m, n).

k runs downwards in place (B(k−1, j−1) is read before it is overwritten) over
``max(1, m − (n − j)) ≤ k ≤ min(j, m)`` only: O(n·m·d) for the gradient and
O(n·m·d²) for the Hessian, O(m·d²) memory.

The weights ω need no logarithms: with the ratios ``ρ_k = B(k−1)/B(k)`` and
``u_k = r_j ρ_k(j−1)`` (``u_0 = 0``), ``ω = u_k/(1 + u_k)`` and

    ρ_k(j) = ρ_k(j−1) (1 + u_{k−1}) / (1 + u_k),     ρ_j(j) = (1 + u_{j−1}) / r_j  (new level),
    log B(m, n) = −Σ_{k=1}^{m} log ρ_k(n)

— one ``exp`` per row, the rest products (:func:`exact_stratum_ratio`, the
default). Levels below the window keep their last ratio; taking
``u_{k_lo−1} = 0`` at the bottom of the window keeps the product of all ratios
equal to ``1/B(m, j)`` (each step multiplies it by ``(1 + u_{k_lo−1})/(1 +
u_{k_hi})``), and the bottom ratio is never read for an ω again. With r_j ≤ 1
(η shifted to max 0) the ratios are ≥ k/n; they overflow only when η spreads
over more than ~700 within a stratum, and such a stratum is redone by the
log-space recursion (:func:`exact_stratum_log`), which holds ``L = log B`` and
computes ``ω = sigmoid(t)`` and ``L(k, j) = L(k, j−1) + softplus(t)`` with ``t =
η_j + L(k−1, j−1) − L(k, j−1)``: one logistic and one softplus per (j, k).

A stratum with one case (m = 1 after the complement) needs no recursion:
``B(1, n) = Σ r_i``, a softmax (:func:`exact_stratum_single`).

When m > n/2 the complement is used: ``B(m, n)(η) = exp(Σ η) B(n − m,
n)(−η)``, i.e. cases and controls swap and η, X change sign, which leaves ℓ_s,
its gradient and Hessian unchanged and needs only n − m < n/2 levels.

Breslow and Efron (all cases of a stratum tied at one time, risk set the whole
stratum, as ``survival::coxph``'s ``ties = "breslow"/"efron"``; weights w_i as
coxph): with ``A_p = Σ_{stratum} w_i r_i x_i^{⊗p}``, ``C_p = Σ_{cases} w_i r_i
x_i^{⊗p}`` and ``W = Σ_{cases} w_i``,

    Breslow:  ℓ_s = Σ_{cases} w_i η_i − W log A_0,
    Efron:    ℓ_s = Σ_{cases} w_i η_i − (W/m) Σ_{l=0}^{m−1} log(A_0 − (l/m) C_0),

whose gradients and Hessians are the weighted means and covariances of x under
the weights ``w_i r_i (1 − (l/m)·case_i)``, each term's ``log`` contributing
``−(W/m) × (mean, covariance)`` (Breslow: the single term l = 0 with weight W).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.jit import njit


@njit(nogil=True, cache=True)
def _softplus_and_sigmoid(t):
    """``(log(1 + e^t), 1/(1 + e^{−t}))`` without overflow; t may be +inf."""
    if t > 0.0:
        z = math.exp(-t)
        return t + math.log1p(z), 1.0 / (1.0 + z)
    z = math.exp(t)
    return math.log1p(z), z / (1.0 + z)


@njit(nogil=True, cache=True)
def _flip(eta, X, case, sign, j, xj):
    """Row j of the (possibly complemented) problem: ``(sign·η_j, chosen)``
    with ``xj = sign·x_j``; chosen is whether the row is a case of it."""
    for a in range(X.shape[1]):
        xj[a] = sign * X[j, a]
    return sign * eta[j], (case[j] == 1) == (sign > 0)


@njit(nogil=True, cache=True)
def _top(eta, sign):
    top = -np.inf
    for j in range(eta.shape[0]):
        top = max(top, sign * eta[j])
    return top


@njit(nogil=True, cache=True)
def exact_stratum_log(eta, X, case, sign, m, level, ia, ib, score, hpack):
    """One stratum of the exact likelihood by the log-space recursion of the
    module docstring (``L = log B``): safe for any η. ``sign`` = −1 runs the
    complement (``m`` is then the number of controls). Writes ``∇ℓ_s`` to
    ``score`` (d,) and ``∇²ℓ_s`` packed to ``hpack`` (p,) (entries ``(ia, ib)``
    of the upper triangle); returns ``ℓ_s``."""
    n, d = X.shape
    top = _top(eta, sign)
    L = np.full(m + 1, -np.inf)
    L[0] = 0.0
    g = np.zeros((m + 1, d))
    C = np.zeros((m + 1, ia.shape[0]))
    delta = np.zeros(d)
    xj = np.zeros(d)
    case_eta = 0.0
    case_x = np.zeros(d)
    for j in range(n):
        e, chosen = _flip(eta, X, case, sign, j, xj)
        e -= top
        if chosen:
            case_eta += e
            case_x += xj
        for k in range(min(j + 1, m), max(1, m - (n - 1 - j)) - 1, -1):
            grow, w = _softplus_and_sigmoid(e + L[k - 1] - L[k])
            L[k] = L[k] + grow if L[k] > -np.inf else L[k - 1] + e
            if level >= 1:
                for a in range(d):
                    delta[a] = xj[a] + g[k - 1, a] - g[k, a]
                if level >= 2:
                    v = w * (1.0 - w)
                    for q in range(ia.shape[0]):
                        C[k, q] += w * (C[k - 1, q] - C[k, q]) + v * delta[ia[q]] * delta[ib[q]]
                for a in range(d):
                    g[k, a] += w * delta[a]
    score[:] = case_x - g[m]
    hpack[:] = -C[m]
    return case_eta - L[m]


@njit(nogil=True, cache=True, error_model="numpy")     # r_j = 0 gives ρ = inf, not an exception
def exact_stratum_ratio(eta, X, case, sign, m, level, ia, ib, score, hpack, work):
    """The same as :func:`exact_stratum_log` by the ratio recursion of the
    module docstring (``ρ_k = B(k−1)/B(k)``: one ``exp`` per row instead of a
    logistic and a softplus per level; the updates of g and C run over the
    levels k in the inner loop). Returns NaN when a ratio leaves the range of
    doubles (η spread over more than ~700 within the stratum): the caller then
    uses the log-space recursion. ``work`` is :func:`ratio_workspace` for at
    least m levels (reused across strata: no allocation per stratum)."""
    n, d = X.shape
    top = _top(eta, sign)
    rho, u, w, v, g, C, delta, xj, case_x = work
    rho[:m + 1] = np.inf
    if level >= 1:
        g[:, :m + 1] = 0.0
    if level >= 2:
        C[:, :m + 1] = 0.0
    case_x[:] = 0.0
    case_eta = 0.0
    for j in range(n):
        e, chosen = _flip(eta, X, case, sign, j, xj)
        e -= top
        if chosen:
            case_eta += e
            case_x += xj
        r = math.exp(e)
        k_hi = min(j + 1, m)
        k_lo = max(1, m - (n - 1 - j))
        new = k_hi == j + 1                  # level j + 1 appears: B(j+1, j) = 0 so far
        # u_0 = 0 (B(0) = 1); for k_lo > 1 the same convention makes the
        # bottom level's ratio stale, but it is never read for a weight again
        # and Σ_k −log ρ_k still telescopes to log B(m, j) (module docstring)
        u[k_lo - 1] = 0.0
        for k in range(k_lo, k_hi if new else k_hi + 1):
            u[k] = r * rho[k]
            q = 1.0 / (1.0 + u[k])
            w[k] = u[k] * q
            v[k] = w[k] * q
            rho[k] *= q
        if new:
            w[k_hi] = 1.0
            v[k_hi] = 0.0
            rho[k_hi] = (1.0 + u[k_hi - 1]) / r
        for k in range(k_hi - 1 if new else k_hi, k_lo, -1):
            rho[k] *= 1.0 + u[k - 1]
        if level >= 1:
            for a in range(d):
                for k in range(k_lo, k_hi + 1):
                    delta[a, k] = xj[a] + g[a, k - 1] - g[a, k]
            if level >= 2:
                for q in range(ia.shape[0]):
                    da, db, Cq = delta[ia[q]], delta[ib[q]], C[q]
                    for k in range(k_hi, k_lo - 1, -1):
                        Cq[k] += w[k] * (Cq[k - 1] - Cq[k]) + v[k] * da[k] * db[k]
            for a in range(d):
                for k in range(k_lo, k_hi + 1):
                    g[a, k] += w[k] * delta[a, k]
    log_b = 0.0
    for k in range(1, m + 1):
        if not (0.0 < rho[k] < np.inf):
            return np.nan
        log_b -= math.log(rho[k])
    if level >= 1:
        score[:] = case_x - g[:, m]
    if level >= 2:
        hpack[:] = -C[:, m]
    return case_eta - log_b if np.isfinite(log_b) else np.nan


@njit(nogil=True, cache=True)
def exact_stratum_single(eta, X, case, sign, m, level, ia, ib, score, hpack):
    """:func:`exact_stratum_log` for one case (m = 1, after the complement),
    where the recursion is a sum, B(1, n) = Σ r_i: ``ℓ_s = η_case − log Σ_i
    e^{η_i}``, ``∇ℓ_s = x_case − x̄``, ``∇²ℓ_s = −Σ_i p_i (x_i − x̄)(x_i − x̄)ᵀ``
    with ``p = softmax(η)`` and ``x̄ = Σ_i p_i x_i``. Two passes, no allocation."""
    n, d = X.shape
    top = _top(eta, sign)
    mean = score                              # x̄ while it is built, the score at the end
    mean[:] = 0.0
    total = 0.0
    chosen_row = 0
    for j in range(n):
        r = math.exp(sign * eta[j] - top)
        total += r
        if (case[j] == 1) == (sign > 0):
            chosen_row = j
        for a in range(d):
            mean[a] += r * sign * X[j, a]
    mean /= total
    if level >= 2:
        hpack[:] = 0.0
        for j in range(n):
            p = math.exp(sign * eta[j] - top) / total
            for q in range(ia.shape[0]):
                hpack[q] -= p * (sign * X[j, ia[q]] - mean[ia[q]]) * (sign * X[j, ib[q]] - mean[ib[q]])
    for a in range(d):
        score[a] = sign * X[chosen_row, a] - mean[a]
    return sign * eta[chosen_row] - top - math.log(total)


@njit(nogil=True, cache=True)
def exact_strata(eta, X, case, bounds, level):
    """Exact conditional log-likelihood of every stratum: ``(loglik (S,),
    scores (S, d), hess (d, d), log_space)`` where ``log_space`` counts the
    strata whose ratio recursion left the range of doubles and were redone by
    the log-space one (see the module docstring)."""
    S = bounds.shape[0] - 1
    d = X.shape[1]
    ia, ib = _upper_pairs(d)
    loglik = np.zeros(S)
    scores = np.zeros((S, d))
    hess = np.zeros((d, d))
    hpack = np.zeros(ia.shape[0])
    log_space = 0
    work = ratio_workspace(_largest_level(case, bounds), d, level)
    for s in range(S):
        lo, hi = bounds[s], bounds[s + 1]
        n = hi - lo
        m = 0
        for i in range(lo, hi):
            m += case[i]
        if m == 0 or m == n:
            continue
        sign = -1.0 if 2 * m > n else 1.0
        mm = n - m if sign < 0 else m
        args = (eta[lo:hi], X[lo:hi], case[lo:hi], sign, mm, level, ia, ib, scores[s], hpack)
        ll = exact_stratum_single(*args) if mm == 1 else exact_stratum_ratio(*args, work)
        if not (np.isfinite(ll) and _all_finite(hpack) and _all_finite(scores[s])):
            ll = exact_stratum_log(*args)
            log_space += 1
        loglik[s] = ll
        if level >= 2:
            for q in range(ia.shape[0]):
                hess[ia[q], ib[q]] += hpack[q]
    _symmetrize(hess)
    if level < 1:
        scores[:, :] = 0.0
    return loglik, scores, hess, log_space


@njit(nogil=True, cache=True)
def _all_finite(a):
    for x in a:
        if not np.isfinite(x):
            return False
    return True


@njit(nogil=True, cache=True)
def ratio_workspace(m, d, level):
    """Buffers of :func:`exact_stratum_ratio` for up to m levels and d columns:
    ``(ρ, u, ω, ω(1−ω), g (d, m+1), C (d(d+1)/2, m+1), δ (d, m+1), x_j, Σ_cases x)``
    (g, δ only for level ≥ 1, C for level 2; otherwise one column)."""
    k = m + 1
    kg = k if level >= 1 else 1
    kc = k if level >= 2 else 1
    return (np.empty(k), np.zeros(k), np.zeros(k), np.zeros(k), np.zeros((d, kg)),
            np.zeros((d * (d + 1) // 2, kc)), np.zeros((d, kg)), np.zeros(d), np.zeros(d))


@njit(nogil=True, cache=True)
def _largest_level(case, bounds):
    """The largest min(m_s, n_s − m_s) over the strata: levels the recursion needs."""
    top = 0
    for s in range(bounds.shape[0] - 1):
        m = 0
        for i in range(bounds[s], bounds[s + 1]):
            m += case[i]
        top = max(top, min(m, bounds[s + 1] - bounds[s] - m))
    return top


@njit(nogil=True, cache=True)
def _upper_pairs(d):
    """Row and column indices of the upper triangle of a d × d matrix, row-major."""
    p = d * (d + 1) // 2
    ia = np.zeros(p, dtype=np.int64)
    ib = np.zeros(p, dtype=np.int64)
    q = 0
    for a in range(d):
        for b in range(a, d):
            ia[q], ib[q] = a, b
            q += 1
    return ia, ib


@njit(nogil=True, cache=True)
def _symmetrize(hess):
    d = hess.shape[0]
    for a in range(d):
        for b in range(a + 1, d):
            hess[b, a] = hess[a, b]


@njit(nogil=True, cache=True)
def tied_strata(eta, X, case, weights, bounds, efron, level):
    """Breslow (``efron`` False) or Efron approximation of every stratum:
    ``(loglik (S,), scores (S, d), hess (d, d))`` (see the module docstring).
    Rows are weighted by ``weights``; a stratum whose rows are all cases is
    kept, as coxph keeps it (it depends on β under both approximations).

    Per stratum, two passes over its rows give ``A_0``, ``C_0``, the weighted
    mean ``μ = A_1/A_0`` and the moments about μ (``A_1 − A_0 μ = 0``,
    ``C_1 − C_0 μ``, ``A_2``, ``C_2``); each of the m Efron terms then costs
    O(d²): O(n_s·d² + m_s·d²) per stratum."""
    S = bounds.shape[0] - 1
    d = X.shape[1]
    loglik = np.zeros(S)
    scores = np.zeros((S, d))
    hess = np.zeros((d, d))
    mu = np.zeros(d)
    c1 = np.zeros(d)
    a2 = np.zeros((d, d))
    c2 = np.zeros((d, d))
    shift = np.zeros(d)
    for s in range(S):
        lo, hi = bounds[s], bounds[s + 1]
        m = 0
        top = -np.inf
        for i in range(lo, hi):
            m += case[i]
            top = max(top, eta[i])
        if m == 0:
            continue
        W = 0.0
        ll = 0.0
        a0 = 0.0
        c0 = 0.0
        mu[:] = 0.0
        c1[:] = 0.0
        for i in range(lo, hi):
            wr = weights[i] * math.exp(eta[i] - top)
            a0 += wr
            for a in range(d):
                mu[a] += wr * X[i, a]
            if case[i] == 1:
                W += weights[i]
                ll += weights[i] * (eta[i] - top)
                c0 += wr
                for a in range(d):
                    scores[s, a] += weights[i] * X[i, a]
        for a in range(d):
            mu[a] /= a0
        if level >= 2:
            a2[:, :] = 0.0
            c2[:, :] = 0.0
        for i in range(lo, hi):
            if case[i] != 1 and level < 2:
                continue
            wr = weights[i] * math.exp(eta[i] - top)
            for a in range(d):
                da = X[i, a] - mu[a]
                if case[i] == 1:
                    c1[a] += wr * da
                if level >= 2:
                    for b in range(a, d):
                        p = wr * da * (X[i, b] - mu[b])
                        a2[a, b] += p
                        if case[i] == 1:
                            c2[a, b] += p
        n_terms = m if efron else 1
        share = W / n_terms
        for l in range(n_terms):
            frac = l / m
            total = a0 - frac * c0
            ll -= share * math.log(total)
            for a in range(d):
                shift[a] = -frac * c1[a] / total          # mean of the term minus μ
            if level >= 1:
                for a in range(d):
                    scores[s, a] -= share * (mu[a] + shift[a])
            if level >= 2:
                for a in range(d):
                    for b in range(a, d):
                        cov = (a2[a, b] - frac * c2[a, b]) / total - shift[a] * shift[b]
                        hess[a, b] -= share * cov
        loglik[s] = ll
    _symmetrize(hess)
    return loglik, scores, hess


@njit(nogil=True, cache=True)
def _logaddexp(a, b):
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


@njit(nogil=True, cache=True)
def _inclusion_stratum(e, m, out):
    """``π_i = P(i ∈ S)`` under ``P(S) ∝ exp(Σ_{i∈S} e_i)``, |S| = m, by the
    forward-backward recursion in log space: with ``F(k, j) = log B(k)`` over
    rows 0..j−1 and ``G(k, j)`` over rows j..n−1,

        π_j = exp(e_j + log Σ_{k=0}^{m−1} e^{F(k, j) + G(m−1−k, j+1)} − F(m, n)).

    O(n·m) time, O(n·m) memory (F is kept for every j)."""
    n = e.shape[0]
    F = np.full((n + 1, m + 1), -np.inf)
    F[0, 0] = 0.0
    for j in range(n):
        F[j + 1, 0] = 0.0
        for k in range(1, min(j + 1, m) + 1):
            F[j + 1, k] = _logaddexp(F[j, k], F[j, k - 1] + e[j])
    log_b = F[n, m]
    G = np.full(m + 1, -np.inf)            # G(·, j+1) while row j is visited
    G[0] = 0.0
    for j in range(n - 1, -1, -1):
        acc = -np.inf
        for k in range(m):
            acc = _logaddexp(acc, F[j, k] + G[m - 1 - k])
        out[j] = min(1.0, math.exp(e[j] + acc - log_b))   # rounding: |error| ~ ε·|log B|
        for k in range(min(n - j, m), 0, -1):
            G[k] = _logaddexp(G[k], G[k - 1] + e[j])


@njit(nogil=True, cache=True)
def exact_inclusion(eta, case, bounds):
    """Exact inclusion probabilities ``π_i = P(row i is a case | m_s cases)``
    = ``∂ log B(m_s, n_s)/∂η_i`` of every sorted row, (n,); they sum to m_s
    within each stratum (0 and 1 for strata without a case / of cases only).
    The complement gives ``π_i = 1 − π'_i`` of the flipped problem (−η, n − m)."""
    pi = np.zeros(eta.shape[0])
    for s in range(bounds.shape[0] - 1):
        lo, hi = bounds[s], bounds[s + 1]
        n = hi - lo
        m = 0
        for i in range(lo, hi):
            m += case[i]
        if m == 0:
            continue
        if m == n:
            pi[lo:hi] = 1.0
            continue
        sign = -1.0 if 2 * m > n else 1.0
        mm = n - m if sign < 0 else m
        e = sign * eta[lo:hi]
        e -= e.max()
        _inclusion_stratum(e, mm, pi[lo:hi])
        if sign < 0:
            for i in range(lo, hi):
                pi[i] = 1.0 - pi[i]
    return pi
