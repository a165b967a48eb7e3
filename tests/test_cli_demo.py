"""The demo command end to end: it runs, and prints the published Titanic fit."""

import subprocess
import sys

import numpy as np
import pandas as pd
import statsmodels.api as sm


def _run(*args):
    return subprocess.run([sys.executable, "-m", "logitlab.cli", *args],
                          capture_output=True, text=True, timeout=120)


def test_demo_prints_the_published_titanic_fit():
    out = _run("demo")
    assert out.returncode == 0, out.stderr
    # R datasets::Titanic, Survived ~ Class + Sex + Age with Freq weights (tests/data/README.md)
    for term, coef in [("Class2nd", -1.018095), ("SexMale", -2.420060), ("AgeAdult", -1.061542)]:
        line = next(l for l in out.stdout.splitlines() if term in l)
        assert f"{coef:+.6f}" in line
    assert "log-likelihood -1105.030553" in out.stdout


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


def test_demo_labels_the_intercept_as_r_does_in_every_table():
    out = _run("demo", "--no-report")
    assert out.returncode == 0, out.stderr
    assert "(intercept)" not in out.stdout
    # coefficients, summary and the explained prediction: R's "(Intercept)" each time
    assert sum("(Intercept)" in line for line in out.stdout.splitlines()) == 3


def test_readme_tour_shows_what_the_code_gives():
    import ast
    import re
    from pathlib import Path
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    block = readme.split("## A short tour", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(compile(block, "README tour", "exec"), namespace)
    model, df = namespace["model"], namespace["df"]
    claim = re.search(r"model\.converged_, model\.n_iter_, model\.solver_ +# (.+)", block)
    assert ast.literal_eval(f"({claim.group(1)})") == (model.converged_, model.n_iter_,
                                                      model.solver_)
    # R: logLik(glm(Survived ~ Class + Sex + Age, binomial, weights = Freq)) (README)
    loglik = re.search(r"log-likelihood: (-[\d.]+) \(R: (-[\d.]+)\)", block)
    assert float(loglik.group(1)) == float(loglik.group(2))
    assert f"{-model.objective_ * df['Freq'].sum():.6f}" == loglik.group(2)


def test_readme_worked_analysis_runs_and_quotes_the_code():
    """The README's worked analysis runs as printed, and the numbers it quotes are
    the code's (each is checked against R in its own test module)."""
    import warnings
    from pathlib import Path
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    part = readme.split("## After the fit: a worked analysis", 1)[1].split("## Command line", 1)[0]
    blocks = [b.split("```", 1)[0] for b in part.split("```python")[1:]]
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for block in blocks:
            exec(compile(block, "README worked analysis", "exec"), namespace)
        model = namespace["model"]
        assert round(model.anova().loc["C(race)", "LR Chisq"], 2) == 6.53
        wald = model.wald_test(terms=["C(race)"])
        assert (round(wald["statistic"], 2), wald["df"], round(wald["p_value"], 3)) == (6.23, 2, 0.044)
        gof = model.goodness_of_fit()
    hl = gof["hosmer_lemeshow"]
    assert (round(hl.statistic, 2), hl.df, round(hl.p_value, 2)) == (7.83, 8, 0.45)
    assert round(gof["le_cessie_van_houwelingen"].p_value, 2) == 0.33
    res = namespace["grouped"].results_
    assert (round(res.deviance, 3), round(res.aic, 3), res.nobs) == (82.337, 221.392, 88)
    np.testing.assert_allclose(namespace["same"].coef_, namespace["grouped"].coef_, rtol=1e-10)
