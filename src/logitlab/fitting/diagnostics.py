"""Why a fit failed: separation, collinearity, poor scaling or too few iterations.

Called by the estimator after a solver returns. Each finding is a sentence
with the cause, the columns involved and what to do.
"""

from __future__ import annotations


import numpy as np

from ..core.exceptions import CollinearityWarning, ConvergenceWarning, SeparationWarning, bridged
from ..core.layout import INTERCEPT
from ..core.userwarn import warn
_DIVERGING_SCALED_COEF = 15.0  # |β_j| · sd(x_j): odds ratio of e^15 per SD


def column_sd(data) -> np.ndarray:
    """Standard deviation of each column (unweighted, over all rows), (d,)."""
    return data.column_sd()


def saturated_rows(objective, W) -> int:
    """Rows whose fitted probability of the observed class is within 1e-10 of 1
    (no pass when the kept curvature rules it out)."""
    return objective.data.count_saturated(W)


def _names(feature_names, idx):
    return ", ".join(repr(str(feature_names[j])) for j in idx[:5]) + (
        f" and {len(idx) - 5} more" if len(idx) > 5 else "")


def diverging_columns(W, sd, feature_names) -> list:
    """Columns whose coefficient, per standard deviation, is implausibly large."""
    d = sd.shape[0]
    scaled = np.max(np.abs(W[:d]), axis=1) * sd
    order = np.argsort(-scaled)
    return [feature_names[j] for j in order if scaled[j] > _DIVERGING_SCALED_COEF]


def aliased_columns(objective, w_full, feature_names, rtol=1e-10) -> list:
    """Names of the columns (or "(Intercept)") in the null space of the Hessian
    at the full coefficient vector ``w_full``."""
    _, _, H = objective.smooth(objective.restrict(w_full), grad=False, hess=True)
    vals, vecs = np.linalg.eigh(H)
    null = vecs[:, vals <= rtol * max(vals.max(initial=0.0), 1e-300)]
    if null.shape[1] == 0:
        return []
    layout = objective.layout
    involved = objective.free[np.max(np.abs(null), axis=1) > 1e-6] // layout.n_cols
    names = list(feature_names) + [INTERCEPT]
    return [names[j] for j in sorted(set(involved.tolist()))]


def explain_fit(objective, result, feature_names, n_saturated=None, separation=None) -> list:
    """Findings about a finished fit, as ``(warning_class, message)`` pairs.

    ``result.coef`` is the full coefficient vector (see ``Objective.expand``);
    the data are read (column SDs) only when rows are saturated or the fit did
    not converge."""
    findings = []
    layout = objective.layout
    W = layout.matrix(result.coef)
    sd = None
    causes = []
    diverged = "diverging" in result.flags or (
        result.history["objective"][-1] > result.history["objective"][0])
    if separation is not None and separation.separated:
        names = list(feature_names) + [INTERCEPT]
        signed = {}
        for i, sign in separation.infinite.items():
            signed.setdefault(names[i // layout.n_cols], set()).add(sign)
        driving = [f"{t!r} ({'+' if 1 in v else '-'}inf)" for t, v in signed.items()
                   if 0 not in v]
        loose = [repr(t) for t, v in signed.items() if 0 in v]
        text = (f", driven by {', '.join(driving)}" if driving else "") + (
            f"{';' if driving else ','} the estimates of {', '.join(loose)} are unbounded"
            f"{' too' if driving else ''}" if loose else "")
        findings.append((SeparationWarning,
            f"the data are (quasi-)completely separated (linear-programming check){text}: "
            "the maximum-likelihood estimate does not exist, so these finite values (and any "
            "standard errors) are meaningless. Use penalty='firth' (bias-reduced, finite "
            "estimates with valid intervals), an L2 penalty, or remove the separating terms."))
        causes.append("separation")
    elif separation is None and objective.alpha == 0.0 and not diverged and np.all(np.isfinite(W)):
        n_sat = saturated_rows(objective, W) if n_saturated is None else n_saturated
        sd = column_sd(objective.data) if n_sat else None
        big = diverging_columns(W, sd, feature_names) if n_sat else []
        if n_sat and (big or not result.converged):
            where = f" driven by {_names(big, list(range(len(big))))}" if big else ""
            msg = (f"fitted probabilities are numerically 0 or 1 for {n_sat} rows and the "
                   f"coefficients grow without bound{where}: the data are (quasi-)completely "
                   "separated, so the maximum-likelihood estimate does not exist and those "
                   "coefficients (and any standard errors) are meaningless. Add a penalty "
                   "(penalty='l2', alpha>0), or remove or merge the separating terms.")
            findings.append((SeparationWarning, msg))
            causes.append("separation")
    if "singular_hessian" in result.flags and objective.l2 == 0.0:
        aliased = aliased_columns(objective, result.coef, feature_names)
        if aliased:
            findings.append((CollinearityWarning,
                f"the columns {_names(aliased, list(range(len(aliased))))} are (nearly) linear combinations "
                "of each other (the Hessian is singular): their individual coefficients are "
                "not identifiable and only their combination is estimated; predictions are "
                "unaffected. Drop the redundant columns (e.g. one dummy per factor when "
                "there is an intercept) or add an L2 penalty."))
    if not result.converged:
        sd = column_sd(objective.data) if sd is None else sd
        if "singular_hessian" in result.flags:
            causes.append("collinearity: the Hessian is singular, so some columns are "
                          "linear combinations of others (e.g. a full set of dummies plus an "
                          "intercept); drop the redundant columns or add an L2 penalty")
        nonconst = sd[sd > 0]
        if nonconst.size >= 2 and nonconst.max() / nonconst.min() > 1e4:
            hi = int(np.argmax(np.where(sd > 0, sd, -np.inf)))
            lo = int(np.argmin(np.where(sd > 0, sd, np.inf)))
            causes.append(f"poor scaling: column {feature_names[hi]!r} has standard deviation "
                          f"{sd[hi]:.3g} but {feature_names[lo]!r} {sd[lo]:.3g}; standardize the "
                          "columns or use solver='newton'")
        if "diverging" in result.flags:
            causes.append("the learning rate is too large: the objective increased; use a "
                          "smaller learning_rate or learning_rate='auto'")
        if {"line_search_failed", "stalled"} & result.flags and not causes:
            causes.append("ill-conditioning: the objective stopped changing at rounding "
                          "level before the gradient reached tol (nearly collinear or poorly "
                          "scaled columns); use solver='newton', standardize, or loosen tol")
        if not causes:
            causes.append(f"too few iterations: the objective was still decreasing when "
                          f"max_iter={result.max_iter} was reached; raise max_iter or use "
                          "solver='newton'")
        hist = result.history["objective"]
        findings.append((ConvergenceWarning,
            f"solver {result.solver!r} did not converge in {result.n_iter} iterations: the "
            f"gradient max-norm is {result.grad_norm:.3g} > tol={result.tol:.3g} (objective "
            f"{hist[-1]:.10g}). Likely cause: {'; '.join(causes)}."))
    return findings


def warn_findings(findings) -> None:
    for category, message in findings:
        warn(message, bridged(category))
