"""The demo command end to end: it runs, and prints the published Titanic fit."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm


def _run(*args):
    return subprocess.run([sys.executable, "-m", "logitlab.cli", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_demo_prints_the_published_titanic_fit():
    out = _run("demo")
    assert out.returncode == 0, out.stderr
    # R datasets::Titanic, Survived ~ Class + Sex + Age with Freq weights (tests/data/README.md)
    for term, coef in [("Class2nd", -1.018095), ("SexMale", -2.420060), ("AgeAdult", -1.061542)]:
        line = next(l for l in out.stdout.splitlines() if term in l)
        assert f"{coef:+.6f}" in line
    assert "log-likelihood -1105.030553" in out.stdout


@pytest.mark.slow
def test_demo_explained_probability_matches_statsmodels():
    df = pd.read_csv("tests/data/titanic_table.csv")
    X = pd.get_dummies(df[["Class", "Sex", "Age"]], drop_first=True).astype(float)
    fit = sm.GLM((df["Survived"] == "Yes").astype(float), sm.add_constant(X),
                 family=sm.families.Binomial(), freq_weights=df["Freq"]).fit()
    row = np.flatnonzero((df["Class"] == "3rd") & (df["Sex"] == "Female") & (df["Age"] == "Adult"))[0]
    p = float(np.asarray(fit.fittedvalues)[row])
    out = _run("demo")
    line = next(l for l in out.stdout.splitlines() if "P(Yes)" in l)
    assert f"{p:.6f}" in line


def test_unknown_command_is_a_one_line_usage_error():
    out = _run("nosuch")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "No such command" in out.stderr


@pytest.mark.slow
def test_demo_labels_the_intercept_as_r_does_in_every_table():
    out = _run("demo", "--no-report")
    assert out.returncode == 0, out.stderr
    assert "(intercept)" not in out.stdout
    # coefficients, summary and the explained prediction: R's "(Intercept)" each time
    assert sum("(Intercept)" in line for line in out.stdout.splitlines()) == 3


