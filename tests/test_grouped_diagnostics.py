"""Residuals and influence of grouped binomial fits equal R's grouped glm.

Reference: ``tests/r/grouped.R`` → ``tests/data/grouped_residuals.json``: R's
``residuals(fit, type)`` (deviance, pearson, response, working), ``hatvalues``,
``cooks.distance`` and ``rstandard`` of ``glm(cbind(s, f) ~ ..., binomial)`` fits and
of a proportion fit with the trials as weights (R's influence measures cover the rows
of non-zero prior weight: ``rows``, 1-based).
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import logitlab

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "grouped_residuals.json").read_text())
FITS = {
    "esoph": ("grouped_esoph.csv", "cbind(ncases, ncontrols) ~ agegp + tobgp + alcgp", {}),
    "menarche": ("grouped_menarche.csv", "cbind(Menarche, Total - Menarche) ~ Age", {}),
    "esoph_prop": ("grouped_esoph.csv", "prop ~ agegp + alcgp", {"sample_weight": "total"}),
    "budworm": ("grouped_budworm.csv", "cbind(numdead, numalive) ~ sex * ldose",
                {"sample_weight": "w"}),
}


def _fit(name):
    file, formula, kw = FITS[name]
    df = pd.read_csv(DATA / file)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return logitlab.fit(formula, df, **kw), df


@pytest.mark.parametrize("name", list(FITS))
def test_residuals_match_r(name):
    model, _ = _fit(name)
    ref = REF[name]
    rows = np.asarray(ref["rows"]) - 1
    for ours, theirs in [("deviance", "deviance"), ("pearson", "pearson"),
                         ("response", "response"), ("working", "working")]:
        got = np.asarray(model.residuals(type=ours))
        want = np.asarray(ref[theirs], dtype=float)
        np.testing.assert_allclose(got[rows], want[rows], rtol=1e-8, atol=1e-12, err_msg=ours)
    for ours, theirs in [("standardized_deviance", "rstandard_deviance"),
                         ("standardized_pearson", "rstandard_pearson")]:
        got = np.asarray(model.residuals(type=ours))[rows]
        np.testing.assert_allclose(got, ref[theirs], rtol=1e-8, atol=1e-12, err_msg=ours)
    table = model.influence()
    np.testing.assert_allclose(table["hat"].to_numpy()[rows], ref["hatvalues"], rtol=1e-8)
    np.testing.assert_allclose(table["cooks_d"].to_numpy()[rows], ref["cooks_distance"],
                               rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(model.predict_proba(_fit(name)[1])[:, 1], ref["fitted"],
                               rtol=1e-10)


def test_cli_diagnostics_reads_the_cbind_response(tmp_path):
    from typer.testing import CliRunner

    from logitlab.cli import app
    model, _ = _fit("esoph")
    path = tmp_path / "esoph.json"
    logitlab.save(model, path)
    res = CliRunner().invoke(app, ["diagnostics", str(path), str(DATA / "grouped_esoph.csv"),
                                   "--json"])
    assert res.exit_code == 0, res.exception
    doc = json.loads(res.stdout.strip().splitlines()[-1])
    ref = REF["esoph"]
    rows = np.asarray(ref["rows"]) - 1
    hat = np.array([r["hat"] for r in doc["influence"]])
    np.testing.assert_allclose(hat[rows], ref["hatvalues"], rtol=1e-8)


@pytest.mark.slow
def test_report_of_a_cbind_model_has_diagnostics_and_weighted_metrics():
    from logitlab.report.html import prepare, render_report
    model, df = _fit("esoph")
    page = render_report(model, df)
    assert "Diagnostics are not available" not in page and "id='diagnostics'" in page
    rd = prepare(model, df).bernoulli()
    # the 0/1 view: each group's successes and failures, weighted by their counts
    assert rd.w.sum() == pytest.approx(df["total"].sum(), rel=1e-12)
    assert rd.w[rd.y == 1].sum() == pytest.approx(df["ncases"].sum(), rel=1e-12)
    from logitlab.evaluation.metrics import evaluate
    got = evaluate(rd.y, model.predict_proba(rd.X)[:, 1], sample_weight=rd.w)
    p = model.predict_proba(df)[:, 1]
    s, f = df["ncases"].to_numpy(float), df["ncontrols"].to_numpy(float)
    log_loss = -(s * np.log(p) + f * np.log(1 - p)).sum() / (s + f).sum()
    assert got["log_loss"] == pytest.approx(log_loss, rel=1e-12)
