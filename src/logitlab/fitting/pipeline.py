"""The fit pipeline, written once for every engine and model family.

::

    spec (checked options) ─┐
    source (an engine's     ├─> family & layout ─> backend ─> start ─> aliasing
      checked inputs)      ─┘        ─> solve ─> inference ─> diagnostics ─> FitOutcome

1. the data summary (classes, counts, weights per class) decides the model
   family and its parameter layout (:func:`logitlab.families.logit_family`),
   and the options that depend on the data are checked (the threshold against
   the number of classes, ``class_weight``, ``reference_class``); Firth fits
   use the reference-class layout (K − 1 columns) for any K;
2. the engine builds the data backend for that family;
3. the start point: a warm start, a checkpoint or the family's base rates;
4. aliasing: columns that are linear combinations of earlier ones are held at
   0, by R's rule (``dqrdc2``'s limited pivoting on R's first-iteration weighted
   design, :mod:`logitlab.fitting.fitstats`);
5. the solver (``auto``: :func:`logitlab.solvers.select_solver`, told whether
   a pass costs more than a Hessian on this backend);
6. inference for likelihood fits: the information at the optimum, the null
   log-likelihood, sandwich meats, separation (by linear programming when the
   rows are in this process; otherwise the saturated rows are counted);
7. diagnostics: why a fit failed, as warnings naming the columns.

BLAS is held to one thread throughout (:func:`logitlab.core.threads.blas_one_thread`):
a multithreaded BLAS call before the solver (the base rate's dot product) left
an OpenBLAS thread spinning through the first passes.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import solvers
from ..core.exceptions import CollinearityWarning, SeparationWarning
from ..core.layout import INTERCEPT
from ..core.threads import blas_one_thread
from ..data.validation import listing
from ..families import logit_family
from ..solvers.objective import Objective
from . import fitstats, substart
from .checkpoint import CheckpointingObjective, fingerprint, load_checkpoint, save_checkpoint
from .diagnostics import explain_fit
from .outcome import FitOutcome, InferenceState
from .separation import detect_separation, separation_check_is_cheap
from .spec import (INFERENCE_MAX_SIZE, FitSpec, check_threshold, class_weight_factors,
                   reference_index)


@dataclass
class WarmStart:
    """A previous solution to start from, used when its family (layout) matches;
    ``solver_state``: its solver's reusable state (``SolverResult.state``)."""

    family: object
    coef: np.ndarray
    solver_state: object = None


class DefaultNames(Sequence):
    """The names ``x0, x1, ...`` of ``n`` unnamed columns, made when read (a
    list of a million strings would be ~70 MB; messages read a few)."""

    def __init__(self, n: int):
        self.n = int(n)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, j):
        if isinstance(j, slice):
            return [f"x{i}" for i in range(*j.indices(self.n))]
        i = operator.index(j)
        if not -self.n <= i < self.n:
            raise IndexError(f"column {i} of {self.n}")
        return f"x{i % self.n}"


def fit(spec: FitSpec, source, warm: WarmStart | None = None) -> FitOutcome:
    """Fit ``spec`` to the engine's ``source`` (:class:`logitlab.engines.summary.Source`)."""
    with blas_one_thread():
        return _fit(spec, source, warm)


def _fit(spec, source, warm):
    summary = source.summary
    family, class_weight, totals = _model_for(spec, summary)
    with_inference = spec.with_inference and family.layout.size <= INFERENCE_MAX_SIZE
    # fits with inference (log-likelihood, deviance, standard errors) stay exact
    data = source.backend(family, class_weight, single=not with_inference)
    try:
        return _fit_data(spec, source, summary, family, data, totals, with_inference, warm)
    except BaseException:
        data.release()
        raise


def _model_for(spec, summary):
    """The model family, the per-class weights and the weighted class totals."""
    classes, K = summary.classes, summary.classes.size
    ordinal = spec.family == "ordinal"
    conditional = spec.family == "conditional"
    check_threshold(spec.threshold, 2 if ordinal else K)
    if conditional and K != 2:
        raise ValueError(f"a conditional logit needs a 0/1 (case / control) outcome; y has "
                         f"{K} classes.")
    if summary.grouped is not None and spec.class_weight is not None:
        raise ValueError("class_weight does not apply to a grouped binomial response (cbind or "
                         "proportions with trials): each row holds both successes and "
                         "failures. Weight the groups with sample_weight instead.")
    class_weight = class_weight_factors(spec.class_weight, classes, summary.class_counts)
    totals = class_weight * summary.class_weight_sums
    if not totals.sum() > 0:
        raise ValueError("all rows have zero weight after applying class_weight."
                         if spec.class_weight is not None else
                         "sample_weight is zero for every row; at least one row needs a "
                         "positive weight.")
    family = logit_family(summary.n_features, K,
                          reference=reference_index(spec.reference_class, classes),
                          symmetric=spec.kind not in ("none", "firth"),
                          fit_intercept=spec.fit_intercept, ordinal=ordinal,
                          nominal=spec.nominal, strata=spec.method if conditional else "")
    return family, class_weight, totals


def _fit_data(spec, source, summary, family, data, totals, with_inference, warm):
    layout = family.layout
    names = summary.feature_names or DefaultNames(summary.n_features)
    problem_id = fingerprint(summary, family, totals, spec) if spec.checkpoint else None
    warm_ok = warm is not None and warm.family == family and warm.coef.size == layout.size
    w0 = np.array(warm.coef, dtype=np.float64) if warm_ok else family.start(totals)
    resume = load_checkpoint(spec.checkpoint, problem_id) if spec.checkpoint else None
    # Aliasing by R's rule, before the fit; when a Hessian is dear (a big
    # in-memory design, or a backend whose passes are dear) or the fit's last
    # pass leaves what the check needs (binary models: the information and the
    # rows' curvature at the optimum), after it instead, from the information
    # that inference needs anyway (usually no pass proves full rank, or the QR
    # decides), refitting only if columns alias.
    defer = with_inference and spec.kind == "none" and not (layout.ordinal or
                                                            layout.conditional) and (
        data.newton_max_size is not None or not layout.multinomial
        or data.n_rows * layout.size ** 2 > solvers.NEWTON_MAX_FLOPS)
    aliased = (fitstats.aliased_features(data, layout)
               if with_inference and not defer else [])
    information = with_inference and spec.kind == "none"
    objective, result = _solve_with(spec, data, w0, resume, aliased, problem_id,
                                    warm.solver_state if warm_ok else None, information,
                                    cold=not warm_ok)
    info, n_sat = _solver_information(objective, result), None
    if defer:
        if info is None:
            info, n_sat = _information_and_saturation(objective, result.coef)
        aliased = fitstats.aliased_after_fit(objective, info, result.coef)
        if aliased:
            info = n_sat = None
            objective, result = _solve_with(spec, data, w0, None, aliased, problem_id,
                                            information=information, cold=not warm_ok)
            info = _solver_information(objective, result)
    if aliased:
        w0 = np.where(layout.row_mask(aliased), 0.0, w0)
    findings = _aliasing_findings(names, aliased, conditional=layout.conditional)
    if with_inference and info is None:
        info = fitstats.information(objective, result.coef)
    separation, n_sat, sep_findings = _separation(spec, data, objective, result, aliased,
                                                  with_inference, n_sat, info)
    inference, more = (_inference(spec, summary, objective, result, w0, aliased, separation,
                                  info, names) if with_inference else (None, []))
    findings += sep_findings + more + explain_fit(objective, result, names, n_saturated=n_sat,
                                           separation=separation)
    return FitOutcome(family=family, coef=result.coef, classes=summary.classes,
                      reference=reference_index(spec.reference_class, summary.classes),
                      feature_names_in=summary.feature_names, solver=result, aliased=list(aliased),
                      inference=inference, objective=objective, findings=findings,
                      engine=source.engine, n_partitions=getattr(data, "n_partitions", None))


# ------------------------------------------------------------------ solving
def _solve_with(spec, data, w0, resume, aliased, problem_id, warm_state=None,
                information=False, cold=False):
    """The objective (aliased columns held at 0, or the family's pinned
    coordinates) and the solver's result from ``resume`` or ``w0``; the float64
    polish after a float32 fit when asked for; ``warm_state``: a previous
    run's solver state, for the solvers that take one; ``information``: the
    fit needs the information at the optimum (solvers that can end with it
    are asked to: ``result.hessian``); ``cold``: ``w0`` is the family's start
    (exact Newton on many rows may start from a subsample's optimum instead,
    :mod:`logitlab.fitting.substart`)."""
    layout = data.layout
    fixed = layout.row_mask(aliased) if aliased else data.family.pinned()
    if aliased:
        w0 = np.where(fixed, 0.0, w0)
    start = w0 if resume is None else (np.where(fixed, w0, resume) if fixed is not None
                                       else resume)
    objective = (CheckpointingObjective(data, spec.alpha, spec.l1_ratio, fixed, fixed_values=w0)
                 if spec.checkpoint else
                 Objective(data, spec.alpha, spec.l1_ratio, fixed, fixed_values=w0))
    callback = _callback(spec, objective, problem_id)
    result = _solve(spec, objective, start, callback, warm_state, information,
                    cold and resume is None)
    if spec.polish and getattr(data, "single", False):
        data.single = False
        result = _chain(result, _solve(spec, objective, result.coef, callback))
    return objective, result


def _callback(spec, objective, problem_id):
    """The user's callback, after the checkpoint of the iteration when asked for."""
    if not spec.checkpoint:
        return spec.callback
    user = spec.callback

    def callback(iteration, value, grad_norm):
        w = objective.iterate(value)
        save_checkpoint(spec.checkpoint, problem_id, objective.expand(w), iteration, value)
        if user is not None:
            user(iteration, value, grad_norm)
    return callback


def _solve(spec, objective, w_full, callback, warm_state=None, information=False,
           cold=False):
    """Run the chosen solver from the full vector ``w_full`` (``cold``: the
    family's start, which a subsample may improve on); the result's ``coef``
    is the full canonical vector (``hessian`` dropped unless it is the Hessian
    there)."""
    data = objective.data
    if spec.solver != "auto":
        name = spec.solver
    elif data.layout.conditional:     # stratum sums, no per-row curvature: Newton or L-BFGS
        name = "newton" if objective.size <= solvers.NEWTON_MAX_SIZE else "lbfgs"
    else:
        name = solvers.select_solver(objective.size, data.is_sparse, spec.kind, data.n_rows,
                                     data.newton_max_size)
    tol = solvers.DEFAULT_TOL[name] if spec.tol is None else spec.tol
    max_iter = solvers.DEFAULT_MAX_ITER[name] if spec.max_iter is None else spec.max_iter
    options = solvers.check_options(name, spec.solver_options)
    if name == "firth":
        options["penalty_coords"] = objective.free
    if warm_state is not None and name == "cd":
        options["warm_state"] = warm_state
    if information and name in ("newton", "newton-cg"):
        options["information"] = True
    start, sub_passes = None, 0.0
    if cold and substart.applies(objective, name):
        start, sub_passes = substart.subsample_start(objective, w_full)
    result = solvers.run(name, objective,
                         objective.restrict(w_full if start is None else start, copy=False),
                         tol=tol, max_iter=max_iter, callback=callback, **options)
    result.n_passes += sub_passes
    if start is not None:
        result.flags.add("subsample_start")
    full = objective.expand(result.coef)
    result.coef = data.family.canonical(full)
    if result.hessian is not None and not np.array_equal(result.coef, full):
        result.hessian = None
    return result


def _chain(first, second):
    """One result for two runs of a solver, the second started where the first
    stopped (the float64 polish): the second's solution, both histories."""
    second.n_iter += first.n_iter
    second.n_passes += first.n_passes
    second.history = {k: np.concatenate([first.history[k], second.history[k][1:]])
                      for k in second.history}
    second.flags = set(second.flags) | {"polished"}
    return second


# --------------------------------------------------------------- inference
def _solver_information(objective, result):
    """The information (size, size) at ``result.coef`` from the Hessian the
    solver formed there (``result.hessian``, of the mean NLL: ``S`` times
    it), or None when it has none, some coordinates are fixed or there is a
    penalty."""
    H, result.hessian = result.hessian, None          # not kept with the fitted model
    if H is None or objective.size != objective.layout.size or objective.l2 != 0.0:
        return None
    return H / objective.scale


def _information_and_saturation(objective, w_full):
    """The information (size, size) at ``w_full`` and the saturated row count, in one
    pass (non-finite coefficients: the information alone, no saturation)."""
    W = objective.layout.matrix(w_full)
    if not np.all(np.isfinite(W)):
        return fitstats.information(objective, w_full), 0
    return objective.data.information_and_saturation(W)


def _aliasing_findings(names, aliased, conditional: bool = False) -> list:
    if not aliased:
        return []
    labels = [(list(names) + [INTERCEPT])[j] for j in aliased]
    one = len(aliased) == 1
    if conditional:
        return [(CollinearityWarning,
                 f"{listing(labels)} {'is' if one else 'are'} constant within every stratum (or "
                 "a combination of earlier columns there), so the conditional likelihood has no "
                 f"information on {'it' if one else 'them'}: reported as aliased, held at 0, as "
                 "R's clogit reports NA. Matching variables are such columns; drop them to "
                 "silence this.")]
    return [(CollinearityWarning,
             f"{listing(labels)} {'is' if one else 'are'} a linear combination of earlier "
             f"columns (or the intercept) and {'was' if one else 'were'} dropped, as R's glm "
             "does: reported as aliased, held at 0. Drop the redundant columns to silence "
             "this.")]


def _separation(spec, data, objective, result, aliased, with_inference, n_sat, info=None):
    """``(separation, n_saturated, findings)``: the linear-programming check for
    unpenalized likelihood fits when the rows are in this process (cheap, or
    suggested by saturated rows; ``info``, the information at the fit, usually
    settles it at once); otherwise the count of saturated rows, with a
    warning when there are some. Fits without inference: nothing (the
    diagnostics count saturated rows themselves); Firth fits: none saturate."""
    if not with_inference:
        return None, n_sat, []
    if spec.kind == "firth":
        return None, 0, []
    layout = data.layout
    W = layout.matrix(result.coef)
    if layout.ordinal:
        return None, *_ordinal_saturation(data, W)
    if layout.conditional:         # divergence is judged from the information (inference)
        return None, 0, []
    rows = data.local_rows()
    if rows is not None and rows.y.dtype.kind == "f" and np.any((rows.y > 0) & (rows.y < 1)):
        rows = _bernoulli_rows(rows)              # grouped binomial data
    if rows is not None:
        separation = None
        if separation_check_is_cheap(rows.X, layout) or objective.data.count_saturated(W):
            separation = detect_separation(rows.X, rows.y, rows.s, layout, aliased, W=W,
                                           offset=rows.offset, information=info,
                                           grad_norm=result.grad_norm if result.converged
                                           else None)
            separation = separation if separation.checked else None
        return separation, 0 if separation is None else None, []
    if n_sat is None:
        n_sat = data.count_saturated(W) if np.all(np.isfinite(W)) else 0
    findings = [] if not n_sat else [(SeparationWarning,
        f"fitted probabilities are numerically 0 or 1 for {n_sat} rows: the data may be "
        "(quasi-)separated. The linear-programming separation check needs all rows on one "
        "machine and is not run on Dask; if coefficients are large, use penalty='firth' or "
        "an L2 penalty.")]
    return None, n_sat, findings


def _conditional_divergence(info, info0, free, names) -> list:
    """Findings of a conditional logit whose likelihood is monotone along some
    columns (its estimates diverge, as under separation): the information of a
    column at the estimate (``info``, over the ``free`` coordinates) below 1e-8
    of its information at β = 0 (``info0``, the same coordinates)."""
    diag, diag0 = np.diag(info), np.diag(info0)
    flat = [names[j] for j, a, b in zip(free, diag, diag0) if b > 0 and a < 1e-8 * b]
    if not flat:
        return []
    return [(SeparationWarning,
             f"the conditional likelihood keeps rising along {listing(flat)}: within the strata "
             "the cases are separated from the controls by them, so their estimates diverge "
             "(huge coefficients and standard errors). Remove those terms or use an L2 "
             "penalty.")]


def _conditional_record(objective, spec, info, names) -> tuple:
    """``(record, findings)`` of a conditional logit: its method, events,
    informative strata and the score test of β = 0 over the estimated
    coefficients (one pass at β = 0), and the divergence findings from the
    information ``info`` at the estimate (full, size × size)."""
    data = objective.data
    free = objective.free
    st = data.stats(objective.layout.matrix(np.zeros(objective.layout.size)), grad=True,
                    hess=True)
    U, info0 = st.grad.ravel()[free], st.hess[np.ix_(free, free)]
    try:
        score = float(U @ np.linalg.solve(info0, U)) if U.size else 0.0
    except np.linalg.LinAlgError:
        score = float("nan")
    events, strata = data.reduce_chunks(_events_and_strata, data.family)
    record = {"method": spec.method, "n_events": int(events), "n_strata": int(strata),
              "score_stat": score}
    return record, _conditional_divergence(info[np.ix_(free, free)], info0, free, names)


def _events_and_strata(X, y, s, offset, family):
    """A chunk's cases and informative strata (a conditional logit)."""
    problem = family.problem(X, y, s, offset)
    return np.array([problem.n_events, int(problem.informative.sum())])


def _ordinal_saturation(data, W) -> tuple:
    """``(n_saturated, findings)`` of an ordinal fit: rows whose category has a
    fitted probability of numerically 1 suggest (quasi-)separation, in which
    the estimates diverge (the linear-programming check is for binary and
    multinomial models)."""
    n_sat = data.count_saturated(W) if np.all(np.isfinite(W)) else 0
    findings = [] if not n_sat else [(SeparationWarning,
        f"fitted probabilities of the observed category are numerically 1 for {n_sat} rows: "
        "the categories may be (quasi-)separated by the predictors, so some estimates "
        "diverge. Check large coefficients or thresholds; an L2 penalty keeps them finite.")]
    return n_sat, findings


def _bernoulli_rows(rows):
    """Rows with fractional labels ``y`` (grouped binomial data) as 0/1 rows for
    the separation check: a row with successes (``y > 0``) appears with label 1
    and weight ``s y``, one with failures (``y < 1``) with label 0 and weight
    ``s (1 − y)``; rows of zero weight are left out. Returns ``LocalRows``."""
    import scipy.sparse as sp
    y, s = np.asarray(rows.y, dtype=np.float64), np.broadcast_to(rows.s, rows.y.shape)
    ones, zeros = np.flatnonzero((y > 0) & (s > 0)), np.flatnonzero((y < 1) & (s > 0))
    idx = np.concatenate([ones, zeros])
    X = rows.X[idx]
    X = X.tocsr() if sp.issparse(X) else np.ascontiguousarray(X)
    labels = np.concatenate([np.ones(ones.size, np.int8), np.zeros(zeros.size, np.int8)])
    weights = np.concatenate([s[ones] * y[ones], s[zeros] * (1 - y[zeros])])
    offset = None if rows.offset is None else np.asarray(rows.offset)[idx]
    return type(rows)(X, labels, weights, offset)


def _chunk_group_meat(X, y, s, offset, family, W):
    """``Σ_i u_i u_iᵀ`` of a chunk's per-row scores ``u_i = s_i (p_i − y_i) x̃_i``."""
    U = family.chunk_scores(X, y, s, offset, W)
    return U.T @ U


def _group_meat(objective, w_full):
    """The sandwich meat of a grouped binomial fit: each group (row) one
    observation, as R's ``sandwich`` takes it (not the frequency-weight meat
    ``Σ u uᵀ / s``, which would treat a group as s identical Bernoulli rows):
    (size, size)."""
    data = objective.data
    return data.reduce_chunks(_chunk_group_meat, data.family, objective.layout.matrix(w_full))


def _inference(spec, summary, objective, result, w0, aliased, separation, info, names=()):
    """``(state, findings)``: the :class:`InferenceState` at ``result.coef``
    (``info``: the full information there, if already computed) and what the
    inference found (a conditional logit's diverging columns)."""
    w = result.coef
    info = fitstats.information(objective, w) if info is None else info
    free = objective.free
    n = float(objective.data.weight_sum)
    firth = result.solver == "firth"
    grouped = summary.grouped
    state = InferenceState(
        method="firth" if firth else "mle", cov_type=spec.cov_type,
        n_obs=n if grouped is None else float(grouped["n_groups"]),
        n_rows=int(objective.data.n_rows),
        loglik=-float(result.objective) * n if not firth else fitstats.loglik(objective, w),
        loglik_null=fitstats.null_loglik(objective, w0),
        estimated=free.tolist(), aliased=[int(j) for j in aliased],
        information=info[np.ix_(free, free)],
        separated=bool(separation is not None and separation.separated),
        grouped=None if grouped is None else dict(grouped),
        infinite={} if separation is None else {
            str(k): v for k, v in separation.infinite.items()})
    findings = []
    if objective.layout.conditional:
        state.conditional, findings = _conditional_record(objective, spec, info, list(names))
        state.n_obs = float(state.conditional["n_events"])     # R's nobs of a clogit fit
    if firth:
        # logistf's convention: the restricted model keeps the full model's penalty
        state.penalized_loglik = -float(result.objective) * n
        state.penalized_loglik_null = fitstats.firth_null_loglik(objective, w0)
    if spec.cov_type != "nonrobust":
        clusters = summary.n_groups if spec.cov_type == "cluster" else None
        meat, n_clusters = (fitstats.score_meat(objective, w, clusters)
                            if grouped is None or clusters is not None
                            else (_group_meat(objective, w), int(grouped["n_groups"])))
        state.meat = meat[np.ix_(free, free)]
        state.n_clusters = n_clusters
    return state, findings
