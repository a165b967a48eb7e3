"""Conditional logistic regression: the likelihood of matched case-control and
choice data given the number of cases in each stratum (R's ``survival::clogit``).

Rows i carry a stratum id, an outcome ``y_i ∈ {0, 1}`` (1 = case) and a linear
predictor ``η_i = x_iᵀβ + offset_i`` (no intercept: anything constant within a
stratum cancels). Stratum s has n_s rows and m_s cases; conditioning on m_s,

    exact:    ℓ_s(β) = Σ_{cases} η_i − log Σ_{S ⊂ s, |S| = m_s} exp(Σ_{i∈S} η_i),

computed by the Gail–Lubin–Rubinstein (1981) recursion with its first and
second derivatives (O(n_s·m_s·d²); normalised so that strata of thousands of
rows and hundreds of cases neither overflow nor underflow; the complement when
m_s > n_s/2) — the derivation is in :mod:`logitlab.families.conditional_kernels`.
``method="breslow"`` (``"approximate"``, R's name for it) and ``"efron"`` are
coxph's approximations with every case of a stratum tied at one time:

    breslow:  ℓ_s = Σ_{cases} w_i η_i − W_s log Σ_{i∈s} w_i e^{η_i},
    efron:    ℓ_s = Σ_{cases} w_i η_i − (W_s/m_s) Σ_{l=0}^{m_s−1} log(A_s − (l/m_s) C_s),
              A_s = Σ_{i∈s} w_i e^{η_i},  C_s = Σ_{cases} w_i e^{η_i},

with case weights w_i > 0 (W_s = Σ_{cases} w_i; all 1 by default), as
``coxph(weights = w)`` — R's clogit passes weights to coxph for these methods.
The exact method takes no weights: R ignores them there with a warning
("weights ignored: not possible for the exact method"); here that is an error.
With m_s = 1 the three methods coincide.

Strata that carry no information contribute nothing (0 to ℓ, its gradient and
Hessian, a zero row of scores): those without a case under every method, and —
exact method only — those whose rows are all cases (their conditional
likelihood is 1). Breslow and Efron keep an all-case stratum (as coxph does:
their approximations depend on β there).

Public API (shapes: X (n, d), y (n,), strata (n,), β (d,)):

* :func:`group_strata` — sort order and boundaries of the strata, once;
* :class:`ConditionalProblem` — the data sorted and centred within strata,
  reusable across iterations: ``stats(β)`` → ``(ℓ, ∇ℓ (d,), ∇²ℓ (d, d))``,
  ``stratum_scores(β)`` → (n_strata, d) for cluster-robust variances;
* :func:`conditional_stats`, :func:`stratum_scores` — the same in one call;
* :func:`within_stratum_probabilities` — softmax of η within each stratum;
* :func:`expected_events` — R's ``predict(type = "expected")``;
  :func:`inclusion_probabilities` — exact P(row i is a case | m_s);
  :func:`row_scores` — per-row score contributions (n, d);
  :func:`stratum_centered_lp` — R's ``predict(type = "lp")``;
* :func:`score_test` — the score test of β = 0 that ``summary(clogit)`` prints.

The fit itself is the pipeline's (:class:`~logitlab.families.ConditionalLogit`,
:class:`logitlab.ConditionalLogisticRegression`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: the methods; "approximate" is R's name for breslow
METHODS = ("exact", "breslow", "efron", "approximate")


@dataclass(frozen=True)
class StrataGroups:
    """Rows grouped by stratum: ``order`` (n,) a stable sort of the rows by
    stratum id, ``bounds`` (S + 1,) with stratum s in sorted rows
    ``bounds[s]:bounds[s+1]``, ``labels`` (S,) the stratum ids in that order;
    ``in_order``: the rows are already in stratum order (the engine sorts them), so
    sorting returns the arrays themselves, not copies."""

    order: np.ndarray
    bounds: np.ndarray
    labels: np.ndarray
    in_order: bool = False

    @property
    def n_rows(self) -> int:
        return int(self.order.shape[0])

    @property
    def n_strata(self) -> int:
        return int(self.labels.shape[0])

    @property
    def sizes(self) -> np.ndarray:
        """Rows per stratum, (S,)."""
        return np.diff(self.bounds)

    def sort(self, a: np.ndarray) -> np.ndarray:
        """Rows of ``a`` (n, ...) in stratum order (``a`` itself when already so:
        the result is only read)."""
        return a if self.in_order else a[self.order]

    def unsort(self, a: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`sort`: rows back in the caller's order."""
        if self.in_order:
            return a
        out = np.empty_like(a)
        out[self.order] = a
        return out

    def spread(self, per_stratum: np.ndarray) -> np.ndarray:
        """A per-stratum value (S, ...) repeated on each of its sorted rows (n, ...)."""
        return np.repeat(per_stratum, self.sizes, axis=0)

    def sums(self, sorted_rows: np.ndarray) -> np.ndarray:
        """Per-stratum sums (S, ...) of sorted rows (n, ...)."""
        return np.add.reduceat(sorted_rows, self.bounds[:-1], axis=0)


def group_strata(strata) -> StrataGroups:
    """Group rows by stratum id (any 1-d array of numbers or strings, no
    missing values): the stable sort order and the stratum boundaries."""
    ids = np.asarray(strata)
    if ids.ndim != 1:
        raise ValueError(f"strata must be one id per row (a 1-d array); got shape {ids.shape}")
    if ids.shape[0] == 0:
        raise ValueError("strata is empty: conditional logit needs at least one stratum")
    if ids.dtype.kind == "f" and not np.all(np.isfinite(ids)):
        raise ValueError("strata has missing (NaN/inf) ids at rows "
                         f"{np.flatnonzero(~np.isfinite(ids))[:5].tolist()}; give every row a stratum")
    if ids.dtype.kind == "O" and any(v is None for v in ids):
        raise ValueError("strata has missing (None) ids; give every row a stratum")
    try:
        order = np.argsort(ids, kind="stable")
    except TypeError as err:
        raise ValueError(f"strata ids must be all numbers or all strings ({err})") from None
    ordered = ids[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    bounds = np.r_[starts, ordered.shape[0]].astype(np.int64)
    order = order.astype(np.int64)
    return StrataGroups(order=order, bounds=bounds, labels=ordered[starts],
                        in_order=bool(np.all(order == np.arange(order.shape[0]))))


def _canonical_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    return "breslow" if method == "approximate" else method


def _as_design(X) -> np.ndarray:
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"X must be numeric (encode text columns first): {err}") from None
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-d array (n rows, d columns); got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        bad = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"X has a non-finite value (row {bad[0]}, column {bad[1]}); "
                         "remove or impute missing values first")
    return X


def _as_row_vector(v, n: int, name: str, *, positive: bool = False) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    if v.shape != (n,):
        raise ValueError(f"{name} must have one value per row, shape ({n},); got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        bad = np.flatnonzero(~np.isfinite(v))[:5].tolist()
        raise ValueError(f"{name} has non-finite values at rows {bad}")
    if positive and np.any(v <= 0):
        raise ValueError(f"{name} must be > 0 (as coxph requires); rows "
                         f"{np.flatnonzero(v <= 0)[:5].tolist()} are not — drop those rows instead")
    return v


def _as_outcome(y, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"y must have one 0/1 value per row, shape ({n},); got shape {y.shape}")
    if y.dtype.kind not in "biuf" or not np.all((y == 0) | (y == 1)):
        raise ValueError("y must be 0 (control) or 1 (case) in every row; got values "
                         f"{np.unique(y)[:5].tolist()}")
    return y.astype(np.int64)


def _centre_within(groups: StrataGroups, X_sorted: np.ndarray) -> np.ndarray:
    """Sorted rows minus their stratum's column means (every conditional
    quantity is invariant to a per-stratum shift of X)."""
    means = groups.sums(X_sorted) / groups.sizes[:, None]
    return X_sorted - groups.spread(means)


class ConditionalProblem:
    """The data of a conditional logit, sorted by stratum and centred within
    strata once, for repeated evaluation of the log-likelihood.

    Arguments: X (n, d), y (n,) 0/1, strata (n,) ids, ``offset`` (n,) or None,
    ``weights`` (n,) > 0 or None (breslow/efron only), ``method`` one of
    :data:`METHODS`, ``groups`` a :func:`group_strata` of ``strata`` to reuse
    (``strata`` is then not read again).
    """

    def __init__(self, X, y, strata, *, offset=None, weights=None, method: str = "exact",
                 groups: StrataGroups | None = None):
        self.method = _canonical_method(method)
        X = _as_design(X)
        n, self.n_features = X.shape
        self.groups = group_strata(strata) if groups is None else groups
        if self.groups.n_rows != n:
            raise ValueError(f"strata has {self.groups.n_rows} rows but X has {n}")
        g = self.groups
        self.case = g.sort(_as_outcome(y, n))
        self.offset = None if offset is None else g.sort(_as_row_vector(offset, n, "offset"))
        if weights is not None and self.method == "exact":
            raise ValueError("case weights are not defined for the exact conditional likelihood "
                             "(R's clogit ignores them with a warning); use method='breslow' or "
                             "'efron' for weights, or drop them")
        self.weights = (np.ones(n) if weights is None
                        else g.sort(_as_row_vector(weights, n, "weights", positive=True)))
        self.X = g.sort(X)                       # sorted, for η
        self.Xc = _centre_within(g, self.X)      # sorted and centred, for the derivatives
        self.cases_per_stratum = g.sums(self.case)
        #: strata of the last exact evaluation that needed the log-space recursion
        self.log_space_strata = 0

    @property
    def n_strata(self) -> int:
        return self.groups.n_strata

    @property
    def informative(self) -> np.ndarray:
        """(S,) bool: the strata that contribute to the likelihood."""
        m, n = self.cases_per_stratum, self.groups.sizes
        return (m > 0) & ((m < n) | (self.method != "exact"))

    @property
    def n_events(self) -> int:
        return int(self.case.sum())

    def eta(self, beta) -> np.ndarray:
        """Sorted linear predictor ``Xβ + offset``, (n,)."""
        beta = np.asarray(beta, dtype=np.float64)
        if beta.shape != (self.n_features,):
            raise ValueError(f"beta must have shape ({self.n_features},); got {beta.shape}")
        if not np.all(np.isfinite(beta)):
            raise ValueError("beta has non-finite values")
        eta = self.X @ beta
        return eta if self.offset is None else eta + self.offset

    def evaluate(self, beta, level: int = 2):
        """``(ℓ_s (S,), ∇ℓ_s (S, d), ∇²ℓ (d, d))`` at β; ``level`` 0, 1, 2 as
        in :mod:`~logitlab.families.conditional_kernels` (unneeded parts are 0)."""
        from .conditional_kernels import exact_strata, tied_strata
        eta = self.eta(beta)
        if self.method == "exact":
            loglik, scores, H, self.log_space_strata = exact_strata(eta, self.Xc, self.case,
                                                                    self.groups.bounds, level)
            return loglik, scores, H
        return tied_strata(eta, self.Xc, self.case, self.weights, self.groups.bounds,
                           self.method == "efron", level)

    def stats(self, beta, *, grad: bool = True, hess: bool = True):
        """``(ℓ(β), ∇ℓ (d,) or None, ∇²ℓ (d, d) or None)``, summed over strata."""
        level = 2 if hess else (1 if grad else 0)
        ll, scores, H = self.evaluate(beta, level)
        return (float(ll.sum()), scores.sum(axis=0) if grad else None, H if hess else None)

    def stratum_scores(self, beta) -> np.ndarray:
        """Per-stratum score contributions ``∇ℓ_s(β)``, (S, d) in the order of
        ``groups.labels`` (zero rows for uninformative strata); the meat of a
        cluster-robust (stratum-clustered) sandwich is ``UᵀU``."""
        return self.evaluate(beta, 1)[1]

    def hazard_expected(self, beta) -> np.ndarray:
        """Sorted (n,): R's ``predict(type = "expected")``, ``e^{η_i} ΔΛ_s`` with

            exact, breslow:  ΔΛ_s = W_s / A_s
            efron:           ΔΛ_s = Σ_{l=0}^{m_s−1} (W_s/m_s) c_il / (A_s − (l/m_s) C_s),

        ``A_s = Σ_{j∈s} w_j e^{η_j}``, ``C_s = Σ_{cases} w_j e^{η_j}``, ``W_s =
        Σ_{cases} w_j``, c_il = 1 − l/m_s for a case and 1 for a control
        (Efron's hazard, which R uses for efron fits only); 0 in strata
        without a case. (Scale-free: e^{η} is shifted by the stratum maximum.)"""
        g, case, w = self.groups, self.case, self.weights
        eta = self.eta(beta)
        r = np.exp(eta - g.spread(np.maximum.reduceat(eta, g.bounds[:-1])))
        W, A = g.sums(w * case), g.sums(w * r)
        if self.method != "efron":
            return r * g.spread(W / A)
        m, C = self.cases_per_stratum, g.sums(w * r * case)
        # the Σ_s m_s Efron terms at once: term l of stratum s at position first[s] + l
        term_of = np.repeat(np.arange(g.n_strata), m)
        first = np.cumsum(m) - m
        frac = (np.arange(term_of.size) - first[term_of]) / m[term_of]
        share = W[term_of] / m[term_of] / (A[term_of] - frac * C[term_of])
        control = np.bincount(term_of, share, minlength=g.n_strata)
        on_case = np.bincount(term_of, share * (1.0 - frac), minlength=g.n_strata)
        return r * np.where(case == 1, g.spread(on_case), g.spread(control))

    def inclusion_probabilities(self, beta) -> np.ndarray:
        """Sorted (n,): exact ``π_i = P(i among the m_s cases)`` = ``∂ log
        B(m_s)/∂η_i``, by a forward-backward recursion (O(n_s·m_s) per stratum)."""
        from .conditional_kernels import exact_inclusion
        return exact_inclusion(self.eta(beta), self.case, self.groups.bounds)

    def eta_gradient(self, beta) -> np.ndarray:
        """Sorted (n,): ``∂ℓ/∂η_i`` — exact: ``y_i − π_i``; breslow, efron:
        ``w_i (y_i − E_i)`` with ``E_i`` = :meth:`hazard_expected` (a
        martingale residual). Zero-sum in each stratum; ``Σ_i (∂ℓ/∂η_i) x_i``
        is the gradient."""
        if self.method == "exact":
            return self.case - self.inclusion_probabilities(beta)
        return self.weights * (self.case - self.hazard_expected(beta))

    def constant_columns(self, rtol: float = 1e-12) -> np.ndarray:
        """Indices of the columns of X that do not vary within any informative
        stratum: their coefficients cancel from the conditional likelihood."""
        rows = self.groups.spread(self.informative)
        if not rows.any():
            return np.arange(self.n_features)
        spread = np.abs(self.Xc[rows]).max(axis=0)
        scale = np.maximum(np.abs(self.X[rows]).max(axis=0), 1.0)
        return np.flatnonzero(spread <= rtol * scale)


def conditional_stats(X, y, strata, beta, offset=None, method: str = "exact", grad: bool = True,
                      hess: bool = True, *, weights=None, groups: StrataGroups | None = None):
    """Conditional log-likelihood summed over strata, with its gradient (d,)
    and Hessian (d, d) when asked: ``(loglik, grad or None, hess or None)``.
    For repeated calls build a :class:`ConditionalProblem` once."""
    problem = ConditionalProblem(X, y, strata, offset=offset, weights=weights, method=method,
                                 groups=groups)
    return problem.stats(beta, grad=grad, hess=hess)


def stratum_scores(X, y, strata, beta, offset=None, method: str = "exact", *, weights=None,
                   groups: StrataGroups | None = None) -> np.ndarray:
    """Per-stratum score contributions (n_strata, d), strata in sorted-id order."""
    problem = ConditionalProblem(X, y, strata, offset=offset, weights=weights, method=method,
                                 groups=groups)
    return problem.stratum_scores(beta)


def _sorted_eta(X, strata, beta, offset, groups):
    X = _as_design(X)
    groups = group_strata(strata) if groups is None else groups
    if groups.n_rows != X.shape[0]:
        raise ValueError(f"strata has {groups.n_rows} rows but X has {X.shape[0]}")
    beta = np.asarray(beta, dtype=np.float64)
    if beta.shape != (X.shape[1],):
        raise ValueError(f"beta must have shape ({X.shape[1]},); got {beta.shape}")
    eta = X @ beta
    if offset is not None:
        eta = eta + _as_row_vector(offset, X.shape[0], "offset")
    return groups, groups.sort(eta)


def _stratum_softmax(groups: StrataGroups, eta_sorted: np.ndarray) -> np.ndarray:
    """``e^{η_i} / Σ_{j∈s} e^{η_j}`` on sorted rows (shifted by the stratum maximum)."""
    top = np.maximum.reduceat(eta_sorted, groups.bounds[:-1])
    r = np.exp(eta_sorted - groups.spread(top))
    return r / groups.spread(groups.sums(r))


def within_stratum_probabilities(X, strata, beta, offset=None, *,
                                 groups: StrataGroups | None = None) -> np.ndarray:
    """Probability of each row being the case of its stratum given that the
    stratum has exactly one case: ``p_i = e^{η_i} / Σ_{j∈s} e^{η_j}`` (n,), rows
    in the caller's order; they sum to 1 within each stratum.

    Relation to R: ``predict(clogit fit, type = "risk")`` is ``e^{η_i − η̄_s}``
    (see :func:`stratum_centered_lp`), so ``p_i`` = risk_i / Σ_s risk; and
    ``predict(type = "expected")`` = ``m_s p_i`` under exact and breslow fits
    (the Breslow cumulative hazard, :func:`expected_events`), which is ``p_i``
    itself in 1:M matched designs. With m_s > 1 cases, ``m_s p_i`` is the
    Breslow approximation of the inclusion probability; the exact one is
    :func:`inclusion_probabilities`."""
    groups, eta = _sorted_eta(X, strata, beta, offset, groups)
    return groups.unsort(_stratum_softmax(groups, eta))


def stratum_centered_lp(X, strata, beta, offset=None, *, weights=None,
                        groups: StrataGroups | None = None):
    """R's ``predict(clogit fit, type = "lp")`` (reference = "strata"), (n,):
    ``x_iᵀβ − Σ_{j∈s} w_j x_jᵀβ / Σ_{j∈s} w_j + offset_i − mean_{all j} offset_j``
    — Xβ centred at its (case-weighted) stratum mean, the offset at its plain
    mean over all rows: predict.coxph's convention. Constants within a stratum
    cancel from every conditional quantity; ``type = "risk"`` is ``exp(lp)``."""
    groups, xb = _sorted_eta(X, strata, beta, None, groups)
    n = xb.shape[0]
    w = np.ones(n) if weights is None else groups.sort(_as_row_vector(weights, n, "weights",
                                                                       positive=True))
    lp = groups.unsort(xb - groups.spread(groups.sums(w * xb) / groups.sums(w)))
    if offset is not None:
        offset = _as_row_vector(offset, n, "offset")
        lp = lp + offset - offset.mean()
    return lp


def expected_events(X, y, strata, beta, offset=None, method: str = "exact", *, weights=None,
                    groups: StrataGroups | None = None) -> np.ndarray:
    """R's ``predict(clogit fit, type = "expected")`` (n,): the coxph expected
    number of events of row i, ``e^{η_i} ΔΛ_s`` with the cumulative hazard of
    its stratum at the one event time (:meth:`ConditionalProblem.hazard_expected`)."""
    problem = ConditionalProblem(X, y, strata, offset=offset, weights=weights, method=method,
                                 groups=groups)
    return problem.groups.unsort(problem.hazard_expected(beta))


def inclusion_probabilities(X, y, strata, beta, offset=None, *,
                            groups: StrataGroups | None = None) -> np.ndarray:
    """``π_i = P(row i is one of the m_s cases of its stratum)`` under the exact
    conditional model at β (n,), caller's order: ``Σ_{S∋i} e^{Σ_S η} / Σ_S
    e^{Σ_S η}`` over the m_s-subsets S; they sum to m_s in each stratum, and
    equal :func:`within_stratum_probabilities` when m_s = 1. ``y`` only sets m_s."""
    problem = ConditionalProblem(X, y, strata, offset=offset, groups=groups)
    return problem.groups.unsort(problem.inclusion_probabilities(beta))


def row_scores(X, y, strata, beta, offset=None, method: str = "exact", *, weights=None,
               groups: StrataGroups | None = None) -> np.ndarray:
    """Per-row score contributions ``(∂ℓ/∂η_i) x_i`` (n, d), caller's order
    (:meth:`ConditionalProblem.eta_gradient`); they add up to
    :func:`stratum_scores` within strata and to the gradient over all rows.
    (A chain-rule split of each stratum's score, not coxph's score residuals,
    which centre x_i first; the two agree per stratum.)"""
    problem = ConditionalProblem(X, y, strata, offset=offset, weights=weights, method=method,
                                 groups=groups)
    g = problem.groups
    return g.unsort(problem.eta_gradient(beta)[:, None] * problem.X)


def _negative_definite_inverse(H: np.ndarray, what: str) -> np.ndarray:
    """``(−H)⁻¹`` by Cholesky, or a clear error when −H is not positive definite."""
    from scipy import linalg
    try:
        factor = linalg.cho_factor(-H)
    except linalg.LinAlgError:
        raise ValueError(f"the information matrix {what} is singular: some columns of X are "
                         "(nearly) collinear within strata; drop or combine them") from None
    return linalg.cho_solve(factor, np.eye(H.shape[0]))


def score_test(problem: ConditionalProblem, beta0=None) -> float:
    """Score (R's "Score (logrank) test") statistic at β₀ (default 0):
    ``U(β₀)ᵀ I(β₀)⁻¹ U(β₀)`` with U = ∇ℓ and I = −∇²ℓ; χ² on d df under H₀."""
    beta0 = np.zeros(problem.n_features) if beta0 is None else np.asarray(beta0, dtype=np.float64)
    _, U, H = problem.stats(beta0)
    return float(U @ _negative_definite_inverse(H, "at the null") @ U)


__all__ = ["METHODS", "StrataGroups", "group_strata", "ConditionalProblem", "conditional_stats",
           "stratum_scores", "within_stratum_probabilities", "stratum_centered_lp",
           "expected_events", "inclusion_probabilities", "row_scores", "score_test"]
