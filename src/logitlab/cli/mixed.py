"""Mixed-effects logits on the command line (``fit`` with a ``(… | g)`` term, ``predict``, ``explain``).

``logitlab fit data.csv --formula "y ~ x + (1 | g)"`` (a bar term selects the
mixed model; ``--family mixed`` too) fits :class:`logitlab.MixedLogisticRegression`
and prints glmer's summary; ``--json`` its document (``"model": "mixed"``, see
docs/contracts/json.md); ``--nagq N`` adaptive Gauss–Hermite quadrature;
``--ci profile`` profile-likelihood intervals. Options of the other models are
an error naming them. ``predict`` and ``explain`` of a saved mixed model take
``--kind`` (conditional, population, marginal) and ``--offset COLUMN``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["is_mixed_fit", "mixed_fit_params", "is_mixed_model", "refuse_mixed",
           "mixed_prediction_table", "mixed_offset", "KINDS"]

#: ``predict --kind``
KINDS = ("conditional", "population", "marginal")


def is_mixed_fit(formula, family) -> bool:
    """Whether ``fit`` options select the mixed model: ``--family mixed``, or a
    formula with a bar term and no other family."""
    from ..estimators.mixed_data import has_bars
    name = getattr(family, "value", family)
    return name == "mixed" or (name in (None, "logit") and isinstance(formula, str)
                               and has_bars(formula))


def mixed_fit_params(*, formula, target, penalty, alpha, l1_ratio, solver, tol, max_iter,
                     class_weight, reference_class, cov_type, groups, dask, levels, nominal,
                     strata, method, nagq, as_json) -> dict:
    """The ``MixedLogisticRegression`` parameters of the ``fit`` options; options
    that do not apply to mixed models are a ``ValueError`` naming them."""
    if formula is None:
        raise ValueError(f"a mixed-effects model needs --formula with its random effects, e.g. "
                         f"--formula \"{target or 'y'} ~ x + (1 | group)\" (not --target).")
    unused = [flag for flag, given in (
        ("--penalty", getattr(penalty, "value", penalty) not in ("l2", "none", None)),
        ("--alpha", alpha != 0), ("--l1-ratio", l1_ratio is not None),
        ("--solver", solver != "auto"), ("--tol", tol is not None),
        ("--class-weight", class_weight is not None),
        ("--reference-class", reference_class is not None),
        ("--cov-type", cov_type != "nonrobust"), ("--groups", groups is not None),
        ("--dask", dask is not None), ("--levels", levels is not None),
        ("--nominal", nominal is not None), ("--strata", strata is not None),
        ("--method", method is not None)) if given]
    if unused:
        raise ValueError(f"{', '.join(unused)} {'does' if len(unused) == 1 else 'do'} not apply "
                         "to mixed-effects models (a formula with '(… | g)' terms, or --family "
                         "mixed); their options are --nagq, --max-iter, --weights, --offset, "
                         "--missing, --level and --ci.")
    params = {"verbose": 0}
    if nagq is not None:
        params["n_agq"] = nagq
    if max_iter is not None:
        params["max_iter"] = max_iter
    return params


def is_mixed_model(model) -> bool:
    return type(model).__name__ == "MixedLogisticRegression"


def refuse_mixed(model, command: str) -> None:
    """``command`` does not handle mixed-effects models: a clear error."""
    if is_mixed_model(model):
        raise ValueError(f"'logitlab {command}' is not available for mixed-effects models; use "
                         "'logitlab fit' (summary, --json), 'predict' and 'explain'.")


def mixed_offset(model, df, offset):
    """The ``--offset`` column's values (n,), or None; refused for other models."""
    if offset is None:
        return None
    if not is_mixed_model(model):
        raise ValueError("--offset is for mixed-effects models; this model is not one.")
    if offset not in df.columns:
        raise ValueError(f"--offset column {offset!r} is not in the data; its columns are "
                         f"{', '.join(map(repr, map(str, df.columns)))}.")
    return df[offset].to_numpy(np.float64)


def mixed_prediction_table(model, df, ids, id_column, kind: str, offset):
    """The ``predict`` table of a mixed model: ``id_column``, ``predicted``,
    ``prob_<class>`` per class, and ``logit`` (for ``kind`` conditional and
    population; a marginal probability has no single logit)."""
    import pandas as pd
    if kind not in KINDS:
        raise ValueError(f"--kind must be one of {', '.join(KINDS)}; got {kind!r}.")
    p = model.predict_event_proba(df, offset=offset, kind=kind)
    out = pd.DataFrame(index=df.index)
    if id_column is not None:
        out[id_column] = ids
    out["predicted"] = model.classes_[(p > 0.5).astype(int)]
    out[f"prob_{model.classes_[0]}"] = 1.0 - p
    out[f"prob_{model.classes_[1]}"] = p
    if kind != "marginal":
        out["logit"] = model.decision_function(df, offset=offset, kind=kind)
    return out
