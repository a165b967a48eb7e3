"""Grouped binomial responses against R's grouped fits.

References: ``tests/r/grouped.R`` (R's ``glm(..., family = binomial)`` fitted
tightly and refitted from its own estimate; brglm2 for Firth) wrote
``tests/data/grouped_fits.json`` from the data in ``tests/data/grouped_*.csv``.
Closed forms: the frequency-weighted Bernoulli expansion of the groups has the
same coefficients, and its log-likelihood differs from the grouped one by
exactly ``Σ log C(n_i, successes_i)``.
"""

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

import logitlab
from logitlab import LogisticRegression
from logitlab.data.binomial import NonIntegerCountsWarning
from logitlab.data.formula import FormulaError

DATA = Path(__file__).parent / "data"
R = json.loads((DATA / "grouped_fits.json").read_text())
RESIDUALS = json.loads((DATA / "grouped_residuals.json").read_text())
RTOL = 1e-8


def frame(name):
    return pd.read_csv(DATA / f"grouped_{name}.csv")


def r_name(label: str) -> str:
    """logitlab's column name as R names it: ``agegp[T.35-44]`` -> ``agegp35-44``."""
    return label.replace("[T.", "").replace("]", "")


def fits():
    """(R key, fitted model) for each grouped fit of the R script."""
    es, mn, bw = frame("esoph"), frame("menarche"), frame("budworm")
    levels = '["0-39g/day", "40-79", "80-119", "120+"]'
    return {
        "esoph": logitlab.fit("cbind(ncases, ncontrols) ~ agegp + tobgp + alcgp", es),
        "menarche": logitlab.fit("cbind(Menarche, Total - Menarche) ~ Age", mn),
        "esoph_prop": logitlab.fit(f"prop ~ agegp + C(alcgp, levels={levels})", es,
                                   sample_weight="total"),
        "budworm": logitlab.fit("cbind(numdead, numalive) ~ sex * ldose", bw,
                                sample_weight="w"),
    }


@pytest.fixture(scope="module")
def models():
    return fits()


def r_vector(model, values: dict) -> np.ndarray:
    """R's named values in the order of the model's terms (names matched)."""
    labels = [r_name(re.sub(r"C\((\w+), [^)]*\]\)", r"\1", str(t)))
              for t in model.results_.params.index]
    assert sorted(labels) == sorted(values), (labels, list(values))
    return np.array([values[name] for name in labels])


@pytest.mark.parametrize("key", ["esoph", "menarche", "esoph_prop", "budworm"])
def test_coefficients_and_standard_errors_match_r(models, key):
    model, ref = models[key], R[key]
    assert ref["converged"]
    np.testing.assert_allclose(model.results_.params.to_numpy(),
                               r_vector(model, ref["coefficients"]), rtol=RTOL)
    np.testing.assert_allclose(model.results_.bse.to_numpy(), r_vector(model, ref["se"]),
                               rtol=RTOL)


def r_bic(key) -> float:
    """``−2 logLik + k log nobs`` with R's ``nobs`` (groups of non-zero weight).
    R's ``BIC()`` itself takes n from ``logLik.glm``'s "nobs" attribute, which
    counts zero-weight rows too: it differs on budworm (13 rows, 12 groups)."""
    ref, n_rows = R[key], len(RESIDUALS[key]["prior_weights"])
    k = len(ref["coefficients"])
    bic = -2 * ref["logLik"] + k * np.log(ref["nobs"])
    np.testing.assert_allclose(bic + k * np.log(n_rows / ref["nobs"]), ref["bic"], rtol=1e-12)
    return bic


@pytest.mark.parametrize("key", ["esoph", "menarche", "esoph_prop", "budworm"])
def test_statistics_are_those_of_the_grouped_fit(models, key):
    stats, ref = models[key].results_.statistics(), R[key]
    for ours, theirs in [("log_likelihood", "logLik"), ("deviance", "deviance"),
                         ("null_deviance", "null_deviance"), ("aic", "aic")]:
        np.testing.assert_allclose(stats[ours], ref[theirs], rtol=RTOL, err_msg=ours)
    np.testing.assert_allclose(stats["bic"], r_bic(key), rtol=RTOL)
    assert stats["df_resid"] == ref["df_residual"]
    assert stats["n_obs"] == stats["n_groups"] == ref["nobs"]
    # the LR test against the null is the difference of the deviances (constants cancel)
    np.testing.assert_allclose(stats["lr_stat"], ref["null_deviance"] - ref["deviance"],
                               rtol=1e-7)
    assert stats["lr_df"] == ref["df_null"] - ref["df_residual"]


def test_results_attributes_and_summary_report_the_grouped_statistics(models):
    model, ref = models["budworm"], R["budworm"]
    res = model.results_
    np.testing.assert_allclose([res.llf, res.deviance, res.aic, res.bic],
                               [ref["logLik"], ref["deviance"], ref["aic"], r_bic("budworm")],
                               rtol=RTOL)
    assert res.nobs == 12 and res.df_resid == 8           # the zero-trial group is not counted
    header = model.summary().to_dict()
    assert header["n_groups"] == 12 and header["grouped_form"] == "cbind"
    np.testing.assert_allclose(header["deviance"], ref["deviance"], rtol=RTOL)
    assert header["n_trials"] == float((frame("budworm").eval("numdead + numalive")
                                        * frame("budworm")["w"]).sum())
    assert any("grouped binomial response (cbind)" in line
               for line in model.summary().header_lines())


def test_classes_are_0_1_and_predictions_are_success_probabilities(models):
    fitted = RESIDUALS
    for key in ("esoph", "menarche", "budworm"):
        model = models[key]
        np.testing.assert_array_equal(model.classes_, [0, 1])
        data = frame(key)
        np.testing.assert_allclose(model.predict_proba(data)[:, 1], fitted[key]["fitted"],
                                   rtol=1e-8)


def test_estimator_with_proportions_and_trials_equals_cbind():
    """``fit(X, y=proportion, sample_weight=trials)``: R's second way."""
    mn, ref = frame("menarche"), R["menarche"]
    model = LogisticRegression().fit(mn[["Age"]], mn["Menarche"] / mn["Total"],
                                     sample_weight=mn["Total"])
    np.testing.assert_allclose(model.results_.params.to_numpy(),
                               [ref["coefficients"]["(Intercept)"], ref["coefficients"]["Age"]],
                               rtol=RTOL)
    stats = model.results_.statistics()
    np.testing.assert_allclose([stats["log_likelihood"], stats["deviance"], stats["aic"]],
                               [ref["logLik"], ref["deviance"], ref["aic"]], rtol=RTOL)
    assert stats["grouped_form"] == "proportion" and stats["df_resid"] == ref["df_residual"]


def bernoulli_expansion(es):
    """Each group as two frequency-weighted 0/1 rows (cases, controls)."""
    ones = es.assign(y=1, n=es["ncases"])
    zeros = es.assign(y=0, n=es["ncontrols"])
    out = pd.concat([ones, zeros], ignore_index=True)
    return out[out["n"] > 0]


def test_coefficients_equal_the_bernoulli_expansion_and_loglik_differs_by_log_choose(models):
    es = frame("esoph")
    long = bernoulli_expansion(es)
    bern = logitlab.fit("y ~ agegp + tobgp + alcgp", long, sample_weight="n")
    grouped = models["esoph"]
    np.testing.assert_allclose(grouped.results_.params.to_numpy(),
                               bern.results_.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(grouped.results_.bse.to_numpy(),
                               bern.results_.bse.to_numpy(), rtol=1e-9)
    log_choose = np.sum(special.gammaln(es["total"] + 1) - special.gammaln(es["ncases"] + 1)
                        - special.gammaln(es["ncontrols"] + 1))
    np.testing.assert_allclose(grouped.results_.llf, bern.results_.llf + log_choose, rtol=1e-10)
    # the Bernoulli deviance is -2 logLik; the grouped one is against the saturated model
    sat = np.sum(special.xlogy(es["ncases"], es["prop"])
                 + special.xlogy(es["ncontrols"], 1 - es["prop"]))
    np.testing.assert_allclose(grouped.results_.deviance, 2 * (sat - bern.results_.llf),
                               rtol=1e-10)
    # the LR test against the null is the same for both
    np.testing.assert_allclose(grouped.results_.llr, bern.results_.llr, rtol=1e-9)


def test_firth_on_grouped_data_matches_brglm2():
    mn, ref = frame("menarche"), R["menarche_firth"]
    model = logitlab.fit("cbind(Menarche, Total - Menarche) ~ Age", mn, penalty="firth")
    np.testing.assert_allclose(model.results_.params.to_numpy(),
                               [ref["coefficients"]["(Intercept)"], ref["coefficients"]["Age"]],
                               rtol=1e-8)
    np.testing.assert_allclose(model.results_.bse.to_numpy(),
                               [ref["se"]["(Intercept)"], ref["se"]["Age"]], rtol=1e-7)


def test_model_files_keep_the_grouped_record(models, tmp_path):
    model = models["budworm"]
    path = tmp_path / "grouped.json"
    logitlab.save(model, path)
    loaded = logitlab.load(path)
    assert loaded.results_.statistics() == model.results_.statistics()
    doc = json.loads(path.read_text())
    assert doc["inference"]["grouped"]["n_groups"] == 12
    assert loaded.design_.formula == "cbind(numdead, numalive) ~ sex * ldose"


def test_model_files_of_class_labels_have_no_grouped_key(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] + rng.normal(size=40) > 0).astype(int)
    path = tmp_path / "plain.json"
    logitlab.save(LogisticRegression().fit(X, y), path)
    assert "grouped" not in json.loads(path.read_text())["inference"]


def test_cli_fit_with_a_cbind_formula():
    from typer.testing import CliRunner

    from logitlab.cli import app
    res = CliRunner().invoke(app, ["fit", str(DATA / "grouped_menarche.csv"), "--formula",
                                   "cbind(Menarche, Total - Menarche) ~ Age", "--json"])
    assert res.exit_code == 0, res.exception
    doc, ref = json.loads(res.stdout), R["menarche"]
    np.testing.assert_allclose([doc["deviance"], doc["aic"], doc["log_likelihood"]],
                               [ref["deviance"], ref["aic"], ref["logLik"]], rtol=RTOL)
    assert doc["n_obs"] == 25 and doc["df_resid"] == 23


def test_missing_counts_are_dropped_with_missing_drop():
    mn = frame("menarche")
    holes = mn.copy()
    holes.loc[3, "Menarche"] = np.nan
    with pytest.warns(logitlab.data.io.MissingValuesWarning):
        model = logitlab.fit("cbind(Menarche, Total - Menarche) ~ Age", holes, missing="drop")
    ref = logitlab.fit("cbind(Menarche, Total - Menarche) ~ Age", mn.drop(index=3))
    np.testing.assert_allclose(model.results_.params, ref.results_.params, rtol=1e-12)
    assert model.results_.nobs == 24
    with pytest.raises(ValueError, match="Menarche"):
        logitlab.fit("cbind(Menarche, Total - Menarche) ~ Age", holes)


# ------------------------------------------------------------------ bad input
def test_proportions_without_trials_say_what_to_do():
    mn = frame("menarche")
    y = mn["Menarche"] / mn["Total"]
    with pytest.raises(ValueError, match=r"proportions .*sample_weight=.*cbind") as err:
        LogisticRegression().fit(mn[["Age"]], y)
    assert "Unknown label type" not in str(err.value)
    with pytest.raises(ValueError, match=r"give the number of trials as sample_weight"):
        logitlab.fit("p ~ Age", mn.assign(p=y))


def test_proportions_outside_0_1_are_refused():
    mn = frame("menarche")
    y = (mn["Menarche"] / mn["Total"]).to_numpy().copy()
    y[4] = 1.5
    with pytest.raises(ValueError, match=r"outside \[0, 1\].*row 4"):
        LogisticRegression().fit(mn[["Age"]], y, sample_weight=mn["Total"])


def test_continuous_outcome_is_named_as_such():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="continuous outcome"):
        LogisticRegression().fit(X, np.linspace(0, 3, 20))


def test_negative_counts_name_the_row():
    mn = frame("menarche")
    bad = mn.assign(Menarche=mn["Menarche"].where(mn.index != 2, -1.0))
    with pytest.raises(ValueError, match=r"non-negative.*row 2"):
        logitlab.fit("cbind(Menarche, Total - Menarche) ~ Age", bad)
    with pytest.raises(ValueError, match=r"failures.*non-negative"):
        logitlab.fit("cbind(Menarche, Menarche - Total) ~ Age", mn)


def test_non_integer_successes_warn_as_r_does():
    mn = frame("menarche")
    y = (mn["Menarche"] / mn["Total"]).to_numpy().copy()
    with pytest.warns(NonIntegerCountsWarning, match="non-integer"):
        LogisticRegression().fit(mn[["Age"]], y, sample_weight=mn["Total"] + 0.5)
    with pytest.warns(NonIntegerCountsWarning, match="non-integer"):
        logitlab.fit("cbind(Menarche + 0.25, Total - Menarche) ~ Age", mn)


def test_cbind_with_a_missing_column_names_it():
    mn = frame("menarche")
    with pytest.raises(FormulaError, match=r"'Totl'.*not a column"):
        logitlab.fit("cbind(Menarche, Totl - Menarche) ~ Age", mn)
    with pytest.raises(FormulaError, match="two expressions"):
        logitlab.fit("cbind(Menarche) ~ Age", mn)


def test_cbind_may_not_call_other_functions():
    mn = frame("menarche")
    with pytest.raises(FormulaError, match="open"):
        logitlab.fit("cbind(Menarche, open('x')) ~ Age", mn)


def test_class_weight_is_refused_for_grouped_data():
    mn = frame("menarche")
    with pytest.raises(ValueError, match="class_weight does not apply"):
        logitlab.fit("cbind(Menarche, Total - Menarche) ~ Age", mn, class_weight="balanced")


def test_zero_trials_everywhere_is_refused():
    mn = frame("menarche").assign(z=0.0)
    with pytest.raises(ValueError, match="zero trials in every row"):
        logitlab.fit("cbind(z, z) ~ Age", mn)


def test_grouped_fits_on_dask_equal_r(client):
    """cbind formulas and proportions with trials on Dask partitions: the same
    statistics as R's grouped fits (sums over partitions)."""
    import dask
    dd = pytest.importorskip("dask.dataframe")
    with dask.config.set({"dataframe.convert-string": False}):   # text as objects, as pandas reads it
        es = dd.from_pandas(frame("esoph"), npartitions=3)
        bw = dd.from_pandas(frame("budworm"), npartitions=2)
        mn = dd.from_pandas(frame("menarche"), npartitions=2)
    cases = [("esoph", logitlab.fit("cbind(ncases, ncontrols) ~ agegp + tobgp + alcgp", es)),
             ("budworm", logitlab.fit("cbind(numdead, numalive) ~ sex * ldose", bw,
                                      sample_weight="w")),
             ("menarche", LogisticRegression().fit(mn[["Age"]], mn["Menarche"] / mn["Total"],
                                                   sample_weight=mn["Total"]))]
    for key, model in cases:
        ref, stats = R[key], model.results_.statistics()
        assert model.engine_ == "dask"
        np.testing.assert_allclose(model.results_.params.to_numpy(),
                                   r_vector(model, ref["coefficients"]), rtol=RTOL)
        np.testing.assert_allclose(model.results_.bse.to_numpy(), r_vector(model, ref["se"]),
                                   rtol=RTOL)
        for ours, theirs in [("log_likelihood", "logLik"), ("deviance", "deviance"),
                             ("null_deviance", "null_deviance"), ("aic", "aic")]:
            np.testing.assert_allclose(stats[ours], ref[theirs], rtol=RTOL, err_msg=ours)
        np.testing.assert_allclose(stats["bic"], r_bic(key), rtol=RTOL)
        assert stats["df_resid"] == ref["df_residual"] and stats["n_obs"] == ref["nobs"]


def test_grouped_bad_input_on_dask_names_global_rows(client):
    import dask
    dd = pytest.importorskip("dask.dataframe")
    mn = frame("menarche")
    bad = mn.assign(Menarche=mn["Menarche"].where(mn.index != 20, -1.0))
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(bad, npartitions=2)
        ok = dd.from_pandas(mn, npartitions=2)
    with pytest.raises(ValueError, match=r"non-negative.*row 20"):
        logitlab.fit("cbind(Menarche, Total - Menarche) ~ Age", ddf)
    with pytest.raises(ValueError, match=r"give the number of trials as sample_weight"):
        LogisticRegression().fit(ok[["Age"]], ok["Menarche"] / ok["Total"])
    with pytest.warns(NonIntegerCountsWarning):
        logitlab.fit("cbind(Menarche + 0.25, Total - Menarche) ~ Age", ok)


def refit(key, **params):
    es, mn, bw = frame("esoph"), frame("menarche"), frame("budworm")
    levels = '["0-39g/day", "40-79", "80-119", "120+"]'
    if key == "esoph":
        return logitlab.fit("cbind(ncases, ncontrols) ~ agegp + tobgp + alcgp", es, **params)
    if key == "menarche":
        return logitlab.fit("cbind(Menarche, Total - Menarche) ~ Age", mn, **params)
    if key == "esoph_prop":
        return logitlab.fit(f"prop ~ agegp + C(alcgp, levels={levels})", es,
                            sample_weight="total", **params)
    return logitlab.fit("cbind(numdead, numalive) ~ sex * ldose", bw, sample_weight="w", **params)


@pytest.mark.parametrize("key", ["esoph", "menarche", "esoph_prop", "budworm"])
def test_sandwich_covariances_take_each_group_as_one_observation(key):
    """R's ``sandwich::vcovHC``: the meat of the per-group scores; HC1's n/(n−k)
    with n the groups.

    With rows of zero weight (budworm's zero-trial group: 13 rows, 12 groups)
    sandwich mixes counts — its bread scales by the 12 groups, its meat and
    HC1's factor by the 13 rows — giving ``(12/13) (I⁻¹ B I⁻¹)^½``; logitlab
    counts groups throughout, so R's values are rescaled by that ratio here
    (it is 1 on the other fits)."""
    ref = R[key]
    k, g, n_rows = len(ref["coefficients"]), ref["nobs"], len(RESIDUALS[key]["prior_weights"])
    ratio = n_rows / g
    hc0 = refit(key, cov_type="HC0")
    np.testing.assert_allclose(hc0.results_.bse.to_numpy(),
                               r_vector(hc0, ref["se_HC0"]) * ratio, rtol=1e-7)
    hc1 = refit(key, cov_type="HC1")
    ratio *= np.sqrt(g / (g - k) * (n_rows - k) / n_rows)
    np.testing.assert_allclose(hc1.results_.bse.to_numpy(),
                               r_vector(hc1, ref["se_HC1"]) * ratio, rtol=1e-7)


def test_cluster_covariance_of_grouped_data_matches_sandwich():
    es = frame("esoph")
    model = refit("esoph", cov_type="cluster", groups=es["agegp"])
    np.testing.assert_allclose(model.results_.bse.to_numpy(),
                               r_vector(model, R["esoph"]["se_cluster_agegp"]), rtol=1e-7)


def test_cross_validation_refuses_grouped_data_clearly():
    mn = frame("menarche")
    with pytest.raises(ValueError, match="cross-validation does not split"):
        logitlab.LogisticRegressionCV(cv=3).fit(mn[["Age"]], mn["Menarche"] / mn["Total"],
                                                sample_weight=mn["Total"])
    with pytest.raises(ValueError, match="cv is not available for a cbind"):
        logitlab.fit("cbind(Menarche, Total - Menarche) ~ Age", mn, cv=3)


def test_separation_check_sees_the_groups_as_their_successes_and_failures():
    x = [1.0, 2, 3, 4, 5]
    separated = pd.DataFrame({"x": x, "s": [0, 0, 2, 5, 5], "f": [5, 5, 3, 0, 0]})
    with pytest.warns(logitlab.SeparationWarning, match="separated"):
        model = logitlab.fit("cbind(s, f) ~ x", separated)
    assert model.results_.inference.separated
    overlapping = pd.DataFrame({"x": x, "s": [0, 1, 2, 4, 5], "f": [5, 4, 3, 1, 0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = logitlab.fit("cbind(s, f) ~ x", overlapping)
    assert not model.results_.inference.separated
    long = pd.concat([overlapping.assign(y=1, n=overlapping["s"]),
                      overlapping.assign(y=0, n=overlapping["f"])])
    bern = logitlab.fit("y ~ x", long[long["n"] > 0], sample_weight="n")
    np.testing.assert_allclose(model.results_.params, bern.results_.params, rtol=1e-9)
