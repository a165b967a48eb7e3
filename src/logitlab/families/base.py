"""What a model family is: the contract every part of a fit relies on.

A family instance is bound to its parameter layout (:class:`logitlab.core.layout.Layout`)
and owns everything that depends on the model's form:

* **parameters**: the layout, the start point from the weighted class totals,
  coordinates pinned for identifiability, the canonical form of a solution;
* **chunk statistics**: for one chunk of rows (``X`` (n, d), ``y`` (n,) class
  codes, ``s`` (n,) weights, ``offset`` or None) and coefficients ``W``
  (n_rows, n_cols), the weighted *sums* over the chunk of the negative
  log-likelihood, its gradient, Hessian, Hessian-vector products (from a kept
  per-row :class:`Curvature`), per-row scores and per-row NLL. Backends add
  these up over chunks (in memory) or partitions (Dask); solvers and inference
  only ever see the sums;
* **prediction**: linear predictors and class probabilities.

The objective every solver minimizes is built on these sums
(:mod:`logitlab.solvers.objective`)::

    F(w) = (1/S) Σ_i s_i nll_i(w) + alpha (l1_ratio ‖β‖₁ + (1 - l1_ratio)/2 ‖β‖²)

with ``S = Σ_i s_i`` and ``β`` every coefficient but the intercepts.

A new family (ordinal, conditional, mixed) implements this class; solvers,
engines, backends, inference and the estimators need no change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.layout import Layout


@dataclass
class Curvature:
    """Per-row Hessian weights of a chunk, kept for Hessian-vector products.

    binary: ``h`` (n,) = s p (1 - p); multinomial: ``p`` (n, C) the free classes'
    probabilities and ``s`` (n,) the weights.
    """

    h: np.ndarray | None = None
    p: np.ndarray | None = None
    s: np.ndarray | None = None


class Family:
    """A model family bound to its parameter layout (see the module docstring)."""

    #: short name, as in model files and summaries
    name = "family"

    def __init__(self, layout: Layout):
        self.layout = layout

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.layout == other.layout

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.layout))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.layout})"

    # ------------------------------------------------------------ parameters
    def start(self, class_totals: np.ndarray) -> np.ndarray:
        """Start point (size,) from the weighted class totals (K,)."""
        raise NotImplementedError

    def pinned(self) -> np.ndarray | None:
        """(size,) mask of coordinates held fixed for identifiability, or None."""
        return None

    def canonical(self, w: np.ndarray) -> np.ndarray:
        """The reported form of a solution ``w`` (size,) (same predictions)."""
        return w

    def null_loglik(self, class_totals: np.ndarray) -> float:
        """Log-likelihood of the intercept-only model without offsets, in closed form."""
        totals = np.asarray(class_totals, dtype=np.float64)
        totals = totals[totals > 0]
        return float(np.sum(totals * np.log(totals / totals.sum())))

    # ------------------------------------------------------ chunk statistics
    #: whether ``chunk_stats`` (its gradient), ``chunk_hessp`` and
    #: ``chunk_hess_diag`` take ``out=``: an accumulator from
    #: :meth:`new_accumulator` that they add into (and return a view of)
    #: instead of returning a new array: a backend then runs many chunks into
    #: one array (very wide data, where each would be d-sized)
    accumulates = False

    #: whether the per-row curvature a pass keeps (``curvature=True``) lets the
    #: fit's checks at that point skip their own passes (the spread of the
    #: weights for aliasing, the count of saturated rows): binary models
    curvature_serves_checks = False

    def new_accumulator(self) -> np.ndarray:
        """A zeroed accumulator for ``out=`` (families that accumulate)."""
        raise NotImplementedError

    def fused_kernels(self, X) -> bool:
        """Whether compiled fused kernels serve this chunk type (one read of X
        per pass, a kept curvature buffer)."""
        return False

    def chunk_stats(self, X, y, s, offset, W, *, grad=True, hess=False, curvature=False,
                    single=False, h_out=None):
        """``(loss, grad, hess, curvature)``: Σ s·nll (float), the gradient
        (n_rows, n_cols) or None, the Hessian (size, size) or None and the
        per-row :class:`Curvature` or None. ``hess="float32"`` allows float32
        sums for the Hessian (a model Hessian for steps, never inference);
        families without them form it in float64."""
        raise NotImplementedError

    def chunk_hessp(self, X, curv: Curvature, V, single=False) -> np.ndarray:
        """Σ over the chunk of the Hessian (at ``curv``) times ``V`` (n_rows, n_cols)."""
        raise NotImplementedError

    def chunk_hess_diag(self, X, curv: Curvature) -> np.ndarray:
        """Diagonal of the chunk's Hessian (at ``curv``), shaped like ``W``."""
        raise NotImplementedError

    def chunk_hess_column_blocks(self, X, curv: Curvature, width: int) -> np.ndarray:
        """Binary models on dense X: the diagonal blocks of the chunk's Hessian
        over ``width`` adjacent feature columns at a time, (n_blocks, width,
        width), from the kept curvature (the column-block preconditioner of
        truncated Newton; float32 sums). Not available elsewhere."""
        raise NotImplementedError(f"{type(self).__name__} has no column blocks")

    def chunk_hess_blocks(self, X, y, s, offset, W, single: bool = False) -> np.ndarray:
        """The diagonal class blocks of the chunk's Hessian at ``W``:
        (n_cols, n_rows, n_rows), block ``c`` over the coordinates
        ``W[:, c]`` (a block-Jacobi preconditioner of truncated Newton; the
        cross-class blocks are left out). Only families with several class
        columns (multinomial) define it."""
        raise NotImplementedError

    def chunk_hess_rows(self, X, curv: Curvature, rows, single: bool = False) -> np.ndarray:
        """The chunk's Hessian (at ``curv``) on the rows ``rows`` of ``W``, every
        class: (len(rows)·C, len(rows)·C), in the order of ``W[rows].ravel()``.
        ``single``: float32 arithmetic is allowed (a solver's model Hessian,
        never inference); a family may ignore it."""
        raise NotImplementedError

    def chunk_scores(self, X, y, s, offset, W) -> np.ndarray:
        """Per-row weighted scores (n, size); their sum is the gradient of Σ s·nll."""
        raise NotImplementedError

    def chunk_hessian_root(self, X, y, s, offset, W) -> np.ndarray:
        """Rows ``B`` (n·C, size) with ``BᵀB`` = the chunk's Hessian of Σ s·nll at
        ``W`` (a square root without forming the Hessian: the QR-based Newton
        steps of :mod:`logitlab.solvers.qr` on nearly collinear designs)."""
        raise NotImplementedError

    def chunk_row_nll(self, X, y, offset, W) -> np.ndarray:
        """Per-row negative log-likelihood (n,), unweighted."""
        raise NotImplementedError

    def chunk_hat_correction(self, X, y, s, offset, W, chol) -> np.ndarray:
        """Gradient of ½ log det I(β) summed over the chunk (Firth), (size,);
        ``chol = (L, coords)``: the lower Cholesky factor of the information over
        the coordinates ``coords``."""
        raise NotImplementedError(f"Firth's correction is not implemented for {self.name} models.")

    # ------------------------------------------------------------ prediction
    def linear_predictor(self, X, W, offset=None) -> np.ndarray:
        """Linear predictors of a chunk: (n,) or (n, K), float64."""
        raise NotImplementedError

    def probabilities(self, Z) -> np.ndarray:
        """Class probabilities (n, K) from linear predictors."""
        raise NotImplementedError

    def log_probabilities(self, Z) -> np.ndarray:
        """Log class probabilities (n, K), exact where probabilities round to 0."""
        raise NotImplementedError
