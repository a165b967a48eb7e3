"""The ``logitlab`` command line: fit, predict, explain, demo.

Tables go to stdout (rich on a terminal, plain when piped); warnings and the
per-iteration progress go to stderr (progress only on a terminal). Bad input
is one line ``error: ...`` on stderr with exit code 2 — never a traceback.
``--json`` prints one machine-readable JSON document on stdout (schema in
docs/contracts/json.md: the summary of :mod:`logitlab.results.summary`, or
predictions/explanations).
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from enum import Enum
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer
from rich.markup import escape as rich_escape
from rich.table import Table

from .mixed import (is_mixed_fit, is_mixed_model, mixed_fit_params, mixed_offset,
                    mixed_prediction_table, refuse_mixed)
from .output import check_out_file, console, emit_warnings as _emit_warnings, err_console

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="logitlab: logistic regression, done properly.")


class Penalty(str, Enum):
    none = "none"
    l2 = "l2"
    l1 = "l1"
    elasticnet = "elasticnet"
    firth = "firth"


class Missing(str, Enum):
    raise_ = "raise"
    drop = "drop"


class CI(str, Enum):
    wald = "wald"
    profile = "profile"


class Family(str, Enum):
    logit = "logit"
    ordinal = "ordinal"
    conditional = "conditional"
    mixed = "mixed"


#: the solvers of logitlab.solvers.SOLVERS (kept here so that --help imports no solver)
SOLVER_CHOICES = ("auto", "newton", "lbfgs", "newton-cg", "trust-ncg", "cd", "gd", "firth")


class OnceCommand(typer.core.TyperCommand):
    """A command whose single-valued options may be given once: a repeated
    ``--formula`` is an error, not a silent "last one wins"."""

    def parse_args(self, ctx, args):
        try:
            _, _, order = self.make_parser(ctx).parse_args(args=list(args))
        except Exception:        # a usage error: the real parse below reports it
            order = []
        seen = {}
        for param in order:
            if getattr(param, "param_type_name", "") == "option" and not param.multiple \
                    and not getattr(param, "count", False) and not param.is_flag:
                seen[param.name] = seen.get(param.name, 0) + 1
                if seen[param.name] == 2:
                    flag = max(param.opts, key=len)
                    raise ValueError(f"{flag} is given more than once; give it once.")
        return super().parse_args(ctx, args)


@app.callback()
def _root(ctx: typer.Context) -> None:
    """logitlab: logistic regression, done properly."""
    from ..data.io import cli_wording   # here, not at import: --help loads no data stack
    ctx.with_resource(cli_wording())   # messages name options as --flags


def _fmt(x: float, digits: int = 6) -> str:
    return f"{x:.{digits}g}" if np.isfinite(x) else str(x)


def _print_json(doc) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, np.generic):
        value = value.item()
        return None if isinstance(value, float) and not math.isfinite(value) else value
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


# ----------------------------------------------------------------- tables
def coefficient_table(model, title: str) -> Table:
    """Coefficients and odds ratios of a binary model as a rich table."""
    names = getattr(model, "feature_names_in_", None)
    names = list(names) if names is not None else [f"x{j}" for j in range(model.coef_.shape[1])]
    table = Table(title=title)
    table.add_column("term")
    table.add_column("coef", justify="right")
    table.add_column("odds ratio e^coef", justify="right")
    rows = [("(Intercept)", model.intercept_vs_reference_[0])]
    rows += list(zip(names, model.coef_vs_reference_[0]))
    for name, value in rows:
        table.add_row(str(name), f"{value:+.6f}", _fmt(math.exp(value)))
    return table


def history_table(model, every: int = 1) -> Table:
    """The objective (mean log loss) and gradient norm per iteration."""
    table = Table(title=f"Convergence of solver '{model.solver_}'")
    table.add_column("iteration", justify="right")
    table.add_column("objective (mean log loss, nats)", justify="right")
    table.add_column("max |gradient|", justify="right")
    hist = model.history_
    for i in range(0, len(hist["objective"]), every):
        table.add_row(str(i), f"{hist['objective'][i]:.12f}", f"{hist['grad_norm'][i]:.3e}")
    return table


def explanation_table(expl, title: str) -> Table:
    """An explanation: the terms per class, then logit → odds → probability."""
    table = Table(title=title)
    table.add_column("term")
    table.add_column("x", justify="right")
    cols = list(expl.terms.columns[1:])
    binary = len(cols) == 1
    for c in cols:
        table.add_column("coef × x" if binary else f"{c}: coef × x", justify="right")
    for name, row in expl.terms.iterrows():
        x = "" if np.isnan(row["value"]) else _fmt(row["value"])
        table.add_row(str(name), x, *[f"{row[c] + 0.0:+.6f}" for c in cols])
    table.add_section()
    table.add_row("logit (sum)", "", *[f"{z:+.6f}" for z in expl.logits])
    if binary:
        table.add_row("odds = e^logit", "", _fmt(expl.odds[0]))
        table.add_row(f"P({expl.logit_classes[0]}) = odds/(1+odds)", "", f"{expl.probabilities[1]:.6f}")
        table.add_row(f"decision (P > {expl.threshold})", "", str(expl.decision))
    else:
        table.add_row("softmax: P(class)", "", *[f"{p:.6f}" for p in expl.probabilities])
        table.add_row("decision (argmax)", "", *[str(expl.decision) if k == int(np.argmax(
            expl.probabilities)) else "" for k in range(len(cols))])
    return table


def explanation_dict(expl, row: int) -> dict:
    """An explanation as plain values (the ``explain --json`` document)."""
    cols = list(expl.terms.columns[1:])
    terms = [{"name": str(name), "value": None if np.isnan(r["value"]) else float(r["value"]),
              "contribution": {c: float(r[c]) for c in cols}}
             for name, r in expl.terms.iterrows()]
    return {"row": row, "terms": terms,
            "logits": {c: float(z) for c, z in zip(cols, expl.logits)},
            "odds": {c: _finite(o) for c, o in zip(cols, expl.odds)},
            "probabilities": {str(c): float(p) for c, p in zip(expl.classes, expl.probabilities)},
            "decision": _json_default(expl.decision) if isinstance(expl.decision, np.generic)
            else expl.decision,
            "threshold": expl.threshold if len(cols) == 1 else None}


def _finite(x):
    return float(x) if math.isfinite(x) else None


# ----------------------------------------------------------------- commands
_NA_HELP = ("A text that means missing in a CSV/TSV file; repeat for several (--na-values NA "
            "--na-values None). Default: the empty field and NA, as R's read.csv.")
_SEP_HELP = "Delimiter of a CSV/TSV file (one character; '\\t' for a tab). Default: by extension."


@app.command(cls=OnceCommand)
def fit(
    data: Path = typer.Argument(..., help="CSV, TSV or Parquet file."),
    formula: Optional[str] = typer.Option(None, "--formula", "-f",
                                          help='R-style formula, e.g. "low ~ age + C(race)".'),
    target: Optional[str] = typer.Option(None, "--target", "-t",
                                         help="Outcome column; all other columns are predictors."),
    penalty: Penalty = typer.Option(Penalty.l2, show_default="no penalty; l2 if --alpha > 0",
                                    help="l2, l1 or elasticnet: active only when --alpha > 0; "
                                    "firth: bias-reduced, no --alpha; none: no penalty."),
    alpha: float = typer.Option(0.0, help="Penalty strength; 0 = maximum likelihood."),
    l1_ratio: Optional[float] = typer.Option(None, help="Elastic-net mix (penalty elasticnet)."),
    solver: str = typer.Option("auto", help=", ".join(SOLVER_CHOICES) + "."),
    tol: Optional[float] = typer.Option(None, help="Gradient tolerance (default per solver)."),
    max_iter: Optional[int] = typer.Option(None, help="Iteration limit (default per solver)."),
    class_weight: Optional[str] = typer.Option(None, help="balanced, or label=weight pairs "
                                               "such as 0=1,1=5 (labels as in the data)."),
    reference_class: Optional[str] = typer.Option(None, help="Baseline class of the outcome."),
    weights: Optional[str] = typer.Option(None, help="Column of sample (frequency) weights."),
    offset: Optional[str] = typer.Option(None, help="Column added to the logit (binary)."),
    missing: Missing = typer.Option(Missing.raise_, help="raise: error on missing values; "
                                    "drop: drop incomplete rows and say how many."),
    na_values: Optional[List[str]] = typer.Option(None, "--na-values", help=_NA_HELP),
    sep: Optional[str] = typer.Option(None, "--sep", help=_SEP_HELP),
    cov_type: str = typer.Option("nonrobust", help="nonrobust, HC0, HC1 or cluster."),
    groups: Optional[str] = typer.Option(None, help="Cluster column for --cov-type cluster."),
    level: float = typer.Option(0.95, help="Confidence level of the intervals."),
    ci: Optional[CI] = typer.Option(None, help="Interval method: wald or profile (likelihood); "
                                    "default profile for --penalty firth (with penalized LR "
                                    "p-values, as logistf), else wald."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", "--save",
                                       help="Save the model (JSON model file)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    dask: Optional[str] = typer.Option(None, "--dask", help="Fit on Dask: a scheduler "
                                       "address (tcp://host:8786) or 'local' (a LocalCluster); "
                                       "DATA may then be a Parquet directory or glob."),
    family: Family = typer.Option(Family.logit, help="logit: binary or multinomial by the "
                                  "number of classes; ordinal: proportional odds for ordered "
                                  "levels (thresholds, logit P(y <= k) = zeta_k - x'beta); "
                                  "conditional: matched strata (clogit; needs --strata); "
                                  "mixed: random effects, lme4's glmer (also chosen by a "
                                  "'(... | group)' term in --formula)."),
    strata: Optional[str] = typer.Option(None, help="--family conditional: the stratum "
                                         "column (or + strata(col) in the formula)."),
    method: Optional[str] = typer.Option(None, help="--family conditional: exact (default), "
                                         "breslow or efron."),
    levels: Optional[str] = typer.Option(None, help="--family ordinal: the levels from lowest "
                                         "to highest, comma-separated (e.g. low,mid,high); "
                                         "needed for text labels."),
    nominal: Optional[str] = typer.Option(None, help="--family ordinal: formula terms whose "
                                          "effect differs by threshold (partial proportional "
                                          "odds), comma-separated."),
    nagq: Optional[int] = typer.Option(None, "--nagq", help="Mixed-effects models: 1 = the "
                                       "Laplace approximation (default), N > 1 = adaptive "
                                       "Gauss-Hermite quadrature with N nodes (one random "
                                       "intercept only), as glmer's nAGQ."),
) -> None:
    """Fit a logistic regression to a data file and print its summary."""
    if out is not None:
        check_out_file(out, "model.json")
    model, summary, caught = fit_model(**locals(), mixed_ok=True)
    _emit_warnings(caught)
    if out is not None:
        from ..persist.model_file import save
        save(model, out)
    mixed = is_mixed_model(model)
    if as_json:
        doc = summary.to_dict()
        formula_, dropped = ((model.results_.formula, model.results_.n_dropped) if mixed
                             else (model.design_.formula, model.design_.n_dropped))
        doc.update(formula=formula_, n_dropped=int(dropped),
                   model_file=None if out is None else str(out))
        _print_json(doc)
        return
    if mixed:       # glmer's fixed-width layout, as it is
        sys.stdout.write(str(summary) + "\n")
    else:
        console.print(summary)
    if out is not None:
        console.print(f"model saved to {out}")


def fit_model(data, formula, target, penalty, alpha, l1_ratio, solver, tol, max_iter,
              class_weight, reference_class, weights, offset, missing, cov_type, groups, level,
              ci, na_values=None, sep=None, out=None, as_json=False, dask=None,
              family=None, levels=None, nominal=None, strata=None, method=None, nagq=None,
              mixed_ok=False):
    """The fit command's work without output: options → (model, summary, caught warnings).
    Shared with ``logitlab report`` (:mod:`logitlab.cli.report`); ``mixed_ok``: a
    mixed-effects model may be fitted (the fit command's display handles it)."""
    from ..estimators.formula_fit import fit as fit_formula

    if (formula is None) == (target is None):
        raise ValueError("give exactly one of --formula 'y ~ x1 + x2' or --target y.")
    if not 0 < level < 1:
        raise ValueError(f"--level must be between 0 and 1; got {level}.")
    if is_mixed_fit(formula, family):
        if not mixed_ok:
            raise ValueError("mixed-effects models (a formula with '(… | g)' terms, or --family "
                             "mixed) are fitted by 'logitlab fit'; this command does not "
                             "support them yet.")
        params = mixed_fit_params(
            formula=formula, target=target, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio,
            solver=solver, tol=tol, max_iter=max_iter, class_weight=class_weight,
            reference_class=reference_class, cov_type=cov_type, groups=groups, dask=dask,
            levels=levels, nominal=nominal, strata=strata, method=method, nagq=nagq,
            as_json=as_json)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = fit_formula(formula, data, family="mixed", missing=missing.value,
                                sample_weight=weights, offset=offset,
                                na_values=na_values or None, sep=sep, **params)
            summary = model.summary(level=level, ci="wald" if ci is None else ci.value)
        return model, summary, caught
    if nagq is not None:
        raise ValueError("--nagq is an option of mixed-effects models (a formula with "
                         "'(… | g)' terms); this model has no random effects.")
    spec = formula if formula is not None else f"{_quote(target)} ~ ."
    params = dict(penalty=None if penalty == Penalty.none else penalty.value, alpha=alpha,
                  l1_ratio=l1_ratio, solver=solver, tol=tol, max_iter=max_iter,
                  class_weight=parse_class_weight(class_weight), cov_type=cov_type,
                  # progress on stderr, one line per iteration, only when interactive
                  # (logitlab.core.progress); none with --json
                  verbose=0 if as_json else 2)
    if reference_class is not None:
        params["reference_class"] = _label(reference_class)
    if family is not None and family.value == "ordinal":
        params = _ordinal_params(params, levels, nominal)
    elif levels is not None or nominal is not None:
        raise ValueError("--levels and --nominal are options of --family ordinal; add "
                         "--family ordinal.")
    if family is not None and family.value == "conditional":
        params = _conditional_params(params, method)
        groups = strata if strata is not None else groups
    elif strata is not None or method is not None:
        raise ValueError("--strata and --method are options of --family conditional; add "
                         "--family conditional.")
    client = None
    if dask is not None:
        from ..engines.dask.client import connect
        client = connect(dask)  # becomes the current client for the fit
        params["engine"] = "dask"
        data = str(data)        # a glob or directory is read by Dask
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = fit_formula(spec, data, missing=missing.value, sample_weight=weights,
                                offset=offset, groups=groups, na_values=na_values or None,
                                sep=sep, **params)
            summary = model.summary(level=level, ci=None if ci is None else ci.value)
            model.verbose = 0   # the command's display, not the saved model's
        finally:
            if client is not None and dask != "local":
                client.close()  # our connection only; the cluster keeps running
    return model, summary, caught


def _conditional_params(params: dict, method) -> dict:
    """The estimator parameters of a conditional logit fit; options that do not
    apply are an error naming them."""
    unused = [f"--{name.replace('_', '-')}" for name in ("l1_ratio", "class_weight",
                                                          "reference_class")
              if params.get(name) is not None]
    if params.get("cov_type", "nonrobust") != "nonrobust":
        unused.append("--cov-type")
    if unused:
        raise ValueError(f"{', '.join(unused)} do not apply to --family conditional.")
    keep = {k: params[k] for k in ("penalty", "alpha", "solver", "tol", "max_iter", "verbose")}
    return {**keep, "method": method or "exact", "family": "conditional"}


def _ordinal_params(params: dict, levels, nominal=None) -> dict:
    """The estimator parameters of an ordinal fit (``OrderedLogisticRegression``):
    the options it shares, ``levels`` parsed from ``--levels``; options that do not
    apply are an error naming them."""
    unused = [f"--{name.replace('_', '-')}" for name in ("l1_ratio", "class_weight",
                                                          "reference_class")
              if params.get(name) is not None]
    if unused:
        raise ValueError(f"{', '.join(unused)} do not apply to --family ordinal (its levels "
                         "are ordered and share every slope).")
    keep = {k: params[k] for k in ("penalty", "alpha", "solver", "tol", "max_iter", "cov_type",
                                   "verbose")}
    if levels is not None:
        keep["levels"] = [_label(v.strip()) for v in levels.split(",")]
    if nominal is not None:
        from ..data.formula import split_top_level
        keep["nominal"] = [t.strip() for t in split_top_level(nominal, ",")]
    return {**keep, "family": "ordinal"}


def _conditional_predictions(model, df, X, strata, id_column, ci):
    """A conditional logit's predict table: ``eta``, ``prob`` (the probability that the
    row is its stratum's case) and ``predicted`` (the most probable row of each stratum)."""
    import pandas as pd
    if strata is None or strata not in df.columns:
        raise ValueError("a conditional logit predicts within strata: give --strata COLUMN "
                         f"(a column of the data; its columns are "
                         f"{', '.join(map(repr, map(str, df.columns)))}).")
    if ci is not None:
        raise ValueError("--ci is not available for conditional logit predictions.")
    st = df[strata].to_numpy()
    out = pd.DataFrame(index=df.index)
    if id_column is not None:
        out[id_column] = df[id_column].to_numpy()
    out["predicted"] = model.predict(X, strata=st)
    out["prob"] = model.predict_proba(X, strata=st)
    out["eta"] = model.decision_function(X)
    return out


def parse_class_weight(text: Optional[str]):
    """``--class-weight``: None, ``"balanced"``, or ``"0=1,1=5"`` -> ``{0: 1.0, 1: 5.0}``
    (labels read as ``--reference-class`` reads them: numbers when they read as one)."""
    if text is None or text == "balanced":
        return text
    usage = (f"--class-weight must be 'balanced' or label=weight pairs such as '0=1,1=5'; "
             f"got {text!r}")
    mapping = {}
    for entry in text.split(","):
        label, eq, weight = entry.partition("=")
        if not eq or not label.strip():
            raise ValueError(f"{usage}: the entry {entry.strip()!r} is not label=weight.")
        try:
            value = float(weight)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{usage}: the weight {weight.strip()!r} of {label.strip()!r} is "
                             "not a finite number >= 0.")
        key = _label(label.strip())
        if key in mapping:
            raise ValueError(f"{usage}: the label {label.strip()!r} is given twice.")
        mapping[key] = value
    return mapping


def _quote(name: str) -> str:
    return name if name.isidentifier() else f"`{name}`"


def _label(text: str):
    """A class label typed on the command line: a number when it reads as one."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(text, text)


def _load(model_path: Path, data: Path, na_values=None, sep=None):
    from ..data.io import read_table
    from ..persist.model_file import load
    model = load(model_path)
    return model, read_table(data, na_values=na_values or None, sep=sep)


@app.command(cls=OnceCommand)
def predict(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="Model file from 'fit --out'."),
    data: Path = typer.Argument(..., help="CSV, TSV or Parquet file with the predictors."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write predictions (CSV)."),
    id_column: Optional[str] = typer.Option(None, "--id", help="Column to copy to the output."),
    as_json: bool = typer.Option(False, "--json", help="Print predictions as JSON records."),
    dask: Optional[str] = typer.Option(None, "--dask", help="Predict on Dask: a scheduler "
                                       "address or 'local'; DATA may be a Parquet directory "
                                       "or glob; --out (a Parquet dataset) is required."),
    na_values: Optional[List[str]] = typer.Option(None, "--na-values", help=_NA_HELP),
    sep: Optional[str] = typer.Option(None, "--sep", help=_SEP_HELP),
    ci: Optional[float] = typer.Option(None, "--ci", metavar="LEVEL", help="Add standard "
                                       "errors and confidence intervals of the probabilities "
                                       "at this level (e.g. 0.95): columns prob_<class>_se, "
                                       "_ci_low, _ci_high (and logit_se for binary models)."),
    strata: Optional[str] = typer.Option(None, help="A conditional logit's stratum column: "
                                         "the probabilities are within strata."),
    kind: Optional[str] = typer.Option(None, "--kind", help="Mixed-effects models: "
                                       "conditional (given the random effects of each row's "
                                       "groups; default), population (random effects 0) or "
                                       "marginal (averaged over the random effects)."),
    offset: Optional[str] = typer.Option(None, "--offset", help="Mixed-effects models: the "
                                         "column added to the logit (as in fitting)."),
) -> None:
    """Predict probabilities, labels and logits for every row of a data file.

    Columns (CSV and --json records alike): the --id column, ``predicted``,
    ``prob_<class>`` per class, ``logit`` (binary) or ``logit_<class>``; with
    --ci also ``logit_se`` (binary) and ``prob_<class>_se``, ``prob_<class>_ci_low``,
    ``prob_<class>_ci_high`` (binary: for the second class), intervals computed on
    the logit scale with the fit's covariance (logitlab.results.predictions).
    A mixed-effects model: ``predicted``, ``prob_<class>``, ``logit`` (not for
    --kind marginal), of the --kind of prediction."""
    from ..results.predictions import check_level, prediction_table
    if ci is not None:
        check_level(ci)
    if dask is not None:
        return _predict_dask(model_path, str(data), out, id_column, as_json, dask,
                             na_values, sep, ci)
    if out is not None:
        check_out_file(out, "predictions.csv")
    model, df = _load(model_path, data, na_values, sep)
    if id_column is not None and id_column not in df.columns:
        raise ValueError(f"--id column {id_column!r} is not in the data; its columns are "
                         f"{', '.join(map(repr, map(str, df.columns)))}.")
    off = mixed_offset(model, df, offset)
    if kind is not None and not is_mixed_model(model):
        raise ValueError("--kind is for mixed-effects models; this model is not one.")
    X = df if getattr(model, "design_", None) is not None else df[list(model.feature_names_in_)]
    if is_mixed_model(model):
        if ci is not None or strata is not None:
            raise ValueError(f"{'--ci' if ci is not None else '--strata'} is not available "
                             "for mixed-effects models' predictions.")
        result = mixed_prediction_table(model, df, None if id_column is None else
                                        df[id_column].to_numpy(), id_column,
                                        kind or "conditional", off)
    elif hasattr(model, "predict_risk"):               # a conditional logit: within strata
        result = _conditional_predictions(model, df, X, strata, id_column, ci)
    else:
        if strata is not None:
            raise ValueError("--strata is for conditional logit models; this one is not.")
        result = prediction_table(model, X, None if id_column is None else
                                  df[id_column].to_numpy(), id_column, df.index, level=ci)
    if out is not None:
        result.to_csv(out, index=False)
        if not as_json:
            console.print(f"{len(result)} predictions written to {out}")
    if as_json:
        _print_json(json.loads(result.to_json(orient="records", double_precision=15)))
    elif out is None:
        sys.stdout.write(result.to_csv(index=False))


def _predict_dask(model_path, data, out, id_column, as_json, address, na_values=None,
                  sep=None, ci=None) -> None:
    """``predict --dask``: the prediction table of every partition, written by the
    workers as a Parquet dataset (a directory of part files); no row comes here."""
    from ..engines.dask.input import read_path
    import functools

    from ..engines.dask.predict import table
    from ..results.predictions import prediction_table
    from ..engines.dask.client import connect
    from ..persist.model_file import load
    if out is None or as_json:
        raise ValueError("with --dask the predictions are written by the workers: give --out "
                         "preds.parquet (a Parquet dataset) and no --json.")
    if out.suffix.lower() in (".csv", ".tsv", ".json"):
        raise ValueError(f"with --dask, --out is written as a Parquet dataset (a directory); "
                         f"got {str(out)!r}: give e.g. preds.parquet.")
    model = load(model_path)
    refuse_mixed(model, "predict --dask")
    client = connect(address)
    try:
        if ci is not None:
            from ..results.inference import require_inference
            require_inference(model)       # before any partition is read
        result = table(model, read_path(data, na_values=na_values or None, sep=sep),
                       functools.partial(prediction_table, level=ci), id_column,
                       inference=ci is not None)
        result.to_parquet(str(out), write_index=False)
        n_parts = result.npartitions
    finally:
        if address != "local":
            client.close()  # our connection only; the cluster keeps running
    console.print(f"predictions written to {out} ({n_parts} partitions)")


@app.command(cls=OnceCommand)
def explain(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="Model file from 'fit --out'."),
    data: Path = typer.Argument(..., help="CSV, TSV or Parquet file with the predictors."),
    row: int = typer.Option(..., "--row", "-r", help="Row to explain (0-based)."),
    as_json: bool = typer.Option(False, "--json", help="Print the worked steps as JSON."),
    na_values: Optional[List[str]] = typer.Option(None, "--na-values", help=_NA_HELP),
    sep: Optional[str] = typer.Option(None, "--sep", help=_SEP_HELP),
    offset: Optional[str] = typer.Option(None, "--offset", help="Mixed-effects models: the "
                                         "column added to the logit (as in fitting)."),
) -> None:
    """Explain one prediction: contributions → logit → odds → probability."""
    from ..results.explain import explain_row
    model, df = _load(model_path, data, na_values, sep)
    if not 0 <= row < len(df):
        raise ValueError(f"--row {row} is out of range: the data have {len(df)} rows (0 to {len(df) - 1}).")
    off = mixed_offset(model, df, offset)
    if is_mixed_model(model):      # fixed part + the row's random effects → logit → probability
        expl = model.explain(df, row, offset=off)
        if as_json:
            _print_json(explanation_dict(expl, row))
        else:
            console.print(explanation_table(expl, f"Row {row} explained"))
        return
    X = df if getattr(model, "design_", None) is not None else df[list(model.feature_names_in_)]
    if hasattr(model, "predict_risk"):
        raise ValueError("explain is not available for conditional logit models: a row's "
                         "probability depends on the other rows of its stratum (use predict "
                         "--strata).")
    if hasattr(model, "thresholds_"):               # ordinal: η → cumulative logits → levels
        expl = model.explain(X.iloc[[row]], 0)
        expl.row = row
        if as_json:
            _print_json(expl.to_dict())
        else:
            console.print(str(expl), highlight=False)
        return
    expl = explain_row(model, X.iloc[[row]], 0)
    if as_json:
        _print_json(explanation_dict(expl, row))
        return
    console.print(explanation_table(expl, f"Row {row} explained"))


@app.command(cls=OnceCommand)
def demo(
    report: Path = typer.Option(Path("demo-report.html"), "--report",
                                help="Where to write the demo's HTML report."),
    no_report: bool = typer.Option(False, "--no-report", help="Print only; write no report."),
) -> None:
    """Fit the bundled Titanic data (Survived ~ Class + Sex + Age, frequency weights)."""
    from ..datasets import load_titanic, titanic_design
    from ..estimators.logistic import LogisticRegression
    from ..results.explain import explain_row

    df = load_titanic()
    X = titanic_design(df)
    console.print(f"[bold]Titanic[/bold]: {int(df['Freq'].sum())} people in {len(df)} cells "
                  "(R datasets::Titanic). Model: Survived ~ Class + Sex + Age, Freq as weights.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LogisticRegression().fit(X, df["Survived"], sample_weight=df["Freq"])
    _emit_warnings(caught)
    n = float(df["Freq"].sum())
    console.print(coefficient_table(model, "Maximum-likelihood fit: log-odds of survival"))
    console.print(f"log-likelihood {-model.objective_ * n:.6f}   converged {model.converged_} "
                  f"in {model.n_iter_} iterations ({model.solver_})")
    console.print(model.summary())
    console.print(history_table(model))
    row = int(np.flatnonzero((df["Class"] == "3rd") & (df["Sex"] == "Female")
                             & (df["Age"] == "Adult"))[0])
    expl = explain_row(model, X, row)
    console.print(explanation_table(expl, "One prediction explained: an adult woman in 3rd class"))
    if not no_report:
        from .report import demo_report
        console.print(f"report written to {demo_report(report)}: open it in a web browser")


@app.command("compile", cls=OnceCommand)
def compile_command() -> None:
    """Compile and cache the kernels of common fits, so no later fit waits for the compiler."""
    from ..core import fused
    from ..estimators.warmup import compile_kernels

    total = 0.0
    for label, seconds in compile_kernels():
        total += seconds
        console.print(f"{label}: {seconds:.1f} s", highlight=False)
    cache = fused.dense_binary.stats.cache_path
    console.print(f"compiled in {total:.1f} s; cache: {cache or 'none (compiled in memory)'}",
                  highlight=False)


# ----------------------------------------------------------------- report (logitlab.cli.report)
from .report import register_report  # noqa: E402
register_report(app, fit, fit_model, OnceCommand)
from .anova import register_anova  # noqa: E402
register_anova(app, fit, fit_model, OnceCommand)
from .diagnostics import register_diagnostics  # noqa: E402
register_diagnostics(app, OnceCommand)
from .margins import register_margins  # noqa: E402
register_margins(app, OnceCommand)


def main() -> None:
    """Entry point: run the app; bad input (and what a model does not offer) becomes a
    one-line error."""
    try:
        app()  # usage errors and Ctrl-C are handled by typer (exit 2 / 1)
    except (ValueError, TypeError, OSError, KeyError, NotImplementedError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        err_console.print(f"[red]error:[/red] {rich_escape(message)}", highlight=False,
                          soft_wrap=True)   # one line, however long
        sys.exit(2)

