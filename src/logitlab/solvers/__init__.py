"""Solvers for the penalized logistic objective, and how one is chosen.

Every solver has the signature
``solve(objective, w0, *, tol, max_iter, callback, **options) -> SolverResult``
and judges convergence the same way: the max-norm of the (minimum-norm sub)
gradient of the full objective is at most ``tol``.

What supports what (``SUPPORT``):

=========== ====== ==== ==== ========== ======== ============
solver      none   l2   l1   elasticnet sparse X multinomial
=========== ====== ==== ==== ========== ======== ============
newton      yes    yes  no   no         yes      yes
lbfgs       yes    yes  no   no         yes      yes
newton-cg   yes    yes  no   no         yes      yes
trust-ncg   yes    yes  no   no         yes      yes
cd          yes    yes  yes  yes        yes      yes
gd          yes    yes  yes  yes        yes      yes
firth       penalty="firth" only (binary, multinomial)
=========== ====== ==== ==== ========== ======== ============

``glmer`` (not in ``SOLVERS``) fits a binomial-logit mixed model as lme4's
``glmer``: :func:`logitlab.solvers.glmer.fit_glmm`.

``cd`` forms a dense Hessian of its working set, so it needs at most ``cd.MAX_SIZE``
coefficients. ``objective`` is the penalized objective they minimize, on top of
a data backend.

May import :mod:`logitlab.core`, :mod:`logitlab.families` and :mod:`logitlab.backends`.
"""

from __future__ import annotations

import inspect

from ..core.threads import blas_one_thread
from . import cd, firth, gd, lbfgs, newton, newton_cg, trust_region
from ._common import SolverResult

SOLVERS = {
    "newton": newton.solve,
    "lbfgs": lbfgs.solve,
    "newton-cg": newton_cg.solve,
    "trust-ncg": trust_region.solve,
    "cd": cd.solve,
    "gd": gd.solve,
    "firth": firth.solve,
}

#: penalties each solver can minimize
SUPPORT = {
    "newton": {"none", "l2"},
    "lbfgs": {"none", "l2"},
    "newton-cg": {"none", "l2"},
    "trust-ncg": {"none", "l2"},
    "cd": {"none", "l2", "l1", "elasticnet"},
    "gd": {"none", "l2", "l1", "elasticnet"},
    "firth": {"firth"},
}

DEFAULT_MAX_ITER = {"newton": 100, "lbfgs": 1000, "newton-cg": 200,
                    "trust-ncg": 200, "cd": 100, "gd": 10000,
                    "firth": 100}

#: default gradient tolerance: the (quasi-)Newton-type solvers converge fast at
#: the end, so 1e-10 costs about one pass and gives coefficients to ~10 digits
DEFAULT_TOL = {"newton": 1e-10, "lbfgs": 1e-8, "newton-cg": 1e-10,
               "trust-ncg": 1e-10, "cd": 1e-10, "gd": 1e-6,
               "firth": 1e-10}

#: largest number of coefficients for which ``auto`` forms the Hessian
NEWTON_MAX_SIZE = 256
#: ... and the most flops (rows × coefficients²) one Hessian may cost: above
#: this a full Hessian per iteration costs more than the handful of passes of
#: preconditioned truncated Newton
NEWTON_MAX_FLOPS = 5e7
#: ... or, whatever the rows, at most this many coefficients: such a Hessian
#: costs about half a pass more than the gradient (the loss pass sums it), so
#: Newton's five or six passes beat truncated Newton's eleven or twelve
#: (3,000,000 × 5 with standard errors: 0.20 s against 0.27 s)
NEWTON_ANY_ROWS_SIZE = 8


def run(name: str, objective, w0, **kwargs) -> SolverResult:
    """``SOLVERS[name](objective, w0, **kwargs)`` with BLAS on one thread
    throughout (:class:`logitlab.core.threads.blas_one_thread`): the backends'
    passes use every core, and the solver's own linear algebra is on vectors
    of the coefficients' size or small matrices."""
    with blas_one_thread():
        return SOLVERS[name](objective, w0, **kwargs)


def support_table() -> str:
    """The table above as text, for error messages."""
    cols = ["none", "l2", "l1", "elasticnet", "firth"]
    lines = ["solver     " + " ".join(f"{c:>10}" for c in cols)]
    for name, ok in SUPPORT.items():
        lines.append(f"{name:<10} " + " ".join(f"{'yes' if c in ok else 'no':>10}" for c in cols))
    return "\n".join(lines)


def check_solver(solver: str, penalty_kind: str) -> None:
    """Raise a ValueError when ``solver`` cannot minimize ``penalty_kind``."""
    if solver == "auto":
        return
    if solver not in SOLVERS:
        raise ValueError(f"solver must be 'auto' or one of {sorted(SOLVERS)}; got {solver!r}")
    if penalty_kind not in SUPPORT[solver]:
        raise ValueError(
            f"solver={solver!r} does not support penalty {penalty_kind!r} "
            f"(it needs a smooth objective). Use solver='cd' or 'gd', or "
            f"solver='auto'.\n{support_table()}")


#: the solvers ``auto`` may choose, by penalty kind
AUTO_CANDIDATES = {"none": ("newton", "newton-cg", "trust-ncg"),
                   "l2": ("newton", "newton-cg", "trust-ncg"),
                   "l1": ("cd", "gd"), "elasticnet": ("cd", "gd"), "firth": ("firth",)}


def solver_options_of(solver: str) -> list:
    """The keyword options ``solver`` accepts in ``solver_options``."""
    return [p.name for p in inspect.signature(SOLVERS[solver]).parameters.values()
            if p.kind == p.KEYWORD_ONLY
            and p.name not in ("tol", "max_iter", "callback", "penalty_coords", "warm_state",
                               "information")]


def check_options(solver: str, options, penalty_kind: str | None = None) -> dict:
    """Validate ``solver_options`` against the options ``solver`` accepts
    (for ``"auto"``: against those of every solver it may choose for
    ``penalty_kind``, so that a misspelt option fails before any pass)."""
    options = dict(options or {})
    if solver == "auto":
        names = AUTO_CANDIDATES.get(penalty_kind, tuple(SOLVERS))
        accepted = sorted({o for name in names for o in solver_options_of(name)})
        what = f"the solvers solver='auto' may choose ({', '.join(names)})"
    else:
        accepted, what = solver_options_of(solver), f"solver {solver!r}"
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"solver_options {unknown} are not options of {what}; "
                         f"{'they accept' if solver == 'auto' else 'it accepts'} "
                         f"{accepted or 'none'}.")
    return options


def select_solver(size: int, sparse: bool, penalty_kind: str, n_rows: int = 0,
                  newton_max_size: int | None = None) -> str:
    """The solver ``auto`` picks, from the number of coefficients and rows,
    sparsity and penalty.

    * an L1 part → ``cd`` (exact zeros), or ``gd`` beyond ``cd.MAX_SIZE``;
    * at most ``NEWTON_MAX_SIZE`` coefficients and a cheap Hessian
      (``n_rows · size² ≤ NEWTON_MAX_FLOPS``, or at most
      ``NEWTON_ANY_ROWS_SIZE`` coefficients) → ``newton``: quadratic
      convergence to machine precision in a few passes;
    * otherwise dense X → ``newton-cg``, truncated Newton preconditioned by a
      sampled Hessian: about 20 passes over the data, never a full Hessian;
    * otherwise sparse X → ``trust-ncg``, the trust-region variant (liblinear's
      TRON) preconditioned by the Hessian's diagonal: steps are sized by the
      trust region rather than a line search, robust on wide, badly scaled
      data.
    """
    if penalty_kind == "firth":
        return "firth"
    if penalty_kind in ("l1", "elasticnet"):
        return "cd" if size <= cd.MAX_SIZE else "gd"
    if newton_max_size is not None:       # a backend whose passes cost more than a Hessian
        return "newton" if size <= newton_max_size else "newton-cg"
    if size <= NEWTON_ANY_ROWS_SIZE or (size <= NEWTON_MAX_SIZE
                                        and n_rows * size ** 2 <= NEWTON_MAX_FLOPS):
        return "newton"
    return "trust-ncg" if sparse else "newton-cg"


__all__ = ["SOLVERS", "SUPPORT", "SolverResult", "check_options", "check_solver", "run",
           "select_solver", "support_table", "DEFAULT_MAX_ITER", "DEFAULT_TOL"]
