"""LogisticRegressionCV against scikit-learn's LogisticRegressionCV on the same
folds and grid (C = 1 / (alpha · n_train)), the one-standard-error rule against a
direct computation, the path against cold fits, alpha_max against the KKT condition."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegressionCV as SKCV
from sklearn.model_selection import KFold
from sklearn.base import clone

import logitlab
from logitlab import LogisticRegression
from logitlab.estimators.cv import LogisticRegressionCV

K_FOLDS = 5


def make_data(seed, n=300, d=6, classes=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2, d)
    B = rng.normal(size=(d, classes)) * (rng.uniform(size=(d, 1)) < 0.6)
    Z = X @ B
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (P.cumsum(axis=1) < rng.uniform(size=(n, 1))).sum(axis=1)
    return X, y


def equal_folds(n, seed=0):
    """KFold with n divisible by K_FOLDS: every training fold has n_train rows."""
    return list(KFold(K_FOLDS, shuffle=True, random_state=seed).split(np.zeros(n)))


def fold_normalized_weights(folds, n, seed):
    """Weights whose sum over every held-out fold is its size, so every training
    fold sums to n_train (one C ↔ one alpha across folds)."""
    w = np.random.default_rng(seed).uniform(0.2, 3.0, n)
    for _, test in folds:
        w[test] *= test.size / w[test].sum()
    return w


def assert_scores(ours, ref_scores, X, y, folds, w, l1_ratio, rtol):
    """Fold scores equal scikit-learn's, except where β = 0 solves a fold's fit
    (KKT at alpha_max): saga stops early there (its rule watches the change in
    weights; its intercept is off by ~1e-3), so compare with the closed form, β = 0
    and the intercept at the weighted training base rate."""
    w = np.ones(y.size) if w is None else w
    expected = ref_scores.copy()
    for f, (train, test) in enumerate(folds):
        wt = w[train]
        p0 = wt @ y[train] / wt.sum()
        g = np.max(np.abs(X[train].T @ (wt * (p0 - y[train])))) / wt.sum()
        if l1_ratio > 0 and g <= ours.alphas_[0] * l1_ratio:
            expected[f, 0] = -(w[test] @ np.where(y[test] == 1, np.log(p0), np.log(1 - p0))
                               ) / w[test].sum()
    np.testing.assert_allclose(ours.scores_, expected, rtol=rtol)


def sklearn_cv(X, y, alphas, folds, n_train, l1_ratio, w, solver):
    Cs = 1.0 / (alphas * n_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SKCV(Cs=Cs, cv=folds, l1_ratios=(l1_ratio,), scoring="neg_log_loss",
                   solver=solver, tol=1e-10, max_iter=20000, use_legacy_attributes=False,
                   random_state=0).fit(X, y, sample_weight=w)
    scores = -np.asarray(ref.scores_)[:, 0, :]           # folds × Cs, as log losses
    return ref, scores, int(np.flatnonzero(np.isclose(Cs, ref.C_))[0])


@pytest.mark.parametrize("penalty, solver, classes, weighted, seed", [
    ("l2", "newton-cholesky", 2, False, 0),
    ("l2", "newton-cholesky", 2, True, 1),
    ("l2", "newton-cholesky", 3, False, 2),
    ("l1", "saga", 2, False, 3),
    ("l1", "liblinear", 2, True, 4),
    ("elasticnet", "saga", 2, True, 5),
])
def test_same_alpha_as_sklearn(penalty, solver, classes, weighted, seed):
    X, y = make_data(seed, d=30 if penalty == "l2" else 6, classes=classes)
    n = X.shape[0]
    n_train = n - n // K_FOLDS
    folds = equal_folds(n, seed)
    w = fold_normalized_weights(folds, n, seed) if weighted else None
    ours = LogisticRegressionCV(penalty=penalty, alphas=12, cv=folds).fit(X, y, sample_weight=w)
    if solver == "liblinear":   # liblinear penalizes the intercept: make that negligible
        X = np.column_stack([X, np.ones(n)])
        ours = LogisticRegressionCV(penalty=penalty, alphas=ours.alphas_, cv=folds,
                                    fit_intercept=False).fit(X, y, sample_weight=w)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = SKCV(Cs=1 / (ours.alphas_ * n_train), cv=folds, l1_ratios=(1.0,),
                       scoring="neg_log_loss", solver="liblinear", fit_intercept=False,
                       tol=1e-10, max_iter=20000, use_legacy_attributes=False).fit(
                           X, y, sample_weight=w)
        ref_scores = -np.asarray(ref.scores_)[:, 0, :]
        ref_index = int(np.flatnonzero(np.isclose(1 / (ours.alphas_ * n_train), ref.C_))[0])
    else:
        ref, ref_scores, ref_index = sklearn_cv(X, y, ours.alphas_, folds, n_train,
                                                {"l1": 1.0, "l2": 0.0}.get(penalty, 0.5), w, solver)
    # the held-out log losses of every fold and alpha agree, and so does the choice
    ratio = {"l1": 1.0, "l2": 0.0}.get(penalty, 0.5)
    closed_form = classes == 2 and solver == "saga"      # only saga stops early at β = 0
    assert_scores(ours, ref_scores, X, y, folds, w, ratio if closed_form else 0.0, 2e-5)
    gap = np.sort(ref_scores.mean(axis=0))[:2]
    print(f"{penalty}/{solver}: index {ours.best_index_} vs sklearn {ref_index}, "
          f"best two means {gap}")
    assert ours.best_index_ == ref_index
    assert 0 < ours.best_index_ < ours.alphas_.size - 1      # an interior choice


def test_one_standard_error_rule_direct():
    X, y = make_data(5, n=250, d=12)
    folds = equal_folds(250, 5)
    ours = LogisticRegressionCV(penalty="l1", alphas=15, cv=folds, rule="1se").fit(X, y)
    # direct computation from sklearn's fold scores on the same folds and grid
    _, scores, _ = sklearn_cv(X, y, ours.alphas_, folds, 200, 1.0, None, "saga")
    mean = scores.mean(axis=0)
    se = scores.std(axis=0, ddof=1) / np.sqrt(K_FOLDS)
    best = int(np.argmin(mean))
    expected = int(np.flatnonzero(mean <= mean[best] + se[best])[0])   # largest alpha within 1 SE
    assert ours.index_min_ == best and ours.best_index_ == expected == ours.index_1se_
    assert ours.alpha_ == ours.alphas_[expected] >= ours.alpha_min_
    assert_scores(ours, scores, X, y, folds, None, 1.0, 1e-4)
    # equal folds: the weighted mean and standard error are the plain ones
    np.testing.assert_allclose(ours.mean_scores_, ours.scores_.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(ours.se_scores_, ours.scores_.std(axis=0, ddof=1) / np.sqrt(K_FOLDS),
                               rtol=1e-10)


def test_path_equals_cold_fits_and_best_estimator():
    X, y = make_data(6, n=200)
    cv = LogisticRegressionCV(penalty="elasticnet", l1_ratio=0.5, alphas=8, cv=4).fit(X, y)
    for j in (0, 3, 7):
        cold = LogisticRegression(penalty="elasticnet", l1_ratio=0.5, alpha=cv.alphas_[j]).fit(X, y)
        np.testing.assert_allclose(cv.coefs_path_[j], cold.coef_, atol=1e-7)
        np.testing.assert_allclose(cv.intercepts_path_[j], cold.intercept_, atol=1e-7)
    cold = LogisticRegression(penalty="elasticnet", l1_ratio=0.5, alpha=cv.alpha_).fit(X, y)
    np.testing.assert_allclose(cv.predict_proba(X), cold.predict_proba(X), atol=1e-8)
    assert cv.best_estimator_.alpha == cv.alpha_
    np.testing.assert_array_equal(cv.predict(X), cold.predict(X))
    frame = cv.results_frame()
    assert list(frame.columns[:3]) == ["alpha", "mean", "se"] and frame["is_min"].sum() == 1


@pytest.mark.parametrize("penalty, ratio", [("l1", 1.0), ("elasticnet", 0.3)])
def test_alpha_max_is_where_the_coefficients_leave_zero(penalty, ratio):
    """KKT: β = 0 is optimal at alpha_max and not just below it."""
    X, y = make_data(7, n=150)
    w = np.random.default_rng(7).uniform(0.5, 2, 150)
    cv = LogisticRegressionCV(penalty=penalty, l1_ratio=None if penalty == "l1" else ratio,
                              alphas=5, cv=3).fit(X, y, sample_weight=w)
    top = cv.alphas_[0]
    kw = {"penalty": penalty, "l1_ratio": None if penalty == "l1" else ratio}
    at = LogisticRegression(alpha=top * (1 + 1e-9), **kw).fit(X, y, sample_weight=w)
    below = LogisticRegression(alpha=top * 0.99, **kw).fit(X, y, sample_weight=w)
    assert np.count_nonzero(at.coef_) == 0 and cv.n_nonzero_path_[0] == 0
    assert np.count_nonzero(below.coef_) >= 1


def test_weighted_scores_are_weighted_log_losses():
    """Each stored fold score is the weighted held-out log loss of a direct fit."""
    X, y = make_data(8, n=160)
    w = np.random.default_rng(8).uniform(0.1, 3, 160)
    folds = equal_folds(160, 8)
    cv = LogisticRegressionCV(alphas=[0.1, 0.01], cv=folds).fit(X, y, sample_weight=w)
    train, test = folds[2]
    fit = LogisticRegression(alpha=0.01).fit(X[train], y[train], sample_weight=w[train])
    p = fit.predict_proba(X[test])[:, 1]
    direct = -np.sum(w[test] * np.where(y[test] == 1, np.log(p), np.log(1 - p))) / w[test].sum()
    assert cv.scores_[2, 1] == pytest.approx(direct, rel=1e-9)
    fold_w = np.array([w[t].sum() for _, t in folds])
    assert cv.mean_scores_[1] == pytest.approx(fold_w @ cv.scores_[:, 1] / fold_w.sum(), rel=1e-12)


def test_other_scorings_and_sklearn_compat():
    X, y = make_data(9, n=200)
    for scoring in ("accuracy", "roc_auc", "brier", "f1", "balanced_accuracy"):
        cv = LogisticRegressionCV(alphas=6, cv=4, scoring=scoring).fit(X, y)
        assert cv.greater_is_better_ == (scoring != "brier")
        best = np.max(cv.mean_scores_) if cv.greater_is_better_ else np.min(cv.mean_scores_)
        assert cv.mean_scores_[cv.best_index_] == best
    clone(cv)
    from sklearn.model_selection import cross_val_score
    scores = cross_val_score(LogisticRegressionCV(alphas=4, cv=3), X, y, cv=3)
    assert scores.shape == (3,)


def test_formula_fit_with_cv():
    X, y = make_data(10, n=200, d=4)
    df = pd.DataFrame(X, columns=list("abcd")).assign(y=np.where(y == 1, "yes", "no"))
    model = logitlab.fit("y ~ .", df, cv=4, penalty="l1", cv_options={"alphas": 10, "rule": "1se"})
    assert isinstance(model, LogisticRegression) and model.alpha == model.cv_.alpha_1se_
    direct = LogisticRegressionCV(penalty="l1", alphas=10, cv=4, rule="1se").fit(df[list("abcd")], df.y)
    assert direct.alpha_ == model.alpha
    np.testing.assert_allclose(model.predict_proba(df), direct.predict_proba(df[list("abcd")]),
                               atol=1e-10)
    with pytest.raises(ValueError, match="alpha is chosen by cross-validation"):
        logitlab.fit("y ~ .", df, cv=4, alpha=0.1)


def test_bad_options():
    X, y = make_data(11, n=60)
    with pytest.raises(ValueError, match="penalty must be 'l2', 'l1' or 'elasticnet'"):
        LogisticRegressionCV(penalty=None).fit(X, y)
    with pytest.raises(ValueError, match="rule must be"):
        LogisticRegressionCV(rule="2se").fit(X, y)
    with pytest.raises(ValueError, match="scoring must be one of"):
        LogisticRegressionCV(scoring="auc").fit(X, y)
    with pytest.raises(ValueError, match="alphas must be positive"):
        LogisticRegressionCV(alphas=[0.1, -1]).fit(X, y)
    with pytest.raises(ValueError, match="refit=False"):
        LogisticRegressionCV(alphas=3, refit=False).fit(X, y).predict(X)


@pytest.mark.slow
def test_passes_sklearn_check_estimator():
    from sklearn.utils.estimator_checks import check_estimator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(LogisticRegressionCV(alphas=3, cv=3))
