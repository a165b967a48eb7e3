"""logitlab.evaluation.metrics against scikit-learn / statsmodels / direct numpy, on random
(hypothesis) and edge-case inputs: one class predicted, ties, weights, zero weights."""

import json
import math
import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings, strategies as st
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from statsmodels.stats.proportion import proportion_confint

from logitlab.evaluation import metrics as m
SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def binary_case(draw, ties=False, zero_weights=True):
    """(y in {0,1} with both classes, p in (0,1) or on a coarse grid (ties), w or None)."""
    n = draw(st.integers(4, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    rng.shuffle(y)
    p = rng.integers(1, 8, n) / 8 if ties or draw(st.booleans()) else rng.uniform(0.001, 0.999, n)
    kind = draw(st.sampled_from(["none", "positive", "zeros"] if zero_weights else ["none", "positive"]))
    if kind == "none":
        return y, p, None
    w = rng.uniform(0.1, 3.0, n)
    if kind == "zeros":
        w[rng.uniform(size=n) < 0.3] = 0.0
        w[y == 0][:1] = 1.0
        w[np.flatnonzero(y == 0)[0]] = 1.0
        w[np.flatnonzero(y == 1)[0]] = 1.0
    return y, p, w


@st.composite
def multi_case(draw, K=None):
    K = K or draw(st.integers(3, 5))
    n = draw(st.integers(K + 2, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    y = rng.integers(0, K, n)
    y[:K] = np.arange(K)
    P = rng.dirichlet(np.ones(K), n)
    w = rng.uniform(0.1, 3.0, n) if draw(st.booleans()) else None
    return y, P, w


# ------------------------------------------------------------ proper scores
@SETTINGS
@given(binary_case())
def test_log_loss_and_brier_binary(case):
    y, p, w = case
    expected = skm.log_loss(y, p, sample_weight=w)
    assert m.log_loss(y, p, sample_weight=w) == pytest.approx(expected, rel=1e-12)
    assert m.log_loss(y, p, sample_weight=w, base=2) == pytest.approx(expected / math.log(2), rel=1e-12)
    assert m.brier_score(y, p, sample_weight=w) == pytest.approx(
        skm.brier_score_loss(y, p, sample_weight=w), rel=1e-12, abs=1e-15)


@SETTINGS
@given(multi_case())
def test_log_loss_and_brier_multiclass(case):
    y, P, w = case
    assert m.log_loss(y, P, sample_weight=w) == pytest.approx(
        skm.log_loss(y, P, sample_weight=w), rel=1e-12)
    assert m.brier_score(y, P, sample_weight=w) == pytest.approx(
        skm.brier_score_loss(y, P, sample_weight=w), rel=1e-12)


def test_string_labels_and_two_column_proba():
    rng = np.random.default_rng(1)
    y = rng.choice(["no", "yes"], 50)
    p = rng.uniform(0.05, 0.95, 50)
    P = np.column_stack([1 - p, p])
    for proba in (p, P):
        assert m.log_loss(y, proba) == pytest.approx(skm.log_loss(y, P), rel=1e-12)
        assert m.accuracy(y, proba) == pytest.approx(skm.accuracy_score(y, np.where(p > 0.5, "yes", "no")))


def test_log_loss_is_exact_where_sklearn_clips():
    """p = 1e-300 for the true class: the loss is -log(1e-300)/n, not a clipped value."""
    y = np.array([1, 0])
    p = np.array([1e-300, 0.5])
    assert m.log_loss(y, p) == pytest.approx((300 * math.log(10) + math.log(2)) / 2, rel=1e-13)


def test_log_loss_zero_probability_of_truth_is_inf_with_warning():
    with pytest.warns(RuntimeWarning, match="row 1"):
        assert m.log_loss([0, 1, 1], [0.2, 0.0, 0.7]) == math.inf
    # zero probability for a class that did not happen is fine, and a zero-weight row is ignored
    assert m.log_loss([0, 1], [0.0, 1.0]) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert m.log_loss([0, 1, 1], [0.2, 0.0, 0.7], sample_weight=[1, 0, 1]) == pytest.approx(
            skm.log_loss([0, 1], [0.2, 0.7]), rel=1e-12)


# ------------------------------------------------------------ decisions
@SETTINGS
@given(binary_case(), st.sampled_from([0.5, 0.3, 0.625, 0.9]))
def test_accuracy_precision_recall_f1_binary(case, threshold):
    y, p, w = case
    pred = (p > threshold).astype(int)
    assert m.accuracy(y, p, threshold=threshold, sample_weight=w) == pytest.approx(
        skm.accuracy_score(y, pred, sample_weight=w), rel=1e-12)
    assert m.balanced_accuracy(y, p, threshold=threshold, sample_weight=w) == pytest.approx(
        skm.balanced_accuracy_score(y, pred, sample_weight=w), rel=1e-12)
    for average in ("binary", "macro", "micro", "weighted"):
        got = m.precision_recall_f1(y, p, threshold=threshold, average=average, sample_weight=w)
        ref = skm.precision_recall_fscore_support(y, pred, average=average, sample_weight=w,
                                                  labels=[0, 1], zero_division=0)
        np.testing.assert_allclose([got["precision"], got["recall"], got["f1"]], ref[:3],
                                   rtol=1e-12, atol=1e-15, err_msg=average)


@SETTINGS
@given(multi_case())
def test_decisions_multiclass(case):
    y, P, w = case
    pred = P.argmax(axis=1)
    assert m.accuracy(y, P, sample_weight=w) == pytest.approx(skm.accuracy_score(y, pred, sample_weight=w))
    for average in ("macro", "micro", "weighted"):
        got = m.precision_recall_f1(y, P, average=average, sample_weight=w)
        ref = skm.precision_recall_fscore_support(y, pred, average=average, sample_weight=w,
                                                  labels=np.arange(P.shape[1]), zero_division=0)
        np.testing.assert_allclose([got["precision"], got["recall"], got["f1"]], ref[:3], rtol=1e-12)
    per = m.precision_recall_f1(y, P, average=None, sample_weight=w)
    ref = skm.precision_recall_fscore_support(y, pred, sample_weight=w, zero_division=0)
    np.testing.assert_allclose(per["f1"], ref[2], rtol=1e-12)
    np.testing.assert_allclose(per["support"], ref[3] if w is None else
                               np.bincount(y, weights=w), rtol=1e-12)
    cm = m.confusion_matrix(y, pred, sample_weight=w)
    np.testing.assert_allclose(cm, skm.confusion_matrix(y, pred, sample_weight=w), rtol=1e-12)


def test_all_one_class_predicted():
    """No predicted positives: precision is 0 (sklearn's zero_division=0), recall 0."""
    y = np.array([0, 1, 1, 0, 1])
    p = np.full(5, 0.2)
    got = m.precision_recall_f1(y, p)
    ref = skm.precision_recall_fscore_support(y, np.zeros(5, int), average="binary", zero_division=0)
    assert [got["precision"], got["recall"], got["f1"]] == list(ref[:3]) == [0.0, 0.0, 0.0]
    assert m.accuracy(y, p) == pytest.approx(0.4)
    assert m.roc_auc(y, p) == 0.5          # every pair tied
    np.testing.assert_array_equal(m.confusion_matrix(y, np.zeros(5, int), labels=[0, 1]),
                                  skm.confusion_matrix(y, np.zeros(5, int), labels=[0, 1]))


def test_threshold_is_strict_and_matches_predict_at_half():
    assert m.predict_labels([0.5, 0.5000001, 0.4]).tolist() == [0, 1, 0]
    assert m.predict_labels([[0.2, 0.5, 0.3]], labels=["a", "b", "c"]).tolist() == ["b"]


def test_validation_set_with_one_class():
    y = np.zeros(4, int)
    p = np.array([0.1, 0.7, 0.2, 0.3])
    assert m.accuracy(y, p) == 0.75           # labels [0, 1] implied for 0/1 outcomes
    assert m.log_loss(["b", "b"], [0.9, 0.6], labels=["a", "b"]) == pytest.approx(
        -(math.log(0.9) + math.log(0.6)) / 2)
    with pytest.raises(ValueError, match="one class"):
        m.roc_auc(y, p)
    result = m.evaluate(y, p)
    assert result["roc_auc"] is None and result["calibration_slope"] is None
    json.dumps(result, allow_nan=False)


# ------------------------------------------------------------ ROC
@SETTINGS
@given(binary_case(ties=True))
def test_roc_curve_and_auc_with_ties_and_weights(case):
    y, p, w = case
    for drop in (False, True):
        fpr, tpr, thr = m.roc_curve(y, p, sample_weight=w, drop_intermediate=drop)
        rf, rt, rthr = skm.roc_curve(y, p, sample_weight=w, drop_intermediate=drop)
        np.testing.assert_allclose(fpr, rf, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(tpr, rt, rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(thr, rthr)
    assert m.roc_auc(y, p, sample_weight=w) == pytest.approx(
        skm.roc_auc_score(y, p, sample_weight=w), rel=1e-12)


@SETTINGS
@given(binary_case(ties=True))
def test_auc_is_the_weighted_pair_probability(case):
    """AUC = Σ w_i w_j ([s_i > s_j] + ½[s_i = s_j]) / (W+ W-) over positive i, negative j."""
    y, p, w = case
    w = np.ones_like(p) if w is None else w
    pos, neg = y == 1, y == 0
    d = p[pos][:, None] - p[neg][None, :]
    ww = w[pos][:, None] * w[neg][None, :]
    direct = (ww * ((d > 0) + 0.5 * (d == 0))).sum() / ww.sum()
    assert m.roc_auc(y, p, sample_weight=w) == pytest.approx(direct, rel=1e-12)


@SETTINGS
@given(multi_case())
def test_multiclass_auc(case):
    y, P, w = case
    for average in ("macro", "weighted"):
        assert m.roc_auc(y, P, sample_weight=w, average=average) == pytest.approx(
            skm.roc_auc_score(y, P, sample_weight=w, multi_class="ovr", average=average), rel=1e-12)
        assert m.roc_auc(y, P, multi_class="ovo", average=average) == pytest.approx(
            skm.roc_auc_score(y, P, multi_class="ovo", average=average), rel=1e-12)


# ------------------------------------------------------------ calibration
def _glm(y, X, w, offset=None):
    fit = sm.GLM(y, X, family=sm.families.Binomial(), freq_weights=w, offset=offset).fit(tol=1e-13)
    return fit.params


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_calibration_intercept_slope_vs_statsmodels(seed):
    rng = np.random.default_rng(seed)
    n = 400
    z = rng.normal(size=n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.3 + 0.7 * z)))).astype(float)
    p = 1 / (1 + np.exp(-(z * (1.5 if seed else 1.0) - 0.2)))
    w = rng.uniform(0.2, 2.0, n) if seed == 2 else np.ones(n)
    x = np.log(p / (1 - p))
    slope_ref = _glm(y, sm.add_constant(x), w)[1]
    intercept_ref = _glm(y, np.ones((n, 1)), w, offset=x)[0]
    a, b = m.calibration_intercept_slope(y, p, sample_weight=None if seed < 2 else w)
    assert a == pytest.approx(intercept_ref, rel=1e-9, abs=1e-12)
    assert b == pytest.approx(slope_ref, rel=1e-9)


@pytest.mark.parametrize("seed", [19, 33, 145])
def test_calibration_slope_of_uninformative_predictions(seed):
    """p unrelated to y: the slope is near 0 and the likelihood flat in it, so near the
    optimum the objective's change is below rounding. The fit must still reach the
    optimum (statsmodels' IRLS), not stop where step halving meets noise (these seeds
    once stopped 1e-8 short, relative)."""
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 300)
    y = (rng.uniform(size=n) < rng.uniform(0.2, 0.8)).astype(float)
    p = rng.uniform(0.05, 0.99, n)
    x = np.log(p / (1 - p))
    slope_ref = _glm(y, sm.add_constant(x), np.ones(n))[1]
    assert abs(slope_ref) < 0.2
    _, b = m.calibration_intercept_slope(y, p)
    assert b == pytest.approx(slope_ref, rel=1e-9, abs=1e-13)


def test_calibration_of_perfect_recalibration():
    """Predictions equal to a fitted logistic model's are calibrated in the large
    (the score equation with an intercept) and have slope 1 (x itself is the logit)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=300)
    y = (rng.uniform(size=300) < 1 / (1 + np.exp(-x))).astype(float)
    params = _glm(y, sm.add_constant(x), np.ones(300))
    p = 1 / (1 + np.exp(-(params[0] + params[1] * x)))
    a, b = m.calibration_intercept_slope(y, p)
    assert abs(a) < 1e-9 and b == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [5, 10])
def test_calibration_table_vs_calibration_curve(strategy, n_bins):
    rng = np.random.default_rng(4)
    p = rng.beta(2, 3, 500)
    y = (rng.uniform(size=500) < p).astype(int)
    table = m.calibration_table(y, p, n_bins=n_bins, strategy=strategy)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    used = table[table["count"] > 0]
    np.testing.assert_allclose(used["observed"], prob_true, rtol=1e-12)
    np.testing.assert_allclose(used["mean_predicted"], prob_pred, rtol=1e-12)
    assert table["count"].sum() == 500
    # Wilson and exact intervals of each (unweighted) bin vs statsmodels
    k, n = (used["observed"] * used["count"]).round(), used["count"]
    for ci, method in (("wilson", "wilson"), ("exact", "beta")):
        t = m.calibration_table(y, p, n_bins=n_bins, strategy=strategy, ci=ci)
        t = t[t["count"] > 0]
        low, high = proportion_confint(k, n, alpha=0.05, method=method)
        np.testing.assert_allclose(t["ci_low"], low, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(t["ci_high"], high, rtol=1e-9, atol=1e-12)


@SETTINGS
@given(binary_case(), st.sampled_from([4, 10]))
def test_ece_direct(case, n_bins):
    y, p, w = case
    w1 = np.ones_like(p) if w is None else w
    edges = np.linspace(0, 1, n_bins + 1)
    ece = 0.0
    for k in range(n_bins):
        lo, hi = edges[k], edges[k + 1]
        inside = ((p > lo) | (k == 0)) & (p <= hi) & (w1 > 0)
        if inside.any():
            W = w1[inside].sum()
            ece += W * abs(np.dot(w1[inside], y[inside]) / W - np.dot(w1[inside], p[inside]) / W)
    assert m.expected_calibration_error(y, p, n_bins=n_bins, sample_weight=w) == pytest.approx(
        ece / w1.sum(), rel=1e-12, abs=1e-15)


def test_top_label_ece_multiclass():
    rng = np.random.default_rng(5)
    P = rng.dirichlet(np.ones(4), 300)
    y = rng.integers(0, 4, 300)
    conf, correct = P.max(axis=1), (P.argmax(axis=1) == y)
    ids = np.minimum((conf * 10 - 1e-12).astype(int), 9)
    direct = sum(abs(correct[ids == b].mean() - conf[ids == b].mean()) * (ids == b).sum()
                 for b in range(10) if (ids == b).any()) / 300
    assert m.expected_calibration_error(y, P) == pytest.approx(direct, rel=1e-12)


# ------------------------------------------------------------ weights
@SETTINGS
@given(binary_case(zero_weights=False))
def test_integer_weights_equal_repeated_rows(case):
    y, p, _ = case
    reps = np.random.default_rng(len(y)).integers(0, 4, y.size)
    reps[np.flatnonzero(y == 0)[0]] = reps[np.flatnonzero(y == 1)[0]] = 1
    a = m.evaluate(y, p, sample_weight=reps)
    b = m.evaluate(np.repeat(y, reps), np.repeat(p, reps))
    for key in ("log_loss", "brier", "accuracy", "f1", "roc_auc", "ece", "calibration_slope"):
        if a[key] is None:
            assert b[key] is None
        else:
            assert a[key] == pytest.approx(b[key], rel=1e-7, abs=1e-10), key


def test_evaluate_matches_sklearn_and_is_json_safe():
    rng = np.random.default_rng(6)
    p = rng.uniform(0.01, 0.99, 200)
    y = (rng.uniform(size=200) < p).astype(int)
    w = rng.uniform(0.5, 2, 200)
    out = m.evaluate(y, p, sample_weight=w, threshold=0.4)
    json.dumps(out, allow_nan=False)
    assert out["log_loss"] == pytest.approx(skm.log_loss(y, p, sample_weight=w))
    assert out["log_loss_bits"] == pytest.approx(skm.log_loss(y, p, sample_weight=w) / math.log(2))
    assert out["f1"] == pytest.approx(skm.f1_score(y, p > 0.4, sample_weight=w))
    assert out["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p, sample_weight=w))
    multi = m.evaluate(rng.integers(0, 3, 50), rng.dirichlet(np.ones(3), 50))
    json.dumps(multi, allow_nan=False)
    assert multi["n_classes"] == 3


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize("call, message", [
    (lambda: m.log_loss([0, 1, 1], [0.2, 0.4]), "3 entries but proba has 2 rows"),
    (lambda: m.log_loss([0, 1], [0.2, 0.4], sample_weight=[1, 2, 3]), "3 entries but y_true has 2"),
    (lambda: m.log_loss([0, 1, 2], [[0.2, 0.8], [0.5, 0.5], [0.1, 0.9]], labels=[0, 1]),
     r"labels not in labels=\[0, 1\]: \[2\] \(1 rows, first row 2\)"),
    (lambda: m.log_loss([0, 1], [[0.2, 0.8], [0.5, 0.6]]), "first row 1 sums to 1.1"),
    (lambda: m.brier_score([0, 1, 1], [0.2, np.nan, 0.5]), "NaN or inf in 1 rows \\(first row 1\\)"),
    (lambda: m.accuracy([0, 1], [0.2, 1.5]), r"\[0, 1\]; 1 rows do not \(first row 1"),
    (lambda: m.accuracy([0, None, 1], [0.2, 0.3, 0.4]), r"missing values .* \(first row 1\)"),
    (lambda: m.accuracy([0, 1], [0.2, 0.3], threshold=2), "threshold must be"),
    (lambda: m.precision_recall_f1([0, 1, 2], np.full((3, 3), 1 / 3)), "average='binary' needs"),
    (lambda: m.log_loss(["a", "b", "c"], [0.1, 0.2, 0.3]), "3 distinct labels"),
    (lambda: m.calibration_intercept_slope([0, 1], [0.0, 0.4]), "strictly between 0 and 1"),
    (lambda: m.confusion_matrix([0, 1], [0, 3], labels=[0, 1]), "y_pred_labels contains labels"),
    (lambda: m.roc_curve([0, 1], [0.1, np.inf]), "score contains NaN or inf"),
    (lambda: m.calibration_table([0, 1], [0.1, 0.2], strategy="width"), "strategy must be"),
])
def test_bad_input_messages(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_calibration_slope_infinite_under_separation():
    """Events only below p = 0.5 and non-events only above (tie at 0.5 allowed):
    the recalibration slope's MLE is -inf (checked: the fitted likelihood keeps
    rising along b -> -inf, computed directly)."""
    y = np.array([1, 1, 0, 1, 0, 0])
    p = np.array([0.2, 0.3, 0.5, 0.5, 0.7, 0.9])
    x = np.log(p / (1 - p))
    loglik = [np.sum(y * (b * x) - np.log1p(np.exp(b * x))) for b in (-1, -10, -100)]
    assert loglik[0] < loglik[1] < loglik[2]
    with pytest.warns(RuntimeWarning, match="separate"):
        a, b = m.calibration_intercept_slope(y, p)
    assert b == -math.inf and np.isfinite(a)
    assert m.evaluate(y, p)["calibration_slope"] is None
