"""The ``logitlab`` command line.

Commands print with rich on a terminal; errors are one line on stderr with a
non-zero exit code, never a traceback.
"""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="logitlab: logistic regression, done properly.")
console = Console()


@app.callback()
def _root() -> None:
    """logitlab: logistic regression, done properly."""


def _fmt(x: float, digits: int = 6) -> str:
    return f"{x:.{digits}g}" if np.isfinite(x) else str(x)


def coefficient_table(model, title: str) -> Table:
    """Coefficients and odds ratios of a binary model as a rich table."""
    names = getattr(model, "feature_names_in_", None)
    names = list(names) if names is not None else [f"x{j}" for j in range(model.coef_.shape[1])]
    table = Table(title=title)
    table.add_column("term")
    table.add_column("coef", justify="right")
    table.add_column("odds ratio e^coef", justify="right")
    rows = [("(intercept)", model.intercept_vs_reference_[0])]
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
    """A binary explanation: the terms, then logit → odds → probability."""
    table = Table(title=title)
    table.add_column("term")
    table.add_column("x", justify="right")
    table.add_column("coef × x", justify="right")
    col = expl.terms.columns[1]
    for name, row in expl.terms.iterrows():
        x = "" if np.isnan(row["value"]) else _fmt(row["value"])
        table.add_row(str(name), x, f"{row[col] + 0.0:+.6f}")
    table.add_section()
    table.add_row("logit (sum)", "", f"{expl.logits[0]:+.6f}")
    table.add_row("odds = e^logit", "", _fmt(expl.odds[0]))
    table.add_row(f"P({expl.logit_classes[0]}) = odds/(1+odds)", "", f"{expl.probabilities[1]:.6f}")
    table.add_row(f"decision (P > {expl.threshold})", "", str(expl.decision))
    return table


@app.command()
def demo() -> None:
    """Fit the bundled Titanic data (Survived ~ Class + Sex + Age, frequency weights)."""
    from .datasets import load_titanic, titanic_design
    from .estimator import LogisticRegression
    from .explain import explain_row

    df = load_titanic()
    X = titanic_design(df)
    console.print(f"[bold]Titanic[/bold]: {int(df['Freq'].sum())} people in {len(df)} cells "
                  "(R datasets::Titanic). Model: Survived ~ Class + Sex + Age, Freq as weights.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LogisticRegression().fit(X, df["Survived"], sample_weight=df["Freq"])
    for w in caught:
        console.print(f"[yellow]warning:[/yellow] {w.message}")
    n = float(df["Freq"].sum())
    console.print(coefficient_table(model, "Maximum-likelihood fit: log-odds of survival"))
    console.print(f"log-likelihood {-model.objective_ * n:.6f}   converged {model.converged_} "
                  f"in {model.n_iter_} iterations ({model.solver_})")
    console.print(history_table(model))
    row = int(np.flatnonzero((df["Class"] == "3rd") & (df["Sex"] == "Female")
                             & (df["Age"] == "Adult"))[0])
    expl = explain_row(model, X, row)
    console.print(explanation_table(expl, "One prediction explained: an adult woman in 3rd class"))


def main() -> None:
    """Entry point: run the app; bad input becomes a one-line error."""
    try:
        app()  # usage errors and Ctrl-C are handled by typer (exit 2 / 1)
    except (ValueError, TypeError, OSError) as err:
        Console(stderr=True).print(f"[red]error:[/red] {err}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
