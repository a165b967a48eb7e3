"""The conditional logit as a model family of the fit pipeline (R's ``survival::clogit``).

The likelihood (:mod:`logitlab.families.conditional`) is a product over
strata, so a chunk of rows must hold whole strata: the engine sorts the rows
by stratum and cuts its blocks at stratum boundaries, and each row's label is
a pair ``y[i] = (case, stratum code)`` (an (n, 2) integer array). The chunk
sums are then

* ``Σ s·nll = −Σ_s ℓ_s(β)`` (exact, Breslow or Efron; offsets added to η),
* its gradient ``−Σ_s ∇ℓ_s`` and Hessian ``−Σ_s ∇²ℓ_s`` (the information),
* per-row scores: each stratum's score split over its rows by the chain rule
  (``∂ℓ/∂η_i · (x_i − x̄_s)``), whose per-stratum sums are the strata's scores.

Layout: :class:`~logitlab.core.layout.Layout` with ``strata`` the method, one
column, no intercept (anything constant within a stratum cancels), ``W`` (d, 1).
Row weights are case weights for Breslow and Efron (as ``coxph``); the exact
likelihood takes none.
"""

from __future__ import annotations

import numpy as np

from ..core.design import xdot
from ..core.layout import Layout
from .base import Family
from .conditional import ConditionalProblem


class ConditionalLogit(Family):
    """Conditional logistic regression on matched strata (see the module docstring)."""

    name = "conditional"

    def __init__(self, layout: Layout):
        super().__init__(layout)
        self._problems: dict = {}

    def __getstate__(self):
        return {"layout": self.layout}            # the cached problems stay here

    def __setstate__(self, state):
        self.layout, self._problems = state["layout"], {}

    @classmethod
    def create(cls, n_features: int, method: str = "exact") -> "ConditionalLogit":
        return cls(Layout(n_features, 2, (1,), False, strata=method))

    @property
    def method(self) -> str:
        return self.layout.strata

    # ------------------------------------------------------------ parameters
    def start(self, class_totals) -> np.ndarray:
        """β = 0 (the null model of the conditional likelihood)."""
        return np.zeros(self.layout.size)

    def null_loglik(self, class_totals) -> float:
        raise NotImplementedError("the conditional null log-likelihood is ℓ(β = 0), from a pass")

    # ------------------------------------------------------ chunk statistics
    def problem(self, X, y, s, offset) -> ConditionalProblem:
        """The chunk as a :class:`ConditionalProblem`, built once per chunk (the
        rows sorted and centred within strata) and reused across passes."""
        key = (_address(X), X.shape, _address(s), _address(offset))
        entry = self._problems.get(key)
        found = None if entry is None else entry[0]
        if found is None:
            y = np.asarray(y)
            s = np.asarray(s, dtype=np.float64)
            weights = None if np.all(s == 1.0) else s
            Xd = X.toarray() if hasattr(X, "toarray") else np.asarray(X, dtype=np.float64)
            found = ConditionalProblem(Xd, y[:, 0], y[:, 1], offset=offset, weights=weights,
                                       method=self.method)
            # the arrays are kept with their problem: their addresses, the key, stay theirs
            self._problems[key] = (found, X, s, offset)
        return found

    def chunk_stats(self, X, y, s, offset, W, *, grad=True, hess=False, curvature=False,
                    single=False, h_out=None):
        if curvature:
            raise NotImplementedError("conditional logit fits take Newton steps (solver='newton')")
        beta = np.asarray(W, dtype=np.float64).ravel()
        if not np.all(np.isfinite(beta)):
            return np.inf, None, None, None
        ll, g, H = self.problem(X, y, s, offset).stats(beta, grad=grad, hess=hess)
        return (-ll, None if g is None else -g[:, None], None if H is None else -H, None)

    def chunk_scores(self, X, y, s, offset, W) -> np.ndarray:
        """Per-row scores (n, d) in the chunk's row order: ``−∂ℓ/∂η_i (x_i − x̄_s)``
        (the gradient of the chunk's Σ s·nll, row by row)."""
        problem = self.problem(X, y, s, offset)
        beta = np.asarray(W, dtype=np.float64).ravel()
        per_row = problem.eta_gradient(beta)[:, None] * problem.Xc
        return -problem.groups.unsort(per_row)

    def stratum_scores(self, X, y, s, offset, W) -> np.ndarray:
        """Per-stratum scores of the chunk's Σ s·nll, (strata, d)."""
        beta = np.asarray(W, dtype=np.float64).ravel()
        return -self.problem(X, y, s, offset).stratum_scores(beta)

    def chunk_row_nll(self, X, y, offset, W) -> np.ndarray:
        raise NotImplementedError("the conditional likelihood is a product over strata, not rows")

    # ------------------------------------------------------------ prediction
    def linear_predictor(self, X, W, offset=None) -> np.ndarray:
        """``η = Xβ (+ offset)`` (n,); probabilities need the strata
        (:func:`logitlab.families.conditional.within_stratum_probabilities`)."""
        beta = np.asarray(W, dtype=np.float64).reshape(-1, 1)
        eta = np.asarray(xdot(X, beta), dtype=np.float64)[:, 0]
        return eta if offset is None else eta + np.asarray(offset, dtype=np.float64)


def _address(a) -> int | None:
    """The address of an array's data (a chunk's identity across passes)."""
    if a is None:
        return None
    if hasattr(a, "data") and hasattr(a, "indptr"):
        return a.data.__array_interface__["data"][0]
    return np.asarray(a).__array_interface__["data"][0] if isinstance(a, np.ndarray) else id(a)
