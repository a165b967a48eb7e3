"""The scikit-learn estimator API of ``logitlab.LogisticRegression``.

Every test compares a real fit against an independent reference: scikit-learn
or statsmodels fitted inside the test, a closed form, or an exact property
(label relabelling, reparametrization, weighting equivalences).
"""

from __future__ import annotations

import functools
import io
import os
import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
import scipy.sparse as sp
import statsmodels.api as sm
from scipy.special import logsumexp
from scipy.special import softmax as sp_softmax
from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.metrics import log_loss as sk_log_loss
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import logitlab.engines.memory as estimator_module
from logitlab.data.validation import check_target
from logitlab import ConvergenceWarning, LogisticRegression, SeparationWarning

DATA = Path(__file__).parent / "data"


# --------------------------------------------------------------------- data
def binary_data(n=300, d=3, seed=0, beta=(1.0, -0.5, 0.3), b0=0.2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    z = X @ np.asarray(beta[:d]) + b0
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(int)
    return X, y


def multinomial_data(n=400, seed=1):
    """Three classes from a softmax model; y holds the codes 0, 1, 2."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    B = np.array([[0.0, 0.0, 0.0], [1.0, -1.0, 0.5], [-0.5, 0.3, 1.0]])
    P = sp_softmax(X @ B.T + np.array([0.0, 0.1, -0.2]), axis=1)
    u = rng.random(n)
    y = (u[:, None] > np.cumsum(P, axis=1)).sum(axis=1)
    return X, y


def spector():
    df = pd.read_csv(DATA / "spector.csv")
    return df[["GPA", "TUCE", "PSI"]], df["GRADE"].astype(int).to_numpy()


def sk_l2(alpha, n, **kw):
    """scikit-learn's L2 model with the same objective: C = 1 / (alpha n)."""
    return SkLogisticRegression(C=1.0 / (alpha * n), solver="newton-cholesky", tol=1e-12,
                                max_iter=1000, **kw)


# ------------------------------------------------- scikit-learn compatibility
def _check_name(check):
    return check.func.__name__ if isinstance(check, functools.partial) else check.__name__


_ARRAY_API_SCRIPT = textwrap.dedent("""
    from sklearn.utils.estimator_checks import check_array_api_input
    from logitlab import LogisticRegression
    check_array_api_input("LogisticRegression", LogisticRegression(),
                          array_namespace="numpy", expect_only_array_outputs=False)
    print("ARRAY_API_OK")
""")


# The two sample-weight-equivalence checks fit 3 classes on 15 rows with 30
# features: the data are separable with more features than rows, so the
# unpenalized MLE (our default) does not exist and both fits run off to infinity
# along rounding-dependent paths — whether they agree to the check's 1e-9 is
# luck. For alpha=0 they are replaced by a test that can fail: the check's data
# are separable (an independent LP finds the hyperplane) and logitlab says so.
# Weight equivalence where the MLE exists is tested for real in
# test_reference_fits.py (weight 2 == duplicated row, weight 0 == removed row),
# and by these two checks for the penalized estimator.
_NO_MLE_CHECKS = ("check_sample_weight_equivalence_on_dense_data",
                  "check_sample_weight_equivalence_on_sparse_data")


def _assert_check_data_have_no_mle(sparse_x):
    from scipy.optimize import linprog

    rng = np.random.RandomState(42)            # the check's data, as it makes them
    X = rng.rand(15, 30)
    y = rng.randint(0, 3, size=15)
    # class 0 against the rest is separable: y_i (x_i·b + c) >= 1 is feasible
    sign = np.where(y == 0, 1.0, -1.0)
    A = -sign[:, None] * np.c_[X, np.ones(15)]
    lp = linprog(np.zeros(31), A_ub=A, b_ub=-np.ones(15), bounds=[(None, None)] * 31)
    # judged by its residual: the LP's point satisfies every constraint
    assert lp.x is not None and np.max(A @ lp.x + 1.0) <= 1e-9
    with pytest.warns(SeparationWarning):
        LogisticRegression().fit(sp.csr_matrix(X) if sparse_x else X, y)


@parametrize_with_checks([LogisticRegression(), LogisticRegression(alpha=0.01)])
def test_sklearn_estimator_checks(estimator, check):
    if estimator.alpha == 0 and _check_name(check) in _NO_MLE_CHECKS:
        _assert_check_data_have_no_mle(sparse_x="sparse" in _check_name(check))
        return
    if _check_name(check) == "check_array_api_input":
        # scikit-learn skips this check unless SCIPY_ARRAY_API=1 is set before
        # scipy is imported: run it in a fresh interpreter with the variable set.
        env = dict(os.environ, SCIPY_ARRAY_API="1")
        out = subprocess.run([sys.executable, "-c", _ARRAY_API_SCRIPT], env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "ARRAY_API_OK" in out.stdout
        return
    with warnings.catch_warnings():
        # several checks fit separable toy data on purpose
        warnings.simplefilter("ignore", SeparationWarning)
        check(estimator)


# ------------------------------------------------------ pipeline / grid search
def test_pipeline_with_standard_scaler_matches_sklearn():
    X, y = binary_data(n=250, d=3, seed=3)
    X = X * np.array([1.0, 100.0, 0.01]) + np.array([5.0, -300.0, 2.0])
    alpha = 0.05
    pipe = Pipeline([("scale", StandardScaler()),
                     ("lr", LogisticRegression(penalty="l2", alpha=alpha))]).fit(X, y)
    ref = make_pipeline(StandardScaler(), sk_l2(alpha, X.shape[0])).fit(X, y)
    np.testing.assert_allclose(pipe.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-8)
    np.testing.assert_allclose(pipe.named_steps["lr"].coef_, ref[-1].coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(pipe.predict(X), ref.predict(X))
    # the pipeline equals scaling by hand and fitting
    Z = (X - X.mean(0)) / X.std(0)
    manual = LogisticRegression(penalty="l2", alpha=alpha).fit(Z, y)
    np.testing.assert_allclose(pipe.named_steps["lr"].coef_, manual.coef_, rtol=1e-10)


def test_grid_search_over_alpha_picks_the_manual_best():
    X, y = binary_data(n=240, d=3, seed=4, beta=(0.8, -0.4, 0.2))
    alphas = [1e-3, 1e-2, 1e-1, 1.0]
    cv = KFold(n_splits=4)
    grid = GridSearchCV(LogisticRegression(penalty="l2"), {"alpha": alphas}, cv=cv,
                        scoring="neg_log_loss").fit(X, y)
    # the same search by hand
    mean_loss = []
    for a in alphas:
        losses = []
        for tr, te in cv.split(X):
            m = LogisticRegression(penalty="l2", alpha=a).fit(X[tr], y[tr])
            losses.append(sk_log_loss(y[te], m.predict_proba(X[te])))
        mean_loss.append(np.mean(losses))
    np.testing.assert_allclose(-grid.cv_results_["mean_test_score"], mean_loss, rtol=1e-12)
    best_alpha = alphas[int(np.argmin(mean_loss))]
    assert grid.best_params_ == {"alpha": best_alpha}
    manual = LogisticRegression(penalty="l2", alpha=best_alpha).fit(X, y)
    np.testing.assert_array_equal(grid.predict(X), manual.predict(X))
    np.testing.assert_allclose(grid.predict_proba(X), manual.predict_proba(X), rtol=1e-12)
    ref = sk_l2(best_alpha, X.shape[0]).fit(X, y)
    np.testing.assert_allclose(grid.predict_proba(X), ref.predict_proba(X), atol=1e-8)


# -------------------------------------------------------------------- labels
LABEL_SETS = {
    "str-binary": np.array(["no", "yes"]),
    "bool": np.array([False, True]),
    "int-noncontiguous-binary": np.array([-1, 7]),
    "int-noncontiguous": np.array([3, 7, 10]),
    "object-str": np.array(["ant", "bee", "cat"], dtype=object),
    "str-4": np.array(["a", "b", "c", "d"]),
    "float-binary": np.array([0.0, 1.0]),
    "uint8-binary": np.array([0, 1], dtype=np.uint8),
    "int-contiguous-binary": np.array([4, 5]),
    "float-integral-binary": np.array([-3.0, 2.0]),
    "float-three": np.array([0.0, 1.0, 2.0]),
}


@pytest.mark.parametrize("name", list(LABEL_SETS))
def test_labels_of_any_hashable_type(name):
    labels = LABEL_SETS[name]  # sorted, so code k <-> labels[k]
    K = labels.size
    if K == 2:
        X, codes = binary_data(n=300, seed=5)
    else:
        X, codes = multinomial_data(n=400, seed=5)
        if K == 4:
            codes = np.where((codes == 2) & (X[:, 0] > 0.5), 3, codes)
    y = labels[codes]
    m = LogisticRegression().fit(X, y)
    ref = LogisticRegression().fit(X, codes)
    np.testing.assert_array_equal(m.classes_, np.unique(y))
    assert m.classes_.dtype == y.dtype
    pred = m.predict(X)
    assert pred.dtype == y.dtype
    assert type(pred[0]) is type(y[0])
    np.testing.assert_array_equal(pred, labels[ref.predict(X)])
    np.testing.assert_array_equal(pred, m.classes_[np.argmax(m.predict_proba(X), axis=1)])
    np.testing.assert_allclose(m.predict_proba(X), ref.predict_proba(X), rtol=1e-12, atol=1e-15)
    assert m.coef_.shape == ((1, 3) if K == 2 else (K, 3))
    # accuracy as the ClassifierMixin computes it
    assert m.score(X, y) == pytest.approx(np.mean(pred == y))


@pytest.mark.parametrize("labels", [
    np.array([0, 1, 1, 0, 1]), np.array([True, False, True, True]),
    np.array([7, 6, 6, 7], dtype=np.int16), np.array([0, 1, 2, 1], dtype=np.uint8),
    np.array([0, 2, 2, 0]), np.array([1.0, 0.0, 1.0, 0.0]), np.array([-0.0, 1.0, 0.0, 1.0]),
    np.array([0.0, 2.0, 0.0, 1.0, 2.0]), np.array([3.0, 3.0, 5.0, 4.0]),
    np.array([-0.0, 2.0, 0.0, 1.0]),
    np.array(["b", "a", "b"]),
], ids=lambda a: f"{a.dtype}-{a.tolist()}")
def test_check_target_codes_equal_numpy_unique(labels):
    """Classes and codes (whichever path finds them: min/max for two numeric
    values, else hashing) are numpy's sorted unique values and inverse."""
    classes, codes = check_target(labels, labels.size)
    ref_classes, ref_codes = np.unique(labels, return_inverse=True)
    np.testing.assert_array_equal(classes, ref_classes)
    assert classes.dtype == labels.dtype
    if labels.dtype.kind == "f":
        assert not np.signbit(classes).any()            # a -0.0 label reads 0.0
    np.testing.assert_array_equal(codes, ref_codes)
    np.testing.assert_array_equal(classes[codes], labels)
    assert codes.dtype == (np.int8 if classes.size == 2 else np.intp)


def test_non_integral_two_valued_float_y_is_rejected_as_continuous():
    X, y = binary_data(n=40, seed=3)
    with pytest.raises(ValueError, match="continuous"):
        LogisticRegression().fit(X, np.where(y == 1, 0.5, 0.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_sample_weight_fits_exactly_as_unit_weights(dtype):
    """Unit weights are a stride-0 view when no weights are given: the same
    arithmetic as an explicit array of ones, so the same bits (float32 X
    large enough for single mode, and float64)."""
    X, y = binary_data(n=(1 << 20) // 3 + 1, seed=11)
    X = X.astype(dtype)
    a = LogisticRegression(penalty="l2", alpha=1e-4, solver="newton-cg").fit(X, y)
    b = LogisticRegression(penalty="l2", alpha=1e-4, solver="newton-cg").fit(
        X, y, sample_weight=np.ones(y.size))
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    assert a.n_passes_ == b.n_passes_


def test_predict_proba_columns_follow_sorted_classes():
    X, codes = binary_data(n=300, seed=6)
    y = np.where(codes == 1, "absent", "present")  # code 1 sorts first
    m = LogisticRegression().fit(X, y)
    ref = LogisticRegression().fit(X, codes)
    np.testing.assert_array_equal(m.classes_, ["absent", "present"])
    P, R = m.predict_proba(X), ref.predict_proba(X)
    np.testing.assert_allclose(P[:, 0], R[:, 1], rtol=1e-12)
    np.testing.assert_allclose(P[:, 1], R[:, 0], rtol=1e-12)
    # the logit is that of classes_[1] = "present" = code 0
    np.testing.assert_allclose(m.decision_function(X), -ref.decision_function(X), rtol=1e-12)


def test_binary_probabilities_equal_statsmodels():
    Xdf, y = spector()
    sm_fit = sm.Logit(y, sm.add_constant(Xdf.to_numpy())).fit(disp=0, method="newton",
                                                               tol=1e-12, maxiter=100)
    p_sm = sm_fit.predict(sm.add_constant(Xdf.to_numpy()))
    # default tol=1e-8 on the gradient: ~1e-8 relative; a tight tol: ~machine precision
    for tol, rtol in ((1e-8, 1e-6), (1e-13, 1e-10)):
        m = LogisticRegression(tol=tol).fit(Xdf, y)
        assert m.converged_
        np.testing.assert_allclose(m.intercept_[0], sm_fit.params[0], rtol=rtol)
        np.testing.assert_allclose(m.coef_.ravel(), sm_fit.params[1:], rtol=rtol)
        np.testing.assert_allclose(m.predict_proba(Xdf)[:, 1], p_sm, rtol=rtol, atol=1e-14)
        np.testing.assert_allclose(m.predict_proba(Xdf)[:, 0], 1 - p_sm, rtol=rtol, atol=1e-14)
        np.testing.assert_allclose(m.predict_proba(Xdf).sum(axis=1), 1.0, rtol=1e-15)


def test_multinomial_probabilities_softmax_and_statsmodels():
    X, codes = multinomial_data()
    labels = np.array([3, 7, 10])
    m = LogisticRegression().fit(X, labels[codes])
    P = m.predict_proba(X)
    Z = m.decision_function(X)
    assert P.shape == Z.shape == (X.shape[0], 3)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(P, sp_softmax(Z, axis=1), rtol=1e-12)
    mn = sm.MNLogit(codes, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12,
                                                   maxiter=100)
    np.testing.assert_allclose(P, mn.predict(sm.add_constant(X)), rtol=1e-7, atol=1e-12)
    # statsmodels' params: rows (const, x1..), one column per non-reference class
    np.testing.assert_allclose(m.coef_vs_reference_, mn.params[1:].T, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(m.intercept_vs_reference_, mn.params[0], rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------- log probability
def _log1pexp(z):
    """log(1 + e^z) in closed form, without overflow."""
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def test_predict_log_proba_equals_log_of_proba_where_not_extreme():
    X, y = binary_data(seed=7)
    m = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(m.predict_log_proba(X), np.log(m.predict_proba(X)), rtol=1e-12)
    Xm, codes = multinomial_data()
    mm = LogisticRegression().fit(Xm, codes)
    np.testing.assert_allclose(mm.predict_log_proba(Xm), np.log(mm.predict_proba(Xm)),
                               rtol=1e-12)


def test_predict_log_proba_exact_where_proba_rounds_to_zero_or_one():
    Xdf, y = spector()
    m = LogisticRegression().fit(Xdf.to_numpy(), y)
    beta, b = m.coef_.ravel(), m.intercept_[0]
    # points whose logit is exactly -b + t + b = t along the coefficient direction
    t = np.array([-2000.0, -800.0, -40.0, 40.0, 800.0, 2000.0])
    Xe = (t - b)[:, None] * beta[None, :] / (beta @ beta)
    z = m.decision_function(Xe)
    np.testing.assert_allclose(z, t, rtol=1e-10)
    P = m.predict_proba(Xe)
    L = m.predict_log_proba(Xe)
    # the extreme rows really are extreme: a probability rounds to 0 or 1
    assert P[0, 1] == 0.0 and P[-1, 0] == 0.0
    assert P[2, 0] == 1.0 and P[3, 1] == 1.0
    assert np.all(np.isfinite(L))
    # closed form: log P(classes_[1]) = -log(1 + e^-z), log P(classes_[0]) = -log(1 + e^z)
    np.testing.assert_allclose(L[:, 1], -_log1pexp(-z), rtol=1e-13)
    np.testing.assert_allclose(L[:, 0], -_log1pexp(z), rtol=1e-13)
    # where p rounds to 1 the log is tiny but not zero
    assert L[3, 1] < 0 and L[3, 1] == pytest.approx(-np.exp(-40.0), rel=1e-12, abs=0)


def test_multinomial_predict_log_proba_exact_for_extreme_logits():
    X, codes = multinomial_data()
    m = LogisticRegression().fit(X, codes)
    Xe = np.vstack([X[:5] * 1000.0, -X[:5] * 1000.0])
    Z = m.decision_function(Xe)
    P = m.predict_proba(Xe)
    L = m.predict_log_proba(Xe)
    zero = P == 0.0
    assert zero.any()  # rounding really happens
    assert np.all(np.isfinite(L))
    ref = Z - logsumexp(Z, axis=1, keepdims=True)
    np.testing.assert_allclose(L[zero], ref[zero], rtol=1e-13)
    np.testing.assert_allclose(L, ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.exp(L), P, rtol=1e-12, atol=0)


def test_multinomial_log_proba_of_a_dominant_class_is_relatively_exact():
    """As in the binary case (log P = -log1p(e^-z) = -4.25e-18 for z = 40), the
    log-probability of a class whose probability rounds to 1 must keep its
    relative precision: log P_0 = -log1p(e^-40 + e^-1000)."""
    X, codes = multinomial_data()
    m = LogisticRegression().fit(X, codes)
    # choose rows whose logits are (0, -40, -1000) up to a common shift
    A = np.column_stack([m.coef_[1] - m.coef_[0], m.coef_[2] - m.coef_[0]]).T  # (2, d)
    b = np.r_[m.intercept_[1] - m.intercept_[0], m.intercept_[2] - m.intercept_[0]]
    Xe, *_ = np.linalg.lstsq(A, np.array([-40.0, -1000.0]) - b, rcond=None)
    Z = m.decision_function(Xe[None, :])
    np.testing.assert_allclose(Z[0, 1:] - Z[0, 0], [-40.0, -1000.0], rtol=1e-9)
    P, L = m.predict_proba(Xe[None, :]), m.predict_log_proba(Xe[None, :])
    assert P[0, 0] == 1.0 and P[0, 2] == 0.0
    expected = -np.log1p(np.exp(Z[0, 1] - Z[0, 0]) + np.exp(Z[0, 2] - Z[0, 0]))
    assert expected < 0
    assert L[0, 0] == pytest.approx(expected, rel=1e-10, abs=0)


# --------------------------------------------------- decision function, coef_
def test_decision_function_binary_closed_form():
    X, y = binary_data(seed=8)
    m = LogisticRegression().fit(X, y)
    z = m.decision_function(X)
    assert z.shape == (X.shape[0],)
    assert m.coef_.shape == (1, 3) and m.intercept_.shape == (1,)
    np.testing.assert_allclose(z, X @ m.coef_.ravel() + m.intercept_[0], rtol=1e-12, atol=1e-14)
    off = np.linspace(-1, 1, X.shape[0])
    np.testing.assert_allclose(m.decision_function(X, offset=off), z + off, rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_array_equal(m.predict(X), m.classes_[(z > 0).astype(int)])
    # without an intercept
    m0 = LogisticRegression(fit_intercept=False).fit(X, y)
    np.testing.assert_array_equal(m0.intercept_, [0.0])
    np.testing.assert_allclose(m0.decision_function(X), X @ m0.coef_.ravel(), rtol=1e-12)
    ref = sm.Logit(y, X).fit(disp=0, method="newton", tol=1e-12)
    np.testing.assert_allclose(m0.coef_.ravel(), ref.params, rtol=1e-7)


def test_decision_function_multinomial_closed_form():
    X, codes = multinomial_data()
    for m in (LogisticRegression().fit(X, codes),
              LogisticRegression(penalty="l2", alpha=0.01).fit(X, codes)):
        Z = m.decision_function(X)
        assert Z.shape == (X.shape[0], 3)
        assert m.coef_.shape == (3, 3) and m.intercept_.shape == (3,)
        np.testing.assert_allclose(Z, X @ m.coef_.T + m.intercept_, rtol=1e-12, atol=1e-13)
        np.testing.assert_array_equal(m.predict(X), m.classes_[np.argmax(Z, axis=1)])


def test_unpenalized_multinomial_reference_row_is_zero_and_reference_class_reparametrizes():
    X, codes = multinomial_data()
    labels = np.array([3, 7, 10])
    y = labels[codes]
    m3 = LogisticRegression().fit(X, y)
    m7 = LogisticRegression(reference_class=7).fit(X, y)
    assert m3.reference_class_ == 3 and m7.reference_class_ == 7
    np.testing.assert_array_equal(m3.coef_[0], 0.0)
    assert m3.intercept_[0] == 0.0
    np.testing.assert_array_equal(m7.coef_[1], 0.0)
    assert m7.intercept_[1] == 0.0
    np.testing.assert_array_equal(m7.other_classes_, [3, 10])
    np.testing.assert_array_equal(m3.other_classes_, [7, 10])
    assert m3.coef_vs_reference_.shape == (2, 3)
    # the same model in two parametrizations: log RRR vs 7 = rows of (vs 3) minus row 7
    full3 = np.vstack([np.zeros(3), m3.coef_vs_reference_])          # rows: 3, 7, 10
    b3 = np.r_[0.0, m3.intercept_vs_reference_]
    np.testing.assert_allclose(m7.coef_vs_reference_, (full3 - full3[1])[[0, 2]],
                               rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(m7.intercept_vs_reference_, (b3 - b3[1])[[0, 2]],
                               rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(m7.predict_proba(X), m3.predict_proba(X), rtol=1e-9, atol=1e-13)
    np.testing.assert_array_equal(m7.predict(X), m3.predict(X))


def test_penalized_multinomial_reference_class_is_a_view():
    X, codes = multinomial_data()
    a = LogisticRegression(penalty="l2", alpha=0.02).fit(X, codes)
    b = LogisticRegression(penalty="l2", alpha=0.02, reference_class=2).fit(X, codes)
    # symmetric softmax: the penalized fit does not depend on the reference
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10, atol=1e-12)
    # the L2 optimum of the symmetric model has rows summing to zero
    np.testing.assert_allclose(a.coef_.sum(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(a.coef_vs_reference_, a.coef_[[1, 2]] - a.coef_[0], rtol=1e-12)
    np.testing.assert_allclose(b.coef_vs_reference_, b.coef_[[0, 1]] - b.coef_[2], rtol=1e-12)
    np.testing.assert_allclose(b.intercept_vs_reference_, b.intercept_[[0, 1]] - b.intercept_[2],
                               rtol=1e-12)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-10)
    # sklearn's multinomial L2 fit is the same objective
    ref = sk_l2(0.02, X.shape[0]).fit(X, codes)
    np.testing.assert_allclose(a.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(a.predict_proba(X), ref.predict_proba(X), atol=1e-8)


def test_binary_reference_class_flips_sign():
    X, y = binary_data(seed=9)
    y = np.array(["neg", "pos"])[y]
    a = LogisticRegression().fit(X, y)
    b = LogisticRegression(reference_class="pos").fit(X, y)
    assert a.reference_class_ == "neg" and b.reference_class_ == "pos"
    np.testing.assert_array_equal(a.other_classes_, ["pos"])
    np.testing.assert_array_equal(b.other_classes_, ["neg"])
    np.testing.assert_allclose(a.coef_vs_reference_, a.coef_, rtol=0)
    np.testing.assert_allclose(b.coef_vs_reference_, -a.coef_vs_reference_, rtol=1e-10)
    np.testing.assert_allclose(b.intercept_vs_reference_, -a.intercept_vs_reference_, rtol=1e-10)
    # coef_ stays the logit of classes_[1]; predictions are unchanged
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-10)
    np.testing.assert_array_equal(b.predict(X), a.predict(X))
    np.testing.assert_allclose(b.predict_proba(X), a.predict_proba(X), rtol=1e-10)


# --------------------------------------------------------------- input types
def test_feature_names_and_dataframe_libraries_give_the_same_fit():
    X, y = binary_data(seed=10)
    df = pd.DataFrame(X, columns=["age", "dose", "weight"])
    ref = LogisticRegression().fit(X, y)
    assert not hasattr(ref, "feature_names_in_")
    for frame in (df, pl.from_pandas(df), pa.Table.from_pandas(df)):
        m = LogisticRegression().fit(frame, y)
        np.testing.assert_array_equal(m.feature_names_in_, ["age", "dose", "weight"])
        assert m.n_features_in_ == 3
        np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-12)
        np.testing.assert_allclose(m.intercept_, ref.intercept_, rtol=1e-12)
        np.testing.assert_allclose(m.predict_proba(frame), ref.predict_proba(X), rtol=1e-12)
    sk = SkLogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(df, y)
    np.testing.assert_array_equal(sk.feature_names_in_, ["age", "dose", "weight"])
    np.testing.assert_allclose(ref.coef_, sk.coef_, rtol=1e-5)


def test_sparse_input_gives_the_same_fit_as_dense():
    X, y = binary_data(seed=11)
    X[np.abs(X) < 0.8] = 0.0
    dense = LogisticRegression().fit(X, y)
    for fmt in ("csr", "csc", "coo"):
        m = LogisticRegression().fit(sp.csr_matrix(X).asformat(fmt), y)
        np.testing.assert_allclose(m.coef_, dense.coef_, rtol=1e-10)
        np.testing.assert_allclose(m.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X),
                                   rtol=1e-10)


def _spy_on_fit_dtype(monkeypatch):
    seen = []
    original = estimator_module.InMemoryData

    def spy(X, *args, **kwargs):
        seen.append(X.dtype)
        return original(X, *args, **kwargs)

    monkeypatch.setattr(estimator_module, "InMemoryData", spy)
    return seen


@pytest.mark.parametrize("multinomial", [False, True])
def test_float32_input_fits_in_float32(monkeypatch, multinomial):
    seen = _spy_on_fit_dtype(monkeypatch)
    X, y = multinomial_data() if multinomial else binary_data(seed=12)
    X32 = X.astype(np.float32)
    m32 = LogisticRegression().fit(X32, y)
    m64 = LogisticRegression().fit(X32.astype(np.float64), y)
    forced = LogisticRegression(dtype="float64").fit(X32, y)
    down = LogisticRegression(dtype="float32").fit(X, y)
    assert seen == [np.float32, np.float64, np.float64, np.float32]
    assert m32.converged_ and m32.grad_norm_ <= m64.tol_
    # float32 storage, float64 arithmetic: the float64 fit of the same numbers
    np.testing.assert_allclose(m32.coef_, m64.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(down.coef_, m64.coef_, rtol=1e-8, atol=1e-10)
    # dtype="float64" is the float64 fit of the same numbers
    np.testing.assert_allclose(forced.coef_, m64.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(m32.predict_proba(X32), m64.predict_proba(X32), atol=1e-4)


# ---------------------------------------------------------------- warm start
def test_warm_start_converges_faster_to_the_same_optimum():
    X, y = binary_data(n=500, d=3, seed=13)
    X = np.hstack([X, X[:, :2] + 0.1 * np.random.default_rng(0).normal(size=(500, 2))])
    cold = LogisticRegression(penalty="l2", alpha=0.02, solver="lbfgs").fit(X, y)
    cold2 = LogisticRegression(penalty="l2", alpha=0.025, solver="lbfgs").fit(X, y)
    warm = LogisticRegression(penalty="l2", alpha=0.02, solver="lbfgs", warm_start=True).fit(X, y)
    first_iter = warm.n_iter_
    assert first_iter == cold.n_iter_
    warm.set_params(alpha=0.025).fit(X, y)
    assert warm.converged_ and cold2.converged_
    assert warm.n_iter_ < cold2.n_iter_
    np.testing.assert_allclose(warm.coef_, cold2.coef_, rtol=1e-6, atol=1e-8)
    ref = sk_l2(0.025, X.shape[0]).fit(X, y)
    np.testing.assert_allclose(warm.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    # refitting the same problem from its optimum needs no iteration at all
    warm.fit(X, y)
    assert warm.n_iter_ == 0
    np.testing.assert_allclose(warm.coef_, cold2.coef_, rtol=1e-6, atol=1e-8)


def test_warm_start_ignored_when_shapes_differ():
    X, y = binary_data(n=300, seed=14)
    cold = LogisticRegression(solver="lbfgs").fit(X[:, :2], y)
    warm = LogisticRegression(solver="lbfgs", warm_start=True).fit(X, y)
    warm.fit(X[:, :2], y)
    assert warm.n_iter_ == cold.n_iter_
    np.testing.assert_allclose(warm.coef_, cold.coef_, rtol=1e-12)


# ------------------------------------------------------------- class weights
@pytest.mark.parametrize("alpha", [0.0, 0.05])
def test_class_weight_equals_sample_weight(alpha):
    X, codes = binary_data(n=300, seed=15, b0=-1.0)
    y = np.array(["rare", "common"])[1 - codes]
    kw = dict(penalty="l2", alpha=alpha)
    counts = {c: np.sum(y == c) for c in ("common", "rare")}
    balanced = {c: y.size / (2 * counts[c]) for c in counts}  # n / (K n_c)
    sw = np.array([balanced[v] for v in y])
    a = LogisticRegression(class_weight="balanced", **kw).fit(X, y)
    b = LogisticRegression(**kw).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-10)
    cw = {"common": 0.5, "rare": 3.0}
    c = LogisticRegression(class_weight=cw, **kw).fit(X, y)
    d = LogisticRegression(**kw).fit(X, y, sample_weight=np.where(y == "rare", 3.0, 0.5))
    np.testing.assert_allclose(c.coef_, d.coef_, rtol=1e-10)
    # class weights multiply user sample weights
    s = np.random.default_rng(1).uniform(0.5, 2.0, y.size)
    e = LogisticRegression(class_weight=cw, **kw).fit(X, y, sample_weight=s)
    f = LogisticRegression(**kw).fit(X, y, sample_weight=s * np.where(y == "rare", 3.0, 0.5))
    np.testing.assert_allclose(e.coef_, f.coef_, rtol=1e-10)
    if alpha == 0.0:  # unpenalized: scikit-learn's weighted MLE is the same
        ref = SkLogisticRegression(C=np.inf, class_weight="balanced", solver="newton-cholesky",
                                   tol=1e-12).fit(X, y)
        np.testing.assert_allclose(a.coef_, ref.coef_, rtol=1e-7)


def test_integer_sample_weights_equal_repeated_rows():
    X, y = binary_data(n=120, seed=16)
    w = np.random.default_rng(2).integers(0, 4, size=y.size)
    a = LogisticRegression().fit(X, y, sample_weight=w)
    b = LogisticRegression().fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-9)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-9)


# ----------------------------------------------------------- history / solver
@pytest.mark.parametrize("solver", ["newton", "lbfgs", "newton-cg", "trust-ncg", "cd", "gd"])
def test_history_and_callback(solver):
    X, y = binary_data(n=200, seed=17)
    calls = []
    m = LogisticRegression(solver=solver, tol=1e-7,
                           callback=lambda *args: calls.append(args)).fit(X, y)
    assert m.solver_ == solver and m.converged_
    obj, gn = m.history_["objective"], m.history_["grad_norm"]
    assert obj.shape == gn.shape == (m.n_iter_ + 1,)
    assert gn[-1] == m.grad_norm_ and m.grad_norm_ <= 1e-7
    assert obj[-1] == m.objective_
    # callback once per recorded iteration, with (iteration, objective, grad_norm)
    assert [c[0] for c in calls] == list(range(m.n_iter_ + 1))
    np.testing.assert_array_equal([c[1] for c in calls], obj)
    np.testing.assert_array_equal([c[2] for c in calls], gn)
    # independent: mean log loss and its gradient at the fitted coefficients
    p = m.predict_proba(X)[:, 1]
    assert m.objective_ == pytest.approx(sk_log_loss(y, p), rel=1e-12)
    grad = np.r_[X.T @ (p - y), np.sum(p - y)] / y.size
    assert np.max(np.abs(grad)) == pytest.approx(m.grad_norm_, rel=1e-5, abs=1e-12)
    # the starting point is the intercept-only model at the base rate
    ybar = y.mean()
    assert obj[0] == pytest.approx(-(ybar * np.log(ybar) + (1 - ybar) * np.log1p(-ybar)),
                                   rel=1e-12)


def test_newton_history_is_monotone():
    Xdf, y = spector()
    m = LogisticRegression(solver="newton", tol=1e-10).fit(Xdf, y)
    obj = m.history_["objective"]
    assert m.converged_ and m.n_iter_ >= 3
    assert np.all(np.diff(obj) <= 1e-15 * np.abs(obj[:-1]))
    assert m.history_["grad_norm"][-1] == m.grad_norm_ <= 1e-10
    sm_fit = sm.Logit(y, sm.add_constant(Xdf.to_numpy())).fit(disp=0, method="newton",
                                                               tol=1e-12)
    assert m.objective_ == pytest.approx(-sm_fit.llf / y.size, rel=1e-12)


def test_auto_solver_choice():
    X, y = binary_data(n=200, seed=18)
    assert LogisticRegression().fit(X, y).solver_ == "newton"
    assert LogisticRegression(penalty="l2", alpha=0.1).fit(X, y).solver_ == "newton"
    l1 = LogisticRegression(penalty="l1", alpha=0.05).fit(X, y)
    assert l1.solver_ == "cd"
    assert LogisticRegression(penalty="elasticnet", alpha=0.05).fit(X, y).solver_ == "cd"
    # sklearn's L1 fit (liblinear penalizes the intercept; saga does not)
    ref = SkLogisticRegression(C=1 / (0.05 * y.size), l1_ratio=1.0, solver="saga", tol=1e-10,
                               max_iter=100000).fit(X, y)
    np.testing.assert_allclose(l1.coef_, ref.coef_, atol=2e-5)
    np.testing.assert_array_equal(l1.coef_ == 0, ref.coef_ == 0)
    # wide data: d = 400 coefficients are too many for the dense Hessian
    rng = np.random.default_rng(3)
    Xw = rng.normal(size=(150, 400))
    yw = (Xw[:, :5].sum(axis=1) + rng.normal(size=150) > 0).astype(int)
    wide = LogisticRegression(penalty="l2", alpha=0.1).fit(Xw, yw)
    assert wide.solver_ == "newton-cg" and wide.converged_
    ref = sk_l2(0.1, Xw.shape[0]).fit(Xw, yw)
    np.testing.assert_allclose(wide.coef_, ref.coef_, atol=1e-7)
    # the same wide data in CSR: the trust-region variant
    wide_csr = LogisticRegression(penalty="l2", alpha=0.1).fit(sp.csr_matrix(Xw), yw)
    assert wide_csr.solver_ == "trust-ncg" and wide_csr.converged_
    np.testing.assert_allclose(wide_csr.coef_, ref.coef_, atol=1e-7)


# -------------------------------------------------------------- persistence
def test_pickle_and_joblib_round_trip():
    X, codes = multinomial_data()
    y = np.array(["a", "b", "c"])[codes]
    m = LogisticRegression(penalty="l2", alpha=0.01).fit(pd.DataFrame(X, columns=list("pqr")), y)
    Xdf = pd.DataFrame(X, columns=list("pqr"))
    m2 = pickle.loads(pickle.dumps(m))
    buf = io.BytesIO()
    joblib.dump(m, buf)
    buf.seek(0)
    m3 = joblib.load(buf)
    for other in (m2, m3):
        np.testing.assert_array_equal(other.predict(Xdf), m.predict(Xdf))
        np.testing.assert_array_equal(other.predict_proba(Xdf), m.predict_proba(Xdf))
        np.testing.assert_array_equal(other.feature_names_in_, m.feature_names_in_)
        assert other.solver_ == m.solver_ and other.n_iter_ == m.n_iter_


# ----------------------------------------------------------------- warnings
def _recorded(fn):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        result = fn()
    return result, rec


def test_gd_too_few_iterations_warns_max_iter():
    X, y = binary_data(seed=19)
    m, rec = _recorded(lambda: LogisticRegression(solver="gd", max_iter=3).fit(X, y))
    conv = [w for w in rec if issubclass(w.category, ConvergenceWarning)]
    assert len(conv) == 1
    # raised as a subclass of scikit-learn's ConvergenceWarning too (sklearn is loaded here)
    assert issubclass(conv[0].category, SkConvergenceWarning)
    msg = str(conv[0].message)
    assert "max_iter=3" in msg and "did not converge" in msg and "'gd'" in msg
    assert not m.converged_ and m.n_iter_ == 3
    assert f"{m.grad_norm_:.3g}" in msg
    # the same fit with enough iterations converges quietly
    m2, rec2 = _recorded(lambda: LogisticRegression(solver="gd").fit(X, y))
    assert m2.converged_ and not rec2


@pytest.mark.slow
@pytest.mark.parametrize("form", ["f64", "f32", "csr"])
def test_poorly_scaled_columns_are_named_with_their_standard_deviations(form):
    """A fit stopped early on columns whose scales differ by 1e6 names the
    widest and narrowest column with their standard deviations, as numpy's
    ``std`` computes them from the data (150,000 rows: three row blocks of at
    most 2**16, summed by the backend without a float64 copy of X)."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(150_000, 3)) * np.array([1e-3, 1.0, 1e3]) + np.array([5.0, 0.0, -2e3])
    y = (X[:, 1] + rng.normal(size=X.shape[0]) > 0).astype(int)
    Xf = {"f64": X, "f32": X.astype(np.float32), "csr": sp.csr_matrix(X)}[form]
    ref = np.std(np.asarray(X.astype(np.float32) if form == "f32" else X, dtype=np.float64),
                 axis=0)
    m, rec = _recorded(lambda: LogisticRegression(solver="gd", max_iter=2).fit(Xf, y))
    msg = " ".join(str(w.message) for w in rec if issubclass(w.category, ConvergenceWarning))
    assert not m.converged_
    assert f"column 'x2' has standard deviation {ref[2]:.3g} but 'x0' {ref[0]:.3g}" in msg


def test_gd_too_large_learning_rate_warns_about_the_learning_rate():
    X, y = binary_data(seed=20)
    m, rec = _recorded(lambda: LogisticRegression(
        solver="gd", max_iter=200, solver_options={"learning_rate": 1e3}).fit(X, y))
    conv = [w for w in rec if issubclass(w.category, ConvergenceWarning)]
    assert len(conv) == 1 and not m.converged_
    msg = str(conv[0].message)
    assert "learning rate is too large" in msg and "learning_rate" in msg
    # the objective really went up from the start
    assert m.history_["objective"][-1] > m.history_["objective"][0]


def test_diverging_gd_is_not_reported_as_separation():
    """Data drawn from a logistic model with n=300, d=3 are not separable: the
    Newton fit converges to finite coefficients. A diverging gd run on them
    must blame the learning rate, not claim that the MLE does not exist."""
    X, y = binary_data(seed=20)
    ok = LogisticRegression(solver="newton").fit(X, y)
    assert ok.converged_ and np.abs(ok.coef_).max() < 5  # the MLE exists
    m, rec = _recorded(lambda: LogisticRegression(
        solver="gd", max_iter=200, solver_options={"learning_rate": 1e3}).fit(X, y))
    sep = [str(w.message) for w in rec if issubclass(w.category, SeparationWarning)]
    assert sep == []
    conv = [str(w.message) for w in rec if issubclass(w.category, ConvergenceWarning)]
    assert "separation" not in conv[0]


def _separated():
    rng = np.random.default_rng(21)
    sep = np.r_[np.linspace(-3, -0.1, 25), np.linspace(0.1, 3, 25)]
    X = pd.DataFrame({"noise": rng.normal(size=50), "dose": sep})
    y = (sep > 0).astype(int)
    return X, y


def test_separation_warns_and_names_the_separating_column():
    X, y = _separated()
    m, rec = _recorded(lambda: LogisticRegression().fit(X, y))
    sep = [str(w.message) for w in rec if issubclass(w.category, SeparationWarning)]
    assert len(sep) == 1
    # columns are listed by |coefficient| x sd: the separating one comes first
    assert "driven by 'dose'" in sep[0]
    assert "separated" in sep[0] and "penalty" in sep[0]
    # the fit classifies every row correctly, most with probability numerically 1,
    # and the separating coefficient is huge
    P = m.predict_proba(X)
    np.testing.assert_array_equal(m.predict(X), y)
    assert np.sum(P[np.arange(y.size), y] > 1 - 1e-10) >= 40
    assert abs(m.coef_[0, 1]) * X["dose"].std() > 15
    # statsmodels agrees the data are perfectly separated
    with warnings.catch_warnings(record=True) as srec:
        warnings.simplefilter("always")
        try:
            sm.Logit(y, sm.add_constant(X.to_numpy())).fit(disp=0)
            flagged = any("separation" in str(w.message).lower() for w in srec)
        except Exception as err:  # older statsmodels raise PerfectSeparationError
            flagged = "separation" in str(err).lower()
    assert flagged
    # numpy input: the column is named x1
    _, rec_np = _recorded(lambda: LogisticRegression().fit(X.to_numpy(), y))
    sep_np = [str(w.message) for w in rec_np if issubclass(w.category, SeparationWarning)]
    assert len(sep_np) == 1 and "driven by 'x1'" in sep_np[0]


def test_penalized_fit_of_separated_data_does_not_warn():
    X, y = _separated()
    m, rec = _recorded(lambda: LogisticRegression(penalty="l2", alpha=0.01).fit(X, y))
    assert m.converged_
    assert not [w for w in rec if issubclass(w.category, (SeparationWarning, ConvergenceWarning))]
    ref = sk_l2(0.01, y.size).fit(X, y)
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-6)


def test_duplicated_column_fits_with_the_same_predictions():
    X, y = binary_data(seed=22)
    Xd = np.column_stack([X, X[:, 0]])
    base = LogisticRegression(solver="newton", tol=1e-10).fit(X, y)
    m, rec = _recorded(lambda: LogisticRegression(solver="newton", tol=1e-10).fit(Xd, y))
    assert m.converged_ and m.grad_norm_ <= 1e-10
    assert not [w for w in rec if issubclass(w.category, ConvergenceWarning)]
    assert np.all(np.isfinite(m.coef_))
    # the fitted model is the same: same probabilities and likelihood
    np.testing.assert_allclose(m.predict_proba(Xd), base.predict_proba(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(m.predict(Xd), base.predict(X))
    assert m.objective_ == pytest.approx(base.objective_, rel=1e-12)
    # only the sum of the two tied coefficients is identified, and it is right
    c = m.coef_.ravel()
    np.testing.assert_allclose(c[0] + c[3], base.coef_[0, 0], rtol=1e-8)
    np.testing.assert_allclose(c[1:3], base.coef_[0, 1:], rtol=1e-8)
    np.testing.assert_allclose(m.intercept_, base.intercept_, rtol=1e-8)


def test_pickling_a_model_leaves_its_training_rows_in_place():
    import copy
    import pickle
    X, y = binary_data(n=300, d=3, seed=21)
    model = LogisticRegression().fit(X, y)
    before = model.conf_int(method="profile")
    clone = pickle.loads(pickle.dumps(model))
    copy.copy(model)
    assert model.results_.objective is not None       # the original keeps its rows
    assert clone.results_.objective is None           # the pickle never carries them
    np.testing.assert_allclose(model.conf_int(method="profile"), before, rtol=1e-12)
    np.testing.assert_allclose(model.residuals(type="pearson"),
                               (y - model.predict_proba(X)[:, 1])
                               / np.sqrt(model.predict_proba(X).prod(axis=1)), rtol=1e-10)
