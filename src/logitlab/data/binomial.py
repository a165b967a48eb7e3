"""Grouped binomial responses: R's two ways of giving counts of successes.

* ``cbind(successes, failures) ~ x`` in a formula (:func:`parse_cbind`,
  :func:`cbind_response`): each row is a group of ``n_i = successes + failures``
  trials; the expressions inside ``cbind`` may be column names or arithmetic on
  columns (``cbind(dead, total - dead)``), as in R;
* ``fit(X, y=proportion, sample_weight=trials)``: ``y`` in [0, 1] with some
  values strictly between 0 and 1, the weights being the numbers of trials (as
  R's ``glm(prop ~ x, weights = n, family = binomial)``).

Either way the fit is the binary logit with fractional labels
``y_i = successes_i / n_i`` in [0, 1] and prior weights ``s_i`` (``n_i`` times
the user's weights for ``cbind``, the given weights for proportions): the
binomial log-likelihood is, up to a constant,
``Σ s_i (y_i log p_i + (1 − y_i) log(1 − p_i))``, which every kernel computes as
``−Σ s_i nll_i`` with ``nll = log(1 + e^z) − y z``. The classes are 0/1
(``classes_ = [0, 1]``, ``predict_proba[:, 1]`` the success probability).

:func:`binomial_target` checks the response and returns a
:class:`BinomialTarget`, whose record (:meth:`BinomialTarget.record`) holds
what R's statistics of the grouped fit need besides that sum:

* ``n_groups``: rows of non-zero weight (R's ``nobs``: BIC, residual df, the
  small-sample factors of sandwich covariances); ``n_trials``: ``Σ s``;
* ``log_choose = Σ (s_i/m_i) log C(round(m_i), round(m_i y_i))``, the
  constant of R's ``binomial()$aic`` (``m = n`` for ``cbind`` when some
  ``n > 1``, else the weights), so that ``logLik = −Σ s nll + log_choose``;
* ``loglik_saturated = Σ s_i [y_i log y_i + (1 − y_i) log(1 − y_i)]``, so that
  the deviance is ``2 (loglik_saturated + Σ s nll)`` (R's ``deviance``).

Groups with zero trials are kept with weight 0, as R keeps them (their
proportion is set to 0): they count in no sum and not in ``n_groups``.

On Dask the record is a sum over partitions (:func:`grouped_sums` per
partition, :func:`combine_sums` on the client), as
:mod:`logitlab.engines.dask.input` does.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np
from ..core.lazy import is_pandas, pandas as pd
from scipy import special

from ..core.userwarn import warn
from .formula import (PLACEHOLDER, QUOTED_NAME, FormulaError, check_expression, formula_context,
                      parse_cbind)
from .validation import check_sample_weight, proportions_without_trials

#: counts further than this from an integer are "non-integer" (R's tolerance)
INTEGER_TOL = 1e-3


class NonIntegerCountsWarning(UserWarning):
    """Binomial counts that are not whole numbers (R: "non-integer #successes")."""


@dataclass
class GroupedResponse:
    """Counts of successes and failures per row: a formula's ``cbind(s, f)``.

    successes, failures : (n,) float64, non-negative
    name : the response as written (``"cbind(ncases, ncontrols)"``)
    """

    successes: np.ndarray
    failures: np.ndarray
    name: str = "cbind(successes, failures)"

    def __len__(self) -> int:
        return int(np.asarray(self.successes).shape[0])

    def take(self, rows) -> "GroupedResponse":
        """The groups at the positions ``rows``."""
        return GroupedResponse(np.asarray(self.successes)[rows],
                               np.asarray(self.failures)[rows], self.name)


@dataclass
class BinomialTarget:
    """A checked grouped binomial response (see the module docstring).

    y : (n,) float64 proportions in [0, 1]; s : (n,) float64 prior weights
    n_groups, log_choose, loglik_saturated : the statistics' record
    form : "cbind" or "proportion"
    """

    y: np.ndarray
    s: np.ndarray
    n_groups: int
    log_choose: float
    loglik_saturated: float
    form: str

    def record(self) -> dict:
        """The JSON-safe record the inference state keeps (``InferenceState.grouped``)."""
        return {"form": self.form, "n_groups": int(self.n_groups),
                "n_trials": float(np.sum(self.s)),
                "log_choose": float(self.log_choose),
                "loglik_saturated": float(self.loglik_saturated)}


# ------------------------------------------------------------ the formula side
def expression_columns(expr: str, columns) -> list[str]:
    """The column names an expression of ``cbind`` uses, in order of appearance
    (backticked names included); a name that is no column is a ``FormulaError``."""
    check_expression(expr)
    quoted, code = _unquote(expr)
    tree = ast.parse(code.strip(), mode="eval")
    funcs = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    attrs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in funcs and id(node) not in attrs:
            name = quoted.get(node.id, node.id)
            if name not in names:
                names.append(name)
    cols = set(map(str, columns))
    absent = [n for n in names if n not in cols]
    if absent:
        raise FormulaError(f"cbind(...) uses {', '.join(map(repr, absent))}, which "
                           f"{'is not a column' if len(absent) == 1 else 'are not columns'} "
                           f"of the data; its columns are {', '.join(map(repr, map(str, columns)))}.")
    return names


def _unquote(expr: str):
    quoted = {}

    def sub(m):
        key = PLACEHOLDER.format(len(quoted))
        quoted[key] = m.group(1)
        return key
    return quoted, QUOTED_NAME.sub(sub, expr)


def evaluate_count(expr: str, df: pd.DataFrame) -> np.ndarray:
    """One ``cbind`` argument evaluated on the data frame: (n,) float64.

    Only what :func:`logitlab.data.formula.check_expression` admits (names,
    numbers, arithmetic, the numpy functions) is evaluated."""
    names = expression_columns(expr, df.columns)
    quoted, code = _unquote(expr)
    back = {v: k for k, v in quoted.items()}
    env = dict(formula_context())
    for name in names:
        col = df[name]
        if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            raise TypeError(f"cbind(...) needs numeric counts, but column {name!r} holds "
                            f"{col.dtype} values; convert it to numbers first.")
        env[back.get(name, name)] = col.to_numpy(dtype=np.float64)
    try:
        with np.errstate(all="ignore"):
            value = eval(compile(ast.parse(code.strip(), mode="eval"), "<cbind>", "eval"),
                         {"__builtins__": {}}, env)
    except Exception as err:   # arithmetic on columns: report what failed, not where
        raise FormulaError(f"cannot evaluate {expr!r} in cbind(...): {err}") from None
    value = np.broadcast_to(np.asarray(value, dtype=np.float64), (len(df),)).copy()
    return value


def cbind_response(lhs: str, df: pd.DataFrame) -> GroupedResponse | None:
    """The :class:`GroupedResponse` of a ``cbind(s, f)`` left side evaluated on
    ``df``, or None when ``lhs`` is not a ``cbind`` call."""
    parts = parse_cbind(lhs)
    if parts is None:
        return None
    s, f = (evaluate_count(p, df) for p in parts)
    return GroupedResponse(s, f, name=lhs.strip())


def cbind_columns(lhs: str, columns) -> list[str] | None:
    """The data columns a ``cbind`` response uses (None: not a ``cbind``)."""
    parts = parse_cbind(lhs)
    if parts is None:
        return None
    out = []
    for p in parts:
        out += [c for c in expression_columns(p, columns) if c not in out]
    return out


# ----------------------------------------------------------------- the checks
def _first(mask) -> int:
    return int(np.flatnonzero(mask)[0])


def _check_counts(values, what: str) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"{what} contains NaN or inf in {int(bad.sum())} rows (first row "
                         f"{_first(bad)}); drop those rows first.")
    neg = values < 0
    if neg.any():
        i = _first(neg)
        raise ValueError(f"{what} must be non-negative counts; {int(neg.sum())} rows are "
                         f"negative (first row {i}: {values[i]:g}).")


def _warn_non_integer(counts, what: str) -> None:
    off = np.abs(counts - np.round(counts)) > INTEGER_TOL
    if off.any():
        i = _first(off)
        warn(f"non-integer {what} in a binomial fit ({int(off.sum())} rows, first row {i}: "
             f"{counts[i]:g}), as R warns 'non-integer #successes in a binomial glm!'; the "
             "fit uses them as they are, the log-likelihood and AIC round them (R's dbinom).",
             NonIntegerCountsWarning)


def is_proportion(y) -> bool:
    """Whether ``y`` is a numeric target with some value strictly between 0 and 1
    (a proportion, or a continuous target) rather than class labels."""
    arr = np.asarray(y)
    if arr.dtype.kind != "f" or arr.ndim != 1 or arr.size == 0:
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.any((arr > 0) & (arr < 1)))


def _log_choose(m, y, factor) -> float:
    """``Σ factor · log C(round(m), round(m y))`` (R's dbinom constant)."""
    n, k = np.round(m), np.round(m * y)
    terms = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    return float(np.sum(np.where(m > 0, factor * terms, 0.0)))


def _saturated(y, s) -> float:
    return float(np.sum(s * (special.xlogy(y, y) + special.xlogy(1 - y, 1 - y))))


def grouped_sums(y, s, trials=None) -> dict:
    """One part's additive sums for the record of a grouped response (the Dask
    engine adds them over partitions, :func:`combine_sums` makes the record).

    y : (n,) proportions in [0, 1]; s : (n,) prior weights; trials : (n,) the
    ``successes + failures`` of a ``cbind`` response, or None for proportions."""
    y, s = np.asarray(y, dtype=np.float64), np.asarray(s, dtype=np.float64)
    live = s > 0
    y0 = np.where(live, y, 0.0)
    out = {"n_groups": int(np.count_nonzero(live)), "n_trials": float(np.sum(s)),
           "successes": float(np.dot(s, y0)),
           "rows": [int(np.count_nonzero(live & (y0 < 1))), int(np.count_nonzero(live & (y0 > 0)))],
           "loglik_saturated": _saturated(y0, s),
           "log_choose_weights": _log_choose(s, y0, np.ones_like(s)), "max_trials": 0.0,
           "log_choose_trials": 0.0}
    if trials is not None:
        n = np.asarray(trials, dtype=np.float64)
        out["log_choose_trials"] = _log_choose(n, y0, np.divide(s, n, out=np.zeros_like(s),
                                                                where=n > 0))
        out["max_trials"] = float(n.max(initial=0.0))
    return out


def combine_sums(parts, form: str) -> dict:
    """The record (see :meth:`BinomialTarget.record`) from :func:`grouped_sums` of
    the parts. R's rule for the binomial coefficients: ``m = n`` (the trials)
    for ``cbind`` when some ``n > 1``, else the weights."""
    total = lambda key: sum(p[key] for p in parts)  # noqa: E731
    by_trials = form == "cbind" and max(p["max_trials"] for p in parts) > 1
    return {"form": form, "n_groups": int(total("n_groups")), "n_trials": float(total("n_trials")),
            "log_choose": float(total("log_choose_trials" if by_trials else "log_choose_weights")),
            "loglik_saturated": float(total("loglik_saturated"))}


def binomial_target(y, sample_weight, n_rows: int) -> BinomialTarget | None:
    """The checked grouped response of ``y`` (and ``sample_weight``), or None when
    ``y`` holds class labels (the ordinary path).

    * a :class:`GroupedResponse` (``cbind``): ``y = s / (s + f)`` (0 for zero
      trials), weights ``(s + f)`` times ``sample_weight``;
    * numeric ``y`` with values strictly between 0 and 1: proportions, which
      need ``sample_weight`` (the trials) and must lie in [0, 1].

    Raises ``ValueError`` for negative or non-finite counts, proportions outside
    [0, 1] and proportions without trials; warns
    (:class:`NonIntegerCountsWarning`) for non-integer numbers of successes.
    """
    if isinstance(y, GroupedResponse):
        succ = np.asarray(y.successes, dtype=np.float64)
        fail = np.asarray(y.failures, dtype=np.float64)
        if succ.shape != (n_rows,) or fail.shape != (n_rows,):
            raise ValueError(f"{y.name} has {succ.shape[0]} rows but X has {n_rows}; they "
                             "must match.")
        _check_counts(succ, f"the successes of {y.name}")
        _check_counts(fail, f"the failures of {y.name}")
        _warn_non_integer(np.concatenate([succ, fail]), "counts (#successes or #failures)")
        trials = succ + fail
        if not np.any(trials > 0):
            raise ValueError(f"{y.name} has zero trials in every row; at least one group "
                             "needs a success or a failure.")
        prop = np.divide(succ, trials, out=np.zeros(n_rows), where=trials > 0)
        user = (np.ones(n_rows) if sample_weight is None
                else np.asarray(check_sample_weight(sample_weight, n_rows), dtype=np.float64))
        s = check_sample_weight(trials * user, n_rows)
        return _target(prop, s, "cbind", trials)
    if is_pandas(y, "Series", "Index"):
        if not pd.api.types.is_float_dtype(y.dtype):
            return None
        y = y.to_numpy(dtype=np.float64, na_value=np.nan)
    arr = np.asarray(y)
    if arr.dtype.kind != "f" or arr.ndim != 1 or arr.shape[0] != n_rows:
        return None
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all() or not is_proportion(arr):
        return None
    frac = np.flatnonzero((arr > 0) & (arr < 1))
    i = int(frac[0])
    outside = (arr < 0) | (arr > 1)
    if outside.any() and sample_weight is None:
        return None                 # a continuous outcome: check_target says so
    if outside.any():
        j = _first(outside)
        raise ValueError(f"y holds proportions (e.g. {arr[i]:g} in row {i}) but {int(outside.sum())} "
                         f"values lie outside [0, 1] (first row {j}: {arr[j]:g}); with the trials "
                         "as sample_weight, y must be the proportion of successes / trials "
                         "(or class labels, e.g. 0/1).")
    if sample_weight is None:
        raise ValueError(proportions_without_trials(arr[i], i))
    s = check_sample_weight(sample_weight, n_rows)
    s = np.array(s, dtype=np.float64)
    y01 = np.where(s > 0, arr, 0.0)               # R: y[weights == 0] <- 0
    _warn_non_integer(s * y01, "#successes (y * sample_weight)")
    return _target(y01, s, "proportion")


def _target(y, s, form, trials=None) -> BinomialTarget:
    rec = combine_sums([grouped_sums(y, s, trials)], form)
    return BinomialTarget(y, s, rec["n_groups"], rec["log_choose"], rec["loglik_saturated"], form)


__all__ = ["grouped_sums", "combine_sums", "GroupedResponse", "BinomialTarget",
           "NonIntegerCountsWarning", "binomial_target", "parse_cbind", "cbind_response",
           "cbind_columns", "is_proportion"]
