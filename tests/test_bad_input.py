"""Bad input to ``logitlab.LogisticRegression`` fails early and says why.

Each case checks the exception type (ValueError / TypeError), that it was
raised by logitlab's own checks (not a bare numpy / scipy / pandas error from
deep inside a computation), and that the message says what is wrong, where
(column, row, value) and how to fix it. The locations asserted are computed
in the test from the bad input itself.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
import scipy.sparse as sp

import logitlab
from logitlab import LogisticRegression
from logitlab.solvers import SUPPORT

LOGITLAB_DIR = str(Path(logitlab.__file__).parent)

# these libraries raise low-level errors ("'<' not supported between ...",
# "boolean value of NA is ambiguous", LinAlgError) that must not reach the user
_FOREIGN = ("/numpy/", "/scipy/", "/pandas/", "/polars/", "/pyarrow/")


def raises_clean(exc_type, fn, *, allow_sklearn=False):
    """Run ``fn``; return the message of the ValueError/TypeError it raises after
    checking where it was raised."""
    with pytest.raises((ValueError, TypeError)) as info:
        fn()
    err = info.value
    assert isinstance(err, exc_type), f"{type(err).__name__}: {err}"
    frames = traceback.extract_tb(err.__traceback__)
    origin = frames[-1].filename
    assert not any(part in origin for part in _FOREIGN), (
        f"bare error escaped from {origin}: {type(err).__name__}: {err}")
    in_logitlab = origin.startswith(LOGITLAB_DIR)
    in_sklearn_validation = "/sklearn/utils/validation.py" in origin
    assert in_logitlab or (allow_sklearn and in_sklearn_validation), (
        f"raised from {origin}, not by logitlab's checks: {err}")
    return str(err)


def data(n=20, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.r_[np.zeros(n // 2), np.ones(n - n // 2)].astype(int)
    return X, y


# ------------------------------------------------------------- NaN / inf in X
def test_nan_in_numpy_X_names_columns_counts_rows_and_first_row():
    X, y = data()
    X[[7, 3], 1] = np.nan
    X[5, 2] = np.nan
    msg = raises_clean(ValueError, lambda: LogisticRegression().fit(X, y))
    assert "NaN" in msg
    assert "in 3 rows" in msg  # rows 3, 5, 7
    assert "column 1: 2 rows (first row 3)" in msg
    assert "column 2: 1 rows (first row 5)" in msg
    assert "column 0" not in msg
    assert "dropna" in msg or "impute" in msg


def test_nan_in_dataframe_names_the_columns():
    X, y = data()
    df = pd.DataFrame(X, columns=["age", "bmi", "dose"])
    df.loc[[4, 11], "bmi"] = np.nan
    df.loc[9, "dose"] = np.nan
    msg = raises_clean(ValueError, lambda: LogisticRegression().fit(df, y))
    assert "'bmi': 2 rows (first row 4)" in msg
    assert "'dose': 1 rows (first row 9)" in msg
    assert "'age'" not in msg
    assert "in 3 rows" in msg
    assert "dropna" in msg


@pytest.mark.parametrize("make", ["nullable-Float64", "nullable-Int64", "polars-null"])
def test_missing_values_in_typed_frames(make):
    X, y = data()
    if make == "nullable-Float64":
        frame = pd.DataFrame(X, columns=["a", "b", "c"]).astype({"b": "Float64"})
        frame.loc[6, "b"] = pd.NA
        where = "'b': 1 rows (first row 6)"
    elif make == "nullable-Int64":
        frame = pd.DataFrame(X, columns=["a", "b", "c"])
        frame["k"] = pd.array([1] * 12 + [None] + [2] * 7, dtype="Int64")
        where = "'k': 1 rows (first row 12)"
    else:
        col = list(X[:, 1])
        col[2] = None
        frame = pl.DataFrame({"a": X[:, 0], "b": col})
        where = "'b': 1 rows (first row 2)"
    msg = raises_clean(ValueError, lambda: LogisticRegression().fit(frame, y))
    assert where in msg and "NaN" in msg


def test_inf_in_X_is_reported():
    X, y = data()
    X[4, 0] = np.inf
    X[13, 0] = -np.inf
    msg = raises_clean(ValueError, lambda: LogisticRegression().fit(X, y))
    assert "inf" in msg
    assert "column 0: 2 rows (first row 4)" in msg
    assert "in 2 rows" in msg


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_nan_in_sparse_X(fmt):
    X, y = data()
    X[np.abs(X) < 0.7] = 0.0
    X[8, 2] = np.nan
    X[15, 2] = np.nan
    S = sp.csr_matrix(X).asformat(fmt)
    assert np.isnan(S.data).sum() == 2
    msg = raises_clean(ValueError, lambda: LogisticRegression().fit(S, y))
    assert "NaN" in msg and "column 2: 2 rows (first row 8)" in msg
    assert "in 2 rows" in msg


def test_nan_in_X_at_prediction():
    X, y = data()
    m = LogisticRegression().fit(X, y)
    Xp = X.copy()
    Xp[10, 1] = np.nan
    for method in (m.predict, m.predict_proba, m.predict_log_proba, m.decision_function):
        msg = raises_clean(ValueError, lambda method=method: method(Xp))
        assert "column 1: 1 rows (first row 10)" in msg


# ------------------------------------------------------------------------- y
def test_y_length_mismatch():
    X, y = data()
    msg = raises_clean(ValueError, lambda: LogisticRegression().fit(X, y[:-1]))
    assert "19" in msg and "20" in msg and "must match" in msg


def test_only_one_class():
    X, _ = data()
    msg = raises_clean(ValueError, lambda: LogisticRegression().fit(X, np.full(20, "yes")))
    assert "only one class" in msg and "'yes'" in msg and "at least 2 classes" in msg


def test_nan_in_float_y():
    X, y = data()
    yf = y.astype(float)
    yf[[6, 2]] = np.nan
    msg = raises_clean(ValueError, lambda: LogisticRegression().fit(X, yf))
    assert "NaN" in msg and "2 rows" in msg and "first row 2" in msg and "drop" in msg


@pytest.mark.parametrize("container", ["object-array", "list"])
def test_none_in_y(container):
    X, _ = data()
    y = ["a", "b"] * 10
    y[4] = y[17] = None
    y = np.array(y, dtype=object) if container == "object-array" else y
    msg = raises_clean(ValueError, lambda: LogisticRegression().fit(X, y))
    assert "None" in msg and "2 rows" in msg and "first row 4" in msg


@pytest.mark.parametrize("kind", ["object-None", "object-nan", "category-nan", "string-NA"])
def test_missing_labels_in_pandas_y(kind):
    """A label column read with pandas holds missing values as NaN / pd.NA, not
    None: it must get the same clear message as None in a list."""
    X, _ = data()
    labels = ["a", "b"] * 10
    if kind == "object-None":
        y = pd.Series(labels, dtype=object)
        y[4] = None
    elif kind == "object-nan":
        y = pd.Series(labels, dtype=object)
        y[4] = np.nan
    elif kind == "category-nan":
        y = pd.Series(pd.Categorical(labels))
        y[4] = np.nan
    else:
        y = pd.Series(labels, dtype="string")
        y[4] = pd.NA
    assert y.isna().sum() == 1
    msg = raises_clean(ValueError, lambda: LogisticRegression().fit(X, y))
    assert "first row 4" in msg
    assert "missing" in msg or "NaN" in msg


@pytest.mark.parametrize("pair", [("a", 1), (1, "a")], ids=["str-first", "int-first"])
def test_mixed_type_labels_cannot_be_sorted(pair):
    """np.unique cannot sort str and int together: say so, naming both types."""
    X, _ = data()
    y = np.array(list(pair) * 10, dtype=object)
    msg = raises_clean((ValueError, TypeError), lambda: LogisticRegression().fit(X, y))
    assert "str" in msg and "int" in msg


def test_continuous_y_is_rejected():
    X, _ = data()
    with pytest.raises(ValueError, match="continuous"):
        LogisticRegression().fit(X, np.linspace(0, 1, 20))


# ----------------------------------------------------------- sample weights
def test_negative_sample_weight_names_the_row():
    X, y = data()
    w = np.ones(20)
    w[[6, 12]] = [-1.5, -0.5]
    msg = raises_clean(ValueError, lambda: LogisticRegression().fit(X, y, sample_weight=w))
    assert "non-negative" in msg and "2 rows" in msg and "first row 6" in msg and "-1.5" in msg


def test_all_zero_sample_weights():
    X, y = data()
    msg = raises_clean(ValueError,
                       lambda: LogisticRegression().fit(X, y, sample_weight=np.zeros(20)))
    assert "zero for every row" in msg and "positive weight" in msg


def test_class_weight_zeroing_everything():
    X, y = data()
    msg = raises_clean(ValueError, lambda: LogisticRegression(
        class_weight={0: 0.0, 1: 0.0}).fit(X, y))
    assert "zero weight" in msg and "class_weight" in msg


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_sample_weights(bad):
    X, y = data()
    w = np.ones(20)
    w[3] = bad
    msg = raises_clean(ValueError, lambda: LogisticRegression().fit(X, y, sample_weight=w))
    assert "NaN or inf" in msg and "1 rows" in msg and "first row 3" in msg


def test_wrong_length_sample_weights():
    X, y = data()
    msg = raises_clean(ValueError,
                       lambda: LogisticRegression().fit(X, y, sample_weight=np.ones(19)))
    assert "(19,)" in msg and "(20,)" in msg and "one per row" in msg


def test_non_numeric_sample_weights():
    X, y = data()
    msg = raises_clean(TypeError,
                       lambda: LogisticRegression().fit(X, y, sample_weight=["heavy"] * 20))
    assert "sample_weight" in msg and "numeric" in msg


# --------------------------------------------------------------------- offset
def test_offset_of_wrong_shape_binary():
    X, y = data()
    for bad in (np.zeros((20, 2)), np.zeros(19)):
        msg = raises_clean(ValueError, lambda bad=bad: LogisticRegression().fit(X, y, offset=bad))
        assert f"{bad.shape}" in msg and "(20,)" in msg and "one per row" in msg


def test_offset_of_wrong_shape_multinomial():
    X, _ = data(n=30)
    y = np.arange(30) % 3
    msg = raises_clean(ValueError, lambda: LogisticRegression().fit(X, y, offset=np.zeros(30)))
    assert "(30,)" in msg and "(30, 3)" in msg and "one per row and class" in msg


def test_offset_nan_and_at_prediction():
    X, y = data()
    o = np.zeros(20)
    o[11] = np.nan
    msg = raises_clean(ValueError, lambda: LogisticRegression().fit(X, y, offset=o))
    assert "NaN or inf" in msg and "first row 11" in msg
    m = LogisticRegression().fit(X, y)
    msg = raises_clean(ValueError, lambda: m.predict_proba(X[:5], offset=np.zeros(20)))
    assert "(20,)" in msg and "(5,)" in msg


# ------------------------------------------------------------ non-numeric X
def test_non_numeric_dataframe_columns():
    X, y = data()
    df = pd.DataFrame({
        "age": X[:, 0],
        "group": ["u", "v"] * 10,
        "when": pd.date_range("2020-01-01", periods=20),
        "colour": pd.Categorical(["red", "blue"] * 10),
        "ok": X[:, 1] > 0,
    })
    msg = raises_clean(TypeError, lambda: LogisticRegression().fit(df, y))
    assert "'group'" in msg and "'when'" in msg and "'colour'" in msg
    assert "'age'" not in msg and "'ok'" not in msg
    assert "non-numeric" in msg
    assert "get_dummies" in msg or "OneHotEncoder" in msg
    assert "encode" in msg.lower()


def test_non_numeric_polars_column():
    X, y = data()
    frame = pl.DataFrame({"x": X[:, 0], "city": ["Oslo", "Rome"] * 10})
    msg = raises_clean(TypeError, lambda: LogisticRegression().fit(frame, y))
    assert "'city'" in msg and "'x'" not in msg and "encode" in msg


def test_string_numpy_array_X():
    _, y = data()
    Xs = np.array([["1.5", "red"], ["2.0", "blue"]] * 10)
    msg = raises_clean(TypeError, lambda: LogisticRegression().fit(Xs, y))
    assert "numeric" in msg and "'red'" in msg and "encode" in msg.lower()


# ------------------------------------------------------------------ options
UNSMOOTH = [(s, p) for s in ("newton", "lbfgs", "newton-cg", "trust-ncg") for p in ("l1", "elasticnet")]


@pytest.mark.parametrize("solver,penalty", UNSMOOTH)
def test_penalty_solver_mismatch_shows_the_support_table(solver, penalty):
    X, y = data()
    msg = raises_clean(ValueError, lambda: LogisticRegression(
        solver=solver, penalty=penalty, alpha=0.1).fit(X, y))
    assert f"solver={solver!r}" in msg and repr(penalty) in msg
    assert "'cd'" in msg and "'gd'" in msg
    # the table: one row per solver, yes/no per penalty, matching SUPPORT
    lines = msg.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:1] == ["solver"])
    cols = lines[header].split()[1:]
    assert cols == ["none", "l2", "l1", "elasticnet", "firth"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[header + 1:]}
    assert set(rows) == set(SUPPORT)
    for name, cells in rows.items():
        assert cells == ["yes" if c in SUPPORT[name] else "no" for c in cols]


def test_supported_combinations_do_not_raise():
    X, y = data(n=60)
    y = (X[:, 0] + np.random.default_rng(1).normal(size=60) > 0).astype(int)
    for solver, kinds in SUPPORT.items():
        for penalty in ("l2", "l1", "elasticnet"):
            est = LogisticRegression(solver=solver, penalty=penalty, alpha=0.05)
            if penalty in kinds:
                assert est.fit(X, y).solver_ == solver
            else:
                with pytest.raises(ValueError, match="does not support"):
                    est.fit(X, y)


def test_unknown_solver_lists_the_choices():
    X, y = data()
    msg = raises_clean(ValueError, lambda: LogisticRegression(solver="sag").fit(X, y))
    assert "'sag'" in msg and "'auto'" in msg
    for name in SUPPORT:
        assert repr(name) in msg


@pytest.mark.parametrize("params,words", [
    ({"penalty": "l3"}, ["'l3'", "'l2'", "'l1'", "'elasticnet'"]),
    ({"alpha": -1.0}, ["alpha", "-1.0", ">= 0"]),
    ({"alpha": np.nan}, ["alpha", "nan"]),
    ({"penalty": None, "alpha": 0.5}, ["penalty=None", "alpha=0.5"]),
    ({"penalty": "l2", "l1_ratio": 0.3, "alpha": 0.1}, ["l1_ratio=0.3", "elasticnet"]),
    ({"penalty": "elasticnet", "l1_ratio": 1.5, "alpha": 0.1}, ["l1_ratio", "[0, 1]", "1.5"]),
    ({"tol": 0.0}, ["tol", "positive"]),
    ({"max_iter": -3}, ["max_iter", "-3"]),
    ({"dtype": "int32"}, ["dtype", "'int32'", "float32"]),
])
def test_bad_options(params, words):
    X, y = data()
    msg = raises_clean(ValueError, lambda: LogisticRegression(**params).fit(X, y))
    for word in words:
        assert word in msg, (word, msg)


def test_unknown_reference_class():
    X, y = data()
    ys = np.array(["ctrl", "treated"])[y]
    msg = raises_clean(ValueError, lambda: LogisticRegression(
        reference_class="placebo").fit(X, ys))
    assert "'placebo'" in msg and "'ctrl'" in msg and "'treated'" in msg


def test_class_weight_naming_a_class_not_in_y():
    X, y = data()
    ys = np.array(["ctrl", "treated"])[y]
    msg = raises_clean(ValueError, lambda: LogisticRegression(
        class_weight={"ctrl": 1.0, "treatd": 2.0}).fit(X, ys))
    assert "treatd" in msg and "not in y" in msg and "class_weight" in msg


# ---------------------------------------------------------------- prediction
def test_predicting_with_the_wrong_number_of_features():
    X, y = data()
    m = LogisticRegression().fit(X, y)
    for Xbad in (X[:, :2], np.ones((4, 5))):
        for method in (m.predict, m.predict_proba, m.predict_log_proba, m.decision_function):
            msg = raises_clean(ValueError, lambda method=method, Xbad=Xbad: method(Xbad),
                               allow_sklearn=True)
            assert f"X has {Xbad.shape[1]} features" in msg and "expecting 3" in msg


def test_predicting_with_different_column_names():
    X, y = data()
    m = LogisticRegression().fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)
    msg = raises_clean(ValueError, lambda: m.predict(pd.DataFrame(X, columns=["a", "b", "z"])),
                       allow_sklearn=True)
    assert "feature names" in msg and "z" in msg


def test_predicting_before_fit():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted"):
        LogisticRegression().predict(np.ones((2, 3)))


# ------------------------------------------------- errors come from logitlab
def test_failed_fit_does_not_leave_a_half_fitted_model():
    X, y = data()
    m = LogisticRegression()
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError):
        m.fit(Xn, y)
    assert not hasattr(m, "coef_") and not hasattr(m, "classes_")



# ------------------------------------------- columns read from files (formulas)
def _typo_frame(n=40, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n).round(3)
    y = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    g = rng.choice(["red", "green", "blue"], n)
    return pd.DataFrame({"y": y, "x": x.astype(object), "g": g})


def test_a_number_column_with_a_typo_names_rows_values_and_the_fix(tmp_path):
    df = _typo_frame()
    df.loc[5, "x"] = "thirteen"
    df.loc[[9, 30], "x"] = "?"
    path = tmp_path / "typo.csv"
    df.to_csv(path, index=False)
    for data in (path, pd.read_csv(path)):
        msg = raises_clean(ValueError, lambda data=data: logitlab.fit("y ~ x + g", data))
        assert msg == ("column 'x' holds numbers but also text in 3 rows: 'thirteen' (row 5), "
                       "'?' (rows 9, 30). Correct those values (or, if they mean missing, list "
                       "them in na_values), or write C(x) in the formula to make 'x' "
                       "categorical on purpose.")
    # `y ~ .` uses x as it is too; weights must be numbers
    assert "column 'x' holds numbers" in raises_clean(ValueError,
                                                      lambda: logitlab.fit("y ~ .", path))
    df2 = _typo_frame()
    df2["w"] = np.ones(len(df2)).astype(object)
    df2.loc[7, "w"] = "one"
    msg = raises_clean(ValueError, lambda: logitlab.fit("y ~ g", df2, sample_weight="w"))
    assert "column 'w' holds numbers but also text in 1 row: 'one' (row 7)" in msg
    assert "sample_weight must be numbers" in msg


def test_declared_missing_or_categorical_on_purpose_fit_as_statsmodels(tmp_path):
    import statsmodels.formula.api as smf
    df = _typo_frame(n=80)
    df.loc[[5, 44], "x"] = "?"
    path = tmp_path / "q.csv"
    df.to_csv(path, index=False)
    with pytest.warns(logitlab.io.MissingValuesWarning,
                      match=re.escape("'x': 2 rows (first row 5; in the file: '?' ×2)")):
        model = logitlab.fit("y ~ x + g", path, na_values=["", "NA", "?"], missing="drop")
    ref_df = pd.read_csv(path, na_values=["?"]).dropna()
    ref = smf.logit("y ~ x + g", ref_df).fit(disp=0, method="newton", tol=1e-12)
    names = ["x", "g[T.green]", "g[T.red]"]
    np.testing.assert_allclose(model.coef_[0], ref.params[names], rtol=1e-8)
    assert model.design_.n_dropped == 2
    # a genuine code column: C(code) makes it categorical, as statsmodels' C()
    codes = pd.DataFrame({"y": df["y"], "code": np.resize(["1", "2", "3", "other"], len(df))})
    model = logitlab.fit("y ~ C(code)", codes)
    ref = smf.logit("y ~ C(code)", codes).fit(disp=0, method="newton", tol=1e-12)
    np.testing.assert_allclose(model.coef_[0], ref.params.iloc[1:], rtol=1e-8, atol=1e-10)
    msg = raises_clean(ValueError, lambda: logitlab.fit("y ~ code", codes))
    assert "column 'code' holds numbers but also text in 20 rows: 'other' (rows 3, 7, 11, " \
           "15, 19 and 15 more)" in msg and "C(code)" in msg


def test_a_number_response_with_a_typo():
    df = _typo_frame()
    df["y"] = df["y"].astype(str).astype(object)
    df.loc[11, "y"] = "l"
    msg = raises_clean(ValueError, lambda: logitlab.fit("y ~ g", df))
    assert msg.startswith("the response 'y' holds numbers but also text in 1 row: 'l' (row 11)")


def test_predicting_on_a_number_column_with_text(tmp_path):
    df = _typo_frame()
    model = logitlab.fit("y ~ x + g", df.astype({"x": float}))
    new = df.copy()
    new.loc[3, "x"] = "n/a"
    msg = raises_clean(ValueError, lambda: model.predict_proba(new))
    assert msg.startswith("column 'x' holds numbers but also text in 1 row: 'n/a' (row 3); "
                          "the model was fitted with 'x' as numbers.")
    new.loc[3, "x"] = "NA"                 # a missing value: named with the file's text
    new.to_csv(tmp_path / "new.csv", index=False)
    msg = raises_clean(ValueError, lambda: model.predict_proba(tmp_path / "new.csv"))
    assert msg == ("missing values in the columns the formula uses: 'x': 1 row (first row 3; "
                   "in the file: 'NA' ×1); fill them in or drop those rows before predicting.")


def test_labels_differing_by_spaces_or_case_are_not_extra_classes():
    X, _ = data(n=30)
    y = np.array(["yes"] * 12 + [" yes"] * 2 + ["Yes"] + ["no"] * 14 + ["no "], dtype=object)
    for target in (y, pd.Series(y), pd.Series(y, dtype="string"), y.astype(str)):
        msg = raises_clean(ValueError, lambda t=target: LogisticRegression().fit(X, t))
        assert msg == ("y has labels that differ only by surrounding spaces or case: ' yes' "
                       "(2 rows), 'Yes' (1 row), 'yes' (12 rows) and 'no' (14 rows), 'no ' "
                       "(1 row); each would be a class of its own. Correct the labels so that "
                       "each group is one label (e.g. strip the spaces and use one case) and "
                       "fit again.")
    df = pd.DataFrame({"y": y, "x": X[:, 0]})
    assert "' yes' (2 rows)" in raises_clean(ValueError, lambda: logitlab.fit("y ~ x", df))


def test_levels_differing_by_spaces_or_case_are_not_extra_levels():
    df = _typo_frame()
    df["g"] = df["g"].astype(object)
    df.loc[[2, 8], "g"] = "Red"
    df.loc[4, "g"] = "blue "
    counts = df["g"].value_counts()
    for formula in ("y ~ g", "y ~ C(g)"):
        msg = raises_clean(ValueError, lambda f=formula: logitlab.fit(f, df))
        assert msg.startswith("column 'g' has levels that differ only by surrounding spaces "
                              "or case: ")
        for level in ("Red", "red", "blue ", "blue"):
            n = counts[level]
            assert f"{level!r} ({n} row{'s' if n != 1 else ''})" in msg
        assert "'green'" not in msg

# ------------------------------------------------- magnitudes beyond float64 sums
@pytest.mark.parametrize("big", [1e200, 1e308, -3e160])
@pytest.mark.parametrize("container", ["numpy", "frame", "csr"])
def test_huge_finite_values_in_X_name_the_column_and_rows(big, container):
    """Squares of such values overflow float64 (1e200² = inf): the fit cannot
    be computed, and says where and how to fix it (not scipy's 'array must not
    contain infs or NaNs' from inside the aliasing check)."""
    X, y = data()
    X[[4, 11], 1] = big
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    Xin = {"numpy": X, "frame": frame, "csr": sp.csr_matrix(X)}[container]
    msg = raises_clean(ValueError, lambda: LogisticRegression().fit(Xin, y))
    where = "'b'" if container == "frame" else "column 1"
    assert where in msg and "2 rows" in msg and "row 4, 11" in msg
    assert f"{abs(big):.3g}" in msg and "Rescale" in msg and "divide by" in msg
    assert "infs or NaNs" not in msg


def test_largest_accepted_magnitude_still_fits():
    """1e100 in a column (the limit) is accepted and fits as the same data in
    ordinary units do; the fit says the scaling keeps its gradient from meeting
    the tolerance (its rounding error is ~1e83)."""
    X, y = data(n=60)
    X[:, 0] += np.linspace(-1, 1, 60)
    y = (X[:, 0] + np.random.default_rng(1).normal(size=60) > 0).astype(int)
    small = LogisticRegression().fit(X, y)
    X2 = X.copy()
    X2[:, 1] *= 1e100 / np.abs(X2[:, 1]).max()
    with pytest.warns(logitlab.ConvergenceWarning, match="poor scaling"):
        big = LogisticRegression().fit(X2, y)
    np.testing.assert_allclose(big.predict_proba(X2), small.predict_proba(X), rtol=1e-8)


def test_huge_weights_are_rejected_with_their_rows():
    """Weights of 1e308 on two rows: their sum overflows, so the objective is NaN
    (the fit used to report converged_=True with coefficients 0)."""
    X, y = data()
    w = np.ones(20)
    w[[3, 7]] = 1e308
    msg = raises_clean(ValueError, lambda: LogisticRegression().fit(X, y, sample_weight=w))
    assert "row 3: 1e+308" in msg and "row 7: 1e+308" in msg and "row 0" not in msg
    assert "Rescale the weights" in msg and "divide them by their mean" in msg


def test_rescaled_weights_give_the_same_estimates():
    """The remedy the message gives: weights divided by their mean keep the
    estimates (statsmodels GLM with the original weights of 1e99 each row)."""
    import statsmodels.api as sm
    X, y = data(n=40)
    y = (X[:, 0] + np.random.default_rng(2).normal(size=40) > 0).astype(int)
    w = np.random.default_rng(3).uniform(0.5, 2, 40) * 1e99
    raises_clean(ValueError, lambda: LogisticRegression().fit(X, y, sample_weight=w))
    m = LogisticRegression().fit(X, y, sample_weight=w / w.mean())
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial(),
                 freq_weights=w / 1e99).fit(tol=1e-14)
    np.testing.assert_allclose(np.r_[m.intercept_, m.coef_[0]], ref.params, rtol=1e-8)


@pytest.mark.parametrize("solver", ["newton", "lbfgs", "newton-cg", "trust-ncg", "cd", "gd"])
def test_a_nan_objective_is_never_converged(solver):
    """A data backend whose weight total overflows (Σ = inf) makes the mean
    objective NaN with a zero gradient: no solver may call that converged."""
    from logitlab import solvers
    from logitlab.backends import InMemoryData
    from logitlab.core.layout import Layout
    from logitlab.solvers.objective import Objective

    X, y = data()
    w = np.ones(20)
    w[[3, 7, 9, 12]] = 1e308
    with np.errstate(over="ignore", invalid="ignore"):
        obj = Objective(InMemoryData(X, y.astype(float), w, None, Layout(3, 2, (1,), True)))
        res = solvers.run(solver, obj, np.zeros(4), tol=1e-8, max_iter=20)
    assert not np.isfinite(res.objective)
    assert res.converged is False
