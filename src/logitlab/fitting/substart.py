"""A start from a row subsample, for exact Newton on many rows.

From the family's start (intercepts at the log-odds of the class shares,
slopes 0) exact Newton takes five or six steps before its quadratic
convergence brings the gradient to 1e-10, each a pass over all rows with the
Hessian. The optimum of an evenly spread eighth of the rows is within about
``√8`` standard errors of the full one, inside the region where Newton's
error squares at each step, so the full fit from there needs two or three
steps (and its polishing pass): at 300,000 × 10 and 1,000,000 × 5, seven full
passes became four or five, for the subsample's seven eighths-of-a-pass.

The subsample's optimum is only a start: the full fit converges to its own
tolerance from it, so the estimates are those of the full data. A subsample
that cannot give a good start — a class absent from it, a fit that does not
converge cleanly, fitted probabilities within 1e-8 of 0 or 1 (separation in
the subsample, whose diverging coefficients would be a bad start) — is
dropped and the fit starts from the family's point. Offsets (whose null
model has no closed form to compare with) and families whose rows form
groups (ordinal thresholds, strata) keep the usual start.
"""

from __future__ import annotations

import numpy as np

from .. import solvers

#: the subsample holds 1/SUBSAMPLE_FRACTION of the rows ...
SUBSAMPLE_FRACTION = 8
#: ... when that is at least this many rows, and this many per coefficient
#: (smaller subsamples run on NumPy's path, whose passes cost what they save)
SUBSAMPLE_MIN_ROWS, SUBSAMPLE_ROWS_PER_COEF = 32_768, 100
#: gradient tolerance of the subsample's fit: its optimum is ~1/√m from the
#: full one anyway
SUBSAMPLE_TOL = 1e-6
#: a subsample whose fitted probabilities come within this of 0 or 1 (binary
#: models) gives no start
SATURATION_FLOOR = 1e-8
#: solver flags that disqualify the subsample's fit
_DOUBTFUL = frozenset({"singular_hessian", "line_search_failed", "qr_steps"})


def applies(objective, solver: str) -> bool:
    """Whether a fit with ``solver`` of ``objective`` starts from a subsample."""
    data, layout = objective.data, objective.layout
    rows = data.n_rows // SUBSAMPLE_FRACTION
    return (solver == "newton" and not (layout.ordinal or layout.conditional or data.has_offset)
            and rows >= max(SUBSAMPLE_MIN_ROWS, SUBSAMPLE_ROWS_PER_COEF * objective.size))


def subsample_start(objective, w_full) -> tuple:
    """``(start, passes)``: the full coefficient vector to start the fit from
    (the subsample's optimum, or None when it gives no good start, see the
    module docstring) and the passes over the full data its fit cost."""
    data = objective.data
    sub = data.subsample(data.n_rows // SUBSAMPLE_FRACTION)
    if sub is None:
        return None, 0.0
    try:
        start = _fit(objective.on(sub), w_full) if np.all(sub.class_totals() > 0) else None
        return start, sub.n_passes * sub.n_rows / max(data.n_rows, 1)
    finally:
        sub.release()


def _fit(sub_objective, w_full):
    """The subsample's optimum (full vector), or None when doubtful."""
    result = solvers.run("newton", sub_objective, sub_objective.restrict(w_full),
                         tol=SUBSAMPLE_TOL, max_iter=50, information=True)
    w = sub_objective.expand(result.coef)
    if not (result.converged and np.all(np.isfinite(w))) or result.flags & _DOUBTFUL:
        return None
    floor = sub_objective.data.curvature_floor(sub_objective.layout.matrix(w))
    if floor is not None and floor < SATURATION_FLOOR:
        return None
    return w
