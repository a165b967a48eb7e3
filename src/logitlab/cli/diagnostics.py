"""The ``logitlab diagnostics`` command: residuals, influence and goodness of fit
of a saved binary model on a data file.

``logitlab diagnostics MODEL DATA [--target y] [--weights w] [--offset o] [--groups 10]
[--out influence.csv] [--json]``

The outcome is the formula's response (``--target`` for models fitted on columns);
``--weights`` and ``--offset`` name the columns the fit used, if any. It prints
the goodness-of-fit tests and the rows R's ``influence.measures`` flags; ``--out``
writes the per-row table of :func:`logitlab.results.influence.influence_measures`
(CSV, one row per data row, with a first column ``row``, 0-based).

``--json`` prints one document::

    {"n_rows": int, "n_influential": int,
     "goodness_of_fit": {"hosmer_lemeshow": GofTest, "le_cessie_van_houwelingen": GofTest,
                         "pearson": GofTest, "deviance": GofTest},
     "influence": [{"row": int, "hat": float, "residual": float, "pearson": float,
                    "std_deviance": float, "std_pearson": float, "studentized": float,
                    "cooks_d": float, "dfbeta_<term>": float, ..., "dfbetas_<term>": float,
                    ..., "dffit": float, "cov_ratio": float, "sigma": float,
                    "inf_dfbetas_<term>": bool, ..., "inf_dffit": bool,
                    "inf_cov_ratio": bool, "inf_cooks_d": bool, "inf_hat": bool,
                    "influential": bool}, ...]}

with ``GofTest = {"name": str, "statistic": float, "df": float | null, "p_value":
float, "details": {str: float}, "table": [{"group": str, "n": float, "observed_1":
float, "expected_1": float, "observed_0": float, "expected_0": float}, ...]}``
(``table`` for Hosmer–Lemeshow only; ``df`` null for the normal le Cessie–van
Houwelingen test; ``pearson`` and ``deviance`` null when there are no more covariate
patterns than coefficients). Non-finite numbers are null. :func:`register_diagnostics` is
called by :mod:`logitlab.cli.main` with its app.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer


def _native(value):
    """A Python bool / int / float of a NumPy scalar (full precision)."""
    return value.item() if hasattr(value, "item") else value


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def run_diagnostics(model_path: Path, data: Path, target, weights, offset, groups: int,
                    out: Optional[Path], as_json: bool, na_values=None, sep=None) -> None:
    """Load, diagnose, print (see the module docstring)."""
    from ..data.io import read_table
    from ..persist.model_file import load
    from .output import check_out_file, console, emit_warnings
    if out is not None:
        check_out_file(out, "influence.csv")
    model = load(model_path)
    from .mixed import refuse_mixed
    refuse_mixed(model, "diagnostics")
    df = read_table(data, na_values=na_values or None, sep=sep)
    design = getattr(model, "design_", None)
    from ..data.binomial import cbind_response
    counts = (cbind_response(design.response, df) if target is None and design is not None
              else None)
    target = target or (design.response if design is not None and counts is None else None)
    if target is None and counts is None:
        raise ValueError("give --target, the outcome column (the model has no formula that "
                         "names its response).")
    for what, col in (("--target", target), ("--weights", weights), ("--offset", offset)):
        if col is not None and col not in df.columns:
            raise ValueError(f"{what} column {col!r} is not in the data; its columns are "
                             f"{', '.join(map(repr, map(str, df.columns)))}.")
    if model.classes_.size != 2:
        raise ValueError(f"diagnostics are for binary models; this model has "
                         f"{model.classes_.size} classes.")
    X = df if design is not None else df[list(model.feature_names_in_)]
    w = None if weights is None else df[weights].to_numpy(float)
    if counts is not None:                 # cbind(s, f): proportions with the trials as weights
        trials = counts.successes + counts.failures
        y = counts.successes / np.where(trials > 0, trials, 1.0)
        w = trials if w is None else trials * w
    else:
        y = df[target].to_numpy()
    rows = {"X": X, "y": y, "sample_weight": w,
            "offset": None if offset is None else df[offset].to_numpy(float)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = model.influence(**rows)
        tests = model.goodness_of_fit(**rows, g=groups)
    table.insert(0, "row", range(len(table)))
    if out is not None:
        table.to_csv(out, index=False)
    if as_json:
        emit_warnings(caught)
        doc = {"n_rows": len(table), "n_influential": int(table["influential"].sum()),
               "goodness_of_fit": {k: None if v is None else v.to_dict()
                                   for k, v in tests.items()},
               "influence": [{k: _native(v) for k, v in r.items()}
                             for r in table.to_dict(orient="records")]}
        sys.stdout.write(json.dumps(_finite(doc), allow_nan=False) + "\n")
        return
    emit_warnings(caught)
    _print(console, model, table, tests, out)


def _print(console, model, table, tests, out) -> None:
    from rich.table import Table
    gof = Table(title="Goodness of fit")
    for col in ("test", "statistic", "df", "p-value"):
        gof.add_column(col, justify="left" if col == "test" else "right")
    for t in filter(None, tests.values()):
        gof.add_row(t.name, f"{t.statistic:.6g}", "–" if t.df is None else f"{t.df:g}",
                    f"{t.p_value:.4g}")
    console.print(gof)
    flagged = table[table["influential"]].sort_values("cooks_d", ascending=False)
    rows = Table(title=f"Influential rows (influence.measures): {len(flagged)} of {len(table)}")
    for col in ("row", "hat", "std Pearson", "Cook's D", "DFFIT"):
        rows.add_column(col, justify="right")
    for _, r in flagged.head(20).iterrows():
        rows.add_row(str(int(r["row"])), f"{r['hat']:.4g}", f"{r['std_pearson']:.4g}",
                     f"{r['cooks_d']:.4g}", f"{r['dffit']:.4g}")
    console.print(rows)
    if out is not None:
        console.print(f"per-row measures written to {out}")


def register_diagnostics(app, command_class=None) -> None:
    """Add the ``diagnostics`` command to ``app``."""

    def diagnostics(
        model_path: Path = typer.Argument(..., metavar="MODEL",
                                          help="Model file from 'fit --out' (binary)."),
        data: Path = typer.Argument(..., help="CSV, TSV or Parquet file with the rows and "
                                    "their outcomes."),
        target: Optional[str] = typer.Option(None, "--target", "-y", help="Outcome column "
                                             "(default: the formula's response)."),
        weights: Optional[str] = typer.Option(None, "--weights", "-w",
                                              help="Sample-weight column the fit used."),
        offset: Optional[str] = typer.Option(None, "--offset", help="Offset column the fit "
                                             "used."),
        groups: int = typer.Option(10, "--groups", "-g", help="Hosmer–Lemeshow groups."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the per-row "
                                           "measures (CSV)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document (schema "
                                     "in logitlab.cli.diagnostics)."),
        na_values: Optional[List[str]] = typer.Option(None, "--na-values",
                                                      help="Missing-value markers."),
        sep: Optional[str] = typer.Option(None, "--sep", help="Field separator."),
    ) -> None:
        """Residuals, influence (R's influence.measures) and goodness of fit (Hosmer–Lemeshow,
        le Cessie–van Houwelingen, grouped Pearson and deviance) of a saved binary model.

        --json prints {"n_rows", "n_influential", "goodness_of_fit": {name: {"name",
        "statistic", "df", "p_value", "details", "table"}}, "influence": [per-row records:
        "row", "hat", "residual", "pearson", "std_deviance", "std_pearson", "studentized",
        "cooks_d", "dfbeta_<term>", "dfbetas_<term>", "dffit", "cov_ratio", "sigma", the
        "inf_*" flags and "influential"]}; non-finite numbers are null."""
        run_diagnostics(model_path, data, target, weights, offset, groups, out, as_json,
                        na_values, sep)

    app.command("diagnostics", cls=command_class)(diagnostics)
