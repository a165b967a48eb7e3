"""``logitlab.fit(formula, data)`` and the ``Design`` it stores (src/logitlab/formula.py).

References, all computed here: statsmodels' formula API (``smf.logit``,
``smf.mnlogit``, ``smf.glm``), which encodes formulas with patsy — a formula
implementation independent of formulaic; ``LogisticRegression`` fitted on a
design matrix built by hand with numpy; scikit-learn for a penalized
multinomial; closed forms (intercept-only model); and round-trip properties.
Error messages are checked word for word. No expected value is taken from
logitlab's own output.
"""

from __future__ import annotations

import json
import pickle
import re
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import polars as pl
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

import logitlab
from logitlab import LogisticRegression
from logitlab.data.formula import Design, FormulaError, expand_dot
from logitlab.data.io import MissingValuesWarning

DATA = Path(__file__).parent / "data"
TIGHT = 1e-12          # gradient tolerance: both fits at the optimum to rounding level
RTOL = 1e-8


def birthwt():
    return pd.read_csv(DATA / "birthwt.csv")


def titanic():
    return pd.read_csv(DATA / "titanic_table.csv").drop(columns="rownames")


def sm_logit(formula, df, **kw):
    return smf.logit(formula, df, **kw).fit(disp=0, method="newton", tol=1e-12, maxiter=100)


def params_of(model) -> dict:
    """logitlab coefficients by name, the intercept as 'Intercept' (patsy's name)."""
    out = dict(zip(model.feature_names_in_, model.coef_vs_reference_[0]))
    if model.fit_intercept:
        out["Intercept"] = model.intercept_vs_reference_[0]
    return out


def assert_same_params(model, result, rtol=RTOL):
    ours = params_of(model)
    assert sorted(ours) == sorted(result.params.index)
    for name, value in result.params.items():
        np.testing.assert_allclose(ours[name], value, rtol=rtol, atol=1e-10, err_msg=name)


# ------------------------------------------------------- against statsmodels
@pytest.mark.parametrize("formula", [
    "low ~ age + lwt + C(race) + smoke",
    "low ~ age * smoke + np.log(lwt) + I(age**2) + C(race)",
    "low ~ lwt + C(race):smoke + ht + ui",
    "low ~ C(race, Treatment(3)) + age",
    "low ~ C(race, levels=[2, 3, 1]) + age",
    "low ~ 0 + age + lwt",
    "low ~ (age + lwt + smoke)**2",
])
def test_formulas_match_statsmodels(formula):
    df = birthwt()
    model = logitlab.fit(formula, df, tol=TIGHT)
    result = sm_logit(formula, df)
    assert_same_params(model, result)
    # predicting on the raw frame re-encodes it exactly as the formula did
    np.testing.assert_allclose(model.predict_proba(df)[:, 1], result.predict(df),
                               rtol=1e-10, atol=1e-13)
    assert model.design_.intercept == ("Intercept" in result.params.index)


def test_formulaic_contr_treatment_is_patsys_treatment():
    df = birthwt()
    ours = logitlab.fit('low ~ C(race, contr.treatment(3)) + age', df, tol=TIGHT)
    result = sm_logit("low ~ C(race, Treatment(3)) + age", df)
    assert ours.design_.columns == ["C(race, contr.treatment(3))[T.1]",
                                    "C(race, contr.treatment(3))[T.2]", "age"]
    assert ours.design_.references == {"C(race, contr.treatment(3))": 3}
    np.testing.assert_allclose(ours.coef_[0], result.params[
        ["C(race, Treatment(3))[T.1]", "C(race, Treatment(3))[T.2]", "age"]], rtol=RTOL)


def test_r_factor_is_a_categorical_term_as_in_glm():
    """R's ``factor(race)`` (what an R user types) is formulaic's ``C(race)``:
    statsmodels' ``C(race)`` fit, names ``factor(race)[T.2]``, a factor for margins."""
    df = birthwt()
    ours = logitlab.fit("low ~ age + factor(race) + smoke", df, tol=TIGHT)
    result = sm_logit("low ~ age + C(race) + smoke", df)
    assert ours.design_.columns == ["age", "factor(race)[T.2]", "factor(race)[T.3]", "smoke"]
    np.testing.assert_allclose(ours.coef_[0], result.params[
        ["age", "C(race)[T.2]", "C(race)[T.3]", "smoke"]], rtol=RTOL)
    ordered = logitlab.fit("low ~ factor(race, levels=[3, 1, 2])", df, tol=TIGHT)
    assert ordered.design_.columns == ["factor(race, levels=[3, 1, 2])[T.1]",
                                       "factor(race, levels=[3, 1, 2])[T.2]"]
    contrasts = ours.margins(df)
    assert list(contrasts.loc[contrasts.term == "race", "contrast"]) == ["2 - 1", "3 - 1"]


def test_reference_level_changes_parameters_not_predictions():
    df = birthwt()
    a = logitlab.fit("low ~ C(race) + age", df, tol=TIGHT)
    b = logitlab.fit("low ~ C(race, levels=[3, 1, 2]) + age", df, tol=TIGHT)
    np.testing.assert_allclose(a.predict_proba(df), b.predict_proba(df), rtol=1e-10)
    # race 3 vs race 1 in a is minus race 1 vs race 3 in b
    np.testing.assert_allclose(a.coef_[0][1], -b.coef_[0][0], rtol=1e-8)


def test_formula_fit_equals_fit_on_hand_built_design():
    df = birthwt()
    X = np.column_stack([df.age, df.lwt, df.race == 2, df.race == 3, df.smoke,
                         df.age * df.smoke]).astype(float)
    ref = LogisticRegression(tol=TIGHT).fit(X, df.low)
    model = logitlab.fit("low ~ age + lwt + C(race) + smoke + age:smoke", df, tol=TIGHT)
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, rtol=1e-8)
    np.testing.assert_array_equal(model.design_.transform(df).to_numpy(), X)


def test_dot_is_every_other_column():
    df = birthwt()
    model = logitlab.fit("low ~ . - bwt", df, tol=TIGHT)
    result = sm_logit("low ~ age + lwt + race + smoke + ptl + ht + ui + ftv", df)
    assert_same_params(model, result)
    assert model.design_.variables == ["age", "lwt", "race", "smoke", "ptl", "ht", "ui", "ftv"]
    assert model.design_.formula == ("low ~ (`age` + `lwt` + `race` + `smoke` + `ptl` + `ht` + "
                                     "`ui` + `ftv` + `bwt`) - bwt")


def test_dot_expansion_text():
    assert expand_dot(". - b", ["a", "b c"]) == "(`a` + `b c`) - b"
    assert expand_dot("np.log(x) + I(x*.5) + .", ["x"]) == "np.log(x) + I(x*.5) + (`x`)"
    assert expand_dot("(.)**2", ["p", "q"]) == "((`p` + `q`))**2"
    assert expand_dot("C(g, levels=['a.b'])", ["g"]) == "C(g, levels=['a.b'])"


def test_dot_excludes_weight_column_and_matches_freq_weighted_glm():
    df = titanic()
    model = logitlab.fit("Survived ~ .", df, sample_weight="Freq", tol=TIGHT)   # before adding

    assert model.design_.variables == ["Class", "Sex", "Age"]
    assert list(model.classes_) == ["No", "Yes"]
    df["survived"] = (df["Survived"] == "Yes").astype(int)
    glm = smf.glm("survived ~ Class + Sex + Age", df, family=sm.families.Binomial(),
                  freq_weights=df["Freq"]).fit(tol=1e-13)
    ours = params_of(model)
    for name in model.feature_names_in_:
        np.testing.assert_allclose(ours[name], glm.params[name], rtol=1e-8)
    np.testing.assert_allclose(ours["Intercept"], glm.params["Intercept"], rtol=1e-8)


def test_titanic_published_table_with_child_as_reference():
    # R glm, tests/data/README.md: intercept 3.10538, 2nd -1.018095, 3rd -1.777762,
    # Crew -0.857676, Male -2.420060, Adult -1.061542 (printed to 6-7 digits)
    df = titanic()
    model = logitlab.fit('Survived ~ Class + Sex + C(Age, contr.treatment("Child"))', df,
                         sample_weight=df["Freq"].to_numpy(), tol=TIGHT)
    published = [-1.018095, -1.777762, -0.857676, -2.420060, -1.061542]
    np.testing.assert_allclose(model.coef_[0], published, atol=1e-6)
    np.testing.assert_allclose(model.intercept_[0], 3.10538, atol=1e-5)
    by_name = logitlab.fit('Survived ~ Class + Sex + C(Age, contr.treatment("Child"))', df,
                           sample_weight="Freq", tol=TIGHT)
    np.testing.assert_array_equal(by_name.coef_, model.coef_)


def test_intercept_only_is_the_log_odds_of_the_mean():
    df = birthwt()
    model = logitlab.fit("low ~ 1", df, tol=TIGHT)
    p = df.low.mean()
    assert model.design_.columns == [] and model.design_.intercept
    np.testing.assert_allclose(model.intercept_[0], np.log(p / (1 - p)), rtol=1e-12)
    np.testing.assert_allclose(model.predict_proba(df.head(3))[:, 1], p, rtol=1e-12)


def test_offset_by_name_and_array_matches_statsmodels():
    df = birthwt()
    df["off"] = np.linspace(-0.5, 0.5, len(df))
    result = sm_logit("low ~ age + smoke", df, offset=df["off"])
    by_name = logitlab.fit("low ~ age + smoke", df, offset="off", tol=TIGHT)
    assert_same_params(by_name, result)
    by_array = logitlab.fit("low ~ age + smoke", df, offset=df["off"].to_numpy(), tol=TIGHT)
    np.testing.assert_array_equal(by_array.coef_, by_name.coef_)
    assert "off" not in logitlab.fit("low ~ .", df[["low", "age", "off"]], offset="off",
                                     tol=TIGHT).design_.variables


def test_multinomial_categorical_response_matches_mnlogit():
    df = birthwt()
    names = {1: "white", 2: "black", 3: "other"}
    df["race_name"] = pd.Categorical(df.race.map(names), categories=["white", "black", "other"])
    model = logitlab.fit("race_name ~ age + lwt + smoke", df, tol=TIGHT)
    result = smf.mnlogit("race ~ age + lwt + smoke", df).fit(disp=0, method="newton",
                                                             tol=1e-12, maxiter=100)
    # a categorical response's first level is the reference, as in R
    assert model.reference_class_ == "white"
    assert list(model.other_classes_) == ["black", "other"]
    expected = {"black": result.params[0], "other": result.params[1]}   # race 2, race 3
    for k, label in enumerate(model.other_classes_):
        np.testing.assert_allclose(model.intercept_vs_reference_[k],
                                   expected[label]["Intercept"], rtol=1e-7)
        np.testing.assert_allclose(model.coef_vs_reference_[k],
                                   expected[label][["age", "lwt", "smoke"]], rtol=1e-7)
    np.testing.assert_allclose(model.predict_proba(df)[:, [2, 0, 1]],   # sorted: black other white
                               result.predict(df).to_numpy(), rtol=1e-8)


def test_penalized_multinomial_with_backticked_names_matches_sklearn():
    iris = pd.read_csv(DATA / "iris.csv")
    n, C = len(iris), 10.0
    model = logitlab.fit("target ~ .", iris, alpha=1 / (C * n), tol=1e-10)
    assert model.design_.variables == list(iris.columns[:4])
    # sklearn: C * sum(loss) + ||W||^2 / 2, i.e. alpha = 1 / (C n); intercepts unpenalized
    sk = SkLogisticRegression(C=C, tol=1e-14, solver="newton-cholesky", max_iter=1000).fit(
        iris.iloc[:, :4].to_numpy(), iris.target)
    np.testing.assert_allclose(model.coef_, sk.coef_, atol=1e-9)
    np.testing.assert_allclose(model.predict_proba(iris),
                               sk.predict_proba(iris.iloc[:, :4].to_numpy()), atol=1e-11)
    same = logitlab.fit("target ~ `sepal length (cm)` + `sepal width (cm)` + "
                        "`petal length (cm)` + `petal width (cm)`", iris, alpha=1 / (C * n),
                        tol=1e-10)
    np.testing.assert_array_equal(same.coef_, model.coef_)


@pytest.mark.parametrize("make_y, classes", [
    (lambda y: y, [0, 1]),
    (lambda y: y.astype(bool), [False, True]),
    (lambda y: np.where(y == 1, "low", "normal"), ["low", "normal"]),
    (lambda y: pd.Categorical(np.where(y == 1, "yes", "no"), categories=["no", "yes"]),
     ["no", "yes"]),
])
def test_response_types(make_y, classes):
    df = birthwt()
    result = sm_logit("low ~ age + smoke", df)
    df["resp"] = make_y(df.low.to_numpy())
    model = logitlab.fit("resp ~ age + smoke", df, tol=TIGHT)
    assert model.classes_.tolist() == classes
    # logits of classes_[1]; "normal" is classes_[1] when low is coded as strings
    sign = -1.0 if classes == ["low", "normal"] else 1.0
    np.testing.assert_allclose(sign * model.coef_[0], result.params[["age", "smoke"]],
                               rtol=RTOL)


def test_polars_and_dict_input_and_prediction():
    df = birthwt()
    ref = logitlab.fit("low ~ age + C(race)", df, tol=TIGHT)
    model = logitlab.fit("low ~ age + C(race)", pl.from_pandas(df), tol=TIGHT)
    np.testing.assert_array_equal(model.coef_, ref.coef_)
    expected = ref.predict_proba(df.head(5))
    np.testing.assert_array_equal(model.predict_proba(pl.from_pandas(df.head(5))), expected)
    np.testing.assert_array_equal(
        model.predict_proba({"age": df.age[:5].to_numpy(), "race": df.race[:5].to_numpy()}),
        expected)
    # the numeric design itself passes through
    np.testing.assert_array_equal(model.predict_proba(model.design_.transform(df.head(5))),
                                  expected)


def test_fit_from_a_csv_path(tmp_path):
    df = birthwt()
    df.to_csv(tmp_path / "b.csv.gz", index=False)
    model = logitlab.fit("low ~ age + lwt", tmp_path / "b.csv.gz", tol=TIGHT)
    assert_same_params(model, sm_logit("low ~ age + lwt", df))


# ------------------------------------------------------------ missing values
def holey_birthwt():
    df = birthwt()
    df.loc[[9, 4, 100], "age"] = np.nan
    df.loc[[4, 50], "race"] = np.nan
    df.loc[[7], "ftv"] = np.nan          # not used by the formula below
    return df


def test_missing_values_raise_by_default():
    with pytest.raises(ValueError) as err:
        logitlab.fit("low ~ age + C(race)", holey_birthwt())
    assert str(err.value) == (
        "missing values in 4 of 189 rows, in 2 columns: 'age': 3 rows (first row 4), "
        "'race': 2 rows (first row 4). Drop those rows (missing='drop') or fill them in first.")


def test_missing_drop_equals_statsmodels_and_warns():
    df = holey_birthwt()
    with pytest.warns(MissingValuesWarning) as record:
        model = logitlab.fit("low ~ age + C(race)", df, missing="drop", tol=TIGHT)
    assert str(record[0].message) == (
        "dropped 4 of 189 rows with missing values ('age': 3 rows (first row 4), 'race': 2 "
        "rows (first row 4)); the model is fitted on the other 185 rows.")
    assert model.design_.n_dropped == 4 and model.design_.n_rows == 189
    result = sm_logit("low ~ age + C(race)", df)          # statsmodels drops NaN rows too
    assert result.nobs == 185
    assert_same_params(model, result)


def test_missing_weights_array_rows_are_dropped_too():
    df = birthwt()
    w = np.ones(len(df))
    w[[3, 8]] = np.nan
    with pytest.raises(ValueError, match=re.escape("'sample_weight': 2 rows (first row 3)")):
        logitlab.fit("low ~ age", df, sample_weight=w)
    with pytest.warns(MissingValuesWarning):
        model = logitlab.fit("low ~ age", df, sample_weight=w, missing="drop", tol=TIGHT)
    assert_same_params(model, sm_logit("low ~ age", df.drop(index=[3, 8])))


def test_missing_values_at_prediction_are_an_error():
    model = logitlab.fit("low ~ age + C(race)", birthwt())
    with pytest.raises(ValueError) as err:
        model.predict_proba(holey_birthwt())
    assert str(err.value) == (
        "missing values in the columns the formula uses: 'age': 3 rows (first row 4), 'race': "
        "2 rows (first row 4); fill them in or drop those rows before predicting.")


# ------------------------------------------------------------ unseen levels
def test_unseen_levels_raise_naming_column_and_levels():
    df = titanic()
    model = logitlab.fit("Survived ~ Class + Sex", df, sample_weight="Freq")
    new = pd.DataFrame({"Class": ["1st", "4th", "Staff", "4th"], "Sex": ["Male"] * 4})
    with pytest.raises(ValueError) as err:
        model.predict_proba(new)
    assert str(err.value) == (
        "levels not seen when fitting: column 'Class' has '4th', 'Staff' (fitted levels: "
        "'1st', '2nd', '3rd', 'Crew'). Drop those rows, or map them to the reference level "
        "with unseen='reference' (model.design_.unseen = 'reference').")


def test_unseen_reference_maps_to_the_reference_level():
    df = birthwt()
    model = logitlab.fit("low ~ age + C(race, contr.treatment(2))", df, unseen="reference")
    new = df.head(4).copy()
    new["race"] = [7, 2, 3, 9]
    expected = model.predict_proba(new.assign(race=[2, 2, 3, 2]))   # reference level 2
    np.testing.assert_array_equal(model.predict_proba(new), expected)
    model.design_.unseen = "raise"
    with pytest.raises(ValueError, match="column 'race' has 7, 9"):
        model.predict_proba(new)


def test_levels_missing_from_new_data_are_fine():
    df = birthwt()
    model = logitlab.fit("low ~ age + C(race)", df)
    one = df[df.race == 3].head(3)
    np.testing.assert_array_equal(model.design_.transform(one)[["C(race)[T.2]", "C(race)[T.3]"]]
                                  .to_numpy(), [[0, 1]] * 3)


def test_missing_column_at_prediction():
    model = logitlab.fit("low ~ age + lwt + C(race)", birthwt())
    with pytest.raises(ValueError) as err:
        model.predict(birthwt().drop(columns=["lwt", "race"]))
    assert str(err.value) == ("the data lack the columns 'lwt', 'race' used by the formula "
                              "'low ~ age + lwt + C(race)'.")


# ------------------------------------------------------------- bad formulas
@pytest.mark.parametrize("formula, message", [
    ("low + age", "the formula 'low + age' has no '~'; write it as 'response ~ terms', e.g. "
                  "'low ~ age + smoke'."),
    ("~ age", "the formula '~ age' has no response left of '~'; write it as 'response ~ terms'."),
    ("low ~ ", "the formula 'low ~ ' has nothing right of '~'; use 'y ~ 1' for an "
               "intercept-only model."),
    ("lo ~ age", "the response 'lo' is not a column of the data; its columns are 'low', 'age', "
                 "'lwt', 'race', 'smoke', 'ptl', 'ht', 'ui', 'ftv', 'bwt'."),
    ("low ~ age + weight + C(colour)", "the formula uses 'colour', 'weight', which are not "
                                       "columns of the data; its columns are 'low', 'age', "
                                       "'lwt', 'race', 'smoke', 'ptl', 'ht', 'ui', 'ftv', 'bwt'."),
    ("low ~ 0", "the formula terms '0' leave no column and no intercept; a model needs at "
                "least one of them."),
    ("low ~ age | lwt", "the term 'age | lwt' has a '|' outside a random-effects term; write "
                        "random effects in parentheses, e.g. '(1 | school)', joined to the "
                        "other terms by '+'."),
    ("low ~ I(age.real)", "the formula term 'I(age.real)' uses the attribute age.real, which "
                          "formulas may not contain (only np.<function> and contr.<contrast>)."),
    ("low ~ I(np.load)", "the formula term 'I(np.load)' uses the attribute np.load, which "
                         "formulas may not contain (only np.<function> and contr.<contrast>)."),
    # a dotted name is a column name (R style, e.g. Sepal.Length), looked up, not evaluated
    ("low ~ age.__class__", "the formula uses 'age.__class__', which is not a column of the "
                            "data; its columns are 'low', 'age', 'lwt', 'race', 'smoke', 'ptl', "
                            "'ht', 'ui', 'ftv', 'bwt'."),
    ("low ~ I([x for x in age])", "the formula term 'I([x for x in age])' uses ListComp, which "
                                  "formulas may not contain (allowed: names, numbers, strings, "
                                  "arithmetic, comparisons and the listed functions)."),
])
def test_bad_formulas(formula, message):
    with pytest.raises(ValueError) as err:
        logitlab.fit(formula, birthwt())
    assert str(err.value) == message


@pytest.mark.parametrize("template", [
    "{{open({path!r}, 'w')}}", "I(open({path!r}, 'w'))", "np.log(age) + C(open({path!r}, 'w'))",
    "{{__import__('pathlib').Path({path!r}).touch()}}", "I(eval('open({path}, \\'w\\')'))",
    "np.save({path!r}, age)", "{{[open({path!r}, 'w') for _ in age]}}"])
def test_formulas_cannot_run_arbitrary_python(tmp_path, template):
    path = str(tmp_path / "pwned")
    with pytest.raises(FormulaError) as err:
        logitlab.fit("low ~ " + template.format(path=path), birthwt())
    assert not Path(path).exists()
    assert "do not allow" in str(err.value) or "may not contain" in str(err.value)


def test_disallowed_call_message_lists_the_allowed_functions():
    with pytest.raises(FormulaError) as err:
        logitlab.fit("low ~ np.load(age)", birthwt())
    assert str(err.value) == (
        "the formula term 'np.load(age)' calls np.load(), which logitlab formulas do not "
        "allow; they may call C, Diff, Helmert, I, Poly, Q, Sum, Treatment, bs, cc, center, cr, "
        "cs, exp, exp10, exp2, factor, log, log10, log2, poly, scale, standardize, contr.*, and the "
        "numpy functions listed in logitlab.data.formula.NUMPY_FUNCTIONS as np.<name>.")


def test_columns_named_like_python_builtins_are_data():
    df = birthwt()
    df["max"], df["type"], df["id"] = df.lwt, df.smoke, df.age
    model = logitlab.fit("low ~ np.log(max) + type + I(id / 10)", df, tol=TIGHT)
    result = sm_logit("low ~ np.log(lwt) + smoke + I(age / 10)", df)
    np.testing.assert_allclose(model.coef_[0], result.params[["np.log(lwt)", "smoke",
                                                               "I(age / 10)"]], rtol=RTOL)
    with pytest.raises(ValueError, match=re.escape("the formula uses 'len', which is not a column")):
        logitlab.fit("low ~ I(age + len)", birthwt())


def test_option_errors():
    df = birthwt()
    with pytest.raises(ValueError) as err:
        logitlab.fit("low ~ age", df, fit_intercept=False)
    assert str(err.value) == ("fit_intercept=False contradicts the formula 'low ~ age', which "
                              "decides the intercept: write 'y ~ 0 + ...' (or '- 1') for a model "
                              "without intercept.")
    with pytest.raises(ValueError, match=re.escape("missing must be 'raise' or 'drop'; got 'na'.")):
        logitlab.fit("low ~ age", df, missing="na")
    with pytest.raises(ValueError, match=re.escape("unseen must be 'raise' or 'reference'")):
        logitlab.fit("low ~ age", df, unseen="nan")
    with pytest.raises(ValueError) as err:
        logitlab.fit("low ~ age", df, sample_weight="Freq")
    assert str(err.value).startswith("sample_weight='Freq' is not a column of the data")
    with pytest.raises(ValueError) as err:
        logitlab.fit("low ~ age", df, offset=np.zeros(5))
    assert str(err.value) == ("offset has 5 rows but the data have 189; give one value per row "
                              "(or a column name).")


# --------------------------------------------------- Design serialization
COMPLEX = ("low ~ age * smoke + np.log(lwt) + I(age**2) + C(race, contr.treatment(3)) "
           "+ poly(lwt, 2) + center(age) + scale(lwt) + bs(age, df=4) + C(ftv, levels=[0, 1, 2, 3, 4, 6])")


def test_design_to_dict_is_json_and_rebuilds_the_exact_transform():
    df = birthwt()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # center(age) is collinear with age
        model = logitlab.fit(COMPLEX, df.iloc[:150])
    d = json.loads(json.dumps(model.design_.to_dict(), allow_nan=False))
    rebuilt = Design.from_dict(d)
    new = df.iloc[150:]                          # unseen rows; some levels absent
    assert rebuilt.columns == model.design_.columns
    a, b = model.design_.transform(new), rebuilt.transform(new)
    assert list(a.columns) == list(b.columns)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    # stateful transforms use the fitting data's statistics, not the new data's
    np.testing.assert_array_equal(b["center(age)"].to_numpy(),
                                  new.age.to_numpy() - df.age.iloc[:150].mean())
    assert d["factors"]["C(race, contr.treatment(3))"] == {"kind": "categorical",
                                                           "levels": [1, 2, 3], "reference": 3}


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 3),
                          st.floats(0.1, 100), st.booleans()), min_size=12, max_size=40),
       st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 3),
                          st.floats(0.1, 100), st.booleans()), min_size=1, max_size=10))
@pytest.mark.slow
def test_design_round_trip_property(fit_rows, new_rows):
    cols = ["g", "k", "x", "y"]
    fit_df = pd.DataFrame(fit_rows, columns=cols)
    new_df = pd.DataFrame(new_rows, columns=cols)
    design, X = Design.build("g + C(k) + np.log(x) + g:x + standardize(x)", fit_df,
                             response="y")
    # the fitting frame encodes to the matrix the design was built from
    np.testing.assert_array_equal(design.transform(fit_df).to_numpy(), X.to_numpy())
    rebuilt = Design.from_dict(json.loads(json.dumps(design.to_dict())))
    seen = new_df["g"].isin(fit_df["g"]) & new_df["k"].isin(fit_df["k"])
    new_df = new_df[seen]
    if len(new_df):
        np.testing.assert_array_equal(rebuilt.transform(new_df).to_numpy(),
                                      design.transform(new_df).to_numpy())
        # independent check of the dummies: the g[T.level] column is (g == level)
        for level in design.levels["g"][1:]:
            np.testing.assert_array_equal(rebuilt.transform(new_df)[f"g[T.{level}]"],
                                          (new_df["g"] == level).astype(float))


def test_formula_model_pickles_and_joblibs(tmp_path):
    df = birthwt()
    model = logitlab.fit("low ~ age + np.log(lwt) + C(race) + poly(ftv, 2)", df)
    for again in (pickle.loads(pickle.dumps(model)),
                  joblib.load(joblib.dump(model, tmp_path / "m.joblib")[0])):
        np.testing.assert_array_equal(again.predict_proba(df), model.predict_proba(df))
        assert again.design_.columns == model.design_.columns
