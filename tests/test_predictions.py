"""Predictions with confidence intervals (``model.get_prediction``, ``predict --ci``).

References: R's ``predict.glm(se.fit=TRUE)`` and the sandwich package's robust and
cluster covariances (``tests/r/predictions.R`` → ``tests/data/predictions_r.json``);
statsmodels' ``GLM.get_prediction``; for softmax probabilities, the delta method with
a finite-difference Jacobian of the probabilities with respect to the coefficients.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import logitlab
from logitlab import LogisticRegression
from logitlab.results.inference import InferenceUnavailable

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "predictions_r.json").read_text())


@pytest.fixture(scope="module")
def birthwt():
    return pd.read_csv(DATA / "birthwt.csv")


def _new(ref):
    new = pd.DataFrame(ref["newdata"])
    new["race"] = new["race"].astype(int)
    return new


def _fit(df, **kw):
    return logitlab.fit(REF["formula"], df, **kw)


def test_link_and_response_se_match_r(birthwt):
    model = _fit(birthwt)
    np.testing.assert_allclose(model.params_.to_numpy(), REF["coef"], rtol=1e-8)
    out = model.get_prediction(_new(REF), level=0.95)
    np.testing.assert_allclose(out["logit"], REF["link_fit"], rtol=1e-8)
    np.testing.assert_allclose(out["logit_se"], REF["link_se"], rtol=1e-8)
    np.testing.assert_allclose(out["prob"], REF["response_fit"], rtol=1e-8)
    np.testing.assert_allclose(out["prob_se"], REF["response_se"], rtol=1e-8)
    q = stats.norm.ppf(0.975)
    se = np.asarray(REF["link_se"])
    fit = np.asarray(REF["link_fit"])
    np.testing.assert_allclose(out["prob_ci_low"], special.expit(fit - q * se), rtol=1e-8)
    np.testing.assert_allclose(out["prob_ci_high"], special.expit(fit + q * se), rtol=1e-8)
    assert np.all((out["prob_ci_low"] < out["prob"]) & (out["prob"] < out["prob_ci_high"]))


def test_training_rows_se_match_r(birthwt):
    out = _fit(birthwt).get_prediction(birthwt)
    np.testing.assert_allclose(out["logit_se"], REF["train_link_se"], rtol=1e-8)
    assert out.index.equals(birthwt.index)


@pytest.mark.parametrize("cov_type, key", [("HC0", "se_HC0"), ("HC1", "se_HC1"),
                                           ("cluster", "se_cluster")])
def test_robust_and_cluster_se_match_sandwich(birthwt, cov_type, key):
    groups = "ftv" if cov_type == "cluster" else None
    model = _fit(birthwt, cov_type=cov_type, groups=groups)
    out = model.get_prediction(_new(REF))
    np.testing.assert_allclose(out["logit_se"], REF[key], rtol=1e-7)


def test_level_and_statsmodels_glm(birthwt):
    import statsmodels.api as sm
    X = birthwt[["age", "lwt", "smoke"]].to_numpy(float)
    y = birthwt["low"].to_numpy()
    model = LogisticRegression().fit(X, y)
    sm_fit = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit(tol=1e-14)
    new = np.array([[20, 110, 1], [30, 180, 0], [40, 90, 1.0]])
    ref = sm_fit.get_prediction(sm.add_constant(new, has_constant="add")).summary_frame(alpha=0.1)
    out = model.get_prediction(new, level=0.9)
    np.testing.assert_allclose(out["prob"], ref["mean"], rtol=1e-8)
    np.testing.assert_allclose(out["prob_se"], ref["mean_se"], rtol=1e-6)
    np.testing.assert_allclose(out["prob_ci_low"], ref["mean_ci_lower"], rtol=1e-6)
    np.testing.assert_allclose(out["prob_ci_high"], ref["mean_ci_upper"], rtol=1e-6)


def test_offset_shifts_the_logit_not_its_se(birthwt):
    X = birthwt[["age", "lwt"]].to_numpy(float)
    off = np.linspace(-0.5, 0.5, X.shape[0])
    model = LogisticRegression().fit(X, birthwt["low"], offset=off)
    a = model.get_prediction(X[:5], offset=off[:5])
    b = model.get_prediction(X[:5])
    np.testing.assert_allclose(a["logit"] - b["logit"], off[:5], rtol=0, atol=1e-12)
    np.testing.assert_allclose(a["logit_se"], b["logit_se"], rtol=1e-14)


def _softmax_jacobian(model, X, eps=1e-6):
    """∂P/∂β (n, K, k) by central differences of predict_proba in the coefficients."""
    res = model.results_
    est = res.inference.estimated
    J = []
    for i in est:
        cols = []
        for sign in (1, -1):
            coef = res.coef.copy()
            coef[i] += sign * eps
            W = res.layout.matrix(coef)
            Z = res.family.linear_predictor(X, W)
            cols.append(special.softmax(Z, axis=1))
        J.append((cols[0] - cols[1]) / (2 * eps))
    return np.stack(J, axis=-1)


def test_multinomial_delta_method_against_finite_differences():
    rng = np.random.default_rng(17)
    X = rng.normal(size=(300, 2))
    Z = np.column_stack([np.zeros(300), 0.5 + X @ [1.0, -0.5], -0.3 + X @ [-0.7, 0.8]])
    y = np.array([rng.choice(3, p=p) for p in special.softmax(Z, axis=1)])
    model = LogisticRegression().fit(X, y)
    new = np.array([[0.0, 0.0], [1.0, -0.5], [-1.5, 2.0]])
    out = model.get_prediction(new, level=0.95)
    assert out.index.names == ["row", "class"]
    P = model.predict_proba(new)
    np.testing.assert_allclose(out["prob"].to_numpy().reshape(3, 3), P, rtol=1e-12)
    J = _softmax_jacobian(model, new)
    from logitlab.results.inference import covariance_matrix
    V = covariance_matrix(model.results_.inference)
    var = np.einsum("nkj,jl,nkl->nk", J, V, J)
    np.testing.assert_allclose(out["prob_se"].to_numpy().reshape(3, 3), np.sqrt(var), rtol=1e-6)
    # the interval on the logit(p_k) scale: se(logit p) = se(p) / (p (1 - p))
    se_eta = np.sqrt(var) / (P * (1 - P))
    q = stats.norm.ppf(0.975)
    eta = special.logit(P)
    np.testing.assert_allclose(out["prob_ci_low"].to_numpy().reshape(3, 3),
                               special.expit(eta - q * se_eta), rtol=1e-6)
    np.testing.assert_allclose(out["prob_ci_high"].to_numpy().reshape(3, 3),
                               special.expit(eta + q * se_eta), rtol=1e-6)
    # log relative risks against the reference class and their SEs (Wald of x̃ᵀβ_k)
    ref = model.results_.outcome.reference
    Z = model.decision_function(new)
    np.testing.assert_allclose(out["logit"].to_numpy().reshape(3, 3), Z - Z[:, [ref]], atol=1e-12)


def test_attributes_match_results_and_statsmodels(birthwt):
    import statsmodels.api as sm
    X = birthwt[["age", "lwt", "smoke"]]
    model = LogisticRegression().fit(X, birthwt["low"])
    sm_fit = sm.Logit(birthwt["low"], sm.add_constant(X)).fit(disp=0, tol=1e-14)
    order = ["(Intercept)", "age", "lwt", "smoke"]
    np.testing.assert_allclose(model.params_.loc[order], sm_fit.params, rtol=1e-8)
    np.testing.assert_allclose(model.bse_.loc[order], sm_fit.bse, rtol=1e-7)
    np.testing.assert_allclose(model.pvalues_.loc[order], sm_fit.pvalues, rtol=1e-6)
    np.testing.assert_allclose(model.cov_params().loc[order, order], sm_fit.cov_params(),
                               rtol=1e-7)


def test_penalized_fit_has_params_but_no_intervals(birthwt):
    X = birthwt[["age", "lwt"]].to_numpy(float)
    model = LogisticRegression(alpha=0.01).fit(X, birthwt["low"])
    np.testing.assert_allclose(model.params_.to_numpy(),
                               [model.intercept_[0], *model.coef_[0]], rtol=1e-15)
    with pytest.raises(InferenceUnavailable, match="penalized"):
        model.get_prediction(X[:3])
    with pytest.raises(InferenceUnavailable, match="penalized"):
        model.bse_


def test_unfitted_and_bad_level(birthwt):
    assert not hasattr(LogisticRegression(), "params_")
    model = _fit(birthwt)
    for bad in (0, 1, 95, "high"):
        with pytest.raises(ValueError, match="level must be"):
            model.get_prediction(birthwt.head(2), level=bad)


# ------------------------------------------------------------------ the CLI
def _invoke(*args):
    from typer.testing import CliRunner

    from logitlab.cli import app
    res = CliRunner().invoke(app, [str(a) for a in args])
    return res.exit_code, res.stdout, res.exception


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory, birthwt):
    path = tmp_path_factory.mktemp("pred") / "bw.json"
    logitlab.save(_fit(birthwt), path)
    return path


def test_cli_predict_ci_matches_r(saved_model, tmp_path):
    new = tmp_path / "new.csv"
    _new(REF).to_csv(new, index=False)
    code, out, exc = _invoke("predict", saved_model, new, "--ci", 0.95, "--json")
    assert code == 0, exc
    rows = json.loads(out)
    np.testing.assert_allclose([r["logit_se"] for r in rows], REF["link_se"], rtol=1e-8)
    np.testing.assert_allclose([r["prob_1_se"] for r in rows], REF["response_se"], rtol=1e-8)
    q = stats.norm.ppf(0.975)
    lo = special.expit(np.asarray(REF["link_fit"]) - q * np.asarray(REF["link_se"]))
    np.testing.assert_allclose([r["prob_1_ci_low"] for r in rows], lo, rtol=1e-8)


def test_cli_predict_ci_on_dask_equals_memory(saved_model, tmp_path, birthwt, client):
    data = tmp_path / "bw.parquet"
    birthwt.to_parquet(data)
    out = tmp_path / "preds.parquet"
    code, _, exc = _invoke("predict", saved_model, data, "--ci", 0.9, "--out", out,
                           "--dask", client.scheduler.address)
    assert code == 0, exc
    got = pd.read_parquet(out)
    ref = logitlab.load(saved_model).get_prediction(birthwt, level=0.9)
    np.testing.assert_allclose(got["prob_1_ci_high"], ref["prob_ci_high"], rtol=1e-12)
    np.testing.assert_allclose(got["logit_se"], ref["logit_se"], rtol=1e-12)


def test_cli_predict_bad_ci_is_a_clear_error(saved_model):
    code, _, exc = _invoke("predict", saved_model, DATA / "birthwt.csv", "--ci", 95)
    assert code != 0 and "level must be" in str(exc)


def test_dask_input_is_a_clear_error(birthwt):
    dd = pytest.importorskip("dask.dataframe")
    model = _fit(birthwt)
    with pytest.raises(TypeError, match="map_partitions"):
        model.get_prediction(dd.from_pandas(birthwt, npartitions=2))
    parts = dd.from_pandas(birthwt, npartitions=2)
    got = parts.map_partitions(model.get_prediction).compute()
    np.testing.assert_allclose(got["logit_se"], model.get_prediction(birthwt)["logit_se"],
                               rtol=1e-13)
