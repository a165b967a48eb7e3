"""The penalized objective that every solver minimizes.

    F(w) = (1/S) Σ_i s_i nll_i(w) + alpha * (l1_ratio ‖β‖₁ + (1 - l1_ratio)/2 ‖β‖²)

``S = Σ_i s_i`` (the number of rows with unit weights), ``β`` all coefficients
except the intercepts, which are never penalized (the glmnet / glum
convention). scikit-learn's ``C`` maps to ``alpha = 1 / (C * S)``.

The smooth part (mean NLL + the L2 term) has a value, gradient, Hessian and
Hessian-vector products; the L1 term is handled by the solvers that support
it (``cd``, ``gd``) through :meth:`Objective.l1_term` and
:meth:`Objective.kkt_violation`.

Vectors are flat: the full vector is ``W.ravel()`` for the (n_rows, n_cols)
coefficient matrix of :class:`logitlab.core.layout.Layout`. Some coordinates may
be held *fixed* at given values (``fixed``): the solvers then see only the
free coordinates, ``w`` of shape (size,) = (number free,), and
:meth:`Objective.expand` rebuilds the full vector. This pins a redundant
intercept of the symmetric softmax, drops aliased columns (fixed at 0) and
gives the constrained refits of profile-likelihood intervals.
"""

from __future__ import annotations

import numpy as np

from ..backends.base import DataBackend

#: entries per slice of the in-place vector updates (their temporaries stay small)
_SLICE = 1 << 16


def _penalized_prefix(mask) -> int | None:
    """``m`` when the penalized coordinates are exactly the first ``m`` (binary
    and multinomial layouts: the intercepts come last), else None."""
    m = int(np.count_nonzero(mask))
    return m if mask[:m].all() else None


def _add_scaled(y, a: float, x, m: int) -> None:
    """``y[:m] += a * x[:m]`` in place, a slice at a time (the same arithmetic
    as the whole-vector expression, without its coefficient-sized temporary)."""
    for i in range(0, m, _SLICE):
        j = min(i + _SLICE, m)
        y[i:j] += a * x[i:j]


class Objective:
    """Mean negative log-likelihood of ``data`` plus an elastic-net penalty."""

    def __init__(self, data: DataBackend, alpha: float = 0.0, l1_ratio: float = 0.0,
                 fixed=None, fixed_values=None):
        """``fixed``: optional boolean mask over the full vector of coordinates held
        at ``fixed_values`` (a full-length vector; only its fixed entries are used)."""
        self.data = data
        self.layout = data.layout
        self.alpha = float(alpha)
        self.l1_ratio = float(l1_ratio)
        self.l1 = self.alpha * self.l1_ratio
        self.l2 = self.alpha * (1.0 - self.l1_ratio)
        self._penalized_full = self.layout.penalized_mask()
        fixed = None if fixed is None or not np.any(fixed) else np.asarray(fixed, bool)
        # every coordinate free (the usual case): no index or base vectors
        # (8 MB each at a million coefficients), the solvers' vectors are full
        self._all_free = fixed is None
        self._free = None if fixed is None else np.flatnonzero(~fixed)
        self._base = None
        if fixed is not None:
            self._base = np.zeros(self.layout.size)
            if fixed_values is not None:
                self._base[fixed] = np.asarray(fixed_values, dtype=np.float64)[fixed]
        self.penalized = self._penalized_full if fixed is None else self._penalized_full[self._free]
        self.scale = 1.0 / data.weight_sum
        # in-place updates of the backend's fresh arrays (no coefficient-sized
        # temporaries) when every coordinate is free and the penalized ones
        # come first
        self._prefix = _penalized_prefix(self._penalized_full)
        self._in_place = (self._all_free and self._prefix is not None
                          and bool(getattr(data, "fresh_results", False)))

    @property
    def free(self) -> np.ndarray:
        """Indices (size,) of the free coordinates in the full vector."""
        if self._free is None:
            self._free = np.arange(self.layout.size)
        return self._free

    @property
    def size(self) -> int:
        """Number of free coordinates (the length of the solvers' vectors)."""
        return self.layout.size if self._all_free else self._free.size

    def expand(self, w) -> np.ndarray:
        """Full coefficient vector (layout.size,) from the free coordinates ``w``."""
        if self._all_free:
            return np.asarray(w, dtype=np.float64)
        full = self._base.copy()
        full[self._free] = w
        return full

    def on(self, data: DataBackend) -> "Objective":
        """The same objective (penalty, fixed coordinates and their values) over
        other rows ``data`` of the same family (a subsample: its own mean)."""
        fixed = None
        if not self._all_free:
            fixed = np.ones(self.layout.size, dtype=bool)
            fixed[self._free] = False
        return Objective(data, self.alpha, self.l1_ratio, fixed, self._base)

    def restrict(self, w_full, copy: bool = True) -> np.ndarray:
        """The free coordinates of a full vector (``copy=False``: ``w_full``
        itself, as float64, when every coordinate is free — for a solver's
        start, which every solver copies)."""
        if self._all_free:
            return np.array(w_full, dtype=np.float64, copy=copy or None)
        return np.asarray(w_full, dtype=np.float64)[self._free]

    def _penalty_square(self, full) -> float:
        """``‖β‖²`` over the penalized coordinates of the full vector."""
        if self._prefix is not None:
            head = full[:self._prefix]
            return float(head @ head)
        beta = np.where(self._penalized_full, full, 0.0)
        return float(beta @ beta)

    def smooth(self, w, *, grad=True, hess=False, curvature=False):
        """Smooth part at ``w``: ``(f, g, H)``; ``g`` (size,) and ``H`` (size, size)
        are None unless asked for. One pass over the data. ``hess="float32"``:
        a Hessian whose sums may be float32 (binary models on dense X; for
        steps only, never inference), float64 in value."""
        full = self.expand(w)
        st = self.data.stats(self.layout.matrix(full), grad=grad, hess=hess,
                             curvature=curvature)
        f = st.loss * self.scale + 0.5 * self.l2 * self._penalty_square(full)
        g = None
        if st.grad is not None and self._in_place:
            g = st.grad.reshape(-1)            # the backend's new array, scaled in place
            g *= self.scale
            if self.l2 != 0.0:
                _add_scaled(g, self.l2, full, self._prefix)
        elif st.grad is not None:
            beta = np.where(self._penalized_full, full, 0.0)
            g = st.grad.ravel() * self.scale + self.l2 * beta
            g = g if self._all_free else g[self._free]
        H = None
        if st.hess is not None:
            H = st.hess * self.scale
            H[np.diag_indices_from(H)] += self.l2 * self._penalized_full
            if not self._all_free:
                H = H[np.ix_(self.free, self.free)]
        return f, g, H

    def hessp(self, v) -> np.ndarray:
        """Hessian of the smooth part (at the last ``curvature=True`` point) · v
        (a new array)."""
        if self._in_place:
            v = np.asarray(v, dtype=np.float64)
            Hv = self.data.hessp(self.layout.matrix(v)).reshape(-1)
            Hv *= self.scale
            if self.l2 != 0.0:
                _add_scaled(Hv, self.l2, v, self._prefix)
            return Hv
        v_full = self._direction_full(v)
        Hv = self.data.hessp(self.layout.matrix(v_full)).ravel()
        Hv = (Hv if self._all_free else Hv[self._free]) * self.scale
        return Hv + self.l2 * np.where(self.penalized, v, 0.0)

    def _direction_full(self, v) -> np.ndarray:
        """A direction over the free coordinates as a full vector (0 on the fixed ones)."""
        if self._all_free:
            return np.asarray(v, dtype=np.float64)
        v_full = np.zeros(self.layout.size)
        v_full[self._free] = v
        return v_full

    def hess_block(self, coords, single: bool = False) -> np.ndarray:
        """Hessian of the smooth part (at the last ``curvature=True`` point) on
        the free coordinates ``coords`` (sorted indices into ``w``): (k, k)
        float64; ``single`` allows float32 arithmetic (a model Hessian).

        One pass over only the feature columns those coordinates touch
        (``data.hess_rows``): coordinate descent's working-set Hessian."""
        coords = np.asarray(coords, dtype=np.intp)
        full = self.free[coords]
        C = self.layout.n_cols
        rows = np.unique(full // C)
        H = np.asarray(self.data.hess_rows(rows, single=single), dtype=np.float64) * self.scale
        pos = np.searchsorted(rows, full // C) * C + full % C
        H = H[np.ix_(pos, pos)]
        H[np.diag_indices_from(H)] += self.l2 * self._penalized_full[full]
        return H

    def hess_diag(self):
        """Diagonal (size,) of the smooth part's Hessian at the last curvature
        point (one pass)."""
        if self._in_place:
            D = np.asarray(self.data.hess_diag()).reshape(-1)
            D *= self.scale
            D[:self._prefix] += self.l2
            return D
        D = np.asarray(self.data.hess_diag()).ravel() * self.scale + self.l2 * self._penalized_full
        return D if self._all_free else D[self._free]

    def hess_column_blocks(self, width: int):
        """The smooth part's Hessian (at the last curvature point) on blocks of
        ``width`` adjacent coordinates (the slopes in column order, then the
        intercept; binary models on dense X; one pass): a list of ``(coords,
        B)``, ``coords`` the positions in ``w`` of the block's free coordinates
        and ``B`` the Hessian there (float32 sums, for a preconditioner)."""
        raw = self.data.hess_column_blocks(width)
        m = self.layout.n_rows                     # the slopes and the intercept
        blocks = (self._free_block(np.arange(k * width, min((k + 1) * width, m)),
                                   raw[k], self.scale)
                  for k in range(raw.shape[0]))
        return [b for b in blocks if b is not None]

    def _free_block(self, full, B, scale: float):
        """``(coords, block)``: the Hessian block ``B`` over the full-vector
        coordinates ``full`` (its first ``full.size`` rows and columns) times
        ``scale``, restricted to the free ones (``coords``: their positions in
        ``w``), with the L2 term on its penalized diagonal; None if none is free."""
        keep = np.isin(full, self.free) if not self._all_free else np.ones(full.size, bool)
        if not keep.any():
            return None
        block = np.asarray(B, dtype=np.float64)[:full.size, :full.size][np.ix_(keep, keep)] * scale
        block[np.diag_indices_from(block)] += self.l2 * self._penalized_full[full[keep]]
        return np.searchsorted(self.free, full[keep]), block

    def sampled_hessian(self, w, max_rows: int):
        """Hessian (size, size) of the smooth part at ``w`` estimated from about
        ``max_rows`` spread-out rows, or None when the sample has no weight."""
        H, weight = self.data.hessian_sample(self.layout.matrix(self.expand(w)), max_rows)
        if H is None or weight <= 0:
            return None
        H /= weight                       # the backend's array: no copy
        H[np.diag_indices_from(H)] += self.l2 * self._penalized_full
        return H if self._all_free else H[np.ix_(self.free, self.free)]

    def sampled_hessian_blocks(self, w, max_rows: int):
        """The diagonal class blocks of :meth:`sampled_hessian`: a list of
        ``(coords, B)``, one per class column ``c`` with a free coordinate,
        ``coords`` the positions in ``w`` of ``W[:, c]``'s free entries and
        ``B`` (len(coords), len(coords)) the block there; None when the
        sample has no weight. Costs ``C·m²`` per row against ``(C·m)²``."""
        B, weight = self.data.hessian_sample(self.layout.matrix(self.expand(w)), max_rows,
                                             blocks=True)
        if B is None or weight <= 0:
            return None
        C = self.layout.n_cols
        blocks = (self._free_block(np.arange(c, self.layout.size, C), B[c], 1.0 / weight)
                  for c in range(C))                      # the coordinates of W[:, c]
        return [b for b in blocks if b is not None]

    def hat_correction(self, w, chol) -> np.ndarray:
        """Firth's correction of the score at free ``w``, over the free coordinates;
        ``chol = (L, coords)``: the lower Cholesky factor of the information over
        the full-vector coordinates ``coords`` (its hat values)."""
        W = self.layout.matrix(self.expand(w))
        correction = np.asarray(self.data.hat_correction(W, chol))
        return correction if self._all_free else correction[self._free]

    def l1_term(self, w) -> float:
        """``alpha * l1_ratio * ‖β‖₁`` (0 without an L1 penalty)."""
        if self.l1 == 0.0:
            return 0.0
        full = self.expand(w)
        return self.l1 * float(np.abs(full[self._penalized_full]).sum())

    def value(self, w) -> float:
        """Full objective ``F(w)`` (one pass)."""
        return self.smooth(w, grad=False)[0] + self.l1_term(w)

    def kkt_violation(self, w, g) -> float:
        """Max-norm of the minimum-norm subgradient of ``F`` at ``w``.

        Equals ``max |g|`` without an L1 penalty; zero exactly at the optimum.
        For a penalized coordinate at zero the violation is
        ``max(|g_j| - l1, 0)``; elsewhere ``|g_j + l1 sign(w_j)|``.
        """
        if self.l1 == 0.0:
            return float(np.max(np.abs(g))) if g.size else 0.0
        v = g.copy()
        pen = self.penalized
        nz = pen & (w != 0)
        v[nz] += self.l1 * np.sign(w[nz])
        z = pen & (w == 0)
        v[z] = np.maximum(np.abs(g[z]) - self.l1, 0.0)
        return float(np.max(np.abs(v))) if v.size else 0.0
