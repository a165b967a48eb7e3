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
  (summed in float32 by BLAS syrk; a binary model's Hessian is one syrk,
  so its budget is larger than a multinomial model's, whose class pairs each
  cost a Gram matrix);
* ``"blocks"`` — multinomial models with many classes: only the diagonal class
  blocks ``Σ s p_c (1 - p_c) x̃ x̃ᵀ`` of the sampled Hessian (block Jacobi),
  one Cholesky factor of (d+1) × (d+1) per class. The whole sampled Hessian
  of C·(d+1) coefficients costs ``m C² d²`` flops with ``m ≥ 10 C d`` rows —
  cubic in the number of classes — while the blocks cost ``m C d²`` with
  ``m ≥ 10 d``; the cross-class terms ``-p_c p_k`` they leave out shrink as
  the probabilities spread over more classes;
* ``"columns"`` — binary models on dense X too wide for a sample (``10 p``
  rows would cost dozens of passes): block Jacobi over ``COLUMN_BLOCK``
  adjacent columns, ``Σ h x_J x_Jᵀ`` over every row (one pass of
  ``n·p·COLUMN_BLOCK`` multiply-adds in float32, one small Cholesky factor per
  block). It holds the diagonal and the correlations between neighbouring
  columns (features made in order — measurements along a sequence or a grid,
  lagged or expanded terms — are most correlated with their neighbours), so
  it is never a worse model of H than the diagonal: on AR(1) features at
  20,000 × 2,000 conjugate gradients needed 26 products instead of 47 (with
  blocks of 8, 16, 32 or 64 columns: 27, 26, 26, 26);
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
#: multiply-adds): binary models use a float32 syrk on a buffer in cache, on
#: every thread (NumPy's matmul releases the GIL), many times a pass's speed
#: per flop, so 128 is a few passes of time (at 100,000 × 500: 25,548 rows,
#: 13 products in 5 Newton steps against 16 in 6 with 64); multinomial
#: Hessians (also float32 sums) cost per class pair
SAMPLE_BUDGET = {False: 128, True: 8}


#: binary models may spend up to twice their budget to sample this many rows per
#: coefficient: at 40,000–75,000 × 500 (12–25 rows per coefficient within the
#: budget) conjugate gradients then needed 13 products in 5 Newton steps instead of
#: 16–19 in 6, and the fits took 0.16–0.29 s instead of 0.19–0.32
SAMPLE_GOOD_ROWS = 50


def sample_rows(n_rows: int, size: int, budget: int = SAMPLE_BUDGET[True],
                stretch: int = 1) -> int:
    """Rows for the sampled Hessian: 10–100 per coefficient, within a flop
    budget of ``m·p² ≲ budget·n·p`` — or ``stretch`` times that budget to reach
    :data:`SAMPLE_GOOD_ROWS` per coefficient."""
    size = max(size, 1)
    rows = budget * n_rows // size
    rows = max(rows, min(SAMPLE_GOOD_ROWS * size, stretch * rows))
    return int(min(n_rows, max(10 * size, min(100 * size, rows))))


def _sampled_rows(objective) -> int:
    """:func:`sample_rows` for the objective's model (binary models stretch
    their budget to twice, multinomial ones do not: each class pair costs a
    Gram matrix)."""
    multinomial = objective.layout.multinomial
    return sample_rows(objective.data.n_rows, objective.size, SAMPLE_BUDGET[multinomial],
                       stretch=1 if multinomial else 2)


def _sample_affordable(n_rows: int, size: int, multinomial: bool) -> bool:
    """Whether 10 rows per coefficient fit the budget (binary; wider data gets
    the column blocks or the diagonal: its sampled Hessian would cost dozens
    of passes)."""
    return multinomial or 10 * size * size <= SAMPLE_BUDGET[False] * n_rows


class Preconditioner:
    """``apply(r)`` returns ``M⁻¹ r``; ``kind`` says which ``M`` is in use."""

    def __init__(self, kind: str, factor=None, diag=None, blocks=None, flat=None):
        self.kind = kind
        self.factor = factor
        self.diag = diag
        self.blocks = blocks          # [(coords, Cholesky factor)] for "blocks"
        self.flat = flat              # (positions (r, C), l2) of the softmax's flat rows

    def apply(self, r: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``M⁻¹ r``: a new array, or (diagonal ``M``) written into ``out`` when
        given; ``r`` itself for the identity (never write into the result then)."""
        if self.kind == "sample":
            return linalg.cho_solve(self.factor, r, check_finite=False)
        if self.kind == "blocks":
            return self._apply_blocks(np.array(r, dtype=np.float64))
        if self.kind == "diag":
            return np.divide(r, self.diag, out=out) if out is not None and out is not r \
                else r / self.diag
        return r


    def _apply_blocks(self, r: np.ndarray) -> np.ndarray:
        """Block Jacobi, exact on the symmetric softmax's flat directions.

        Adding the same u_j to feature j's coefficient in every class leaves
        the probabilities unchanged, so ``H z = l2·z`` on that subspace S
        (the penalty's curvature alone) and S⊥ is invariant too. With ``P``
        the projection on S (each flat row's mean over its classes):
        ``M⁻¹ r = P r / l2 + (I − P) B⁻¹ (I − P) r`` — block Jacobi would
        otherwise see S with the loss's curvature, ~p(1−p)/l2 times too much,
        and conjugate gradients would spend dozens of products resolving it.
        """
        flat_part = None
        if self.flat is not None:
            pos, l2 = self.flat
            mean = r[pos].mean(axis=1, keepdims=True)
            r[pos] -= mean
            flat_part = mean / l2
        out = r.copy()
        for coords, factor in self.blocks:
            out[coords] = linalg.cho_solve(factor, r[coords], check_finite=False)
        if flat_part is not None:
            out[pos] -= out[pos].mean(axis=1, keepdims=True)
            out[pos] += flat_part
        return out


IDENTITY = Preconditioner("none")


KINDS = ("auto", "sample", "blocks", "columns", "diag", "none")

#: columns per block of the ``"columns"`` preconditioner
COLUMN_BLOCK = 16

#: ``auto`` takes the class blocks when the whole sampled Hessian would cost more
#: than this many times its flop budget
BLOCKS_OVER_BUDGET = 4.0


def _blocks_pay_off(n_rows: int, size: int, n_cols: int) -> bool:
    """Whether a multinomial model's whole sampled Hessian (``m·size²`` flops,
    ``m = sample_rows``) is over ``BLOCKS_OVER_BUDGET`` times its budget
    ``SAMPLE_BUDGET·n·size`` — many classes — and its class blocks would do."""
    if n_cols < 3:
        return False
    m = sample_rows(n_rows, size, SAMPLE_BUDGET[True])
    return m * size > BLOCKS_OVER_BUDGET * SAMPLE_BUDGET[True] * n_rows


def choose_kind(objective, requested: str) -> str:
    """The preconditioner to use for ``requested`` (one of ``KINDS``):
    ``"auto"`` is ``"sample"`` for dense data of moderate size, ``"columns"``
    for wider dense data of binary models, else ``"diag"``."""
    if requested not in KINDS:
        raise ValueError("preconditioner must be 'auto', 'sample', 'blocks', 'columns', "
                         f"'diag' or 'none'; got {requested!r}")
    lay, n = objective.layout, objective.data.n_rows
    if requested == "blocks" and not lay.multinomial:
        return "sample"                   # one class column: its block is the Hessian
    if requested == "columns" and (objective.data.is_sparse or lay.n_cols != 1
                                   or lay.ordinal or lay.conditional):
        return "diag"                     # column blocks: binary models on dense X
    if requested != "auto":
        return requested
    if objective.data.is_sparse:
        return "diag"
    if lay.multinomial and _blocks_pay_off(n, objective.size, lay.n_cols):
        return "blocks"
    if objective.size <= SAMPLE_MAX_SIZE and _sample_affordable(n, objective.size,
                                                                lay.multinomial):
        return "sample"
    if lay.n_cols == 1 and not (lay.ordinal or lay.conditional):
        return "columns"
    return "diag"


def refresh_iterations(objective, kind: str) -> int:
    """The last iteration (from 0) at which ``M`` is rebuilt unconditionally:
    multinomial 2 (its curvature moves most from the start point); binary 1,
    or 0 when one sampled Hessian costs more than a pass (``m·p > n``: its
    larger sample keeps it good enough) and for the column blocks."""
    if objective.layout.multinomial:
        return 2
    if kind == "sample":
        return 1 if _sampled_rows(objective) * objective.size <= objective.data.n_rows else 0
    if kind == "columns":     # its blocks hold the correlations, which the curvature
        return 0              # barely moves (wide shape: 26 products built once or twice)
    return 1


def build(objective, w, kind: str) -> Preconditioner:
    """A preconditioner of ``kind`` at ``w`` (``"diag"`` uses the curvature of
    the last ``smooth(..., curvature=True)`` call, which must be at ``w``)."""
    if kind == "sample":
        H = objective.sampled_hessian(w, _sampled_rows(objective))
        if H is not None:
            H[np.diag_indices_from(H)] += 1e-10 * max(float(np.max(np.diag(H))), 1e-300)
            try:
                return Preconditioner("sample", factor=linalg.cho_factor(
                    H, lower=True, overwrite_a=True, check_finite=False))
            except linalg.LinAlgError:
                kind = "diag"
    if kind == "blocks":
        pre = _class_blocks(objective, w)
        if pre is not None:
            return pre
        kind = "diag"
    if kind == "columns":
        pre = _factored_blocks(objective.hess_column_blocks(COLUMN_BLOCK))
        if pre is not None:
            return pre
        kind = "diag"
    if kind == "diag":
        D = objective.hess_diag()
        if D is not None:
            floor = 1e-8 * max(float(np.max(D)), 1e-300)
            return Preconditioner("diag", diag=np.maximum(D, floor, out=D))  # D is ours
    return IDENTITY


def _class_blocks(objective, w) -> Preconditioner | None:
    """The block-Jacobi preconditioner of the class blocks at ``w``, from
    ``sample_rows(n, d + 1)`` rows; None if a block is not positive definite."""
    lay = objective.layout
    m = sample_rows(objective.data.n_rows, lay.n_rows, SAMPLE_BUDGET[True])
    blocks = objective.sampled_hessian_blocks(w, m)
    if blocks is None:
        return None
    pre = _factored_blocks(blocks)
    if pre is not None:
        pre.flat = _flat_rows(objective)
    return pre


def _factored_blocks(blocks) -> Preconditioner | None:
    """Block Jacobi from ``[(coords, B), ...]`` (each ``B`` factored by
    Cholesky, with a 1e-10 relative jitter); None if one is not positive
    definite."""
    factors = []
    for coords, B in blocks:
        B[np.diag_indices_from(B)] += 1e-10 * max(float(np.max(np.diag(B))), 1e-300)
        try:
            factors.append((coords, linalg.cho_factor(B, lower=True, overwrite_a=True,
                                                      check_finite=False)))
        except linalg.LinAlgError:
            return None
    return Preconditioner("blocks", blocks=factors)


def _flat_rows(objective):
    """``(positions, l2)`` of the symmetric softmax's flat directions: for each
    penalized feature row of ``W`` whose every class coordinate is free, the
    positions in ``w`` of that row's C coordinates, (r, C); None if there are
    none (a reference-class layout, no L2 term)."""
    lay = objective.layout
    if not lay.symmetric or objective.l2 <= 0:
        return None
    where = np.full(lay.size, -1, dtype=np.intp)
    where[objective.free] = np.arange(objective.free.size)
    grid = where.reshape(lay.n_rows, lay.n_cols)
    pen = lay.penalized_mask().reshape(lay.n_rows, lay.n_cols)
    rows = np.flatnonzero((grid >= 0).all(axis=1) & pen.all(axis=1))
    return (grid[rows], objective.l2) if rows.size else None
