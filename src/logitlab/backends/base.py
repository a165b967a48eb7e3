"""The one small interface between solvers and data.

A backend holds the rows (X, y, sample weights, offsets) somewhere — in
memory, or in Dask partitions on workers — and answers two questions for
given coefficients ``W`` (layout (d + fit_intercept, C), see
:mod:`logitlab.core.kernels`):

* :meth:`DataBackend.stats`: the weighted sums over all rows of the negative
  log-likelihood, its gradient and (optionally) its Hessian, each computed
  chunk by chunk with :func:`logitlab.core.kernels.chunk_stats` and added up;
* :meth:`DataBackend.hessp`: the Hessian at the point of the last
  ``stats(..., curvature=True)`` call times a direction ``V``;
* :meth:`DataBackend.reduce_chunks`: the sum over chunks of any other chunk
  statistic (Firth's correction, the sandwich "meat", ...).

Only coefficients go to the data; only these small sums come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..core.kernels import Layout


@dataclass
class Stats:
    """Sums over rows: ``loss`` = Σ s·nll, ``grad`` (n_rows, n_cols),
    ``hess`` (size, size); ``grad``/``hess`` are None when not asked for."""

    loss: float
    grad: np.ndarray | None = None
    hess: np.ndarray | None = None

    def __add__(self, other: "Stats") -> "Stats":
        def add(a, b):
            return None if a is None else a + b
        return Stats(self.loss + other.loss, add(self.grad, other.grad),
                     add(self.hess, other.hess))


class DataBackend(Protocol):
    """What a solver may ask of the data."""

    layout: Layout
    n_rows: int          # number of observations
    weight_sum: float    # Σ s, the denominator of the mean log-likelihood
    n_passes: int        # reads of the data so far (for benchmarks)
    #: max-norm of the rounding error in the mean gradient of the last
    #: ``stats`` call (0.0 for float64 arithmetic); solvers do not ask for a
    #: gradient smaller than this (:class:`logitlab.solvers._common.Recorder`)
    grad_noise: float
    #: the same for the mean loss (line searches treat smaller changes as ties)
    loss_noise: float

    def stats(self, W: np.ndarray, *, grad: bool = True, hess: bool = False,
              curvature: bool = False) -> Stats: ...

    def hessp(self, V: np.ndarray) -> np.ndarray: ...

    def hess_rows(self, rows: np.ndarray) -> np.ndarray:
        """Hessian at the last curvature point restricted to rows ``rows`` of W
        (every class), coordinates in the order of ``W[rows].ravel()``."""
        ...

    def reduce_chunks(self, fn, *args):
        """Σ over chunks of ``fn(X, y, s, offset, *args)``."""
        ...


class Preconditionable(Protocol):
    """Optional extras a backend may offer to precondition truncated Newton
    (:mod:`logitlab.solvers.precondition` uses what is there)."""

    def hess_diag(self) -> np.ndarray:
        """Diagonal of the Hessian at the last curvature point, shaped like W."""
        ...

    def hessian_sample(self, W: np.ndarray, max_rows: int) -> tuple:
        """``(H_sum, weight_sum)`` over a spread-out subset of about max_rows rows."""
        ...
