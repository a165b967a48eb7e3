"""Preconditioners for truncated Newton (:mod:`logitlab.solvers.newton_cg`).

Conjugate gradients on ``H d = -g`` needs about ``√κ`` products per digit,
κ the condition number of ``H``; with a preconditioner ``M ≈ H`` it needs
``√κ(M⁻¹H)`` instead. Two approximations of the Hessian are used:

* ``"sample"`` — the Hessian of the mean log-likelihood estimated from an
  evenly spread subset of ``m`` rows, ``M = (1/S_m) Σ_{i∈sample} s_i h_i x_i x_iᵀ
  + λI``, factored once by Cholesky. Its relative error is about ``√(p/m)``
  for p coefficients, so with ``m ≥ 10 p`` the preconditioned system has
  condition number ~2 and CG gains a digit every two or three products. It
  costs ``m p²`` flops, which the row budget keeps to a few passes' worth
  (binary models build it with a float32 syrk, so their budget is larger);
* ``"diag"`` — the Hessian's diagonal (Jacobi), one pass; for sparse or very
  wide X where no p × p matrix fits.

``M`` is rebuilt at the first iterations (the curvature moves most there) and
whenever CG needed many products, then kept.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

#: largest number of coefficients for a sampled (dense) preconditioner
SAMPLE_MAX_SIZE = 4000


#: flop budget of the sampled Hessian in units of ``n·p`` (one pass's
#: multiply-adds): binary models use a float32 syrk on a buffer in cache, about
#: 4× a pass's speed per flop and half the cost of float64, so 64 is ~8 passes
#: of time; multinomial Hessians are float64 and per class pair
SAMPLE_BUDGET = {False: 64, True: 8}


def sample_rows(n_rows: int, size: int, budget: int = SAMPLE_BUDGET[True]) -> int:
    """Rows for the sampled Hessian: 10–100 per coefficient, within a flop
    budget of ``m·p² ≲ budget·n·p``."""
    rows = budget * n_rows // max(size, 1)
    return int(min(n_rows, max(10 * size, min(100 * size, rows))))


def _sample_affordable(n_rows: int, size: int, multinomial: bool) -> bool:
    """Whether 10 rows per coefficient fit the budget (binary; wider data gets
    the diagonal: its sampled Hessian would cost dozens of passes)."""
    return multinomial or 10 * size * size <= SAMPLE_BUDGET[False] * n_rows


class Preconditioner:
    """``apply(r)`` returns ``M⁻¹ r``; ``kind`` says which ``M`` is in use."""

    def __init__(self, kind: str, factor=None, diag=None):
        self.kind = kind
        self.factor = factor
        self.diag = diag

    def apply(self, r: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``M⁻¹ r``: a new array, or (diagonal ``M``) written into ``out`` when
        given; ``r`` itself for the identity (never write into the result then)."""
        if self.kind == "sample":
            return linalg.cho_solve(self.factor, r, check_finite=False)
        if self.kind == "diag":
            return np.divide(r, self.diag, out=out) if out is not None and out is not r \
                else r / self.diag
        return r


IDENTITY = Preconditioner("none")


KINDS = ("auto", "sample", "diag", "none")


def choose_kind(objective, requested: str) -> str:
    """The preconditioner to use for ``requested`` (one of ``KINDS``):
    ``"auto"`` is ``"sample"`` for dense data of moderate size, else ``"diag"``."""
    if requested not in KINDS:
        raise ValueError("preconditioner must be 'auto', 'sample', 'diag' or 'none'; "
                         f"got {requested!r}")
    if requested != "auto":
        return requested
    if not objective.data.is_sparse and objective.size <= SAMPLE_MAX_SIZE and \
            _sample_affordable(objective.data.n_rows, objective.size,
                               objective.layout.multinomial):
        return "sample"
    return "diag"


def refresh_iterations(objective, kind: str) -> int:
    """The last iteration (from 0) at which ``M`` is rebuilt unconditionally:
    multinomial 2 (its curvature moves most from the start point); binary 1,
    or 0 when one sampled Hessian costs more than a pass (``m·p > n``: its
    larger sample keeps it good enough)."""
    if objective.layout.multinomial:
        return 2
    if kind == "sample":
        n = objective.data.n_rows
        m = sample_rows(n, objective.size, SAMPLE_BUDGET[False])
        return 1 if m * objective.size <= n else 0
    return 1


def build(objective, w, kind: str) -> Preconditioner:
    """A preconditioner of ``kind`` at ``w`` (``"diag"`` uses the curvature of
    the last ``smooth(..., curvature=True)`` call, which must be at ``w``)."""
    if kind == "sample":
        m = sample_rows(objective.data.n_rows, objective.size,
                        SAMPLE_BUDGET[objective.layout.multinomial])
        H = objective.sampled_hessian(w, m)
        if H is not None:
            H[np.diag_indices_from(H)] += 1e-10 * max(float(np.max(np.diag(H))), 1e-300)
            try:
                return Preconditioner("sample", factor=linalg.cho_factor(
                    H, lower=True, overwrite_a=True, check_finite=False))
            except linalg.LinAlgError:
                kind = "diag"
    if kind == "diag":
        D = objective.hess_diag()
        if D is not None:
            floor = 1e-8 * max(float(np.max(D)), 1e-300)
            return Preconditioner("diag", diag=np.maximum(D, floor, out=D))  # D is ours
    return IDENTITY
